"""The results database: one SQLite file holding runs and their cases.

Default path: ``results/harness.sqlite`` under the current directory; the environment
variable ``HARNESS_DB`` or the ``--db`` option of the CLI picks another.

- **Runs** keep their metadata (machine, libraries, plugins, git commit), a ``uuid`` that
  names them across databases (``harness merge``), the run options, and the *plan*: every
  case the run will measure, in order, stored when the run starts. A resumed run reads its
  plan from here, never from the suite file, which may have changed since.
- **Cases** keep the raw timing samples, statistics, metrics, convergence curve, and status
  and message of a failure. Each has a ``case_key``: the canonical JSON of the case as planned
  (task, method, backend, dtype, sizes, problem, the parameters the suite set, seed,
  repetition), unique within its run, so a resumed or merged run never holds a case twice.

Finished cases are committed a few at a time (``harness.run.runner``: at most
``BATCH_CASES`` of them, or those finished within ``BATCH_SECONDS``, per transaction), so a
killed run loses at most the cases not committed yet and the one in flight; a resume runs
those again. The file is in WAL mode (readers never block the writer) and every
write is a ``BEGIN IMMEDIATE`` transaction that waits up to ``BUSY_TIMEOUT_S`` for another
writer, so two runs can write to one file at once.

The schema version is SQLite's ``user_version``. Opening an older file upgrades it in one
transaction, one step of ``MIGRATIONS`` per version; a newer file is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import socket
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from harness.results.records import StoredCase, StoredRun
from harness.run.case import KEY_FIELDS, case_key
from harness.run.roofline import ABOVE_PEAK

DEFAULT_PATH = Path("results") / "harness.sqlite"
SCHEMA_VERSION = 3
Record = TypeVar("Record", StoredRun, StoredCase)
SQLITE_INTEGERS = (-(2**63), 2**63 - 1)
BUSY_TIMEOUT_S = 60.0
"""Seconds a write waits for another process's write to finish before failing."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    suite TEXT NOT NULL,
    suite_path TEXT NOT NULL,
    suite_text TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,          -- running | finished
    metadata TEXT NOT NULL,        -- JSON: machine, libraries, plugins, git commit
    uuid TEXT NOT NULL,            -- names the run in every database it is merged into
    host TEXT,                     -- hostname of the machine running it
    pid INTEGER,                   -- the harness process running it (the latest, if resumed)
    options TEXT,                  -- JSON: the RunOptions every case runs with
    plan TEXT,                     -- JSON list: every planned case (Case fields), in order
    planned INTEGER                -- number of planned cases
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_by_uuid ON runs(uuid);
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    task TEXT NOT NULL,
    method TEXT NOT NULL,
    backend TEXT NOT NULL,
    dtype TEXT NOT NULL,
    sizes TEXT NOT NULL,           -- JSON object, e.g. {"m": 256, "n": 768}
    problem TEXT NOT NULL,         -- JSON object of the task's parameters
    params TEXT NOT NULL,          -- JSON object of the method's parameters, defaults filled in
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,          -- ok | error | timeout | crashed | unavailable | unsupported
    message TEXT,
    number INTEGER,                -- calls per timing sample
    samples TEXT,                  -- JSON list: seconds per call, one per sample, backend clock
    host_samples TEXT,             -- JSON list: the same on the host clock
    stats TEXT,                    -- JSON object: median, IQR, min, mean, std, MAD, 95% CI, ...
    median_s REAL,
    unstable INTEGER,              -- 1 when IQR/median passed the suite's threshold
    flops REAL,
    peak_fraction REAL,            -- achieved GFLOP/s over the run's measured GEMM rate
    peak_memory_bytes INTEGER,
    traced_peak_bytes INTEGER,     -- tracemalloc peak of one call
    threads TEXT,                  -- JSON list of the BLAS/OpenMP pools in force
    metrics TEXT,                  -- JSON object of float64 quality metrics
    curve TEXT,                    -- JSON list: metrics after each step of an iterative method
    finished_at TEXT NOT NULL,
    repetition INTEGER NOT NULL,   -- which of the suite's repetitions (0, 1, ...)
    case_key TEXT NOT NULL,        -- canonical JSON of the planned case (see case_key())
    machine TEXT,                  -- JSON: the machine that ran it: host, fingerprint, roofline
    above_peak INTEGER,            -- 1 when peak_fraction passed roofline.ABOVE_PEAK
    bytes REAL,                    -- bytes one call moves (the method's bytes model)
    bandwidth_fraction REAL        -- achieved GB/s over the run's measured memory bandwidth
);
CREATE UNIQUE INDEX IF NOT EXISTS cases_by_key ON cases(run_id, case_key);
"""

JSON_COLUMNS = {
    "runs": ("metadata", "options", "plan"),
    "cases": (
        "sizes",
        "problem",
        "params",
        "samples",
        "host_samples",
        "stats",
        "threads",
        "metrics",
        "curve",
        "machine",
    ),
}


def default_path() -> Path:
    return Path(os.environ.get("HARNESS_DB") or DEFAULT_PATH)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by None: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(_finite(value), allow_nan=False, default=str)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _decode(table: str, row: sqlite3.Row) -> dict[str, Any]:
    return {
        k: json.loads(row[k]) if k in JSON_COLUMNS[table] and row[k] is not None else row[k]
        for k in row.keys()  # noqa: SIM118 - iterating a Row yields values, not keys
    }


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row the ``INSERT`` just run on ``cursor`` added."""
    if cursor.lastrowid is None:  # only before any INSERT on this cursor
        raise RuntimeError("no row was inserted")
    return cursor.lastrowid


