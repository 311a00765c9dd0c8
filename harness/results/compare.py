"""Comparing two stored runs: per case, did the new run get slower, faster, less accurate?

Cases of the two runs are matched by their identity (task, method, parameters with defaults
filled in, backend, dtype, sizes, problem, seed, and repetition when the records carry it).
For a case measured (``ok``) in both:

- **Time.** The ratio r = median(new) / median(base) of the raw samples (seconds per call),
  a two-sided Mann–Whitney U test of "neither run's samples tend to be larger" (p-value), and
  a percentile-bootstrap interval of r at level 1 − alpha (each run's samples resampled on
  their own, a fixed seed, so the same samples always give the same interval). A change must
  be both significant (p < alpha) and larger than the minimum effect e (r > 1 + e, or
  r < 1 / (1 + e): symmetric on a log scale) to count; a significant 1% change is ``same``.
  The verdict is ``unstable`` when the samples cannot decide: too few for the test to reach
  alpha even when the two runs do not overlap at all (two-sided exact minimum
  p = 2 / C(n_base + n_new, n_base)), or either run flagged the case unstable (IQR/median
  above the suite's threshold, ``harness.run.stats``) and the interval straddles 1 + e or
  1 / (1 + e).
- **Accuracy.** Each quality metric present in both records, in the direction its task
  declared (``Task.higher_is_better``, stored in the new run's ``metadata["tasks"]``; the base
  run's where the new one has none; lower is better for every metric of a run stored
  before tasks declared them). A metric that moved the wrong way (grew, or for a
  higher-is-better metric fell) by more than ``max(absolute, relative × |base|)`` is an
  accuracy regression; one that moved as much the right way is an improvement. A metric that
  became non-finite (stored as null) is a regression.
- **Status.** A case ``ok`` in the base and ``error``/``timeout``/``crashed`` in the new run
  is ``failing`` (a regression); the reverse is ``fixed``; any other change of status is
  ``status changed``. Cases in one run only are ``only in base`` / ``only in new``.

Times are comparable only between runs on the same machine and software stack: the inputs of
``harness.run.roofline.fingerprint`` (CPU, cores, memory, OS; each backend's library, version,
device, BLAS and its threads) must agree for every backend both runs used, and each case must
have run with the same thread pools (the suite's ``threads``). When they do not, the
comparison says why and gives no timing verdicts (``not comparable``), unless asked to
normalise by the roofline (measured with the run's threads): each run's samples are
multiplied by that run's measured GEMM rate for the case's backend and dtype
(``metadata["roofline"]``), so a time becomes "the GFLOP this machine's GEMM does in that
time", and the ratio compares the share of each machine's GEMM rate reached.

The logic only; ``harness.cli.compare`` prints it, the HTML report draws it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.results.db import ResultsDB
from harness.results.records import StoredCase, StoredRun
from harness.run import roofline
from harness.run.case import FAILED, Status
from harness.run.stats import bootstrap_interval

VERDICTS = (
    "slower",
    "faster",
    "same",
    "unstable",
    "not comparable",
    "failing",
    "fixed",
    "status changed",
    "not measured",
    "only in base",
    "only in new",
)
"""A row's verdict. ``slower``/``faster``/``same``/``unstable``: both runs measured the case;
``not comparable``: both measured it but the times cannot be compared (different machines or
thread pools and no normalisation, or a run lacks the GEMM rate to normalise by);
``failing``: ok in the base, error/timeout/crashed in the new run; ``fixed``: the reverse;
``status changed``: any other change of status; ``not measured``: neither run measured it,
with the same status in both."""
REGRESSIONS = ("slower", "failing")
"""Verdicts that are regressions (an accuracy regression is one whatever the verdict)."""
UNDECIDED = ("unstable", "not comparable")
"""Verdicts that leave the question open (exit code 2 when nothing regressed)."""
MACHINE_KEYS = ("cpu", "cores", "memory_bytes", "platform")
STACK_KEYS = ("library", "version", "device", "gpu", "num_threads")
"""With ``MACHINE_KEYS``, the inputs of ``roofline.fingerprint``: named here to say which
differ; whether runs are comparable is the fingerprint's decision."""


