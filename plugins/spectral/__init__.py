"""Spectral filters: power and Gram iteration, Lanczos, Chebyshev and exact filters; the
``spectral_norm`` and ``graph_filter`` tasks, their graphs and filter responses, and
references."""