def _process_alive(pid: int) -> bool:
    """Whether a harness process ``pid`` is running on this machine (not a zombie, and not
    another program that was given the same pid since)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):  # no /proc (macOS): trust kill()
        return True
    return state != "Z" and b"harness" in command


def run_state(run: StoredRun) -> str:
    """``finished``; ``running`` (its process is alive on this machine); ``interrupted`` (its
    process has gone: resume it); or ``unfinished`` (it runs, or ran, on another machine)."""
    if run.status == "finished":
        return "finished"
    if run.host != socket.gethostname() or run.pid is None:
        return "unfinished"
    return "running" if _process_alive(run.pid) else "interrupted"


class ResumeError(Exception):
    """A run that cannot be resumed, and why."""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 1 → 2: run uuids, host, pid, options and plan; case repetition, case_key and
    machine (null for v1 cases: their machine is the run's).

    A v1 run gets a uuid derived from its id, start time, suite and metadata, so the same v1
    run migrated in two copies of a file merges as one. A v1 case's key is made from its
    stored parameters (v1 kept no record of which the suite set); identical cases of one run
    become repetitions 0, 1, ... in the order they were stored. A v1 run has no plan, so it
    cannot be resumed; its ``planned`` count is its cases' when it finished.
    """
    for statement in (
        "ALTER TABLE runs ADD COLUMN uuid TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN host TEXT",
        "ALTER TABLE runs ADD COLUMN pid INTEGER",
        "ALTER TABLE runs ADD COLUMN options TEXT",
        "ALTER TABLE runs ADD COLUMN plan TEXT",
        "ALTER TABLE runs ADD COLUMN planned INTEGER",
        "ALTER TABLE cases ADD COLUMN repetition INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE cases ADD COLUMN case_key TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE cases ADD COLUMN machine TEXT",
        "DROP INDEX IF EXISTS cases_by_run",
    ):
        conn.execute(statement)
    v1_namespace = uuid.UUID("5f0c1c2e-7d1a-4c55-9a7e-2b1f6c1f0a01")
    for run_id, started, suite, metadata in conn.execute(
        "SELECT id, started_at, suite_text, metadata FROM runs"
    ).fetchall():
        name = json.dumps([run_id, started, suite, metadata])
        conn.execute(
            "UPDATE runs SET uuid = ? WHERE id = ?", (str(uuid.uuid5(v1_namespace, name)), run_id)
        )
    conn.execute(
        "UPDATE runs SET planned = (SELECT count(*) FROM cases WHERE run_id = runs.id) "
        "WHERE status = 'finished'"
    )
    repetitions: dict[tuple[int, str], int] = {}
    columns = ", ".join(KEY_FIELDS)
    for row in conn.execute(f"SELECT id, run_id, {columns} FROM cases ORDER BY id").fetchall():
        case = dict(zip(KEY_FIELDS, row[2:], strict=True))
        for name in ("sizes", "problem", "params"):
            case[name] = json.loads(case[name])
        first = (row[1], case_key(case))
        repetition = repetitions.get(first, 0)
        repetitions[first] = repetition + 1
        key = case_key({**case, "repetition": repetition})
        conn.execute(
            "UPDATE cases SET repetition = ?, case_key = ? WHERE id = ?", (repetition, key, row[0])
        )


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Version 2 → 3: a case's ``above_peak`` flag (set from its stored ``peak_fraction``),
    its ``bytes`` and ``bandwidth_fraction`` (null: v2 had no bytes models)."""
    for statement in (
        "ALTER TABLE cases ADD COLUMN above_peak INTEGER",
        "ALTER TABLE cases ADD COLUMN bytes REAL",
        "ALTER TABLE cases ADD COLUMN bandwidth_fraction REAL",
    ):
        conn.execute(statement)
    conn.execute(
        "UPDATE cases SET above_peak = (peak_fraction > ?) WHERE peak_fraction IS NOT NULL",
        (ABOVE_PEAK,),
    )


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _v1_to_v2, 3: _v2_to_v3}
"""Version → the step that upgrades a file from the version before it (inside one
transaction). Every version after 1 has one; version 1 files exist in the wild."""


class UnusableDatabase(RuntimeError):
    """A results database that cannot be opened as asked, and why (one line, with the fix)."""


class StorageError(UnusableDatabase):
    """A write to the results database failed (disk full, I/O error): nothing of the
    transaction was stored; what was committed before is intact."""


HARNESS_TABLES = frozenset({"runs", "cases"})
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database: never a database themselves."""
STORAGE_FAILURES = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN}
)
"""SQLite's primary result codes for a write the storage refused, as opposed to a lock held
too long or a bug."""


