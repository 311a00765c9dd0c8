"""What the hardening tests share: a tiny suite, the ``harness`` command in this process, a
stored run of it, byte digests, and the check of a one-line error."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner, Result

from harness.cli import main

TINY = """\
name: tiny
timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[8, 8]]
    seed: [0, 1]
    methods: [svd_polar, {name: newton_schulz, params: {steps: 2}}]
    backends: [numpy]
    dtypes: [float64]
"""
"""Four cases (two seeds, two methods), each a few milliseconds."""


def cli(*args: object, **env: str) -> Result:
    """The ``harness`` command in this process (its error boundary included)."""
    return CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)


def env_with(**values: str | None) -> dict[str, str]:
    """This process's environment with ``values`` set (``None``: removed)."""
    env = {**os.environ, **{k: v for k, v in values.items() if v is not None}}
    for name in (k for k, v in values.items() if v is None):
        env.pop(name, None)
    return env


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_run(folder: Path, text: str = TINY) -> Path:
    """``folder/r.sqlite`` holding one finished run of the suite ``text``."""
    (folder / "tiny.yaml").write_text(text)
    result = cli("run", folder / "tiny.yaml", "--db", folder / "r.sqlite", "--inline", "-q")
    assert result.exit_code == 0, result.output
    return folder / "r.sqlite"


def expect_error(result: Result | subprocess.CompletedProcess, code: int, *words: str) -> str:
    """Exit ``code``, each of ``words`` in the output (white space aside), no traceback;
    the output with its white space folded."""
    if isinstance(result, Result):
        output, status = result.output, result.exit_code
    else:
        output, status = result.stdout + result.stderr, result.returncode
    assert status == code, output
    text = " ".join(output.split())
    for word in words:
        assert word in text, output
    assert "Traceback" not in output
    return text
