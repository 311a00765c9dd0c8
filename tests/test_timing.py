"""The timing protocol and its statistics; the GPU path with a fake device (no GPU here)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from harness import Availability, Backend, Method, hookimpl
from harness.model.backend import CudaEventTimer
from harness.plugins.registry import Registry
from harness.run.case import Case, RunOptions
from harness.run.runner import ProblemCache, run_case
from harness.run.stats import median_interval, summarize
from harness.run.timing import TimingOptions, measure

NUMPY = Registry.load().backend("numpy")


def test_summary_statistics():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.n, s.median, s.min, s.max) == (5, 3.0, 1.0, 100.0)
    assert (s.q1, s.q3, s.iqr, s.mad) == (2.0, 4.0, 2.0, 1.0)
    assert s.mean == pytest.approx(22.0)
    assert s.ci_low is None and s.ci_high is None  # five samples: no 95% interval
    assert s.unstable  # IQR/median = 2/3
    six = summarize([1.0, 2.0, 3.0, 4.0, 5.0, 100.0])
    assert (six.ci_low, six.ci_high, six.ci_level) == (1.0, 100.0, 1 - 2 / 64)
    assert not summarize([1.0, 1.01, 1.02, 0.99]).unstable


@pytest.mark.parametrize("n", [6, 7, 10, 20, 31, 100])
def test_the_median_interval_is_the_exact_binomial_one(n):
    """[x₍ⱼ₎, x₍ₙ₋ⱼ₊₁₎] with j the largest whose coverage 1 − 2·P(B ≤ j − 1) is at least 95%,
    B ~ Binomial(n, ½): checked against scipy's binomial distribution and by simulation."""
    from scipy.stats import binom

    low, high, level = median_interval(np.arange(n, dtype=float))
    j = int(low) + 1  # the samples are 0..n-1, so x₍ⱼ₎ = j - 1
    assert high == n - j
    assert level == pytest.approx(1 - 2 * binom.cdf(j - 1, n, 0.5))
    assert level >= 0.95 > 1 - 2 * binom.cdf(j, n, 0.5)  # j + 1 would fall short
    rng = np.random.default_rng(0)
    draws = rng.lognormal(size=(4000, n))  # skewed, as timings are; true median 1
    sorted_draws = np.sort(draws, axis=1)
    covered = (sorted_draws[:, j - 1] <= 1.0) & (sorted_draws[:, n - j] >= 1.0)
    assert covered.mean() == pytest.approx(level, abs=0.015)


def test_calibration_makes_each_sample_last_min_time():
    timing = measure(lambda: time.sleep(0.001), NUMPY, TimingOptions(min_time=0.02, budget=0))
    assert timing.number >= 10
    assert timing.number * timing.summary.median >= 0.02
    assert timing.summary.median == pytest.approx(0.001, rel=0.5)


def test_sampling_stops_at_min_samples_and_budget():
    quick = TimingOptions(warmup=0, min_time=0, min_samples=4, budget=0)
    assert len(measure(lambda: None, NUMPY, quick).samples) == 4
    spent = TimingOptions(warmup=0, min_time=0, min_samples=2, budget=0.05, max_samples=1000)
    samples = measure(lambda: time.sleep(0.005), NUMPY, spent).samples
    assert 2 <= len(samples) <= 12  # about 0.05 s of 5 ms samples
    capped = TimingOptions(warmup=0, min_time=0, min_samples=2, budget=10, max_samples=7)
    assert len(measure(lambda: None, NUMPY, capped).samples) == 7


def test_adaptive_stop_once_the_spread_is_small():
    options = TimingOptions(warmup=0, min_time=0.002, min_samples=5, budget=60, adaptive=0.5)
    timing = measure(lambda: time.sleep(0.001), NUMPY, options)
    assert len(timing.samples) < 100  # stopped long before the 60 s budget


class FakeGpu(Backend):
    """A backend that pretends to be a GPU: numpy arrays, with every device operation logged
    and a CUDA-event timer over fake events (this machine has no GPU)."""

    name = "fake-gpu"
    library = "numpy"
    device = "cuda:fake"
    dtypes = ("float32", "float64")

    def __init__(self, log: list[str]):
        self.log = log

    def availability(self) -> Availability:
        return Availability(True)

    @property
    def xp(self) -> Any:
        import array_api_compat.numpy

        return array_api_compat.numpy

    def from_numpy(self, array: np.ndarray, dtype: str) -> np.ndarray:
        self.log.append("transfer in")
        return array.astype(dtype)

    def to_numpy(self, array: Any) -> np.ndarray:
        self.log.append("transfer out")
        return np.asarray(array, dtype=np.float64)

    def synchronize(self) -> None:
        self.log.append("synchronize device")

    def flush_cache(self) -> None:
        self.log.append("flush")

    def timer(self) -> CudaEventTimer:
        log = self.log

        class Event:
            def record(self) -> None:
                log.append("record event")

            def synchronize(self) -> None:
                log.append("wait for event")

        def elapsed_ms(start: Event, end: Event) -> float:
            log.append("read elapsed")
            return 1.0

        return CudaEventTimer(event=Event, elapsed_ms=elapsed_ms)

    def metadata(self) -> dict[str, Any]:
        return {"library": "numpy", "device": self.device}


def test_gpu_timing_order_with_a_fake_device_and_fake_events():
    log: list[str] = []

    def logged(G: Any, *, xp: Any) -> Any:
        log.append("method")
        return G

    class Plugin:
        @hookimpl
        def harness_backends(self):
            return [FakeGpu(log)]

        @hookimpl
        def harness_methods(self):
            return [Method(name="logged", family="orthogonalizer", fn=logged)]

    registry = Registry.load(extra=[("fake-gpu", Plugin())])
    options = RunOptions(
        TimingOptions(warmup=1, min_time=0, min_samples=2, budget=0, cache="cold"), "inline"
    )
    case = Case("orthogonalize", "logged", "fake-gpu", "float64", {"m": 4, "n": 8}, {}, {}, 0)
    result = run_case(case, registry, ProblemCache(registry), options)
    assert result.status == "ok", result.message
    assert result.samples == [1e-3, 1e-3]  # the device clock, not the host's
    assert len(result.host_samples) == 2
    timed = log[: log.index("transfer out")]
    sample = [
        "synchronize device",
        "record event",
        "method",
        "record event",
        "wait for event",
        "read elapsed",
    ]
    assert timed == [
        "transfer in",  # inputs move before anything is timed
        "flush",  # the flush buffer is allocated before the peak-memory window opens
        "synchronize device",
        "method",  # warm-up, untimed
        "flush",  # cold cache: one call per sample (no calibration), flushed before each
        *sample,  # cold cache: flushed before each sample, untimed
        "flush",
        *sample,
        "method",  # tracemalloc's untimed call
    ]


def test_cold_cache_samples_are_single_calls():
    options = TimingOptions(warmup=0, min_time=0.02, min_samples=3, budget=0, cache="cold")
    timing = measure(lambda: None, NUMPY, options)
    assert timing.number == 1 and len(timing.samples) == 3
