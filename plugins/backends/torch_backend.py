"""Backend plugin: torch on the CPU (``torch``) and on a CUDA device (``torch-cuda``).

torch is imported only when a backend is probed, so this plugin loads, and says why its
backends are unavailable, where torch is not installed.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np

from harness import Availability, Backend, hookimpl
from harness.model.backend import CudaEventTimer, blas_info, nvidia_driver_version

INSTALL_HINT = "torch is not installed (pip install 'linalg-harness[torch]')"


class TorchBackend(Backend):
    """torch tensors on one device, through array-api-compat's torch namespace."""

    library = "torch"
    dtypes = ("float16", "bfloat16", "float32", "float64")

    def __init__(self, name: str, device: str):
        self.name = name
        self.device = device
        self._flush_buffer: Any = None

    @property
    def _on_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @functools.cache  # noqa: B019 - one probe per backend object, which lives as long as the run
    def availability(self) -> Availability:
        try:
            import torch
        except ImportError:
            return Availability(False, INSTALL_HINT)
        if self._on_cuda and not torch.cuda.is_available():
            return Availability(False, "no CUDA device")
        return Availability(True)

    @property
    def xp(self) -> Any:
        import array_api_compat.torch

        return array_api_compat.torch

    def from_numpy(self, array: np.ndarray, dtype: str) -> Any:
        import torch

        return torch.from_numpy(np.ascontiguousarray(array)).to(
            device=self.device, dtype=getattr(torch, dtype), copy=True
        )

    def from_scipy_sparse(self, matrix: Any, dtype: str) -> Any:
        import torch

        csr = matrix.tocsr(copy=True)
        csr.sum_duplicates()  # torch's CSR invariants: sorted, distinct columns in each row
        with warnings.catch_warnings():  # "sparse CSR support is in beta": known, noise
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(
                torch.from_numpy(csr.indptr.astype(np.int64)),
                torch.from_numpy(csr.indices.astype(np.int64)),
                torch.from_numpy(csr.data),
                size=csr.shape,
                dtype=getattr(torch, dtype),
                device=self.device,
                check_invariants=True,  # once, at transfer: a malformed CSR would crash later
            )

    def to_numpy(self, array: Any) -> np.ndarray:
        import torch

        return array.detach().to(device="cpu", dtype=torch.float64).numpy()

    def synchronize(self) -> None:
        if self._on_cuda:
            import torch

            torch.cuda.synchronize(self.device)

    def timer(self) -> Any:
        if not self._on_cuda:
            return super().timer()
        import torch

        return CudaEventTimer(
            event=lambda: torch.cuda.Event(enable_timing=True),
            elapsed_ms=lambda start, end: start.elapsed_time(end),
        )

    def flush_cache(self) -> None:
        """On a GPU: zero a buffer twice the size of the device's L2 cache."""
        if not self._on_cuda:
            return super().flush_cache()
        import torch

        if self._flush_buffer is None:
            l2_bytes = torch.cuda.get_device_properties(self.device).L2_cache_size
            self._flush_buffer = torch.empty(2 * l2_bytes, dtype=torch.int8, device=self.device)
        self._flush_buffer.zero_()

    def reset_peak_memory(self) -> None:
        if not self._on_cuda:
            return super().reset_peak_memory()
        import torch

        torch.cuda.reset_peak_memory_stats(self.device)

    def peak_memory_bytes(self) -> int | None:
        if not self._on_cuda:
            return super().peak_memory_bytes()
        import torch

        return int(torch.cuda.max_memory_allocated(self.device))

    def metadata(self) -> dict[str, Any]:
        import torch

        meta: dict[str, Any] = {
            "library": "torch",
            "version": torch.__version__,
            "device": self.device,
            "num_threads": torch.get_num_threads(),
            "blas": blas_info(),
        }
        if self._on_cuda:
            props = torch.cuda.get_device_properties(self.device)
            meta.update(
                gpu=props.name,
                compute_capability=f"{props.major}.{props.minor}",
                gpu_memory_bytes=props.total_memory,
                cuda=torch.version.cuda,
                driver=nvidia_driver_version(),
            )
        return meta


@hookimpl
def harness_backends() -> list[Backend]:
    return [TorchBackend("torch", "cpu"), TorchBackend("torch-cuda", "cuda:0")]
