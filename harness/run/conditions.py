"""The machine's conditions that explain timing noise, recorded at the start and end of a run.

``collect()`` takes a snapshot of what makes one run's timings differ from another's on the
same machine: the CPU frequency governor, turbo boost, the load average, other processes busy
on the CPU right now, thermal throttling, isolated CPUs. ``warnings()`` words what in a
snapshot (or in the change between the start and end snapshots) is likely to add noise, one
plain line each, in the spirit of ``python -m pyperf system show``.

Linux first: everything is read from ``/proc`` and ``/sys`` directly, without psutil. Every
field is ``None`` where the OS does not show it (another OS, a VM without cpufreq, a file
that cannot be read); collecting never raises.

The snapshot (every value JSON-ready):

``collected_at``
    When the snapshot was taken: ISO 8601, UTC, to the second.
``cores``
    Logical CPUs of the machine (``os.cpu_count()``).
``affinity``
    The CPUs this process may run on (``os.sched_getaffinity(0)``), sorted.
``load_average``
    The 1, 5 and 15 minute load averages (``/proc/loadavg``, else ``os.getloadavg()``):
    the number of processes running or waiting for a CPU, averaged.
``governors``
    CPU frequency governor → how many CPUs use it
    (``/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor``). ``performance`` keeps the
    clock at its highest; ``powersave``, ``schedutil``, ``ondemand`` move it with the load.
``frequency_mhz``
    ``current_low``/``current_high``: the lowest and highest current clock over the CPUs
    (``cpu*/cpufreq/scaling_cur_freq``); ``max``: the highest the CPUs can reach
    (``cpu*/cpufreq/cpuinfo_max_freq``). In MHz; a part is ``None`` where unreadable.
``turbo``
    Whether turbo boost is on: ``/sys/devices/system/cpu/intel_pstate/no_turbo`` (0 means
    on), else ``/sys/devices/system/cpu/cpufreq/boost`` (1 means on), else the per-policy
    ``cpufreq/policy*/boost`` files (on when any is 1).
``turbo_control``
    The file ``turbo`` was read from, which is also the file that switches it.
``isolated_cpus``, ``nohz_full``
    The CPUs the kernel keeps free of other tasks (``isolcpus=``,
    ``/sys/devices/system/cpu/isolated``) and without a scheduler tick (``nohz_full=``,
    ``/sys/devices/system/cpu/nohz_full``), as lists of CPU numbers; ``[]`` for none.
``thermal_throttle``
    ``core`` and ``package``: how many times since boot the CPU slowed itself down to cool
    (``cpu*/thermal_throttle/core_throttle_count``, summed over CPUs, and
    ``package_throttle_count``, summed over physical packages). Intel CPUs show these.
``busy_processes``
    Other processes using the CPU while the snapshot was taken: ``pid``, ``name``
    (``/proc/PID/comm``) and ``cpu_percent`` (of one core), from two readings of
    ``/proc/PID/stat`` (user + system time) :data:`SAMPLE_SECONDS` apart. Those above
    :data:`BUSY_PROCESS_PERCENT`, busiest first, at most :data:`MAX_BUSY_PROCESSES`; this
    process, its descendants and its ancestors (the harness's own work and what started it)
    are left out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.15
"""Time between the two readings of each process's CPU time. The kernel counts CPU time in
ticks of 10 ms (``CLK_TCK`` = 100), so 0.15 s resolves a process's use to about 7% of a core
while keeping ``collect()`` under 0.3 s."""

BUSY_PROCESS_PERCENT = 10.0
"""A process using more than this share of one core (percent) is listed as busy. Below it the
reading is one or two ticks — a daemon waking up — and steals too little to matter."""

MAX_BUSY_PROCESSES = 10
"""At most this many busy processes are recorded (the busiest), so a snapshot stays short."""

LOAD_PER_CORE_LIMIT = 0.5
"""Load average per core above which other work is said to share the CPUs. At 0.5 a
two-core machine already has one other process running all the time, which takes a core a
multithreaded BLAS call expects and preempts the timed process now and then."""

OWN_RUN_LOAD = 1.0
"""What the run itself adds to the load average by its end: the process being timed keeps
about one core busy. The end of a run warns only when the load exceeds the limit by more."""

GOOD_GOVERNORS = frozenset({"performance"})
"""Frequency governors that keep the clock steady. Every other one (``powersave``,
``schedutil``, ``ondemand``, ``conservative``) changes it with the load, so the same code runs
at different speeds from one sample to the next."""

CPU_ROOT = Path("sys/devices/system/cpu")
"""Where the kernel shows the CPUs, relative to the file-system root given to ``collect``."""


def collect(root: Path = Path("/"), *, sample_seconds: float = SAMPLE_SECONDS) -> dict[str, Any]:
    """A JSON-ready snapshot of the conditions that explain timing noise (the module's
    docstring says what each field means and where it is read from).

    ``root`` is the file-system root ``/proc`` and ``/sys`` are read under (tests point it at
    a fake tree); ``cores`` and ``affinity`` are always this machine's. Never raises: what
    cannot be read is ``None``.
    """
    cpu = root / CPU_ROOT
    busy = _busy_processes(root / "proc", sample_seconds)
    turbo, turbo_control = _turbo(cpu)
    return {
        "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "affinity": _affinity(),
        "load_average": _load_average(root),
        "governors": _governors(cpu),
        "frequency_mhz": _frequency_mhz(cpu),
        "turbo": turbo,
        "turbo_control": None if turbo_control is None else "/" + str(turbo_control),
        "isolated_cpus": _cpu_list_file(cpu / "isolated"),
        "nohz_full": _cpu_list_file(cpu / "nohz_full"),
        "thermal_throttle": _thermal_throttle(cpu),
        "busy_processes": busy,
    }


def warnings(start: Mapping[str, Any], end: Mapping[str, Any] | None = None) -> list[str]:
    """One plain line for each condition in ``start`` (and ``end``, the snapshot taken when
    the run finished) that is likely to make timings noisy. No warning for a field that is
    absent or ``None``; snapshots read back from storage may be partial."""
    lines: list[str] = []
    lines += _governor_warnings(start)
    lines += _turbo_warnings(start)
    lines += _isolation_warnings(start)
    lines += _load_warnings(start, "started", 0.0)
    lines += _busy_warnings(start, "started")
    if end is not None:
        lines += _load_warnings(end, "ended", OWN_RUN_LOAD)
        lines += _busy_warnings(end, "ended")
        lines += _throttle_warnings(start, end)
    return lines


# ---------------------------------------------------------------------------- reading


def _read(path: Path) -> str | None:
    """The stripped text of a small /proc or /sys file, or None when it cannot be read."""
    try:
        return path.read_text(errors="replace").strip()
    except (OSError, ValueError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _cpu_dirs(cpu: Path) -> list[Path]:
    """The per-CPU folders ``cpu0``, ``cpu1``, ... in numeric order."""
    try:
        dirs = [p for p in cpu.glob("cpu[0-9]*") if p.name[3:].isdigit()]
    except OSError:
        return []
    return sorted(dirs, key=lambda p: int(p.name[3:]))


def _affinity() -> list[int] | None:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _load_average(root: Path) -> list[float] | None:
    text = _read(root / "proc" / "loadavg")
    if text is not None:
        try:
            return [float(x) for x in text.split()[:3]]
        except ValueError:
            return None
    if root != Path("/"):
        return None
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def _governors(cpu: Path) -> dict[str, int] | None:
    counts: dict[str, int] = {}
    for folder in _cpu_dirs(cpu):
        governor = _read(folder / "cpufreq" / "scaling_governor")
        if governor:
            counts[governor] = counts.get(governor, 0) + 1
    return dict(sorted(counts.items())) or None


def _frequency_mhz(cpu: Path) -> dict[str, float | None] | None:
    current: list[int] = []
    maximum: list[int] = []
    for folder in _cpu_dirs(cpu):
        khz = _read_int(folder / "cpufreq" / "scaling_cur_freq")
        if khz is not None:
            current.append(khz)
        khz = _read_int(folder / "cpufreq" / "cpuinfo_max_freq")
        if khz is not None:
            maximum.append(khz)
    if not current and not maximum:
        return None
    return {
        "current_low": min(current) / 1000 if current else None,
        "current_high": max(current) / 1000 if current else None,
        "max": max(maximum) / 1000 if maximum else None,
    }


def _turbo(cpu: Path) -> tuple[bool | None, Path | None]:
    """Whether turbo is on, and the file (relative to the root) that says so."""
    no_turbo = cpu / "intel_pstate" / "no_turbo"
    value = _read_int(no_turbo)
    if value is not None:
        return value == 0, CPU_ROOT / "intel_pstate" / "no_turbo"
    boost = cpu / "cpufreq" / "boost"
    value = _read_int(boost)
    if value is not None:
        return value == 1, CPU_ROOT / "cpufreq" / "boost"
    try:
        policies = sorted((cpu / "cpufreq").glob("policy*/boost"))
    except OSError:
        policies = []
    values = [v for v in (_read_int(p) for p in policies) if v is not None]
    if values:
        return any(v == 1 for v in values), CPU_ROOT / "cpufreq" / "policy*" / "boost"
    return None, None


def _parse_cpu_list(text: str) -> list[int]:
    """The CPU numbers of the kernel's list syntax: ``"0-2,5"`` → ``[0, 1, 2, 5]``;
    ``""`` or ``"(null)"`` → ``[]``. Raises ValueError on anything else."""
    cpus: set[int] = set()
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part or part == "(null)":
            continue
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return sorted(cpus)


def _cpu_list_file(path: Path) -> list[int] | None:
    text = _read(path)
    if text is None:
        return None
    try:
        return _parse_cpu_list(text)
    except ValueError:
        return None


def _thermal_throttle(cpu: Path) -> dict[str, int] | None:
    core: int | None = None
    packages: dict[str, int] = {}
    for folder in _cpu_dirs(cpu):
        count = _read_int(folder / "thermal_throttle" / "core_throttle_count")
        if count is not None:
            core = (core or 0) + count
        count = _read_int(folder / "thermal_throttle" / "package_throttle_count")
        if count is not None:
            # every CPU of a package shows the package's count: count each package once
            package = _read(folder / "topology" / "physical_package_id") or folder.name
            packages[package] = count
    if core is None and not packages:
        return None
    result: dict[str, int] = {}
    if core is not None:
        result["core"] = core
    if packages:
        result["package"] = sum(packages.values())
    return result


# ----------------------------------------------------------------------- busy processes


def _stat(proc: Path, pid: int) -> tuple[str, int, int] | None:
    """(name, parent pid, user + system ticks) of a process from ``/proc/PID/stat``."""
    text = _read(proc / str(pid) / "stat")
    if text is None:
        return None
    # "PID (COMM) STATE PPID ... UTIME STIME ...": COMM may hold spaces and parentheses
    head, sep, tail = text.rpartition(")")
    if not sep:
        return None
    fields = tail.split()
    try:
        return head.partition("(")[2], int(fields[1]), int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def _pids(proc: Path) -> list[int]:
    try:
        return [int(p.name) for p in proc.iterdir() if p.name.isdigit()]
    except OSError:
        return []


def _sample(proc: Path) -> dict[int, tuple[str, int, int]]:
    stats = {pid: _stat(proc, pid) for pid in _pids(proc)}
    return {pid: stat for pid, stat in stats.items() if stat is not None}


def _own_pids(parents: Mapping[int, int], me: int) -> set[int]:
    """This process, its ancestors and its descendants, from a pid → parent pid map."""
    own = {me}
    pid = parents.get(me, 0)
    while pid > 0 and pid not in own:
        own.add(pid)
        pid = parents.get(pid, 0)
    if me not in parents:  # the pid → parent map is not this machine's (a fake root)
        return own
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    stack = [me]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in own:
                own.add(child)
                stack.append(child)
    return own


def _busy_processes(proc: Path, sample_seconds: float) -> list[dict[str, Any]] | None:
    try:
        ticks_per_second = os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return None
    before = _sample(proc)
    if not before:
        return None
    started = time.monotonic()
    time.sleep(sample_seconds)
    after = _sample(proc)
    elapsed = time.monotonic() - started
    if elapsed <= 0 or ticks_per_second <= 0:
        return None
    own = _own_pids({pid: stat[1] for pid, stat in after.items()}, os.getpid())
    busy: list[dict[str, Any]] = []
    for pid, (name, _, ticks) in after.items():
        if pid in own or pid not in before:
            continue
        percent = 100.0 * (ticks - before[pid][2]) / ticks_per_second / elapsed
        if percent > BUSY_PROCESS_PERCENT:
            comm = _read(proc / str(pid) / "comm") or name
            busy.append({"pid": pid, "name": comm, "cpu_percent": round(percent, 1)})
    busy.sort(key=lambda p: (-p["cpu_percent"], p["pid"]))
    return busy[:MAX_BUSY_PROCESSES]


# ----------------------------------------------------------------------------- warnings


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _governor_warnings(snapshot: Mapping[str, Any]) -> list[str]:
    governors = snapshot.get("governors")
    if not isinstance(governors, Mapping):
        return []
    lines = []
    for governor, count in sorted(governors.items()):
        if governor in GOOD_GOVERNORS:
            continue
        cpus = f"{count} CPU{'s' if count != 1 else ''}"
        lines.append(
            f"CPU frequency governor is {governor!r} on {cpus}: the clock changes with the "
            "load, so timings may drift; `sudo cpupower frequency-set -g performance`"
        )
    return lines


def _turbo_warnings(snapshot: Mapping[str, Any]) -> list[str]:
    if snapshot.get("turbo") is not True:
        return []
    control = snapshot.get("turbo_control")
    if isinstance(control, str) and control.endswith("no_turbo"):
        hint = f"; `echo 1 | sudo tee {control}`"
    elif isinstance(control, str) and "*" not in control:
        hint = f"; `echo 0 | sudo tee {control}`"
    else:
        hint = ""
    return [
        "turbo boost is on: the clock rises and falls with temperature and with how many "
        f"cores are busy, so timings vary{hint}"
    ]


def _isolation_warnings(snapshot: Mapping[str, Any]) -> list[str]:
    isolated = snapshot.get("isolated_cpus")
    affinity = snapshot.get("affinity")
    if not isolated or not isinstance(isolated, list) or not isinstance(affinity, list):
        return []
    if set(affinity) <= set(isolated):
        return []
    cpus = ",".join(str(c) for c in isolated)
    return [
        f"CPUs {cpus} are isolated for benchmarks but the run may use other CPUs too; "
        f"`taskset -c {cpus} harness run ...`"
    ]


def _load_warnings(snapshot: Mapping[str, Any], when: str, own_load: float) -> list[str]:
    load = snapshot.get("load_average")
    cores = _number(snapshot.get("cores"))
    if not isinstance(load, list | tuple) or not load or not cores:
        return []
    one_minute = _number(load[0])
    if one_minute is None or one_minute <= LOAD_PER_CORE_LIMIT * cores + own_load:
        return []
    return [  # a one-minute average: it also counts work that ended just before
        f"load average {one_minute:.2f} on {cores:g} cores when the run {when}: the CPUs "
        "were busy over the last minute (other work, or a run that just ended)"
    ]


def _busy_warnings(snapshot: Mapping[str, Any], when: str) -> list[str]:
    busy = snapshot.get("busy_processes")
    if not isinstance(busy, list):
        return []
    named = [
        f"{p.get('name', '?')} (pid {p.get('pid', '?')}) at {percent:.0f}%"
        for p in busy
        if isinstance(p, Mapping) and (percent := _number(p.get("cpu_percent"))) is not None
    ]
    if not named:
        return []
    return [f"other processes were using the CPU when the run {when}: {', '.join(named)} of a core"]


def _throttle_warnings(start: Mapping[str, Any], end: Mapping[str, Any]) -> list[str]:
    before, after = start.get("thermal_throttle"), end.get("thermal_throttle")
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return []
    events = []
    for kind in ("core", "package"):
        first, last = _number(before.get(kind)), _number(after.get(kind))
        if first is not None and last is not None and last > first:
            events.append(f"{last - first:g} {kind}")
    if not events:
        return []
    return [
        f"the CPU was thermally throttled during the run ({', '.join(events)} events): it "
        "slowed down to cool, so later timings may be slower"
    ]
