"""The machine's conditions that explain timing noise (``harness.run.conditions``): a snapshot
of this machine, a real busy process, warnings from hand-written snapshots, and the cpufreq,
turbo and throttle fields read from a fake sysfs tree (this VM shows no cpufreq)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.run import conditions
from harness.run.conditions import collect, warnings

FIELDS = {
    "collected_at",
    "cores",
    "affinity",
    "load_average",
    "governors",
    "frequency_mhz",
    "turbo",
    "turbo_control",
    "isolated_cpus",
    "nohz_full",
    "thermal_throttle",
    "busy_processes",
}

BUSY_LOOP = (
    "import time\n"
    "print('ready', flush=True)\n"
    "end = time.monotonic() + 20\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


@pytest.fixture
def busy_child() -> Iterator[subprocess.Popen[str]]:
    """A child process spinning on one core (for at most 20 s), once it is running."""
    child = subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # well into its loop
        yield child
    finally:
        child.kill()
        child.wait()


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CPU = "sys/devices/system/cpu"

QUIET: dict[str, Any] = {
    "collected_at": "2026-01-01T00:00:00+00:00",
    "cores": 8,
    "affinity": [0, 1, 2, 3, 4, 5, 6, 7],
    "load_average": [0.2, 0.3, 0.3],
    "governors": {"performance": 8},
    "frequency_mhz": {"current_low": 3000.0, "current_high": 3000.0, "max": 3000.0},
    "turbo": False,
    "turbo_control": "/sys/devices/system/cpu/intel_pstate/no_turbo",
    "isolated_cpus": [],
    "nohz_full": [],
    "thermal_throttle": {"core": 3, "package": 1},
    "busy_processes": [],
}


# ----------------------------------------------------------------------- this machine


def test_collect_on_this_machine_shows_load_cores_and_time_and_is_json():
    started = time.monotonic()
    snapshot = collect()
    took = time.monotonic() - started
    assert set(snapshot) == FIELDS
    assert snapshot["cores"] == os.cpu_count()
    load = snapshot["load_average"]
    assert len(load) == 3 and all(isinstance(x, float) and x >= 0 for x in load)
    assert datetime.fromisoformat(snapshot["collected_at"]).utcoffset().total_seconds() == 0
    assert snapshot["affinity"] == sorted(os.sched_getaffinity(0))
    assert isinstance(snapshot["busy_processes"], list)
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert took < 1.0  # two /proc readings 0.15 s apart; loose on a loaded 2-core VM


def test_a_busy_process_appears_in_busy_processes(busy_child):
    # collect() runs in a sibling process: the busy loop is not its own child
    code = "import json; from harness.run.conditions import collect; print(json.dumps(collect()))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    busy = {p["pid"]: p for p in json.loads(out)["busy_processes"]}
    assert busy_child.pid in busy, busy
    assert busy[busy_child.pid]["name"].startswith("python")
    assert busy[busy_child.pid]["cpu_percent"] > conditions.BUSY_PROCESS_PERCENT


def test_the_runs_own_children_are_not_busy_processes(busy_child):
    pids = [p["pid"] for p in collect()["busy_processes"]]
    assert busy_child.pid not in pids
    assert os.getpid() not in pids and os.getppid() not in pids


# ----------------------------------------------------------------------------- warnings


def test_no_warning_for_a_quiet_machine():
    assert warnings(QUIET) == []
    assert warnings(QUIET, {**QUIET, "load_average": [1.5, 1.0, 0.5]}) == []


def test_no_warning_where_the_os_shows_nothing():
    empty = dict.fromkeys(FIELDS)
    assert warnings(empty, empty) == []
    assert warnings({}, {}) == []


def test_warns_about_a_powersave_governor():
    [line] = warnings({**QUIET, "governors": {"performance": 6, "powersave": 2}})
    assert line.startswith("CPU frequency governor is 'powersave' on 2 CPUs:")
    assert "sudo cpupower frequency-set -g performance" in line


def test_warns_about_turbo_with_the_file_that_switches_it():
    [line] = warnings({**QUIET, "turbo": True})
    assert line.startswith("turbo boost is on:")
    assert "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo" in line
    boost = {**QUIET, "turbo": True, "turbo_control": "/sys/devices/system/cpu/cpufreq/boost"}
    assert "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost" in warnings(boost)[0]


def test_warns_about_a_high_load_at_start():
    [line] = warnings({**QUIET, "cores": 2, "load_average": [1.8, 1.2, 0.9]})
    assert line == (
        "load average 1.80 on 2 cores when the run started: the CPUs were busy over the last "
        "minute (other work, or a run that just ended)"
    )


def test_warns_about_a_high_load_at_end_beyond_the_runs_own():
    end = {**QUIET, "cores": 2, "load_average": [2.5, 2.0, 1.0]}
    [line] = warnings({**QUIET, "cores": 2}, end)
    assert line.startswith("load average 2.50 on 2 cores when the run ended:")
    # the run's own process adds about one to the load: 1.9 on 2 cores is not a warning
    assert warnings({**QUIET, "cores": 2}, {**end, "load_average": [1.9, 1.0, 0.5]}) == []


def test_warns_about_busy_processes():
    busy = [{"pid": 42, "name": "chrome", "cpu_percent": 87.5}, {"pid": 7, "name": "x"}]
    [line] = warnings({**QUIET, "busy_processes": busy})
    assert line == (
        "other processes were using the CPU when the run started: chrome (pid 42) at 88% of a core"
    )


def test_warns_when_the_throttle_count_rose_during_the_run():
    end = {**QUIET, "thermal_throttle": {"core": 10, "package": 1}}
    [line] = warnings(QUIET, end)
    assert line.startswith("the CPU was thermally throttled during the run (7 core events)")
    assert warnings(QUIET) == []  # counts since boot alone say nothing about this run
    assert warnings(QUIET, {**QUIET, "thermal_throttle": None}) == []


def test_warns_when_isolated_cpus_are_not_the_only_ones_used():
    [line] = warnings({**QUIET, "isolated_cpus": [6, 7]})
    assert line.startswith("CPUs 6,7 are isolated for benchmarks but the run may use other")
    assert warnings({**QUIET, "isolated_cpus": [6, 7], "affinity": [6, 7]}) == []


# ------------------------------------------------------------------- a fake sysfs tree


def test_fake_sysfs_governors_frequency_turbo_and_isolation(tmp_path):
    for cpu, governor, khz in [(0, "powersave", 800000), (1, "powersave", 2400000)]:
        write(tmp_path, f"{CPU}/cpu{cpu}/cpufreq/scaling_governor", f"{governor}\n")
        write(tmp_path, f"{CPU}/cpu{cpu}/cpufreq/scaling_cur_freq", f"{khz}\n")
        write(tmp_path, f"{CPU}/cpu{cpu}/cpufreq/cpuinfo_max_freq", "4200000\n")
    write(tmp_path, f"{CPU}/cpu2/cpufreq/scaling_governor", "performance\n")
    write(tmp_path, f"{CPU}/intel_pstate/no_turbo", "0\n")
    write(tmp_path, f"{CPU}/isolated", "2-3,6\n")
    write(tmp_path, f"{CPU}/nohz_full", "(null)\n")
    write(tmp_path, "proc/loadavg", "0.50 0.40 0.30 1/123 4567\n")
    snapshot = collect(tmp_path, sample_seconds=0)
    assert snapshot["governors"] == {"performance": 1, "powersave": 2}
    assert snapshot["frequency_mhz"] == {
        "current_low": 800.0,
        "current_high": 2400.0,
        "max": 4200.0,
    }
    assert snapshot["turbo"] is True
    assert snapshot["turbo_control"] == "/sys/devices/system/cpu/intel_pstate/no_turbo"
    assert snapshot["isolated_cpus"] == [2, 3, 6]
    assert snapshot["nohz_full"] == []
    assert snapshot["load_average"] == [0.5, 0.4, 0.3]
    assert snapshot["busy_processes"] is None  # no /proc/PID in the fake tree
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert any("'powersave' on 2 CPUs" in line for line in warnings(snapshot))


def test_fake_sysfs_turbo_from_cpufreq_boost_and_policies(tmp_path):
    write(tmp_path, f"{CPU}/cpufreq/boost", "0\n")
    snapshot = collect(tmp_path, sample_seconds=0)
    assert (snapshot["turbo"], snapshot["turbo_control"]) == (
        False,
        "/sys/devices/system/cpu/cpufreq/boost",
    )
    (tmp_path / CPU / "cpufreq" / "boost").unlink()
    write(tmp_path, f"{CPU}/cpufreq/policy0/boost", "0\n")
    write(tmp_path, f"{CPU}/cpufreq/policy1/boost", "1\n")
    assert collect(tmp_path, sample_seconds=0)["turbo"] is True
    # intel_pstate's no_turbo wins over cpufreq's boost: 1 means turbo is off
    write(tmp_path, f"{CPU}/intel_pstate/no_turbo", "1\n")
    assert collect(tmp_path, sample_seconds=0)["turbo"] is False


def test_fake_sysfs_thermal_throttle_counts_each_package_once(tmp_path):
    for cpu, package, core_count in [(0, 0, 2), (1, 0, 3), (2, 1, 5)]:
        folder = f"{CPU}/cpu{cpu}"
        write(tmp_path, f"{folder}/thermal_throttle/core_throttle_count", f"{core_count}\n")
        write(tmp_path, f"{folder}/thermal_throttle/package_throttle_count", f"{10 + package}\n")
        write(tmp_path, f"{folder}/topology/physical_package_id", f"{package}\n")
    assert collect(tmp_path, sample_seconds=0)["thermal_throttle"] == {"core": 10, "package": 21}


def test_fake_sysfs_missing_and_unreadable_files_are_absent(tmp_path):
    snapshot = collect(tmp_path, sample_seconds=0)  # an empty root: nothing to read
    assert set(snapshot) == FIELDS
    for field in FIELDS - {"collected_at", "cores", "affinity"}:
        assert snapshot[field] is None, field
    # a folder where a file should be, text that is no number, bytes that are no text,
    # a link to nowhere: each is absent, and collect() still answers
    (tmp_path / CPU / "cpu0" / "cpufreq" / "scaling_governor").mkdir(parents=True)
    write(tmp_path, f"{CPU}/cpu1/cpufreq/scaling_cur_freq", "fast\n")
    write(tmp_path, f"{CPU}/intel_pstate/no_turbo", "")
    (tmp_path / CPU / "cpufreq").mkdir()
    (tmp_path / CPU / "cpufreq" / "boost").write_bytes(b"\xff\xfe")
    (tmp_path / CPU / "isolated").symlink_to(tmp_path / "nowhere")
    write(tmp_path, f"{CPU}/nohz_full", "0-x\n")
    write(tmp_path, f"{CPU}/cpu1/thermal_throttle/core_throttle_count", "many\n")
    write(tmp_path, "proc/loadavg", "high\n")
    write(tmp_path, "proc/1/stat", "garbage")
    snapshot = collect(tmp_path, sample_seconds=0)
    for field in FIELDS - {"collected_at", "cores", "affinity"}:
        assert snapshot[field] is None, field
    assert warnings(snapshot, snapshot) == []


def test_harness_run_warns_and_records_a_busy_neighbour(tmp_path):
    """`harness run` beside a busy loop: a `warning:` line on stderr, the warning in
    `--json`'s `summary.conditions`, the start and end snapshots in the run's metadata, and
    the warning on the report's overview (docs/measurement.md, "Conditions")."""
    import json
    import subprocess
    import sys

    from conftest import run_cli

    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\ndescription: s\n"
        "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false}\n"
        "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 16]]\n"
        "    methods: [svd_polar]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    db = tmp_path / "r.sqlite"
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        done = run_cli("run", str(suite), "--db", str(db), "--json")
    finally:
        busy.kill()
    assert done.returncode == 0, done.stderr
    assert "warning: other processes were using the CPU when the run started" in done.stderr
    said = json.loads(done.stdout)["summary"]["conditions"]
    assert any(f"pid {busy.pid}" in line for line in said)
    report = run_cli("report", "--db", str(db), "--out", str(tmp_path / "site"))
    assert report.returncode == 0, report.stderr
    overview = (tmp_path / "site" / "index.html").read_text()
    assert "<dt>conditions</dt>" in overview and f"pid {busy.pid}" in overview
