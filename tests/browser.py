"""Headless Chromium for the report's browser tests: the module skips where there is no
browser (Debian: ``apt-get install chromium``) or no playwright, except in CI, which sets
``HARNESS_REQUIRE_BROWSER=1`` (.ci/run): there a missing browser fails, never skips."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRED = os.environ.get("HARNESS_REQUIRE_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if REQUIRED:
    import playwright.sync_api as sync_api

    assert Path(CHROMIUM).is_file(), "HARNESS_REQUIRE_BROWSER=1 but there is no chromium"
else:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install '.[report]')"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip("no chromium (Debian: apt-get install chromium)", allow_module_level=True)


def launched_chromium() -> Iterator[object]:
    """A headless Chromium for the length of a test module (use it in a fixture)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()
