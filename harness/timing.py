"""Timing of one case: warm-up calls, then timed repeats on the backend's own clock.

Only the method call is inside the timed region: inputs are already on the device, and the
device is synchronised before each sample starts and when it stops (the backend's timer
waits for the device). The measurement engine (issue 3) replaces this with calibrated
inner loops, adaptive stopping and process isolation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.backend import Backend


def measure(
    call: Callable[[], Any], backend: Backend, warmup: int, repeats: int
) -> tuple[list[float], Any]:
    """Seconds of each of ``repeats`` timed calls after ``warmup`` untimed ones; the last output."""
    output = None
    for _ in range(warmup):
        output = call()
    timer = backend.timer()
    samples = []
    for _ in range(repeats):
        backend.synchronize()
        timer.start()
        output = call()
        backend.synchronize()
        samples.append(timer.stop())
    return samples, output
