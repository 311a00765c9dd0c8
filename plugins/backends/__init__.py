"""Built-in backends: numpy, torch (CPU and CUDA), cupy and array-api-strict."""
