"""The numpy and torch-CPU backends for real; CUDA paths with fakes (this machine has no GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.model.backend import CudaEventTimer
from harness.plugins.registry import Registry

REGISTRY = Registry.load()
CPU_BACKENDS = ["numpy", "torch"]


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transfer_round_trip_and_namespace(name, dtype):
    backend = REGISTRY.backend(name)
    assert backend.availability().available
    host = np.random.default_rng(0).standard_normal((5, 3))
    x = backend.from_numpy(host, dtype)
    y = backend.xp.matrix_transpose(x) @ x
    assert str(y.dtype).endswith(dtype)
    back = backend.to_numpy(y)
    assert back.dtype == np.float64
    np.testing.assert_allclose(back, host.T @ host, rtol=1e-5 if dtype == "float32" else 1e-12)


def test_transfer_copies_so_methods_cannot_change_the_problem():
    backend = REGISTRY.backend("numpy")
    host = np.ones((2, 2))
    backend.from_numpy(host, "float64")[0, 0] = 5.0
    assert host[0, 0] == 1.0


def test_torch_has_bfloat16():
    backend = REGISTRY.backend("torch")
    assert "bfloat16" in backend.dtypes
    x = backend.from_numpy(np.array([1.0, 1.0 + 2**-10]), "bfloat16")
    assert backend.to_numpy(x).tolist() == [1.0, 1.0]  # bfloat16 keeps 8 bits of mantissa


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_clock_memory_and_metadata(name):
    backend = REGISTRY.backend(name)
    timer = backend.timer()
    timer.start()
    backend.synchronize()
    assert timer.stop() >= 0.0
    backend.reset_peak_memory()
    block = np.ones(32 * 2**20 // 8)  # 32 MiB touched
    assert backend.peak_memory_bytes() >= block.nbytes
    meta = backend.metadata()
    assert meta["library"] == name and meta["version"]
    assert any(lib["user_api"] == "blas" for lib in meta["blas"])


@pytest.mark.skipif(cuda_available(), reason="a CUDA device is present")
def test_torch_cuda_says_why_it_cannot_run():
    availability = REGISTRY.backend("torch-cuda").availability()
    assert not availability.available
    assert availability.reason == "no CUDA device"


def test_cupy_says_why_it_cannot_run():
    availability = REGISTRY.backend("cupy").availability()
    if availability.available:
        pytest.skip("cupy runs on this machine")
    assert "cupy is not installed" in availability.reason or "CUDA" in availability.reason


class FakeEvent:
    """Stands in for torch.cuda.Event / cupy.cuda.Event on a machine with no GPU."""

    def __init__(self, log: list[str], name: str):
        self.log, self.name = log, name

    def record(self) -> None:
        self.log.append(f"record {self.name}")

    def synchronize(self) -> None:
        self.log.append(f"synchronize {self.name}")


def test_cuda_event_timer_with_fake_events_waits_for_the_end_event_before_reading():
    log: list[str] = []
    names = iter(["start", "end"])

    def elapsed_ms(start: FakeEvent, end: FakeEvent) -> float:
        log.append(f"elapsed {start.name}->{end.name}")
        return 2.5

    timer = CudaEventTimer(event=lambda: FakeEvent(log, next(names)), elapsed_ms=elapsed_ms)
    timer.start()
    log.append("method")
    assert timer.stop() == pytest.approx(2.5e-3)
    assert log == ["record start", "method", "record end", "synchronize end", "elapsed start->end"]


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="no CUDA device")
def test_torch_cuda_round_trip_on_a_real_device():
    backend = REGISTRY.backend("torch-cuda")
    host = np.random.default_rng(0).standard_normal((64, 32))
    x = backend.from_numpy(host, "float64")
    timer = backend.timer()
    timer.start()
    y = x.T @ x
    assert timer.stop() > 0
    np.testing.assert_allclose(backend.to_numpy(y), host.T @ host, rtol=1e-12)
    assert backend.metadata()["gpu"]


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_matrices_move_as_the_library_csr(name, dtype):
    import scipy.sparse

    backend = REGISTRY.backend(name)
    host = scipy.sparse.random(30, 20, density=0.2, random_state=0, format="coo")
    A = backend.to_device(host, dtype)
    x = backend.from_numpy(np.arange(20.0), dtype)
    assert "csr" in type(A).__name__.lower() or A.layout.__repr__().endswith("sparse_csr")
    np.testing.assert_allclose(
        backend.to_numpy(A @ x), host @ np.arange(20.0), rtol=1e-5 if dtype == "float32" else 1e-12
    )
    assert backend.to_device(4, dtype) == 4  # scalars pass as they are
