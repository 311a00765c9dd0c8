"""What the report's plots mark: the Pareto front of time against error, and the scaling
exponent of time against size."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates, by increasing x.

    Both coordinates are costs (time, error): ``p`` dominates ``q`` when it is no worse in
    both and better in one. Equal points are all on the front."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front: list[int] = []
    best_y = math.inf
    for i in order:
        x, y = points[i]
        if y < best_y or (front and points[front[-1]] == (x, y)):
            front.append(i)
            best_y = min(best_y, y)
    return front


def scaling_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float | None:
    """The least-squares slope ``k`` of log(time) against log(size): time ∝ size^k.

    ``None`` unless there are two distinct positive sizes with positive times."""
    pairs = [(s, t) for s, t in zip(sizes, seconds, strict=True) if s > 0 and t and t > 0]
    if len({s for s, _ in pairs}) < 2:
        return None
    x = np.log([s for s, _ in pairs])
    y = np.log([t for _, t in pairs])
    slope, _ = np.polyfit(x, y, 1)
    return float(slope)
