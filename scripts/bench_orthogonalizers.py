"""Issue 4's orthogonalizer figures, from one run of suites/perf-orthogonalizers.yaml.

Run: ``.venv/bin/python scripts/bench_orthogonalizers.py`` (about a minute on 2 cores).
Prints Muon's achieved GFLOP/s as a share of the run's measured GEMM rate (goal: at least
80%), its time against svd_polar, and Polar Express's 5 steps against Muon's (goal: within
5%). Every ratio comes from the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = Path(__file__).resolve().parent.parent / "suites" / "perf-orthogonalizers.yaml"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "perf.sqlite")
        out = subprocess.run(
            [sys.executable, "-m", "harness", "run", str(SUITE), "--db", db, "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        cases = {
            (c["method"], c["params"].get("coefficients")): c
            for c in json.loads(out.stdout)["cases"]
        }
    muon = cases[("newton_schulz", "muon")]
    polar = cases[("newton_schulz", "polar_express")]
    svd = cases[("svd_polar", None)]
    for name, c in (("muon x5", muon), ("polar_express x5", polar), ("svd_polar", svd)):
        s = c["stats"]
        rate = c["flops"] / c["median_s"] / 1e9 if c["flops"] else None
        print(
            f"{name:18} median {c['median_s'] * 1e3:8.1f} ms  IQR {s['iqr'] / s['median']:5.1%}"
            + (f"  {rate:6.1f} GFLOP/s  {c['peak_fraction']:.0%} of GEMM peak" if rate else "")
            + (" UNSTABLE" if c["unstable"] else "")
        )
    print(f"muon / svd_polar time:          {muon['median_s'] / svd['median_s']:.3f}")
    ratio = polar["median_s"] / muon["median_s"]
    print(f"polar_express / muon time:      {ratio:.3f}  (goal <= 1.05)")
    print(f"muon share of GEMM peak:        {muon['peak_fraction']:.1%}  (goal >= 80%)")


if __name__ == "__main__":
    main()
