"""The machine's roofline: its measured GEMM rate and memory bandwidth, per backend and dtype.

- GEMM: C = A B for square n×n inputs, n doubling from 256 until one product takes 50 ms (or
  n reaches 4096; 8192 on a GPU); the best rate, 2n³ flops over the median time.
- Bandwidth, STREAM-style, on vectors four times the last-level cache (at least 64 MiB):
  copy (``b[...] = a`` into an existing array; 2 words moved per element) and triad
  (a = b + s·c; counted as 3 words per element as STREAM does, although the array API's
  ``b + s * c`` goes through a temporary, so the true traffic is higher and the figure is a
  lower bound).

Each is timed with the harness's own protocol (``harness.run.timing``), inline. Results are
cached per machine fingerprint (CPU, cores, memory, OS, and the backend's library, version,
device and BLAS) in ``roofline.json`` in the cache folder (``harness.cache``:
``$HARNESS_CACHE``, by default ``~/.cache/linalg-harness``; without one, measured every run);
``harness roofline --refresh`` measures again. Results then report achieved GFLOP/s as a
fraction of this GEMM rate, which makes them comparable across machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from harness import cache
from harness.cache import CacheWarning
from harness.model.backend import DTYPE_BYTES, Backend, last_level_cache_bytes, probe
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run.timing import TimingOptions, measure

OPTIONS = TimingOptions(warmup=1, min_time=0.02, min_samples=3, budget=0.0)
GEMM_TARGET_SECONDS = 0.05


CACHE_FILE = "roofline.json"
MEASURED = ("gemm_gflops", "gemm_n", "copy_gbs", "triad_gbs", "vector_bytes", "measured_at")
"""What one cached measurement holds; an entry without all of it is measured again."""


def _complete(entry: Any) -> bool:
    """Whether a cached ``entry`` holds a whole measurement (``MEASURED``)."""
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), int | float | str) for k in MEASURED
    )


def _cached() -> dict[str, dict[str, Any]]:
    """The cached measurements by key; entries that are not complete measurements (a cache
    edited by hand, or written by another version) are left out, with a warning."""
    stored = cache.read_json(CACHE_FILE)
    if stored is None:
        return {}
    if not isinstance(stored, dict):
        warnings.warn(
            f"{CACHE_FILE} in the cache is not a mapping: measuring again",
            CacheWarning,
            stacklevel=3,
        )
        return {}
    complete = {key: entry for key, entry in stored.items() if _complete(entry)}
    if len(complete) < len(stored):
        warnings.warn(
            f"{len(stored) - len(complete)} entries of {CACHE_FILE} in the cache are incomplete: "
            "measuring them again",
            CacheWarning,
            stacklevel=3,
        )
    return complete


def fingerprint(machine: dict[str, Any], backend_meta: dict[str, Any]) -> str:
    """A short hash of what decides the roofline: the machine and the backend's stack."""
    keys = {k: machine.get(k) for k in ("cpu", "cores", "memory_bytes", "platform")}
    stack = {k: backend_meta.get(k) for k in ("library", "version", "device", "gpu", "num_threads")}
    blas = sorted(
        (
            pool.get("internal_api"),
            pool.get("version"),
            pool.get("architecture"),
            pool.get("num_threads"),
        )
        for pool in backend_meta.get("blas", [])
        if pool.get("user_api") == "blas"
    )
    text = json.dumps([keys, stack, blas], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _seconds(call: Any, backend: Backend) -> float:
    summary = measure(call, backend, OPTIONS).summary
    assert summary is not None
    return summary.median


def measure_gemm(backend: Backend, dtype: str) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    max_n = 8192 if backend.device.startswith("cuda") else 4096
    best = {"gemm_gflops": 0.0, "gemm_n": 0}
    n = 256
    while n <= max_n:
        a = backend.from_numpy(rng.standard_normal((n, n)), dtype)
        b = backend.from_numpy(rng.standard_normal((n, n)), dtype)
        seconds = _seconds(lambda a=a, b=b: a @ b, backend)
        rate = 2 * n**3 / seconds / 1e9
        if rate > best["gemm_gflops"]:
            best = {"gemm_gflops": rate, "gemm_n": n}
        if seconds >= GEMM_TARGET_SECONDS:
            break
        n *= 2
    return best


def measure_bandwidth(backend: Backend, dtype: str) -> dict[str, Any]:
    xp = backend.xp
    vector_bytes = max(4 * last_level_cache_bytes(), 64 * 2**20)
    a = backend.from_numpy(np.ones(vector_bytes // DTYPE_BYTES[dtype]), dtype)
    b, c = xp.asarray(a, copy=True), xp.asarray(a, copy=True)

    def copy_into() -> None:
        b[...] = a

    copy = _seconds(copy_into, backend)
    triad = _seconds(lambda: b + 3.0 * c, backend)
    return {
        "copy_gbs": 2 * vector_bytes / copy / 1e9,
        "triad_gbs": 3 * vector_bytes / triad / 1e9,
        "vector_bytes": vector_bytes,
    }


def measure_roofline(backend: Backend, dtype: str) -> dict[str, Any]:
    return {
        **measure_gemm(backend, dtype),
        **measure_bandwidth(backend, dtype),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def for_run(
    registry: Registry,
    pairs: list[tuple[str, str]],
    meta: dict[str, Any],
    refresh: bool = False,
    threads: int | None = None,
) -> dict[str, dict[str, Any]]:
    """The roofline of each (backend, dtype) that can run here, from the cache or measured
    with the BLAS/OpenMP pools limited to ``threads`` (as the run's cases will be)."""
    cached = _cached()
    out: dict[str, dict[str, Any]] = {}
    for backend_name, dtype in pairs:
        backend = registry.backend(backend_name)
        if not probe(backend).available or dtype not in backend.dtypes:
            continue
        machine = fingerprint(meta, meta["backends"].get(backend_name, {}))
        key = f"{machine}/{backend_name}/{dtype}/threads={threads or 'default'}"
        if refresh or key not in cached:
            try:
                with threadpool_limits(threads) if threads else contextlib.nullcontext():
                    cached[key] = measure_roofline(backend, dtype)
            except Exception as exc:  # a backend that fails here fails its cases, not the run
                out.setdefault(backend_name, {})[dtype] = {"error": describe_exception(exc)}
                continue
        out.setdefault(backend_name, {})[dtype] = {**cached[key], "fingerprint": key}
    cache.write_json(CACHE_FILE, cached)
    return out
