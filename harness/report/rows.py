"""The rows of a report: stored cases, with the repetitions of one case merged into one row.

A suite's ``repetitions`` run each case several times; a randomised method takes the
repetition as its ``seed`` parameter (when the suite leaves that unset), so its repetitions
are independent draws and its result is a distribution over seeds, never one draw. Records
that differ only in ``repetition`` and in a ``seed`` parameter that varies with it are one
``Row``: its time is the median over the repetitions' medians with their min–max as the
interval, its metrics the median over repetitions with their min–max. A single case keeps
the order-statistic 95% interval of its own median (``stats.ci_low``, ``stats.ci_high``;
none with fewer than six samples).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.results.records import StoredCase
from harness.run.case import DID_NOT_RUN, FAILED, Status

ERROR_WORDS = ("error", "residual", "distance")
TOO_FEW_SAMPLES = "too few samples for a 95% interval (six at least)"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class Row:
    """One case, or all repetitions of one case, of one task."""

    records: tuple[StoredCase, ...]
    """The stored cases, in repetition order."""
    shown_params: tuple[str, ...] = ()
    """The parameters that tell this row from the task's other rows of the same method."""

    @property
    def first(self) -> StoredCase:
        return self.records[0]

    @property
    def task(self) -> str:
        return self.first.task

    @property
    def method(self) -> str:
        return self.first.method

    @property
    def backend(self) -> str:
        return self.first.backend

    @property
    def dtype(self) -> str:
        return self.first.dtype

    @property
    def sizes(self) -> dict[str, int]:
        return self.first.sizes

    @property
    def problem(self) -> dict[str, Any]:
        return self.first.problem

    @property
    def params(self) -> dict[str, Any]:
        """The method's parameters; a ``seed`` that varied over the repetitions is left out."""
        seeds = {json.dumps(r.params.get("seed")) for r in self.records}
        return {k: v for k, v in self.first.params.items() if k != "seed" or len(seeds) == 1}

    @property
    def label(self) -> str:
        """The method and the parameters that distinguish it on this task: ``newton_schulz
        steps=5``."""
        shown = " ".join(f"{k}={self.params[k]}" for k in self.shown_params if k in self.params)
        return f"{self.method} {shown}".strip()

    @property
    def size_text(self) -> str:
        return "×".join(map(str, self.sizes.values()))

    @property
    def size_elements(self) -> int:
        """The product of the size's dimensions: the scaling plot's x."""
        product = 1
        for dim in self.sizes.values():
            product *= dim
        return product

    @property
    def repetitions(self) -> int:
        return len(self.records)

    @property
    def ok(self) -> list[StoredCase]:
        """The repetitions that were measured and judged."""
        return [r for r in self.records if r.status == Status.OK and r.median_s is not None]

    @property
    def status(self) -> str:
        """``ok`` when every repetition is; otherwise the worst status among them."""
        for status in (*FAILED, *DID_NOT_RUN, Status.OK):
            if any(r.status == status for r in self.records):
                return status
        return self.first.status

    @property
    def status_text(self) -> str:
        status = self.status
        count = sum(r.status == status for r in self.records)
        text = (
            status if count == len(self.records) else f"{status} ({count} of {len(self.records)})"
        )
        return text + (" unstable" if self.unstable else "")

    @property
    def message(self) -> str:
        return next((r.message for r in self.records if r.message), "")

    @property
    def unstable(self) -> bool:
        return any(r.unstable for r in self.records)

    @property
    def medians(self) -> list[float]:
        """The median time (seconds) of each measured repetition."""
        return [r.median_s for r in self.ok if r.median_s is not None]

    @property
    def median_s(self) -> float | None:
        return _median(self.medians)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The order-statistic 95% interval of one case's median (None with too few samples);
        min–max of the repetitions'."""
        ok, medians = self.ok, self.medians
        if len(medians) > 1:
            return min(medians), max(medians)
        stats = ok[0].stats if ok else {}
        if stats and stats.get("ci_low") is not None and stats.get("ci_high") is not None:
            return stats["ci_low"], stats["ci_high"]
        return None

    @property
    def interval_kind(self) -> str:
        count = len(self.ok)
        if count > 1:
            return f"min–max over {count} repetitions"
        if self.interval is None:
            return TOO_FEW_SAMPLES
        return "order-statistic 95% interval of the median"

    def metric(self, name: str) -> float | None:
        return _median(self._metric_values(name))

    def metric_range(self, name: str) -> tuple[float, float] | None:
        values = self._metric_values(name)
        return (min(values), max(values)) if len(values) > 1 else None

    def _metric_values(self, name: str) -> list[float]:
        values = ((r.metrics or {}).get(name) for r in self.ok)
        return [v for v in values if v is not None]

    @property
    def gflops(self) -> float | None:
        rates = [r.flops / r.median_s / 1e9 for r in self.ok if r.flops and r.median_s]
        return _median(rates)

    @property
    def peak_fraction(self) -> float | None:
        return _median([r.peak_fraction for r in self.ok if r.peak_fraction is not None])

    @property
    def above_peak(self) -> bool:
        """Some repetition's rate passed the measured peak (``roofline.ABOVE_PEAK``)."""
        return any(r.above_peak for r in self.ok)

    @property
    def gbs(self) -> float | None:
        """Achieved GB/s (the method's bytes model over the median time)."""
        return _median([gbs for r in self.ok if (gbs := r.gbs) is not None])

    @property
    def bandwidth_fraction(self) -> float | None:
        shares = [r.bandwidth_fraction for r in self.ok if r.bandwidth_fraction is not None]
        return _median(shares)

    @property
    def curves(self) -> list[list[dict[str, float]]]:
        """The convergence curve of each measured repetition (empty for a direct method)."""
        return [r.curve for r in self.ok if r.curve]