def _primary_code(exc: sqlite3.Error) -> int:
    """The primary result code of an SQLite error (the extended ones add bits above 8)."""
    return getattr(exc, "sqlite_errorcode", -1) & 0xFF


LOCKED = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
"""SQLite's primary result codes for a lock another connection holds: a wait, never damage."""

RECOVER_HINT = (
    "recover what it holds with `sqlite3 {path} .recover | sqlite3 recovered.sqlite`, "
    "or give another --db"
)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _check_path(path: Path, *, create: bool) -> None:
    """Raise ``UnusableDatabase`` (or ``FileNotFoundError``) when ``path`` cannot be a results
    file: a folder, a name too long, a parent that is a file or cannot be created."""
    try:
        try:  # one look: another process may create the file at any moment
            mode: int | None = path.stat().st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and stat.S_ISDIR(mode):
            raise UnusableDatabase(
                f"{path} is a folder, not a results database file "
                f"(give a file, e.g. {path / DEFAULT_PATH.name})"
            )
        exists = mode is not None
        if mode is not None and not stat.S_ISREG(
            mode
        ):  # a device, a pipe: SQLite would litter its folder
            raise UnusableDatabase(f"{path} is not a regular file, not a results database")
        side = next((s for s in SQLITE_SIDE_FILES if path.name.endswith(s)), None)
        if side and path.with_name(path.name.removesuffix(side)).is_file():
            raise UnusableDatabase(
                f"{path} is the {side} file SQLite keeps beside "
                f"{path.with_name(path.name.removesuffix(side))}: give that database instead"
            )
    except OSError as exc:  # a name too long, a loop of links
        raise UnusableDatabase(
            f"cannot use {path} as a results database: {_os_reason(exc)}"
        ) from None
    if exists:
        return
    if not create:
        raise FileNotFoundError(f"no results database at {path}")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UnusableDatabase(
            f"cannot create {path}: {parent} (or a folder above it) is a file, not a folder"
        ) from None
    except OSError as exc:
        raise UnusableDatabase(
            f"cannot create the folder {parent} for {path.name}: {_os_reason(exc)} "
            "(give --db in a writable folder, or set HARNESS_DB)"
        ) from None


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that can only read ``path`` (SQLite ``mode=ro``). In a folder where the
    WAL index cannot be created (a read-only folder or medium), the file is opened as
    immutable, as SQLite allows for read-only media."""
    uri = path.resolve().as_uri()
    for query in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(
            f"{uri}?{query}", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S
        )
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:  # cannot open the WAL index: try immutable
            conn.close()
            if _primary_code(exc) in LOCKED:  # another writer: never read it as immutable
                raise
        except sqlite3.DatabaseError:
            conn.close()
            raise
    raise UnusableDatabase(f"cannot read {path}: SQLite cannot open it read-only here")


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _not_results(path: Path, conn: sqlite3.Connection) -> str | None:
    """Why the SQLite file behind ``conn`` is not a harness results database, or None: it
    has our tables, or none at all (a new file)."""
    tables = _tables(conn)
    if tables >= HARNESS_TABLES or not tables:
        return None
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    return f"{path} is not a harness results database (it holds other tables: {shown})"


class ResultsDB:
    """A connection to the results file.

    For writing (the default), the file is created with its schema on first use and upgraded
    to ``SCHEMA_VERSION`` when older; an existing file is first checked (another program's
    database, a damaged file are refused); ``create=False`` refuses a file that does not exist.
    ``readonly=True`` (the read commands) never changes the file: an older one is upgraded in
    a copy in memory.
    """

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        _check_path(self.path, create=create and not readonly)
        try:
            if readonly:
                self.conn = self._open_readonly()
            else:
                self.conn = self._open_for_writing()
        except sqlite3.DatabaseError as exc:
            raise UnusableDatabase(self._unreadable(exc)) from None

    def _unreadable(self, exc: sqlite3.DatabaseError) -> str:
        if _primary_code(exc) in LOCKED:
            return (
                f"{self.path} stayed locked by another process for over {BUSY_TIMEOUT_S:.0f} s "
                f"({exc}): try again when that process has finished"
            )
        if _primary_code(exc) != sqlite3.SQLITE_CORRUPT:  # e.g. NOTADB: another kind of file
            return f"{self.path} is not a harness results database ({exc})"
        untouched = "" if self.readonly else " nothing was written to it;"
        return f"{self.path} is damaged ({exc}):{untouched} " + RECOVER_HINT.format(path=self.path)

    def _open_readonly(self) -> sqlite3.Connection:
        conn = _connect_readonly(self.path)
        conn.row_factory = sqlite3.Row
        reason = _not_results(self.path, conn)
        if reason is None and not _tables(conn):
            reason = f"{self.path} holds no harness results (an empty database)"
        if reason:
            conn.close()
            raise UnusableDatabase(reason)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == SCHEMA_VERSION:
            return conn
        memory = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.backup(memory)
        finally:
            conn.close()
        self.conn = memory
        self._upgrade()
        return memory

    def _open_for_writing(self) -> sqlite3.Connection:
        existed = self.path.is_file() and self.path.stat().st_size > 0
        if existed:  # look before writing: another program's file, a damaged one
            probe = _connect_readonly(self.path)
            try:
                reason = _not_results(self.path, probe)
                damage = [row[0] for row in probe.execute("PRAGMA quick_check")]
            finally:
                probe.close()
            if reason:
                raise UnusableDatabase(reason)
            if damage != ["ok"]:
                raise UnusableDatabase(
                    f"{self.path} is damaged ({'; '.join(damage[:3])}): nothing was written "
                    "to it; " + RECOVER_HINT.format(path=self.path)
                )
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise UnusableDatabase(
                f"cannot open {self.path} for writing ({exc}): is its folder writable?"
            ) from None
        try:
            self._upgrade()
        except BaseException:
            self.conn.close()
            raise
        return self.conn

    @classmethod
    def copy_of(cls, path: str | Path) -> ResultsDB:
        """An in-memory copy of the database at ``path``, upgraded to this schema; the file
        is only read (``harness merge`` reads another machine's file, of any version)."""
        self = cls(path, create=False, readonly=True)
        if self.conn.execute("PRAGMA database_list").fetchone()[2]:  # the file itself
            memory = sqlite3.connect(":memory:", isolation_level=None)
            self.conn.backup(memory)
            self.conn.close()
            memory.row_factory = sqlite3.Row
            self.conn = memory
        return self

    def _upgrade(self) -> None:
        self.conn.row_factory = sqlite3.Row
        if not self.readonly:
            self._use_wal()
        if self._version() == SCHEMA_VERSION:
            return
        with self.transaction():  # another process may create or upgrade it meanwhile
            version = self._version()
            if version > SCHEMA_VERSION:
                raise UnusableDatabase(
                    f"{self.path} has schema version {version}; this harness reads "
                    f"up to {SCHEMA_VERSION}: upgrade linalg-harness"
                )
            if version > 0:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[step](self.conn)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _use_wal(self) -> None:
        """Switch the file to write-ahead logging. The switch needs the file to itself, and
        SQLite answers "busy" at once rather than wait (to avoid a deadlock) when another
        process holds it, e.g. creating it at the same moment: wait here instead, in steps."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if _primary_code(exc) not in LOCKED or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the write lock is taken at the start (waiting for another
        writer up to ``BUSY_TIMEOUT_S``), everything inside is committed together or not."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if _primary_code(exc) not in STORAGE_FAILURES:
                raise
            raise StorageError(f"cannot write to {self.path}: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def start_run(
        self,
        suite: str,
        suite_path: str,
        suite_text: str,
        metadata: dict,
        *,
        plan: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
    ) -> int:
        """Open a run (status ``running``) with its planned cases and options."""
        row = {
            "suite": suite,
            "suite_path": suite_path,
            "suite_text": suite_text,
            "started_at": now(),
            "status": "running",
            "metadata": _json(metadata),
            "uuid": str(uuid.uuid4()),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            # The plan must give back the very cases, so non-finite floats stay as they are.
            "plan": None if plan is None else json.dumps(plan, default=str),
            "planned": None if plan is None else len(plan),
            "options": None if options is None else _json(options),
        }
        with self.transaction():
            cur = self.conn.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )
        return _inserted_id(cur)

    def claim_run(self, run_id: int, note: dict[str, Any]) -> StoredRun:
        """Make this process the one running ``run_id`` (to resume it), appending ``note`` to
        its metadata's ``resumes``; raise ``ResumeError`` when it cannot be resumed here."""
        with self.transaction():
            run = self.run(run_id)
            state = run_state(run)
            if state == "finished":
                raise ResumeError(f"run {run_id} is finished: nothing to resume")
            if run.plan is None:
                raise ResumeError(
                    f"run {run_id} was stored without its planned cases (by a harness "
                    "older than schema version 2): it cannot be resumed"
                )
            if state == "running":
                raise ResumeError(f"run {run_id} is still running (process {run.pid})")
            if run.host != socket.gethostname():
                raise ResumeError(
                    f"run {run_id} ran on {run.host}, this is {socket.gethostname()}: "
                    "resume it there (its timings and roofline belong to that machine)"
                )
            metadata = {**run.metadata, "resumes": [*run.metadata.get("resumes", []), note]}
            self.conn.execute(
                "UPDATE runs SET pid = ?, metadata = ? WHERE id = ?",
                (os.getpid(), _json(metadata), run_id),
            )
        return dataclasses.replace(run, metadata=metadata, pid=os.getpid())

    def note_executor(self, run_id: int, description: dict[str, Any]) -> None:
        """Append where this start (or resume) of ``run_id`` runs its cases (the executor's
        ``describe()``: local, or the Dask cluster and its workers) to the metadata's
        ``executors``."""
        with self.transaction():
            metadata = self.run(run_id).metadata
            metadata["executors"] = [*metadata.get("executors", []), description]
            self.conn.execute(
                "UPDATE runs SET metadata = ? WHERE id = ?", (_json(metadata), run_id)
            )

    def finish_run(self, run_id: int, end_conditions: dict[str, Any] | None = None) -> None:
        """Mark ``run_id`` finished; ``end_conditions`` (``harness.run.conditions.collect()``
        at its end) go into its metadata's ``conditions.end``."""
        with self.transaction():
            if end_conditions is not None:
                meta = self.run(run_id).metadata
                meta.setdefault("conditions", {})["end"] = end_conditions
                self.conn.execute(
                    "UPDATE runs SET metadata = ? WHERE id = ?", (_json(meta), run_id)
                )
            self.conn.execute(
                "UPDATE runs SET status = 'finished', finished_at = ? WHERE id = ?", (now(), run_id)
            )

    def add_case(self, run_id: int, record: dict[str, Any], key: str | None = None) -> int:
        """Store one finished case (a ``CaseResult.record()``) in its own transaction; return
        its id. ``key`` is its ``case_key`` as planned (default: made from ``record``)."""
        return self.add_cases(run_id, [(record, key)])[0]

    def add_cases(self, run_id: int, cases: list[tuple[dict[str, Any], str | None]]) -> list[int]:
        """Store finished cases, each a ``(CaseResult.record(), case_key or None)``, in one
        transaction (all or none of them); return their ids."""
        ids = []
        with self.transaction():
            for record, key in cases:
                record = {"repetition": 0, **record}
                row = {k: _json(v) if isinstance(v, dict | list) else v for k, v in record.items()}
                row.update(run_id=run_id, finished_at=now(), case_key=key or case_key(record))
                cur = self.conn.execute(
                    f"INSERT INTO cases ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    tuple(row.values()),
                )
                ids.append(_inserted_id(cur))
        return ids

    def _record(self, table: str, row: sqlite3.Row, build: Callable[..., Record]) -> Record:
        """``build`` of the decoded columns of ``row``; ``UnusableDatabase`` naming the row
        when one of its values is not what this harness stores (edited by hand, or damaged)."""
        try:
            return build(_decode(table, row))
        except (ValueError, TypeError) as exc:
            raise UnusableDatabase(
                f"{self.path}: {table[:-1]} {row['id']} holds a value this harness cannot read "
                f"({exc}); " + RECOVER_HINT.format(path=self.path)
            ) from None

    def check_records(self) -> None:
        """Read every run and case as a record: ``UnusableDatabase`` at the first that
        cannot be (``harness merge`` refuses such a source before importing anything)."""
        for row in self.conn.execute("SELECT * FROM runs ORDER BY id"):
            self._record("runs", row, StoredRun.from_columns)
        for row in self.conn.execute("SELECT * FROM cases ORDER BY id"):
            self._record("cases", row, StoredCase.from_columns)

    def cases(self, run_id: int) -> list[StoredCase]:
        rows = self.conn.execute("SELECT * FROM cases WHERE run_id = ? ORDER BY id", (run_id,))
        return [self._record("cases", r, StoredCase.from_columns) for r in rows]

    def case_keys(self, run_id: int) -> set[str]:
        """The keys of the cases stored for ``run_id``: those a resume skips."""
        rows = self.conn.execute("SELECT case_key FROM cases WHERE run_id = ?", (run_id,))
        return {key for (key,) in rows}

    def run(self, run_id: int) -> StoredRun:
        if not SQLITE_INTEGERS[0] <= run_id <= SQLITE_INTEGERS[1]:  # no such id can be stored
            raise LookupError(f"no run {run_id} in {self.path}")
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise LookupError(f"no run {run_id} in {self.path}")
        return self._record("runs", row, StoredRun.from_columns)

    def runs(self) -> list[StoredRun]:
        """Every run, oldest first, without its suite text and plan (None)."""
        rows = self.conn.execute(
            "SELECT id, suite, suite_path, NULL AS suite_text, started_at, finished_at, status, "
            "metadata, uuid, host, pid, options, NULL AS plan, planned FROM runs ORDER BY id"
        )
        return [self._record("runs", r, StoredRun.from_columns) for r in rows]

    def stored_counts(self) -> dict[int, int]:
        """How many cases are stored for each run."""
        rows = self.conn.execute(
            "SELECT id, (SELECT count(*) FROM cases WHERE run_id = runs.id) FROM runs"
        )
        return {int(run_id): count for run_id, count in rows}

    def has_run(self, run_id: int) -> bool:
        if not SQLITE_INTEGERS[0] <= run_id <= SQLITE_INTEGERS[1]:  # no such id can be stored
            return False
        return (
            self.conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None
        )

    def run_commits(self) -> list[tuple[int, str, str | None]]:
        """``(id, status, git commit)`` of every run, latest first; the commit is that of the
        project (``metadata["project"]["commit"]``), None when it was not in git."""
        rows = self.conn.execute(
            "SELECT id, status, json_extract(metadata, '$.project.commit') FROM runs "
            "ORDER BY id DESC"
        )
        return [(int(run_id), status, commit) for run_id, status, commit in rows]

    def latest_run(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM runs").fetchone()
        if row[0] is None:
            raise LookupError(f"no runs in {self.path}")
        return int(row[0])

    def merge_from(self, other: ResultsDB) -> list[dict[str, Any]]:
        """Import every run of ``other`` (same schema version), one transaction per run.

        A run is matched by its uuid: a new one gets the next id here (its cases follow it);
        one already here gets the cases it lacks (by ``case_key``) and becomes finished if
        it finished there. Merging twice changes nothing. Returns, per run of ``other``:
        its uuid, its id there and here, and how many cases were added.
        """
        run_columns = [r["name"] for r in self.conn.execute("PRAGMA table_info(runs)")][1:]
        case_columns = [r["name"] for r in self.conn.execute("PRAGMA table_info(cases)")][2:]
        merged = []
        for theirs in other.conn.execute("SELECT * FROM runs ORDER BY id").fetchall():
            with self.transaction():
                ours = self.conn.execute(
                    "SELECT id FROM runs WHERE uuid = ?", (theirs["uuid"],)
                ).fetchone()
                if ours is None:
                    values = [theirs[c] for c in run_columns]
                    cur = self.conn.execute(
                        f"INSERT INTO runs ({', '.join(run_columns)}) "
                        f"VALUES ({', '.join('?' * len(run_columns))})",
                        values,
                    )
                    run_id = _inserted_id(cur)
                else:
                    run_id = ours["id"]
                    if theirs["status"] == "finished":
                        self.conn.execute(
                            "UPDATE runs SET status = 'finished', finished_at = ? "
                            "WHERE id = ? AND status != 'finished'",
                            (theirs["finished_at"], run_id),
                        )
                before = self.conn.total_changes
                self.conn.executemany(
                    f"INSERT OR IGNORE INTO cases (run_id, {', '.join(case_columns)}) "
                    f"VALUES (?, {', '.join('?' * len(case_columns))})",
                    (
                        [run_id, *(case[c] for c in case_columns)]
                        for case in other.conn.execute(
                            "SELECT * FROM cases WHERE run_id = ? ORDER BY id", (theirs["id"],)
                        )
                    ),
                )
                added = self.conn.total_changes - before
            merged.append(
                {
                    "uuid": theirs["uuid"],
                    "their_id": theirs["id"],
                    "id": run_id,
                    "new": ours is None,
                    "cases_added": added,
                }
            )
        return merged
