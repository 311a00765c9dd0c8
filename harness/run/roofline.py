"""The machine's roofline: its measured GEMM rate and memory bandwidth, per backend and dtype.

- GEMM: the best rate over a sweep of product shapes and sizes, so that no method's own
  products can beat it: for n doubling from 64 until a square product takes 50 ms (or n
  reaches 4096; 8192 on a GPU), C = A B for A (m×k) and B (k×n) of the shapes ``GEMM_SHAPES``:
  square n×n·n×n, the Gram product of a wide matrix n×4n·4n×n (XXᵀ in Newton–Schulz on a
  wide matrix), and a square times a wide one n×n·n×4n (the update A·X). The rate is
  2mkn flops over the fastest of its samples; the peak is the best of the sweep, with its shape.
  A case above ``ABOVE_PEAK`` times this peak is flagged ``above_peak``: the probe missed a
  faster kernel, not the method a law of physics.
- Bandwidth, STREAM-style, on vectors four times the last-level cache (at least 64 MiB):
  copy (``b[...] = a`` into an existing array; 2 words moved per element) and triad
  (a = b + s·c; 3 words per element as STREAM counts). The triad is computed without a
  temporary of the vectors' size: in blocks of ``TRIAD_BLOCK_BYTES``, each through a
  block-sized scratch array that stays in cache, with the library's ``out=`` where it has one
  (numpy, torch, cupy); a namespace without ``out=`` (the strict array API) falls back to
  ``b + s * c`` with its temporary, and the entry says ``triad_temporary: true`` (then the
  figure is a lower bound).

Each is timed with the harness's own protocol (``harness.run.timing``), inline. Results are
cached per machine fingerprint (CPU, cores, memory, OS, and the backend's library, version,
device and BLAS) and ``PROBE_VERSION`` in ``roofline.json`` in the cache folder
(``harness.cache``: ``$HARNESS_CACHE``, by default ``~/.cache/linalg-harness``; without one,
measured every run); ``harness roofline --refresh`` measures again. Results then report
achieved GFLOP/s as a fraction of this GEMM rate and achieved GB/s (for methods with a
bytes model) as a fraction of the copy bandwidth, which makes them comparable across
machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from harness import cache
from harness.cache import CacheWarning
from harness.model.backend import DTYPE_BYTES, Backend, last_level_cache_bytes, probe
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run import conditions
from harness.run.timing import TimingOptions, measure

OPTIONS = TimingOptions(warmup=1, min_time=0.02, min_samples=5, budget=0.0)
GEMM_TARGET_SECONDS = 0.05
GEMM_SHAPES = ((1, 1, 1), (1, 4, 1), (1, 1, 4))
"""(m, k, n) of a product A (m×k) · B (k×n), in multiples of the sweep's n."""
ABOVE_PEAK = 1.05
"""A case's achieved rate above this fraction of the measured peak is flagged: timing noise
is a few percent, so beyond that the probe, not the method, is wrong."""
TRIAD_BLOCK_BYTES = 2 * 2**20
"""Bytes per block of the triad: a block's scratch array stays in cache, and the blocks are
few enough (64 per 128 MiB) that the calls' overhead hardly counts (measured here, torch
float64 on one thread: 5.7 GB/s in blocks of 64 KiB, 17 GB/s in blocks of 2 MiB, 24 GB/s
for torch's own fused ``add(b, c, alpha=s, out=a)``)."""
PROBE_VERSION = 3
"""Part of the cache key: measurements of an older probe (version 1: square GEMMs only, the
triad through a temporary, medians; version 2: medians) are measured again."""


CACHE_FILE = "roofline.json"
MEASURED = (
    "gemm_gflops",
    "gemm_shape",
    "copy_gbs",
    "triad_gbs",
    "vector_bytes",
    "measured_at",
)
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
    """The fastest of ``OPTIONS.min_samples`` samples: a ceiling is what the machine reaches,
    and another process's interference only ever slows a sample down, so the best sample is
    the least disturbed (a median would put the ceiling under what methods reach)."""
    summary = measure(call, backend, OPTIONS).summary
    assert summary is not None
    return summary.min