def _key(record: StoredCase, with_seed: bool) -> str:
    params = {k: v for k, v in record.params.items() if with_seed or k != "seed"}
    identity = [
        record.task,
        record.method,
        record.backend,
        record.dtype,
        record.sizes,
        record.problem,
    ]
    return json.dumps([*identity, record.seed, params], sort_keys=True, default=str)


def group_repetitions(records: Iterable[StoredCase]) -> list[Row]:
    """Rows of ``records`` (one task's or many), in the order their first record came.

    Records equal but for ``repetition`` and the method's ``seed`` are one row; where two of
    them share a repetition, the seed was the suite's own sweep, not the repetitions', and
    the seed then tells rows apart.
    """
    groups: dict[str, list[StoredCase]] = {}
    for record in records:
        groups.setdefault(_key(record, with_seed=False), []).append(record)
    rows = []
    for group in groups.values():
        repetitions = [r.repetition for r in group]
        if len(set(repetitions)) == len(repetitions):
            rows.append(sorted(group, key=lambda r: r.repetition))
            continue
        by_seed: dict[str, list[StoredCase]] = {}
        for record in group:
            by_seed.setdefault(_key(record, with_seed=True), []).append(record)
        rows += [sorted(g, key=lambda r: r.repetition) for g in by_seed.values()]
    return _with_labels([Row(tuple(records)) for records in rows])


def _with_labels(rows: list[Row]) -> list[Row]:
    """Each row with the parameters that vary among its task's rows of the same method."""
    varying: dict[tuple[str, str], list[str]] = {}
    for task, method in dict.fromkeys((r.task, r.method) for r in rows):
        same = [r.params for r in rows if r.task == task and r.method == method]
        names = dict.fromkeys(name for params in same for name in params)
        varying[task, method] = [  # a case that did not run stores only the suite's params
            name
            for name in names
            if len({json.dumps(p[name], sort_keys=True, default=str) for p in same if name in p})
            > 1
        ]
    return [Row(r.records, tuple(varying[r.task, r.method])) for r in rows]


def metric_names(rows: Sequence[Row]) -> list[str]:
    """Every metric of the rows, in the order the task reports them."""
    return list(
        dict.fromkeys(name for row in rows for r in row.records for name in r.metrics or {})
    )


def main_metric(names: Sequence[str]) -> str | None:
    """The main metric of a run stored before tasks declared theirs (``Declared``): the
    first the task reports whose name says it is an error (``error``, ``residual``,
    ``distance``), else its first metric.

    A task lists its metrics in the order it chose (``orthogonalize`` reports
    ``orthogonality_error`` first, the one every orthogonalizer aims at, where the polar
    distance only judges the polar methods fairly)."""
    for name in names:
        if any(word in name for word in ERROR_WORDS):
            return name
    return names[0] if names else None


@dataclass(frozen=True)
class Declared:
    """What a task declared of its metrics (``Task.metric_declaration``), as its run stored
    it in ``metadata["tasks"]``: the main metric and the higher-is-better ones. A run stored
    before tasks declared them has none (``stored`` false): its main metric is then the one
    ``main_metric`` picks, and every metric is lower-is-better."""

    main: str | None = None
    """``None``: the first metric the task reports (``stored``), or ``main_metric``'s."""
    higher: frozenset[str] = frozenset()
    stored: bool = False

    @classmethod
    def of(cls, metadata: dict[str, Any] | None, task: str) -> Declared:
        """The declaration of ``task`` in a run's ``metadata``; none where it holds none."""
        tasks = (metadata or {}).get("tasks")
        found = tasks.get(task) if isinstance(tasks, dict) else None
        if not isinstance(found, dict):
            return cls()
        main = found.get("main")
        higher = found.get("higher_is_better")
        higher = higher if isinstance(higher, list) else []
        return cls(
            main if isinstance(main, str) else None,
            frozenset(name for name in higher if isinstance(name, str)),
            stored=True,
        )

    def main_metric(self, names: Sequence[str]) -> str | None:
        """The metric the task's headline and plots start on, of the ``names`` its rows
        report: the declared one, or else its first; for a run without declarations,
        ``main_metric``'s pick."""
        if not self.stored:
            return main_metric(names)
        if self.main in names:
            return self.main
        return names[0] if names else None

    def higher_is_better(self, metric: str) -> bool:
        return metric in self.higher

    def direction(self, metric: str) -> str:
        """``higher`` or ``lower``: which is better for ``metric``."""
        return "higher" if self.higher_is_better(metric) else "lower"


def problem_groups(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """Rows by size and problem, titled ``16×16 spectrum=gaussian``, in order of appearance."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(problem_title(row), []).append(row)
    return groups


def problem_title(row: Row) -> str:
    """The row's size and problem: ``16×16 spectrum=gaussian kappa=100``."""
    return " ".join([row.size_text, *(f"{k}={v}" for k, v in row.problem.items())])


def by_problem(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """Rows by problem, all sizes together (the scaling plot's groups), titled by the
    problem's parameters."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        title = " ".join(f"{k}={v}" for k, v in row.problem.items()) or "all sizes"
        groups.setdefault(title, []).append(row)
    return groups


def series_name(row: Row) -> str:
    """What one line or marker of a plot stands for: ``label · backend · dtype``."""
    return f"{row.label} · {row.backend} · {row.dtype}"


def anchor(row: Row) -> str:
    """The id of the row's line in its task page's table, for links from elsewhere:
    ``case-`` and the id of its first stored case (unique in a database)."""
    return f"case-{row.first.id}"
