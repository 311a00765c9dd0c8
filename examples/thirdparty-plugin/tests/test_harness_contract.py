"""The plugin keeps linalg-harness's plugin contract: ``harness check-plugin`` passes on it.

Run with the plugin installed (``pip install .``): ``pytest tests``.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_check_plugin_passes() -> None:
    check = [sys.executable, "-m", "harness", "check-plugin", "harness-cubic-ns", "--json"]
    proc = subprocess.run(check, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["failed"] == 0
    ran = [c for c in report["checks"] if c["check"].startswith("runs on orthogonalize, numpy")]
    assert ran and all(c["status"] == "pass" for c in ran)
