"""The timing protocol for one case: warm-up, calibration, sampling, statistics.

Only the method runs inside the timed region. The problem is generated, moved to the device
and (for cold-cache runs) the cache is flushed before a sample starts, never inside it.

1. ``warmup`` untimed calls (first-call compilation, allocation, library initialisation).
2. Calibration: the number of calls per sample doubles (or jumps by the measured ratio) until
   one sample lasts at least ``min_time``; these samples are discarded too.
3. Sampling: each sample is ``number`` calls between a synchronisation before the first call
   and the backend timer's stop after the last (which waits for the device). Samples are
   taken until there are at least ``min_samples`` and ``budget`` seconds have been spent, or
   earlier once IQR/median falls below ``adaptive`` (when set), and never more than
   ``max_samples``. With ``cache: cold`` the caches are flushed (untimed) before every sample
   and a sample is a single call (no calibration), since only a call right after a flush is
   cold; the timer's resolution then bounds what can be timed.
4. Each sample is divided by ``number``: the stored samples are seconds per call, on the
   backend's clock (CUDA events on a GPU) and on the host clock beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.model.backend import Backend, Timer
from harness.run.stats import UNSTABLE_ABOVE, Summary, relative_iqr, summarize

MAX_NUMBER = 1_000_000


@dataclass(frozen=True)
class TimingOptions:
    """How one case is timed; a suite's ``timing:`` block sets these."""

    warmup: int = 1
    min_time: float = 0.02
    """Seconds one sample lasts at least (calls per sample are calibrated to reach it)."""
    min_samples: int = 5
    max_samples: int = 100
    budget: float = 0.25
    """Seconds of sampling to spend at least, once ``min_samples`` are taken."""
    adaptive: float = 0.0
    """Stop early once IQR/median is below this (0: off)."""
    cache: Literal["warm", "cold"] = "warm"
    """``cold`` flushes the caches (untimed) before every sample, of one call each."""
    unstable_above: float = UNSTABLE_ABOVE


@dataclass
class Timing:
    number: int
    """Calls per sample."""
    samples: list[float] = field(default_factory=list)
    """Seconds per call, one per sample, on the backend's clock."""
    host_samples: list[float] = field(default_factory=list)
    """Seconds per call on the host clock (equal to ``samples`` on CPU backends)."""
    summary: Summary | None = None
    output: Any = None


def _sample(
    call: Callable[[], Any], backend: Backend, timer: Timer, number: int
) -> tuple[float, float, Any]:
    """Total (backend seconds, host seconds, last output) of ``number`` calls."""
    output = None
    backend.synchronize()
    host_start = time.perf_counter_ns()
    timer.start()
    for _ in range(number):
        output = call()
    device = timer.stop()  # waits for the device
    return device, (time.perf_counter_ns() - host_start) * 1e-9, output


def calibrate(call: Callable[[], Any], backend: Backend, timer: Timer, min_time: float) -> int:
    """Calls per sample so that a sample lasts at least ``min_time`` seconds."""
    number = 1
    while number < MAX_NUMBER:
        elapsed = _sample(call, backend, timer, number)[0]
        if elapsed >= min_time:
            break
        ratio = min_time / elapsed * 1.2 if elapsed > 0 else 10.0
        number = min(MAX_NUMBER, max(2 * number, math.ceil(number * ratio)))
    return number


def measure(call: Callable[[], Any], backend: Backend, options: TimingOptions) -> Timing:
    """Time ``call`` on ``backend`` by the protocol above."""
    for _ in range(options.warmup):
        call()
    timer = backend.timer()
    # A cold-cache sample is one call: only the first call after a flush is cold.
    cold = options.cache == "cold"
    timing = Timing(number=1 if cold else calibrate(call, backend, timer, options.min_time))
    started = time.perf_counter()
    while True:
        if cold:
            backend.flush_cache()
        device, host, timing.output = _sample(call, backend, timer, timing.number)
        timing.samples.append(device / timing.number)
        timing.host_samples.append(host / timing.number)
        n = len(timing.samples)
        if n >= options.max_samples:
            break
        if n >= options.min_samples:
            if options.adaptive > 0 and relative_iqr(timing.samples) < options.adaptive:
                break
            if time.perf_counter() - started >= options.budget:
                break
    timing.summary = summarize(timing.samples, options.unstable_above)
    return timing
