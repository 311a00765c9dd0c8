"""A training task's section of the report (docs/reports.md, docs/training.md): the
baselines and the kernels in one loss-against-seconds plot, each line the median over seeds
with their min–max band, and the final-loss table that says which differences are beyond
seed noise. Runs are stored through the database's own API, so every loss is the one
written here; tests/test_training.py renders a report of a real smoke-tier run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from test_report_pages import synthetic_run

from harness import report as html_report
from harness.report import training
from harness.report.rows import group_repetitions

FINAL = {  # line -> the final validation loss of seeds 0, 1, 2
    ("muon", "newton_schulz"): (1.90, 1.91, 1.92),
    ("muon", "svd_polar"): (1.905, 1.93, 1.95),
    ("adamw", "svd_polar"): (2.25, 2.26, 2.27),
}


def run_case(
    optimizer: str, method: str, seed: int, final: float, stopped: int | None = None
) -> dict[str, Any]:
    """One stored training run: five evaluations, the loss falling from 3.0 to ``final``,
    0.1 s per 10 steps (a seed-dependent 10% slower); ``stopped``: diverged at that step."""
    steps = [10, 20, 30, 40, 50]
    curve = [
        {
            "step": s,
            "seconds": s * 0.01 * (1 + 0.1 * seed),
            "val_loss": 3.0 + (final - 3.0) * s / 50,
        }
        for s in steps
        if stopped is None or s < stopped
    ]
    baseline = optimizer == "adamw"
    metrics: dict[str, float] = {
        "step_seconds": 0.01,
        "kernel_share": 0.0 if baseline else 0.2,
        "kernel_calls": 0.0 if baseline else 100.0,
    }
    if stopped:
        metrics["diverged_at_step"] = float(stopped)
    else:
        metrics["val_loss"] = final
        if final < 2.0:
            metrics["steps_to_target"], metrics["seconds_to_target"] = 40.0, 0.4
    if not baseline:
        metrics["orthogonality_error"] = 0.1
    return {
        "task": "muon_training",
        "method": method,
        "backend": "torch",
        "dtype": "float32",
        "sizes": {"width": 64, "steps": 50},
        "problem": {"workload": "charlm", "optimizer": optimizer},
        "params": {},
        "seed": seed,
        "status": "ok",
        "message": None,
        "number": 1,
        "samples": [0.5],
        "stats": None,
        "median_s": 0.5,
        "unstable": 0,
        "flops": None,
        "metrics": metrics,
        "curve": curve,
    }


def training_cases() -> list[dict[str, Any]]:
    return [
        run_case(optimizer, method, seed, final)
        for (optimizer, method), finals in FINAL.items()
        for seed, final in enumerate(finals)
    ]


def rows_of(path: Path, cases: list[dict[str, Any]]) -> list[Any]:
    db, run_id = synthetic_run(path, cases)
    return group_repetitions(db.cases(run_id))


def table_rows(html: str) -> list[list[str]]:
    """The training table's rows, each as its cells' text."""
    body = re.search(r'<table class="sortable training">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, "no training table"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td.*?</td>", r, re.S)]
        for r in rows
    ]


def test_seeds_merge_into_one_line_per_optimizer_and_kernel(tmp_path: Path) -> None:
    """Nine runs (three lines × three seeds) are three lines; the baseline, whose kernel was
    never called, is named by its optimizer alone; the best line is first."""
    lines = training.workloads(rows_of(tmp_path / "r.sqlite", training_cases()))
    assert list(lines) == ["64×50 workload=charlm"]
    names = [line.name for line in lines["64×50 workload=charlm"]]
    assert names == ["muon · newton_schulz", "muon · svd_polar", "adamw"]
    assert all(len(line.runs) == 3 for line in lines["64×50 workload=charlm"])


def test_the_merged_curve_is_the_median_over_seeds_with_their_range(tmp_path: Path) -> None:
    line = training.workloads(rows_of(tmp_path / "r.sqlite", training_cases()))[
        "64×50 workload=charlm"
    ][1]
    step, median_seconds, median, low, high = line.curve()[-1]
    assert step == 50
    assert median_seconds == 50 * 0.01 * 1.1  # seed 1's time is the median of three
    assert (median, low, high) == (1.93, 1.905, 1.95)


def test_the_table_says_which_differences_are_beyond_seed_noise(tmp_path: Path) -> None:
    """Seeds' ranges: newton_schulz [1.90, 1.92] is best; svd_polar [1.905, 1.95] overlaps
    it; AdamW [2.25, 2.27] does not."""
    html = training.section(rows_of(tmp_path / "r.sqlite", training_cases()))
    rows = table_rows(html)
    assert [r[0] for r in rows] == ["muon · newton_schulz", "muon · svd_polar", "adamw"]
    assert [r[3] for r in rows] == ["best", "within seed noise", "beyond seed noise"]
    assert rows[1][2].startswith("1.93") and "[1.91 – 1.95]" in rows[1][2]
    assert rows[2][4] == "-"  # AdamW never reached the target


def test_kernels_and_baselines_share_one_loss_plot_with_bands(tmp_path: Path) -> None:
    html = training.section(rows_of(tmp_path / "r.sqlite", training_cases()))
    figures = re.findall(r"<figure.*?</figure>", html, re.S)
    assert len(figures) == 2  # against seconds, against steps
    for fig in figures:
        names = re.findall(r'<g class="series" data-name="([^"]+)"', fig)
        assert {"muon · newton_schulz", "muon · svd_polar", "adamw"} <= set(names)
        assert fig.count('class="area"') >= 3  # one band per line (log and linear copies)
    assert "validation loss against seconds" in figures[0]


def test_a_diverged_seed_ends_its_line_and_the_table_says_where(tmp_path: Path) -> None:
    cases = training_cases()
    cases.append(run_case("sgd", "svd_polar", 0, 0.0, stopped=30))
    cases += [run_case("sgd", "svd_polar", seed, 2.5) for seed in (1, 2)]
    for case in cases[-3:]:
        case["metrics"]["kernel_calls"] = 0.0
    html = training.section(rows_of(tmp_path / "r.sqlite", cases))
    sgd = next(r for r in table_rows(html) if r[0] == "sgd")
    assert "2 of 3 seeds" in sgd[2] and "diverged at step 30" in sgd[2]
    line = next(
        line
        for line in training.workloads(rows_of(tmp_path / "s.sqlite", cases))[
            "64×50 workload=charlm"
        ]
        if line.name == "sgd"
    )
    assert [p[0] for p in line.curve()] == [10, 20]  # the steps every seed reached


def test_a_training_task_page_has_the_section_and_no_generic_convergence(tmp_path: Path) -> None:
    db, run_id = synthetic_run(tmp_path / "r.sqlite", training_cases())
    html_report.write(db, [run_id], tmp_path / "site")
    page = (tmp_path / "site" / "task-muon_training.html").read_text()
    assert 'id="training"' in page and 'href="#training"' in page
    assert 'id="convergence"' not in page
