"""The built-in plugins of linalg-harness, installed as the import package ``harness_builtins``.

``backends/`` holds the backends; each of the four families — ``orthogonalizers/``,
``preconditioners/``, ``sketches/``, ``spectral/`` — holds its tasks, methods and reference
baselines; ``shared`` the array helpers they share and ``workloads`` the real gradient
matrices several tasks draw on. Each module that provides something is one plugin, registered
in pyproject.toml under the entry-point group ``harness`` exactly as a third-party plugin
registers; the host has no private path to them.
"""
