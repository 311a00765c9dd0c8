"""The backend interface: one array library on one device.

A backend plugin returns ``Backend`` objects from its ``harness_backends`` hook. The host
never imports an array library itself: it asks the backend for the array namespace ``xp``
(array API, through array-api-compat), for transfers between the host's numpy float64
problems and the device, for a clock fit for the device, and for what it knows of the
machine. A backend that cannot run here (library missing, no device) still registers and
says why through ``availability()``; it never vanishes from listings.

Sparse inputs come through it too: a task may give a scipy.sparse matrix, which the backend
moves as its own sparse CSR matrix (scipy.sparse, torch sparse CSR, cupyx.scipy.sparse).
``harness.model.sparse.as_operator`` wraps any of them in one small interface, ``SparseOperator``
(shape, dtype, nnz, matvec/matmat, the transpose product, diagonal, sparse from COO). A
backend whose library has no sparse matrices (array-api-strict) leaves ``from_scipy_sparse``
out; ``supports_sparse`` is then false, and a case with a sparse input is ``unsupported``.
"""

from __future__ import annotations

import os
import resource
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}
DTYPES = tuple(DTYPE_BYTES)
"""Every dtype name a suite may use; each backend supports a subset."""


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here, and if not, why."""

    available: bool
    reason: str = ""

    def __str__(self) -> str:
        return "available" if self.available else f"unavailable: {self.reason}"


class Timer(Protocol):
    """Times one region: ``start()`` then ``stop()``, which returns seconds."""

    def start(self) -> None: ...

    def stop(self) -> float: ...


class PerfCounterTimer:
    """Host wall-clock timer on ``time.perf_counter_ns``: the clock for CPU backends."""

    def __init__(self) -> None:
        self._t0 = 0

    def start(self) -> None:
        self._t0 = time.perf_counter_ns()

    def stop(self) -> float:
        return (time.perf_counter_ns() - self._t0) * 1e-9


class CudaEventTimer:
    """Device timer on CUDA events recorded on the current stream (torch or cupy).

    ``event()`` makes a timing-enabled event; ``elapsed_ms(start, end)`` reads the time
    between two recorded events. ``stop()`` records the end event and waits for it before
    reading, so the time covers the device work launched between ``start`` and ``stop``.
    """

    def __init__(self, event: Any, elapsed_ms: Any) -> None:
        self._event = event
        self._elapsed_ms = elapsed_ms
        self._start: Any = None

    def start(self) -> None:
        self._start = self._event()
        self._start.record()

    def stop(self) -> float:
        end = self._event()
        end.record()
        end.synchronize()
        return self._elapsed_ms(self._start, end) * 1e-3


def _read_proc_status(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class HostMemory:
    """Peak resident memory of this process: the CPU backends' memory meter.

    On Linux the high-water mark (VmHWM) is reset by writing 5 to /proc/self/clear_refs, so
    each case can read its own peak; elsewhere the lifetime peak (ru_maxrss) is reported.
    """

    @staticmethod
    def reset_peak() -> None:
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")
        except OSError:
            pass

    @staticmethod
    def peak_bytes() -> int:
        peak = _read_proc_status("VmHWM")
        if peak is None:  # ru_maxrss is KiB on Linux, bytes on macOS
            scale = 1 if os.uname().sysname == "Darwin" else 1024
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        return peak


def last_level_cache_bytes() -> int:
    """Size of the CPU's largest cache, from sysfs (64 MiB where it cannot be read)."""
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip()
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * scale)
    return max(sizes, default=64 * 2**20)


class HostCache:
    """Flushes the CPU caches by writing a buffer twice the size of the last-level cache."""

    _buffer: np.ndarray | None = None

    @classmethod
    def flush(cls) -> None:
        if cls._buffer is None:
            cls._buffer = np.zeros(2 * last_level_cache_bytes() // 8)
        np.add(cls._buffer, 1.0, out=cls._buffer)


def probe(backend: Backend) -> Availability:
    """``backend.availability()``, with a probe that raises reported as the reason."""
    try:
        return backend.availability()
    except Exception as exc:  # a plugin's probe failing makes its backend unavailable, no more
        return Availability(False, f"availability probe failed: {type(exc).__name__}: {exc}")


class Backend(ABC):
    """One array library on one device. Subclass it in a backend plugin.

    Attributes set by subclasses: ``name`` (unique, used in suites), ``library`` (the Python
    package that provides the arrays), ``device`` (``"cpu"`` or ``"cuda:0"``) and ``dtypes``
    (the names in ``DTYPES`` the library supports).
    """

    name: str
    library: str
    device: str
    dtypes: tuple[str, ...]

    @abstractmethod
    def availability(self) -> Availability:
        """Whether this backend can run here; cheap to call twice (cache the probe)."""

    @property
    @abstractmethod
    def xp(self) -> Any:
        """The array API namespace methods are written against (array-api-compat)."""

    @abstractmethod
    def from_numpy(self, array: np.ndarray, dtype: str) -> Any:
        """Cast a host float64 array to ``dtype`` and move it to the device."""

    def from_scipy_sparse(self, matrix: Any, dtype: str) -> Any:
        """Cast a host scipy.sparse matrix to ``dtype`` and move it to the device as this
        library's sparse CSR matrix, on which ``A @ x`` works with the library's dense arrays."""
        raise NotImplementedError(f"backend {self.name!r} has no sparse matrices")

    @property
    def supports_sparse(self) -> bool:
        """Whether this backend has sparse matrices: true where it implements
        ``from_scipy_sparse``. A case whose problem has a sparse input is ``unsupported`` on a
        backend without them (``harness.run.executors.run_case``); it is never handed over dense."""
        return type(self).from_scipy_sparse is not Backend.from_scipy_sparse

    def to_device(self, value: Any, dtype: str) -> Any:
        """A problem input on the device: numpy arrays and scipy.sparse matrices are cast to
        ``dtype`` and moved; anything else (a Python scalar) is passed as it is."""
        if isinstance(value, np.ndarray):
            return self.from_numpy(value, dtype)
        if type(value).__module__.startswith("scipy.sparse"):
            return self.from_scipy_sparse(value, dtype)
        return value

    @abstractmethod
    def to_numpy(self, array: Any) -> np.ndarray:
        """Move an array back to the host as numpy float64 (for metrics)."""

    def synchronize(self) -> None:  # noqa: B027 - a no-op is right for synchronous CPU libraries
        """Wait until all work queued on the device has finished."""

    def timer(self) -> Timer:
        """A clock fit for the device; the host clock unless overridden."""
        return PerfCounterTimer()

    def flush_cache(self) -> None:
        """Evict the caches (for cold-cache timing): write a buffer twice the last-level cache."""
        HostCache.flush()

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory window."""
        HostMemory.reset_peak()

    def peak_memory_bytes(self) -> int | None:
        """Peak memory since ``reset_peak_memory`` on this backend's device."""
        return HostMemory.peak_bytes()

    @abstractmethod
    def metadata(self) -> dict[str, Any]:
        """Library versions, BLAS/LAPACK vendor and threads, device name, driver, CUDA version."""


def blas_info() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded in this process, with vendor, kernel and threads."""
    import scipy.linalg  # noqa: F401 - loads scipy's own OpenBLAS, so the list is the same
    from threadpoolctl import threadpool_info  # whatever this process has imported before

    keys = ("user_api", "internal_api", "version", "num_threads", "architecture", "prefix")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def nvidia_driver_version() -> str | None:
    """The NVIDIA driver version from ``nvidia-smi``, or ``None`` where there is none."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None
