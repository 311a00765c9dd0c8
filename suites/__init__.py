"""Benchmark suites shipped with the harness, importable as ``harness.suites`` (run one by name)."""
