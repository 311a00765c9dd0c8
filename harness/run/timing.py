"""The timing protocol for one case: warm-up, calibration, sampling, statistics.

Only the method runs inside the timed region. The problem is generated, moved to the device
and (for cold-cache runs) the cache is flushed before a sample starts, never inside it.

1. ``warmup`` untimed calls (first-call compilation, allocation, library initialisation).
2. Calibration: the number of calls per sample doubles (or jumps by the measured ratio) until
   one sample lasts at least ``min_time``; that last sample, of the calibrated number of
   calls after the warm-up and the shorter calibration samples, is the first sample kept,
   the shorter ones are discarded. Given the number an earlier case of the same method and
   size calibrated (``harness.run.executors``), the first sample re-checks it instead: kept
   when it lasts from ``min_time`` to ``RECHECK_BAND`` times that (or one call lasts longer
   when the number is 1), else discarded for a fresh calibration.
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
RECHECK_BAND = 4.0
"""A reused number of calls per sample stands while a sample lasts at most this many
``min_time``s (calibration leaves it between 1 and about 2.4)."""


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
    calibrated: bool = True
    """Whether ``number`` was calibrated here (False: a reused number stood its re-check)."""


Sample = tuple[float, float, Any]
"""A sample of ``number`` calls: (backend seconds, host seconds, the last output)."""


def _sample(call: Callable[[], Any], backend: Backend, timer: Timer, number: int) -> Sample:
    """Total (backend seconds, host seconds, last output) of ``number`` calls."""
    output = None
    backend.synchronize()
    host_start = time.perf_counter_ns()
    timer.start()
    for _ in range(number):
        output = call()
    device = timer.stop()  # waits for the device
    return device, (time.perf_counter_ns() - host_start) * 1e-9, output


def calibrate(
    call: Callable[[], Any], backend: Backend, timer: Timer, min_time: float
) -> tuple[int, Sample | None]:
    """Calls per sample so that a sample lasts at least ``min_time`` seconds, and the last
    calibration sample, of that many calls (None if ``MAX_NUMBER`` was reached untried)."""
    number = 1
    while number < MAX_NUMBER:
        sample = _sample(call, backend, timer, number)
        if sample[0] >= min_time:
            return number, sample
        ratio = min_time / sample[0] * 1.2 if sample[0] > 0 else 10.0
        number = min(MAX_NUMBER, max(2 * number, math.ceil(number * ratio)))
    return number, None


def _stands(number: int, elapsed: float, min_time: float) -> bool:
    """Whether a sample of ``number`` calls lasting ``elapsed`` seconds is one calibration
    could have settled on (see ``RECHECK_BAND``)."""
    return elapsed >= min_time and (number == 1 or elapsed <= RECHECK_BAND * min_time)


def _first_sample(
    call: Callable[[], Any],
    backend: Backend,
    timer: Timer,
    options: TimingOptions,
    number: int | None,
) -> tuple[Timing, Sample | None]:
    """The calls per sample (``number`` when its re-check stands, else calibrated) and the
    sample that settled them, which is the first sample kept; none for a cold cache."""
    if options.cache == "cold":
        return Timing(number=1), None
    if number is not None:
        number = min(number, MAX_NUMBER)
        sample = _sample(call, backend, timer, number)
        if _stands(number, sample[0], options.min_time):
            return Timing(number=number, calibrated=False), sample
    number, settled = calibrate(call, backend, timer, options.min_time)
    return Timing(number=number), settled


def measure(
    call: Callable[[], Any], backend: Backend, options: TimingOptions, number: int | None = None
) -> Timing:
    """Time ``call`` on ``backend`` by the protocol above; ``number``: calls per sample an
    earlier calibration found, re-checked by the first sample."""
    for _ in range(options.warmup):
        call()
    timer = backend.timer()
    timing, first = _first_sample(call, backend, timer, options, number)
    started = time.perf_counter() - (first[1] if first else 0.0)
    while True:
        if first is not None:
            (device, host, timing.output), first = first, None
        else:
            if options.cache == "cold":
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
