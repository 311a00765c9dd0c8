"""Backend plugin: cupy on a CUDA device.

cupy is imported only when the backend is probed: where it is missing, or installed without a
usable device (as on a CPU-only machine), the backend registers and says why it cannot run.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness import Availability, Backend, hookimpl
from harness.model.backend import CudaEventTimer, nvidia_driver_version
from harness.plugins.discovery import describe_exception

INSTALL_HINT = "cupy is not installed (pip install 'linalg-harness[gpu]')"


class CupyBackend(Backend):
    """cupy arrays on CUDA device 0, through array-api-compat's cupy namespace."""

    name = "cupy"
    library = "cupy"
    device = "cuda:0"
    dtypes = ("float16", "float32", "float64")

    def __init__(self) -> None:
        self._flush_buffer: Any = None

    @functools.cache  # noqa: B019 - one probe per backend object, which lives as long as the run
    def availability(self) -> Availability:
        try:
            import cupy
        except ImportError as exc:
            if exc.name == "cupy":
                return Availability(False, INSTALL_HINT)
            return Availability(False, f"cupy failed to import: {describe_exception(exc)}")
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError, or a missing driver library
            return Availability(False, f"no CUDA device ({type(exc).__name__}: {exc})")
        if count == 0:
            return Availability(False, "no CUDA device")
        return Availability(True)

    @property
    def xp(self) -> Any:
        import array_api_compat.cupy

        return array_api_compat.cupy

    def from_numpy(self, array: np.ndarray, dtype: str) -> Any:
        import cupy

        return cupy.asarray(array.astype(dtype))

    def from_scipy_sparse(self, matrix: Any, dtype: str) -> Any:
        import cupyx.scipy.sparse

        return cupyx.scipy.sparse.csr_matrix(matrix.tocsr().astype(dtype))

    def to_numpy(self, array: Any) -> np.ndarray:
        return array.get().astype(np.float64)

    def synchronize(self) -> None:
        import cupy

        cupy.cuda.get_current_stream().synchronize()

    def timer(self) -> Any:
        import cupy

        return CudaEventTimer(event=cupy.cuda.Event, elapsed_ms=cupy.cuda.get_elapsed_time)

    def flush_cache(self) -> None:
        """Zero a buffer twice the size of the device's L2 cache."""
        import cupy

        if self._flush_buffer is None:
            l2_bytes = cupy.cuda.Device(0).attributes["L2CacheSize"]
            self._flush_buffer = cupy.empty(2 * l2_bytes, dtype=cupy.int8)
        self._flush_buffer.fill(0)

    def reset_peak_memory(self) -> None:
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()

    def peak_memory_bytes(self) -> int | None:
        """Bytes the memory pool holds: its high-water mark since ``reset_peak_memory``."""
        import cupy

        return int(cupy.get_default_memory_pool().total_bytes())

    def metadata(self) -> dict[str, Any]:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        return {
            "library": "cupy",
            "version": cupy.__version__,
            "device": self.device,
            "gpu": props["name"].decode(),
            "compute_capability": f"{props['major']}.{props['minor']}",
            "gpu_memory_bytes": props["totalGlobalMem"],
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
            "driver": nvidia_driver_version() or cupy.cuda.runtime.driverGetVersion(),
        }


@hookimpl
def harness_backends() -> list[Backend]:
    return [CupyBackend()]