@dataclass(frozen=True)
class MetricTolerance:
    """How much a quality metric may change before it counts (either way).

    A change counts when ``|new − base| > max(absolute, relative × |base|)``.
    """

    relative: float = 0.10
    absolute: float | None = None
    """``None``: 10 machine epsilons of the case's dtype (float32 1.2e-6, float64 2.2e-15),
    the size of a change in rounding alone."""

    def threshold(self, base: float, dtype: str) -> float:
        absolute = self.absolute if self.absolute is not None else 10 * machine_epsilon(dtype)
        return max(absolute, self.relative * abs(base))


@dataclass(frozen=True)
class MetricChange:
    """A quality metric that changed beyond the tolerance."""

    name: str
    base: float | None
    new: float | None
    """``None``: the metric was non-finite in that run."""
    worse: bool
    """True: an accuracy regression (the metric moved the wrong way, or became non-finite)."""
    higher_is_better: bool = False
    """The metric's direction, as the task declared it (``higher_is_better_metrics``)."""


@dataclass(frozen=True)
class CaseComparison:
    """One case of either run: its identity, both records, and the verdict."""

    identity: dict[str, Any]
    """``harness.run.case.case_identity`` of the records, as stored."""
    base: StoredCase | None
    """The base run's record (``ResultsDB.cases``), None for a case only in the new run."""
    new: StoredCase | None
    verdict: str
    """One of ``VERDICTS``."""
    ratio: float | None = None
    """median(new) / median(base), of roofline-normalised samples when asked; both ok only."""
    interval: tuple[float, float] | None = None
    """Bootstrap interval of ``ratio`` at level 1 − alpha."""
    p_value: float | None = None
    """Two-sided Mann–Whitney U test on the two runs' samples."""
    metric_changes: tuple[MetricChange, ...] = ()
    """Quality metrics that changed beyond the tolerance, for better or worse."""
    note: str | None = None
    """Why the verdict is ``unstable`` or ``not comparable``, or how the status changed (with
    the new run's message)."""

    @property
    def accuracy_regressed(self) -> bool:
        return any(change.worse for change in self.metric_changes)

    @property
    def regressed(self) -> bool:
        """Slower, newly failing, or less accurate."""
        return self.verdict in REGRESSIONS or self.accuracy_regressed

    @property
    def changed(self) -> bool:
        """Anything to report: a verdict other than same/not measured, or a metric change."""
        return self.verdict not in ("same", "not measured") or bool(self.metric_changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: identity, verdict, statistics, metric changes, and each run's median,
        samples' count, status and message (the full records are in the database)."""

        def side(record: StoredCase | None) -> dict[str, Any] | None:
            if record is None:
                return None
            return {
                "id": record.id,
                "status": record.status,
                "message": record.message,
                "median_s": record.median_s,
                "samples": len(record.samples or []),
                "unstable": bool(record.unstable),
                "peak_fraction": record.peak_fraction,
                "above_peak": None if record.above_peak is None else bool(record.above_peak),
                "gbs": record.gbs,
                "bandwidth_fraction": record.bandwidth_fraction,
                "metrics": record.metrics,
            }

        return {
            **self.identity,
            "verdict": self.verdict,
            "regressed": self.regressed,
            "ratio": self.ratio,
            "interval": list(self.interval) if self.interval else None,
            "p_value": self.p_value,
            "metric_changes": [
                {
                    "name": c.name,
                    "base": c.base,
                    "new": c.new,
                    "worse": c.worse,
                    "higher_is_better": c.higher_is_better,
                }
                for c in self.metric_changes
            ],
            "note": self.note,
            "base": side(self.base),
            "new": side(self.new),
        }


@dataclass
class Comparison:
    """Two runs compared case by case (``compare_runs``)."""

    base_run: StoredRun
    """The base run's row (``ResultsDB.run``: id, suite, started_at, metadata, ...)."""
    new_run: StoredRun
    rows: list[CaseComparison]
    """One per case of either run, in the base run's order, then the new run's new cases."""
    comparable: bool
    """Both runs on the same machine and software stack (equal roofline fingerprints)."""
    reason: str | None
    """Why not comparable: the fields that differ."""
    normalize: Literal["roofline"] | None
    min_effect: float
    alpha: float
    metric_tolerance: MetricTolerance = field(default_factory=MetricTolerance)

    @property
    def common(self) -> int:
        """Cases in both runs: what was compared."""
        return sum(row.base is not None and row.new is not None for row in self.rows)

    def summary(self) -> dict[str, int]:
        """How many rows have each verdict (those present), plus ``less accurate`` and
        ``more accurate`` (rows with a metric that got worse / only better) and ``regressed``."""
        counts = Counter(row.verdict for row in self.rows)
        out = {verdict: counts[verdict] for verdict in VERDICTS if counts[verdict]}
        out["less accurate"] = sum(row.accuracy_regressed for row in self.rows)
        out["more accurate"] = sum(
            bool(row.metric_changes) and not row.accuracy_regressed for row in self.rows
        )
        out["regressed"] = sum(row.regressed for row in self.rows)
        return out

    @property
    def exit_code(self) -> int:
        """0: nothing regressed; 1: something regressed (a regression wins, even between
        runs on different machines: a new failure or a worse metric needs no timing); 2: too
        unstable to say, the runs are not comparable (different machines, no
        normalisation), or they have no case in common (nothing was compared)."""
        if any(row.regressed for row in self.rows):
            return 1
        if not self.common:
            return 2
        if not self.comparable and self.normalize is None:
            return 2
        if any(row.verdict in UNDECIDED for row in self.rows):
            return 2
        return 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: both runs (id, suite, commit, start), the settings, the verdict of
        comparability, the summary, the exit code and every row."""

        def run(row: StoredRun) -> dict[str, Any]:
            project = row.metadata.get("project") or {}
            return {
                "id": row.id,
                "suite": row.suite,
                "started_at": row.started_at,
                "commit": project.get("commit"),
                "dirty": project.get("dirty"),
            }

        return {
            "base": run(self.base_run),
            "new": run(self.new_run),
            "comparable": self.comparable,
            "reason": self.reason,
            "normalize": self.normalize,
            "min_effect": self.min_effect,
            "alpha": self.alpha,
            "metric_tolerance": {
                "relative": self.metric_tolerance.relative,
                "absolute": self.metric_tolerance.absolute,
            },
            "summary": self.summary(),
            "common": self.common,
            "exit_code": self.exit_code,
            "rows": [row.as_dict() for row in self.rows],
        }


def machine_epsilon(dtype: str) -> float:
    """Unit roundoff ×2 (the gap after 1.0) of a dtype named as in ``backend.DTYPES``."""
    return 2.0**-7 if dtype == "bfloat16" else float(np.finfo(dtype).eps)


def compare_runs(
    db: ResultsDB,
    base_id: int,
    new_id: int,
    *,
    base_db: ResultsDB | None = None,
    min_effect: float = 0.05,
    alpha: float = 0.01,
    metric_tolerance: MetricTolerance | None = None,
    normalize: Literal["roofline"] | None = None,
) -> Comparison:
    """Compare run ``new_id`` of ``db`` with run ``base_id`` (of ``base_db`` when given, else
    of ``db``), case by case, as the module docstring says."""
    if not 0 < alpha < 1:  # False for NaN too
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if not 0 <= min_effect < math.inf:
        raise ValueError(f"min_effect must be a finite number of at least 0, not {min_effect}")
    tolerance = metric_tolerance or MetricTolerance()
    base_source = base_db or db
    base_run, new_run = base_source.run(base_id), db.run(new_id)
    differences = machine_differences(base_run.metadata, new_run.metadata)
    comparable = not differences
    judge = _TimeJudge(
        base_run.metadata, new_run.metadata, comparable, normalize, min_effect, alpha
    )
    rows = [
        _compare_case(
            identity,
            base,
            new,
            judge,
            tolerance,
            higher_is_better_metrics(new_run.metadata, base_run.metadata, identity["task"]),
        )
        for identity, base, new in match_cases(base_source.cases(base_id), db.cases(new_id))
    ]
    return Comparison(
        base_run=base_run,
        new_run=new_run,
        rows=rows,
        comparable=comparable,
        reason="; ".join(differences) if differences else None,
        normalize=normalize,
        min_effect=min_effect,
        alpha=alpha,
        metric_tolerance=tolerance,
    )


def find_run(db: ResultsDB, ref: str) -> int:
    """The run ``ref`` names: a run id of ``db``, or else a git commit (a prefix of at least
    4 hex digits): the latest finished run whose ``metadata["project"]["commit"]`` starts
    with it. Raises ``LookupError`` saying what exists."""
    ref = ref.strip().lower()
    if ref.isdigit() and db.has_run(int(ref)):
        return int(ref)
    runs = db.run_commits()
    if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref):
        for run_id, status, commit in runs:
            if status == "finished" and (commit or "").startswith(ref):
                return run_id
    known = ", ".join(
        f"{run_id} ({(commit or 'no commit')[:10]}"
        + ("" if status == "finished" else f", {status}")
        + ")"
        for run_id, status, commit in runs[:10]
    )
    more = f" and {len(runs) - 10} more (harness runs)" if len(runs) > 10 else ""
    raise LookupError(
        f"{ref!r} is neither a run id nor the commit of a finished run in {db.path}; "
        f"its runs (latest first): {known or 'none'}{more}"
    )


def match_cases(
    base: list[StoredCase], new: list[StoredCase]
) -> list[tuple[dict[str, Any], StoredCase | None, StoredCase | None]]:
    """Pairs ``(identity, base record, new record)`` of equal ``case_key``; a record without a
    partner is paired with None. Records of equal key (repetitions in records that do not
    store ``repetition``) pair in order: the k-th of the base with the k-th of the new."""

    def keyed(records: list[StoredCase]) -> dict[str, StoredCase]:
        seen: Counter[str] = Counter()
        out = {}
        for record in records:
            key = record.key()
            out[f"{key}#{seen[key]}"] = record
            seen[key] += 1
        return out

    base_by_key, new_by_key = keyed(base), keyed(new)
    keys = [*base_by_key, *(k for k in new_by_key if k not in base_by_key)]
    return [
        (
            (base_by_key.get(k) or new_by_key[k]).identity(),
            base_by_key.get(k),
            new_by_key.get(k),
        )
        for k in keys
    ]


def machine_differences(base_meta: dict[str, Any], new_meta: dict[str, Any]) -> list[str]:
    """What makes the two runs' times incomparable, one line each; empty when the roofline
    fingerprints of the machine and of every backend both runs used agree."""
    backends = sorted(set(base_meta.get("backends", {})) & set(new_meta.get("backends", {})))
    # The machine alone (an empty stack), then each backend both runs used.
    stacks = [({}, {})] + [(base_meta["backends"][b], new_meta["backends"][b]) for b in backends]
    if all(
        roofline.fingerprint(base_meta, b) == roofline.fingerprint(new_meta, n) for b, n in stacks
    ):
        return []
    out = [
        f"{key}: {base_meta.get(key)!r} vs {new_meta.get(key)!r}"
        for key in MACHINE_KEYS
        if base_meta.get(key) != new_meta.get(key)
    ]
    for name in backends:
        base_stack, new_stack = base_meta["backends"][name], new_meta["backends"][name]
        out += [
            f"{name} {key}: {base_stack.get(key)!r} vs {new_stack.get(key)!r}"
            for key in (*STACK_KEYS, "blas")
            if base_stack.get(key) != new_stack.get(key)
        ]
    return out or ["the roofline fingerprints differ"]


@dataclass(frozen=True)
class _TimeJudge:
    """The timing verdict of a case both runs measured (settings of one comparison)."""

    base_meta: dict[str, Any]
    new_meta: dict[str, Any]
    comparable: bool
    normalize: Literal["roofline"] | None
    min_effect: float
    alpha: float

    def __call__(self, base: StoredCase, new: StoredCase) -> dict[str, Any]:
        """``verdict``, ``ratio``, ``interval``, ``p_value`` and ``note`` of a case."""
        x, y = np.asarray(base.samples or [], float), np.asarray(new.samples or [], float)
        if self.normalize == "roofline":
            scales = [
                _gemm_rate(m, base.backend, base.dtype) for m in (self.base_meta, self.new_meta)
            ]
            if None in scales:
                missing = "base" if scales[0] is None else "new"
                return {
                    "verdict": "not comparable",
                    "note": f"the {missing} run has no measured GEMM rate for "
                    f"{base.backend} {base.dtype} to normalise by",
                }
            x, y = x * scales[0], y * scales[1]
        if x.size == 0 or y.size == 0 or np.median(x) <= 0:
            return {"verdict": "unstable", "note": "no samples, or a base median of 0"}
        ratio = float(np.median(y) / np.median(x))
        result: dict[str, Any] = {"ratio": ratio}
        if self.normalize is None:
            if not self.comparable:
                return {
                    **result,
                    "verdict": "not comparable",
                    "note": "different machines or software stacks",
                }
            if _threads(base) != _threads(new):
                return {
                    **result,
                    "verdict": "not comparable",
                    "note": f"different threads: {_threads(base)} vs {_threads(new)}",
                }
        smallest_p = 2 / math.comb(x.size + y.size, x.size)
        if smallest_p >= self.alpha:
            return {
                **result,
                "verdict": "unstable",
                "note": f"too few samples ({x.size} and {y.size}) for a test at alpha={self.alpha}",
            }
        from scipy.stats import mannwhitneyu  # slow to import: not for every harness command

        p_value = float(mannwhitneyu(x, y, alternative="two-sided").pvalue)
        interval = bootstrap_interval(y, self.alpha, base=x)
        result.update(p_value=p_value, interval=interval)
        up, down = 1 + self.min_effect, 1 / (1 + self.min_effect)
        straddles = any(interval[0] < t < interval[1] for t in (up, down))
        if (base.unstable or new.unstable) and straddles:
            which = " and ".join(n for n, r in (("base", base), ("new", new)) if r.unstable)
            return {
                **result,
                "verdict": "unstable",
                "note": f"{which} too spread; the interval crosses ±{self.min_effect:.0%}",
            }
        if p_value < self.alpha and not down <= ratio <= up:
            return {**result, "verdict": "slower" if ratio > up else "faster"}
        return {**result, "verdict": "same"}


def _threads(record: StoredCase) -> str:
    """The thread pools a case ran with, e.g. ``openblas 1``."""
    pools = sorted(f"{p.get('internal_api')} {p.get('num_threads')}" for p in record.threads or [])
    return ", ".join(pools) or "unknown"


def _gemm_rate(meta: dict[str, Any], backend: str, dtype: str) -> float | None:
    return meta.get("roofline", {}).get(backend, {}).get(dtype, {}).get("gemm_gflops")


def higher_is_better_metrics(
    new_meta: dict[str, Any], base_meta: dict[str, Any], task: str
) -> frozenset[str]:
    """The metrics of ``task`` that its declaration (``Task.metric_declaration``, stored in
    a run's ``metadata["tasks"]``) says are higher-is-better: the new run's, else the base
    run's; none (every metric lower-is-better) for runs stored before tasks declared them."""
    for meta in (new_meta, base_meta):
        tasks = meta.get("tasks")
        declared = tasks.get(task) if isinstance(tasks, dict) else None
        if isinstance(declared, dict):
            names = declared.get("higher_is_better")
            names = names if isinstance(names, list) else []
            return frozenset(name for name in names if isinstance(name, str))
    return frozenset()


def _metric_changes(
    base: StoredCase,
    new: StoredCase,
    tolerance: MetricTolerance,
    higher_is_better: frozenset[str] = frozenset(),
) -> tuple[MetricChange, ...]:
    """Metrics present in both records that changed beyond the tolerance, judged in their
    direction (``higher_is_better``: the metrics for which larger is better)."""
    base_metrics, new_metrics = base.metrics or {}, new.metrics or {}
    changes = []
    for name in sorted(set(base_metrics) & set(new_metrics)):
        b, n = base_metrics[name], new_metrics[name]
        higher = name in higher_is_better
        if b is None or n is None:
            if (b is None) != (n is None):
                changes.append(MetricChange(name, b, n, worse=n is None, higher_is_better=higher))
            continue
        if abs(n - b) > tolerance.threshold(b, base.dtype):
            worse = n < b if higher else n > b
            changes.append(MetricChange(name, b, n, worse=worse, higher_is_better=higher))
    return tuple(changes)


def _compare_case(
    identity: dict[str, Any],
    base: StoredCase | None,
    new: StoredCase | None,
    judge: _TimeJudge,
    tolerance: MetricTolerance,
    higher_is_better: frozenset[str] = frozenset(),
) -> CaseComparison:
    if base is None or new is None:
        verdict = "only in new" if base is None else "only in base"
        return CaseComparison(identity, base, new, verdict)
    statuses = (base.status, new.status)
    if statuses == (Status.OK, Status.OK):
        return CaseComparison(
            identity,
            base,
            new,
            **judge(base, new),
            metric_changes=_metric_changes(base, new, tolerance, higher_is_better),
        )
    if statuses[0] == statuses[1]:
        return CaseComparison(identity, base, new, "not measured", note=base.status)
    if statuses[0] == Status.OK and statuses[1] in FAILED:
        verdict = "failing"
    elif statuses[1] == Status.OK:
        verdict = "fixed"
    else:
        verdict = "status changed"
    note = " → ".join(statuses) + (f": {new.message}" if new.message else "")
    return CaseComparison(identity, base, new, verdict, note=note)
