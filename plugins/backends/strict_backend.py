"""Backend plugin: ``array-api-strict``, the array API standard's reference implementation.

array-api-strict wraps numpy and rejects everything outside the standard (numpy functions,
implicit dtype promotion across kinds, methods the standard does not have, ...). It is a
conformance backend rather than a fast one: a method that runs here is written against the
standard alone, so it runs on every conforming library. It has no sparse matrices
(``supports_sparse`` is false): a case whose problem has a sparse input is ``unsupported``.

array_api_strict is imported only when the backend is probed, so this plugin loads, and says
why its backend is unavailable, where the package is not installed.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness import Availability, Backend, hookimpl
from harness.model.backend import blas_info

INSTALL_HINT = "array-api-strict is not installed (pip install 'linalg-harness[strict]')"


class StrictBackend(Backend):
    """array-api-strict arrays on its one CPU device (numpy underneath, the standard on top)."""

    name = "array-api-strict"
    library = "array_api_strict"
    device = "cpu"
    dtypes = ("float32", "float64")  # the standard's real floating-point dtypes

    @functools.cache  # noqa: B019 - one probe per backend object, which lives as long as the run
    def availability(self) -> Availability:
        try:
            import array_api_strict  # noqa: F401 - the probe is the import
        except ImportError:
            return Availability(False, INSTALL_HINT)
        return Availability(True)

    @property
    def xp(self) -> Any:
        import array_api_strict

        return array_api_strict

    def from_numpy(self, array: np.ndarray, dtype: str) -> Any:
        xp = self.xp
        return xp.asarray(np.array(array, dtype=dtype, copy=True), dtype=getattr(xp, dtype))

    def to_numpy(self, array: Any) -> np.ndarray:
        """Through DLPack, the standard's interchange protocol (a copy, as float64)."""
        return np.array(np.from_dlpack(array), dtype=np.float64, copy=True)

    def metadata(self) -> dict[str, Any]:
        import array_api_strict

        return {
            "library": "array_api_strict",
            "version": array_api_strict.__version__,
            "api_version": array_api_strict.get_array_api_strict_flags()["api_version"],
            "numpy": np.__version__,
            "device": "cpu",
            "blas": blas_info(),
        }


@hookimpl
def harness_backends() -> list[Backend]:
    return [StrictBackend()]
