"""Where the harness keeps what it can regenerate: ``$HARNESS_CACHE``, by default
``~/.cache/linalg-harness`` (the measured roofline, generated workloads)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "linalg-harness")
