"""Backend plugin: numpy on the CPU."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import Availability, Backend, hookimpl
from harness.model.backend import blas_info


class NumpyBackend(Backend):
    """numpy arrays on the host CPU, through array-api-compat's numpy namespace."""

    name = "numpy"
    library = "numpy"
    device = "cpu"
    dtypes = ("float16", "float32", "float64")

    def availability(self) -> Availability:
        return Availability(True)

    @property
    def xp(self) -> Any:
        import array_api_compat.numpy

        return array_api_compat.numpy

    def from_numpy(self, array: np.ndarray, dtype: str) -> np.ndarray:
        return np.array(array, dtype=dtype, copy=True)

    def from_scipy_sparse(self, matrix: Any, dtype: str) -> Any:
        return matrix.tocsr().astype(dtype, copy=True)

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array, dtype=np.float64)

    def metadata(self) -> dict[str, Any]:
        return {"library": "numpy", "version": np.__version__, "device": "cpu", "blas": blas_info()}


@hookimpl
def harness_backends() -> list[Backend]:
    return [NumpyBackend()]