def measure_gemm(backend: Backend, dtype: str) -> dict[str, Any]:
    """The best GEMM rate over the sweep of ``GEMM_SHAPES`` and sizes, and where it was."""
    rng = np.random.default_rng(0)
    max_n = 8192 if backend.device.startswith("cuda") else 4096
    best: dict[str, Any] = {"gemm_gflops": 0.0, "gemm_shape": ""}
    n = 64
    while n <= max_n:
        square_seconds = 0.0
        for m_, k_, n_ in GEMM_SHAPES:
            m, k, p = m_ * n, k_ * n, n_ * n
            a = backend.from_numpy(rng.standard_normal((m, k)), dtype)
            b = backend.from_numpy(rng.standard_normal((k, p)), dtype)
            seconds = _seconds(lambda a=a, b=b: a @ b, backend)
            square_seconds = square_seconds or seconds
            rate = 2 * m * k * p / seconds / 1e9
            if rate > best["gemm_gflops"]:
                best = {"gemm_gflops": rate, "gemm_shape": f"{m}x{k}x{p}"}
        if square_seconds >= GEMM_TARGET_SECONDS:
            break
        n *= 2
    return best


def _triad(xp: Any, dtype: str, a: Any, b: Any, c: Any, scalar: float) -> Callable[[], None]:
    """a = b + scalar·c, block by block through a cached scratch array (see the module's
    docstring); calling it raises ``TypeError`` where the namespace has no ``out=``."""
    size, block = a.shape[0], TRIAD_BLOCK_BYTES // DTYPE_BYTES[dtype]
    scratch = xp.empty((min(block, size),), dtype=a.dtype, device=a.device)

    def run() -> None:
        for start in range(0, size, block):
            stop = min(start + block, size)
            part = scratch[: stop - start]
            xp.multiply(c[start:stop], scalar, out=part)
            xp.add(b[start:stop], part, out=a[start:stop])

    return run


def measure_bandwidth(backend: Backend, dtype: str) -> dict[str, Any]:
    xp = backend.xp
    vector_bytes = max(4 * last_level_cache_bytes(), 64 * 2**20)
    a = backend.from_numpy(np.ones(vector_bytes // DTYPE_BYTES[dtype]), dtype)
    b, c = xp.asarray(a, copy=True), xp.asarray(a, copy=True)

    def copy_into() -> None:
        b[...] = a

    copy = _seconds(copy_into, backend)
    triad_call = _triad(xp, dtype, a, b, c, 3.0)
    try:
        triad_call()
        temporary = False
    except TypeError:  # no out= in this namespace: through a temporary
        triad_call, temporary = (lambda: b + 3.0 * c), True
    triad = _seconds(triad_call, backend)
    return {
        "copy_gbs": 2 * vector_bytes / copy / 1e9,
        "triad_gbs": 3 * vector_bytes / triad / 1e9,
        "vector_bytes": vector_bytes,
        "triad_temporary": temporary,
    }


def measure_roofline(backend: Backend, dtype: str) -> dict[str, Any]:
    """The ceilings of ``backend`` in ``dtype``, with the other processes that were busy on
    the CPU as the measurement began (``conditions``: a ceiling measured beside them may be
    low, and it is cached)."""
    busy = conditions.collect().get("busy_processes") or []
    return {
        **measure_gemm(backend, dtype),
        **measure_bandwidth(backend, dtype),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "busy_processes": busy,
    }


class BusyMachineWarning(UserWarning):
    """A ceiling was measured while other processes used the CPU."""


def _warn_if_measured_beside(entry: dict[str, Any], what: str) -> None:
    """A ``CacheWarning`` when the measurement just made had busy processes beside it."""
    busy = entry.get("busy_processes") or []
    if busy:
        names = ", ".join(f"{p.get('name')} ({p.get('cpu_percent', 0):.0f}%)" for p in busy[:3])
        warnings.warn(
            f"the roofline of {what} was measured while other processes used the CPU "
            f"({names}): its ceilings may be low, and they are cached; "
            "run `harness roofline --refresh` on a quiet machine",
            BusyMachineWarning,
            stacklevel=3,
        )


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
        key = f"{machine}/{backend_name}/{dtype}/threads={threads or 'default'}/v{PROBE_VERSION}"
        if refresh or key not in cached:
            try:
                with threadpool_limits(threads) if threads else contextlib.nullcontext():
                    cached[key] = measure_roofline(backend, dtype)
                _warn_if_measured_beside(cached[key], f"{backend_name} {dtype}")
            except Exception as exc:  # a backend that fails here fails its cases, not the run
                out.setdefault(backend_name, {})[dtype] = {"error": describe_exception(exc)}
                continue
        out.setdefault(backend_name, {})[dtype] = {**cached[key], "fingerprint": key}
    cache.write_json(CACHE_FILE, cached)
    return out
