"""The kiosk's published performance figures: one command, each figure beside its reference from the same run.

Usage::

    python scripts/bench.py                 # the full run (docs/performance.md holds its table)
    python scripts/bench.py --quick         # fewer repetitions; under 3 minutes on a 2-core machine
    python scripts/bench.py --json out.json --markdown table.md --only queue,enqueue

Every measurement is made by one piece of code. The benchmarks of the separate parts live beside them and are
imported from here, not copied:

========================  =========================================================================
``ui``                    here, on the kiosk process itself: start-up (exec of ``kiosk run --simulate``
                          to its ``READY=1`` after the first frame, and to the kiosk built behind it,
                          compiled bytecode as installed) and peak / steady RSS after full
                          journeys; ``scripts/bench_ui.py``: frame times per screen at 1280x800 and
                          800x480, idle CPU on the welcome screen
``enqueue``               ``scripts/bench_outbox_enqueue.py``: seal + enqueue of a 200 KB record vs a
                          bare sqlite3 INSERT (WAL, ``synchronous=FULL``) of the same bytes
``drain``                 ``scripts/bench_drain.py``: drain throughput to the office service vs a
                          bare HTTP client posting the same bodies
``office``                ``scripts/bench_office.py``: records/s of the office service for 1, 10, 50
                          kiosks at once on SQLite and PostgreSQL vs the same posts to a minimal ASGI
                          app; reference-code lookup p50/p99 with 1,000,000 records stored
``queue``                 here: the outbox with 100,000 records queued (enqueue, status query,
                          restart-to-ready with the page cache warm and cold), against the same
                          operations on an empty outbox; profiled when a target is missed
``photo``                 ``scripts/bench_photo_quality.py``: face-quality analysis per preview frame and
                          analyses per second the worker sustains
========================  =========================================================================

A part whose benchmark script is missing (or fails) is reported as such in the table and the JSON, with the
reason; the other parts still run. The exit status is 0 when every part ran, whatever the figures (targets are
reported, not asserted), 1 when a part could not be measured.

The machine is described at the top of the output (CPU, cores, RAM, Python, OS, SQLite, file system, load):
figures only mean something next to it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import datetime
import importlib
import json
import os
import platform
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

PARTS = ("ui", "enqueue", "drain", "queue", "photo", "office")
#: Records queued for the "queue" part (the issue's figure).
QUEUE_DEPTH = 100_000
#: Records with a 200 KB photo for the full run's second restart figure.
PHOTO_QUEUE_DEPTH = 5_000
#: Targets from issue 6, for the verdict column.
STATUS_TARGET_S = 0.050
RESTART_TARGET_S = 2.0


@dataclasses.dataclass
class Figure:
    """One measured figure, its reference measured in the same run, and its target if it has one.

    Attributes:
        part: Which part of the kiosk (``ui``, ``enqueue``, ``drain``, ``queue``, ``photo``).
        name: What was measured, in a few words.
        value: The figure (the median when it has a ``p99``), in ``unit``; None when it could not be measured
            (``note`` says why).
        unit: ``ms``, ``s``, ``MB``, ``%``, ``/s``, ``x`` (a ratio) ...
        reference: What the figure is compared with, with its value (text), or "" if nothing.
        target: The target in words (``<= 1.3``), or "".
        met: Whether the target is met; None without a target or a value.
        note: Anything a reader needs: sizes, repetitions, the profile of a missed target.
    """

    part: str
    name: str
    value: float | None
    unit: str
    reference: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    #: The 99th percentile, for figures given as "p50 / p99".
    p99: float | None = None

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if self.p99 is not None:
            return f"{_fmt(self.value)} / {_fmt(self.p99)} {self.unit}"
        return f"{_fmt(self.value)} {self.unit}".strip()

    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ms(seconds: float) -> float:
    return seconds * 1000.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


# ------------------------------------------------------------------------------------------------ machine


def describe_machine(directory: Path) -> dict[str, Any]:
    """CPU, cores, RAM, Python, OS, SQLite, the file system the databases are on, and the load right now."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                cpu = value.strip()
                break
    ram_gb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} (kernel {platform.release()})"
    return {
        "cpu": cpu,
        "architecture": platform.machine(),
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": ram_gb,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": os_name,
        "sqlite": sqlite3.sqlite_version,
        "filesystem": _filesystem_of(directory),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


def _filesystem_of(path: Path) -> str:
    """The file system type and device under ``path`` (the longest matching mount point in /proc/mounts)."""
    best, found = "", "unknown"
    with contextlib.suppress(OSError):
        resolved = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount_point, fs_type = line.split()[:3]
            inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, found = mount_point, f"{fs_type} on {device} ({mount_point})"
    return found


def machine_lines(machine: dict[str, Any]) -> list[str]:
    cores = machine["cores"]
    if machine["cores_available"] not in (None, cores):
        cores = f"{cores} ({machine['cores_available']} available to this process)"
    return [
        f"CPU: {machine['cpu']} ({machine['architecture']}), {cores} logical cores, "
        f"{machine['ram_gb']} GB RAM",
        f"OS: {machine['os']}; Python {machine['python']}; SQLite {machine['sqlite']}",
        f"Databases on: {machine['filesystem']}; load average at start: "
        + " / ".join(str(load) for load in machine["load_average_at_start"]),
    ]


# -------------------------------------------------------------------------------------- the queue at depth


def _fill_outbox(path: Path, depth: int, photo_kb: int) -> dict[str, Any]:
    """An outbox with ``depth`` pending records, enqueued one by one through :meth:`Outbox.enqueue`.

    Sealing 100,000 distinct records would take half a minute and proves nothing about the queue, so 64
    records are sealed and re-enqueued under fresh record ids (the outbox never opens a blob). The fill runs
    with ``synchronous=OFF`` on the filling connection only: it builds the fixture, it is not measured. The
    records' enqueue times are spread one second apart, oldest first, so the oldest pending age is real.
    """
    from ingest_lab import sample_record

    from kiosk.outbox import Outbox
    from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record

    identity = KioskIdentity.load_or_create(path.parent / "keys")
    server_public, _ = generate_server_keypair()
    templates = [
        seal_record(
            sample_record("BENCH-KIOSK-01", seq=i, photo_size=photo_kb * 1024), identity, server_public
        )
        for i in range(64)
    ]
    enqueued_at = [time.time() - depth]

    def clock() -> float:
        enqueued_at[0] += 1.0
        return enqueued_at[0]

    began = time.perf_counter()
    outbox = Outbox(path, clock=clock)
    try:
        outbox.db.execute("PRAGMA synchronous = OFF")
        for i in range(depth):
            outbox.enqueue(dataclasses.replace(templates[i % 64], record_id=str(uuid.uuid4())))
        outbox.checkpoint()
    finally:
        outbox.close()
    return {
        "fill_s": time.perf_counter() - began,
        "blob_bytes": len(templates[0].blob),
        "db_bytes": sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file()),
    }


def _status(outbox: Any) -> tuple[dict[str, int], float | None]:
    """What ``kiosk outbox status`` and the maintenance dashboard ask: counts per state and the oldest age."""
    return outbox.counts(), outbox.oldest_pending_age()


def _timed(action: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return times


def _statement_profile(outbox: Any, action: Callable[[], Any], path: Path) -> list[dict[str, Any]]:
    """The SQL an outbox action runs, each statement re-run alone (time) and explained (query plan).

    The statements are caught with SQLite's trace callback on the outbox's own connection, so this profiles
    whatever the outbox does today, without knowing its SQL.
    """
    seen: list[str] = []
    conn = outbox.db.conn
    conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    profile = []
    try:
        for sql in dict.fromkeys(seen):
            if not sql.lstrip().upper().startswith(("SELECT", "PRAGMA INTEGRITY", "PRAGMA QUICK")):
                profile.append({"sql": sql, "ms": None, "plan": ""})
                continue
            began = time.perf_counter()
            reader.execute(sql).fetchall()
            took = time.perf_counter() - began
            plan = ""
            if sql.lstrip().upper().startswith("SELECT"):
                plan = "; ".join(row[3] for row in reader.execute(f"EXPLAIN QUERY PLAN {sql}"))
            profile.append({"sql": sql, "ms": round(ms(took), 2), "plan": plan})
    finally:
        reader.close()
    return profile


def _open_profile(path: Path) -> list[dict[str, Any]]:
    """Where opening the outbox spends its time: cumulative time of each Outbox method (cProfile)."""
    from kiosk.outbox import Outbox

    profiler = cProfile.Profile()
    profiler.enable()
    outbox = Outbox(path, check_on_open=False)  # as kiosk run opens it
    profiler.disable()
    outbox.close()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith(os.path.join("kiosk", "outbox.py")) and function != "__init__":
            rows.append({"function": f"Outbox.{function}", "ms": round(ms(cumulative), 1)})
    rows.sort(key=lambda row: row["ms"], reverse=True)
    return rows[:6]


def _size_note(depth: int, photo_kb: int, filled: dict[str, Any]) -> str:
    return (
        f"{depth:,} records of {filled['blob_bytes'] / 1024:.1f} KB sealed "
        f"({'no photo' if not photo_kb else f'{photo_kb} KB photo'}), "
        f"database {filled['db_bytes'] / 1e6:,.0f} MB, filled in {filled['fill_s']:.1f} s"
    )


def _evict_from_page_cache(path: Path) -> None:
    """Drop the outbox files' pages from the OS page cache, as a power cut does (no root needed).

    ``posix_fadvise(DONTNEED)`` evicts only clean pages of these files: the outbox was closed (checkpointed)
    before, so the next open reads them from the disk, as the kiosk's first open after a power cut does.
    """
    for file in path.parent.glob(path.name + "*"):
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _cold_times(path: Path, action: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        _evict_from_page_cache(path)
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return times


def _bare_pragma(path: Path, pragma: str) -> Callable[[], None]:
    def run() -> None:
        conn = sqlite3.connect(path)
        try:
            conn.execute(f"PRAGMA {pragma}").fetchall()
        finally:
            conn.close()

    return run


def _read_file(path: Path) -> None:
    with open(path, "rb", buffering=0) as file:
        while file.read(1 << 20):
            pass


def _restart_figures(path: Path, empty_path: Path, label: str, note: str, quick: bool) -> list[Figure]:
    """Restart-to-ready of the outbox at ``path``, page cache warm and cold, each profiled.

    The boot opens the outbox as ``kiosk run`` does (migrations, recovery) before the journey can save
    anything; the integrity check then runs on a connection of its own once the kiosk serves, and is reported
    as a figure of its own. After a power cut nothing of the file is in memory: the cold figure is the one
    a kiosk meets. References: the same open of an empty outbox, a bare connect, and reading the file once.
    """
    from kiosk.outbox import Outbox

    def reopen(target: Path) -> Callable[[], None]:
        return lambda: Outbox(target, check_on_open=False).close()

    def bare_open() -> None:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        conn.close()

    restarts = 3 if quick else 7
    db_mb = path.stat().st_size / 1e6
    warm = percentile(_timed(reopen(path), restarts), 0.5)
    empty = percentile(_timed(reopen(empty_path), restarts), 0.5)
    bare = percentile(_timed(bare_open, restarts), 0.5)
    warm_note = f"{note}; median of {restarts} opens"
    phases = _open_profile(path)
    if phases:
        warm_note += "; profile of one open: " + ", ".join(
            f"{p['function']} {p['ms']:g} ms" for p in phases[:4]
        )
    with Outbox(path) as outbox:
        integrity = _statement_profile(outbox, outbox.integrity_check, path)
    check_ms = max((row["ms"] or 0.0 for row in integrity), default=0.0)
    if check_ms:
        warm_note += f"; PRAGMA integrity_check alone {_fmt(check_ms)} ms"

    cold = percentile(_cold_times(path, reopen(path), restarts), 0.5)
    cold_bare = percentile(_cold_times(path, bare_open, restarts), 0.5)
    read = percentile(_cold_times(path, lambda: _read_file(path), 2), 0.5)
    cold_check = percentile(_cold_times(path, _bare_pragma(path, "integrity_check"), 2), 0.5)
    cold_quick = percentile(_cold_times(path, _bare_pragma(path, "quick_check"), 2), 0.5)
    _evict_from_page_cache(path)
    cold_phases = _open_profile(path)
    cold_note = (
        f"median of {restarts} opens, each after evicting the file from the OS page cache "
        f"(posix_fadvise DONTNEED), as after a power cut; "
        f"cold PRAGMA integrity_check alone {_fmt(ms(cold_check))} ms, "
        f"PRAGMA quick_check {_fmt(ms(cold_quick))} ms"
    )
    if cold_phases:
        cold_note += "; profile of one cold open: " + ", ".join(
            f"{p['function']} {p['ms']:g} ms" for p in cold_phases[:3]
        )
    if cold >= RESTART_TARGET_S and cold_phases:
        cold_note += "; MISSED: see the profile"
    return [
        Figure(
            "queue",
            f"restart-to-ready, {label}, warm",
            ms(warm),
            "ms",
            f"empty outbox {_fmt(ms(empty))} ms; bare sqlite3 connect {_fmt(ms(bare))} ms",
            f"< {RESTART_TARGET_S:g} s",
            warm < RESTART_TARGET_S,
            warm_note,
        ),
        Figure(
            "queue",
            f"restart-to-ready, {label}, cold",
            ms(cold),
            "ms",
            f"reading the {db_mb:,.0f} MB file once, cold: {_fmt(ms(read))} ms ({db_mb / read:,.0f} MB/s); "
            f"bare sqlite3 connect, cold {_fmt(ms(cold_bare))} ms",
            f"< {RESTART_TARGET_S:g} s",
            cold < RESTART_TARGET_S,
            cold_note,
        ),
        Figure(
            "queue",
            f"integrity check once serving, {label}, cold",
            ms(cold_check),
            "ms",
            f"reading the {db_mb:,.0f} MB file once, cold: {_fmt(ms(read))} ms",
            "",
            None,
            "PRAGMA integrity_check on its own connection (Outbox.check_in_background), after the first "
            "frame: saves and sends go on meanwhile; it reads every page in B-tree order "
            f"({cold_check / read:.0f} x one sequential read of the file)",
        ),
    ]


def queue_figures(
    directory: Path,
    *,
    quick: bool,
    depth: int = QUEUE_DEPTH,
    photo_depth: int | None = None,
) -> list[Figure]:
    """The outbox with ``depth`` records queued vs an empty one: enqueue, status query, restart-to-ready.

    ``depth`` records without a photo (the issue's 100,000) keep the file at a few hundred MB; the full run
    also restarts on ``photo_depth`` records with a 200 KB photo each (default 5,000: fifty days of a busy
    office's citizens held through an outage), since the integrity check on open reads the whole file.
    """
    from ingest_lab import sample_record

    from kiosk.outbox import Outbox
    from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record

    if photo_depth is None:
        photo_depth = 0 if quick else PHOTO_QUEUE_DEPTH
    deep_path = directory / "deep" / "outbox.sqlite3"
    empty_path = directory / "empty" / "outbox.sqlite3"
    deep_path.parent.mkdir(parents=True)
    empty_path.parent.mkdir(parents=True)
    filled = _fill_outbox(deep_path, depth, 0)
    Outbox(empty_path).close()
    figures = _restart_figures(
        deep_path, empty_path, f"{depth:,} queued", _size_note(depth, 0, filled), quick
    )
    if photo_depth:
        photo_path = directory / "photos" / "outbox.sqlite3"
        photo_path.parent.mkdir(parents=True)
        photo_filled = _fill_outbox(photo_path, photo_depth, 200)
        figures += _restart_figures(
            photo_path,
            empty_path,
            f"{photo_depth:,} queued with photos",
            _size_note(photo_depth, 200, photo_filled),
            quick,
        )
        shutil.rmtree(photo_path.parent)

    # Status query: counts per state and the oldest pending age, as `kiosk outbox status` and the
    # maintenance dashboard (which refreshes it while a technician watches) ask for them.
    repeat = 20 if quick else 100
    with Outbox(deep_path) as deep, Outbox(empty_path) as empty:
        deep_times = _timed(lambda: _status(deep), repeat)
        empty_times = _timed(lambda: _status(empty), repeat)
        counts, oldest = _status(deep)
        status_p50, status_p99 = percentile(deep_times, 0.5), percentile(deep_times, 0.99)
        status_note = (
            f"p50 of {repeat}, p99 {_fmt(ms(status_p99))} ms; {counts['pending']:,} pending, "
            f"oldest {oldest:,.0f} s"
        )
        met = status_p50 < STATUS_TARGET_S
        if not met or status_p99 >= STATUS_TARGET_S:
            statements = _statement_profile(deep, lambda: _status(deep), deep_path)
            status_note += "; statements: " + "; ".join(
                f"{row['sql'].strip()} -> {row['ms']} ms [{row['plan']}]" for row in statements if row["ms"]
            )
        figures.append(
            Figure(
                "queue",
                f"status query, {depth:,} queued",
                ms(status_p50),
                "ms",
                f"empty outbox {_fmt(ms(percentile(empty_times, 0.5)))} ms",
                f"< {STATUS_TARGET_S * 1000:g} ms",
                met,
                status_note,
            )
        )

        # Enqueue of a citizen's record (200 KB photo) with the queue deep vs empty, interleaved.
        identity = KioskIdentity.load_or_create(directory / "keys")
        server_public, _ = generate_server_keypair()
        rounds = 10 if quick else 50
        record = sample_record("BENCH-KIOSK-01", seq=1, photo_size=200 * 1024)
        deep_enqueue, empty_enqueue = [], []
        for _ in range(rounds):
            for outbox, times in ((deep, deep_enqueue), (empty, empty_enqueue)):
                sealed = seal_record(
                    dataclasses.replace(record, record_id=str(uuid.uuid4())), identity, server_public
                )
                began = time.perf_counter()
                outbox.enqueue(sealed)
                times.append(time.perf_counter() - began)
        figures.append(
            Figure(
                "queue",
                f"enqueue 200 KB record, {depth:,} queued",
                ms(percentile(deep_enqueue, 0.5)),
                "ms",
                f"empty outbox {_fmt(ms(percentile(empty_enqueue, 0.5)))} ms",
                "",
                None,
                f"Outbox.enqueue alone (sealed beforehand), p50 of {rounds} interleaved; p99 "
                f"{_fmt(ms(percentile(deep_enqueue, 0.99)))} ms (empty outbox p99 "
                f"{_fmt(ms(percentile(empty_enqueue, 0.99)))} ms); the slow ones are the enqueues that run "
                "SQLite's automatic WAL checkpoint (every ~4 MB of WAL: every 14th photo record)",
                p99=ms(percentile(deep_enqueue, 0.99)),
            )
        )
    return figures


# --------------------------------------------------------------------------------- the other parts' scripts


def _import_script(name: str) -> Any:
    """Import ``scripts/<name>.py``; None if it is not in the tree (yet)."""
    if not (SCRIPTS / f"{name}.py").exists():
        return None
    return importlib.import_module(name)


def _missing(part: str, script: str, why: str, what: str = "") -> list[Figure]:
    """A row saying which figures are missing and why (a missing piece is reported, never hidden)."""
    return [Figure(part, what or f"(all {part} figures)", None, "", note=f"not measured: {script} {why}")]


def enqueue_figures(directory: Path, *, quick: bool) -> list[Figure]:
    """Seal + enqueue of a 200 KB record vs a bare sqlite3 INSERT, by scripts/bench_outbox_enqueue.py."""
    module = _import_script("bench_outbox_enqueue")
    if module is None:
        return _missing("enqueue", "scripts/bench_outbox_enqueue.py", "is not in the tree")
    if not hasattr(module, "measure"):
        return _missing("enqueue", "scripts/bench_outbox_enqueue.py", "has no measure() function")
    rounds, warmup = (40, 5) if quick else (200, 10)
    result = module.measure(rounds=rounds, warmup=warmup, photo_kb=200, directory=directory)
    blob = f"{result['blob_bytes'] / 1024:.0f} KB sealed blob, p50 of {rounds} interleaved rounds"
    bare = f"bare sqlite3 INSERT of the same bytes (WAL, FULL) {_fmt(ms(result['bare_p50_s']))} ms"
    insert_ratio, save_ratio = result["insert_ratio_p50"], result["ratio_p50"]
    seal_share = result["seal_p50_s"] / result["enqueue_p50_s"]
    return [
        Figure(
            "enqueue",
            "Outbox.enqueue of a 200 KB record",
            ms(result["insert_p50_s"]),
            "ms",
            bare,
            "",
            None,
            f"{blob}; p99 {_fmt(ms(result['insert_p99_s']))} ms vs bare p99 "
            f"{_fmt(ms(result['bare_p99_s']))} ms",
        ),
        Figure(
            "enqueue",
            "ratio Outbox.enqueue / bare INSERT",
            insert_ratio,
            "x",
            "1.0 = bare INSERT",
            "<= 1.3",
            insert_ratio <= 1.3,
            "the storage of the same sealed bytes, both durable at return",
        ),
        Figure(
            "enqueue",
            "save = seal_record + Outbox.enqueue",
            ms(result["enqueue_p50_s"]),
            "ms",
            bare,
            "<= 1.3 x bare, if sealing is counted",
            save_ratio <= 1.3,
            f"{save_ratio:.2f} x the bare INSERT; seal_record alone is {_fmt(ms(result['seal_p50_s']))} ms "
            f"({seal_share:.0%} of the save): signing (Ed25519ph) and sealing (X25519 + XSalsa20-Poly1305) "
            "the "
            "canonical JSON, whose photo is base64, is CPU work a bare INSERT of ready bytes does not do; "
            f"p99 {_fmt(ms(result['enqueue_p99_s']))} ms",
        ),
    ]


def drain_figures(directory: Path, *, quick: bool) -> list[Figure]:
    """Drain throughput vs a bare HTTP client, by scripts/bench_drain.py (and its profile if it misses)."""
    module = _import_script("bench_drain")
    if module is None:
        return _missing("drain", "scripts/bench_drain.py", "is not in the tree")
    if not hasattr(module, "measure"):
        return _missing("drain", "scripts/bench_drain.py", "has no measure() function")
    rounds = 1 if quick else 3
    result = module.measure(records=1000, rounds=rounds, directory=directory)
    ratio = result["kiosk_records_per_s"] / result["bare_records_per_s"]
    size = f"{result['records']:,} records of {result['record_bytes'] / 1024:.0f} KB sealed"
    note = f"{size}, best of {rounds} round(s) per side, server in its own process"
    if ratio < 0.8:
        note += "; " + _drain_profile(module, directory / "profile", result)
    return [
        Figure(
            "drain",
            "drain to the office service (sync_once)",
            result["kiosk_records_per_s"],
            "rec/s",
            f"bare http.client, same bodies: {_fmt(result['bare_records_per_s'])} rec/s",
            "",
            None,
            f"{_fmt(result['kiosk_mb_per_s'])} MB/s vs {_fmt(result['bare_mb_per_s'])} MB/s",
        ),
        Figure(
            "drain",
            "ratio drain / bare client",
            ratio,
            "x",
            "1.0 = bare client",
            ">= 0.8",
            ratio >= 0.8,
            note,
        ),
    ]


#: How the kiosk's time during a drain is told apart in a cProfile (by the function that spent it).
_DRAIN_CATEGORIES = (
    ("waiting for the server's answer", ("recv_into", "recv'")),
    ("sending", ("sendall", "sendfile", "'send'")),
    ("outbox SQLite", ("sqlite3",)),
    ("waiting for another thread", ("acquire", "'wait'")),
    ("checking the connection", ("select.select",)),
)


def _drain_profile(module: Any, directory: Path, result: dict[str, Any], records: int = 300) -> str:
    """Why the drain is slower than the bare client, with scripts/bench_drain.py's own pieces.

    Two measurements: a cProfile of the drain's calling thread, per record, by where the time went; and the
    same drain with the outbox on a RAM file system (``/dev/shm``: commits without a disk flush) against the
    disk, which tells whether the outbox's durable commits (on the courier's helper thread, out of the
    profile, but sharing one disk with the server's own commits in this benchmark) are what costs.
    """
    from ingest_lab import IngestLab

    directory.mkdir(parents=True)
    lab = IngestLab.create(directory / "lab")
    with lab.outbox() as outbox:
        lab.enqueue(outbox, records, photo_size=50 * 1024)
    pristine = directory / "pristine.sqlite3"
    shutil.copyfile(lab.outbox_path, pristine)
    profiler = cProfile.Profile()
    with module.server_process(lab, directory / "server.sqlite3") as url:
        profiler.enable()
        seconds = module.kiosk_drain(url, pristine, directory / "work.sqlite3", lab, records)
        profiler.disable()
    spent = dict.fromkeys(
        [name for name, _ in _DRAIN_CATEGORIES] + ["Python (headers, parsing, bookkeeping)"], 0.0
    )
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, own, _cumulative, _callers) in stats.items():
        label = f"{filename}:{function}"
        for name, needles in _DRAIN_CATEGORIES:
            if any(needle in label for needle in needles):
                spent[name] += own
                break
        else:
            spent["Python (headers, parsing, bookkeeping)"] += own
    per_record = ", ".join(f"{name} {_fmt(ms(value / records))} ms" for name, value in spent.items() if value)
    bare_ms = 1000.0 / result["bare_records_per_s"]
    explanation = (
        f"profile of the kiosk drain's thread ({records} records, {_fmt(records / seconds)} rec/s under the "
        f"profiler), per record: {per_record}; the bare client takes {_fmt(bare_ms)} ms per record in all"
    )
    ram = Path("/dev/shm")
    if ram.is_dir() and os.access(ram, os.W_OK):
        rates: dict[str, float] = {"disk": 0.0, "RAM": 0.0}
        with tempfile.TemporaryDirectory(dir=ram, prefix="kiosk-bench-") as in_ram:
            for attempt in range(2):
                for where, folder in (("disk", directory), ("RAM", Path(in_ram))):
                    work = folder / f"drain-{attempt}.sqlite3"
                    with module.server_process(lab, directory / f"server-{where}-{attempt}.sqlite3") as url:
                        took = module.kiosk_drain(url, pristine, work, lab, records)
                    rates[where] = max(rates[where], records / took)
        explanation += (
            f"; the same drain with the outbox on disk {_fmt(rates['disk'])} rec/s, on a RAM file system "
            f"(no flush) {_fmt(rates['RAM'])} rec/s (best of 2, {records} records)"
        )
    return explanation


def office_figures(directory: Path, *, quick: bool) -> list[Figure]:
    """Office service throughput and lookup, by scripts/bench_office.py (its own docstring says how)."""
    module = _import_script("bench_office")
    if module is None:
        return _missing("office", "scripts/bench_office.py", "is not in the tree")
    result = module.measure(quick=quick, directory=directory, echo=lambda line: print(line, file=sys.stderr))
    figures = []
    for row in result["throughput"]:
        bare = row["bare_records_per_s"]
        for backend in result["backends"]:
            rate = row[f"{backend}_records_per_s"]
            figures.append(
                Figure(
                    "office",
                    f"records/s, {row['kiosks']} kiosk(s) at once, {backend}",
                    rate,
                    "rec/s",
                    f"minimal ASGI app, same posts: {_fmt(bare)} rec/s",
                    "",
                    None,
                    f"{row['records']:,} records, {rate / bare:.2f} x the minimal app",
                )
            )
    if "postgresql" not in result["backends"]:
        figures.append(
            Figure("office", "records/s on PostgreSQL", None, "", note="not measured: no PostgreSQL")
        )
    for backend, lookup in result["lookup"].items():
        figures.append(
            Figure(
                "office",
                f"reference lookup, {lookup['records']:,} records, {backend}",
                ms(lookup["p50_s"]),
                "ms",
                "",
                "p99 < 20 ms",
                lookup["p99_s"] < lookup["target_s"],
                f"p50 / p99 of {lookup['samples']} Store.find_by_reference of typed codes",
                p99=ms(lookup["p99_s"]),
            )
        )
    return figures


def photo_figures(directory: Path, *, quick: bool) -> list[Figure]:
    """Face-quality analysis per frame and analyses per second, by scripts/bench_photo_quality.py."""
    module = _import_script("bench_photo_quality")
    if module is None:
        return _missing("photo", "scripts/bench_photo_quality.py", "is not in the tree")
    if not hasattr(module, "measure"):
        return _missing("photo", "scripts/bench_photo_quality.py", "has no measure() function")
    frames, seconds = (60, 2.0) if quick else (200, 5.0)
    result = module.measure(frames=frames, seconds=seconds)
    width, height = result["size"]
    return [
        Figure(
            "photo",
            f"face check per {width}x{height} preview frame",
            ms(result["face_p50_s"]),
            "ms",
            f"frame without a face {_fmt(ms(result['no_face_p50_s']))} ms; "
            "a 15 fps preview frame lasts 66.7 ms",
            "",
            None,
            f"assess_photo on {frames} frames of the simulated camera's face scene; "
            f"OpenCV on {result['opencv_threads']} thread(s)",
            p99=ms(result["face_p99_s"]),
        ),
        Figure(
            "photo",
            "analyses/s the worker sustains",
            result["worker_analyses_per_s"],
            "/s",
            f"asked for {result['worker_rate_hz']:g}/s beside a 15 fps preview "
            f"(which ran at {_fmt(result['worker_preview_fps'])} fps)",
            "",
            None,
            f"PhotoQualityWorker over {seconds:g} s",
        ),
        Figure(
            "photo",
            "analyses/s at most (worker unthrottled)",
            result["max_analyses_per_s"],
            "/s",
            f"1 / p50 = {_fmt(1.0 / result['face_p50_s'])}/s",
            "",
            None,
            f"beside a 60 fps simulated preview, over {seconds:g} s",
        ),
    ]


# ---------------------------------------------------------------------------------- the kiosk process itself

#: A pygame program that opens the window, draws one frame and says READY=1: the floor of any kiosk start-up.
_BARE_PYGAME_READY = """
import os, socket
import pygame
pygame.display.init()
surface = pygame.display.set_mode((1280, 800))
surface.fill((250, 250, 250))
pygame.display.flip()
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
"""


def _headless_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "PYGAME_HIDE_SUPPORT_PROMPT": "1",
        "GPIOZERO_PIN_FACTORY": "mock",
        **extra,
    }


def _proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MB, from /proc/<pid>/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


@dataclasses.dataclass
class StartUp:
    """One timed start of a program that tells systemd it is ready (``READY=1`` on ``$NOTIFY_SOCKET``).

    Attributes:
        ready_s: Seconds from exec to ``READY=1``: the first frame is on the screen.
        serving_s: Seconds from exec to ``STATUS=serving``: the kiosk is built and serves the first tap
            (None for a program that does not say it).
        memory: VmRSS / VmHWM in MB at ``READY=1``.
    """

    ready_s: float
    serving_s: float | None
    memory: dict[str, float]


def _startup_env(bytecode: Path | None, **extra: str) -> dict[str, str]:
    """The headless environment of a timed start; with ``bytecode``, Python's bytecode cache is kept there."""
    env = _headless_env(**extra)
    if bytecode is not None:
        # The development shell sets PYTHONDONTWRITEBYTECODE: an untimed first start writes the cache of every
        # module it imports (the standard library's and site-packages' too: with a prefix, Python reads the
        # cache only from there), and the timed starts read it, as an installed kiosk does.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return env


def _compile_bytecode(bytecode: Path, log_path: Path) -> None:
    """Compile the kiosk's packages into ``bytecode``, as pip compiles what it installs (install-pi.sh)."""
    root = SCRIPTS.parent
    with open(log_path, "ab") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "compileall",
                "-q",
                *(str(root / name) for name in ("kiosk", "hal", "ui")),
            ],
            env=_startup_env(bytecode),
            stdout=log,
            stderr=log,
            check=True,
        )


def _time_to_ready(
    argv: list[str], directory: Path, log_path: Path, *, bytecode: Path | None = None, serving: bool = False
) -> StartUp:
    """Time ``argv`` from exec to its ``READY=1`` (and, with ``serving``, to its ``STATUS=serving``).

    ``READY=1`` is what the kiosk tells systemd right after its first frame, which ``kiosk run`` draws before
    it builds the kiosk (ui/first_frame.py); ``STATUS=serving`` follows once the kiosk is built and the
    welcome screen serves taps (ui/kiosk_app.run_kiosk). So this times the real start-up path: interpreter,
    imports, config, fonts, first draw; then devices, outbox, journey and the welcome screen redrawn.
    """
    import socket

    address = directory / f"notify-{uuid.uuid4().hex[:8]}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(address))
    listener.settimeout(120)
    env = _startup_env(bytecode, NOTIFY_SOCKET=str(address))
    served = None
    try:
        with open(log_path, "ab") as log:
            began = time.perf_counter()
            process = subprocess.Popen(argv, env=env, stderr=log)
            try:
                message = listener.recv(4096)
                while b"READY=1" not in message:
                    message = listener.recv(4096)
                took = time.perf_counter() - began
                memory = _proc_status(process.pid)
                while serving and b"STATUS=serving" not in message:
                    message = listener.recv(4096)
                if serving:
                    served = time.perf_counter() - began
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        listener.close()
        address.unlink(missing_ok=True)
    return StartUp(took, served, memory)


def kiosk_process_figures(directory: Path, *, quick: bool) -> list[Figure]:
    """Start-up to the first welcome frame and memory after a full journey, of ``kiosk run --simulate``.

    Measured on the product's own process (every device simulated, SDL's dummy driver), not on a harness.
    """
    from ingest_lab import IngestLab

    lab = IngestLab.create(directory / "lab")
    log_path = directory / "kiosk.log"
    figures = []
    with lab.server() as server:
        config = lab.write_config(server.url)
        kiosk = [sys.executable, "-m", "kiosk", "run", "--simulate", "--config", str(config), "--windowed"]
        bare = [sys.executable, "-c", _BARE_PYGAME_READY]
        starts = 3 if quick else 7
        chromium = _chromium()
        # Compiled bytecode, as an installed kiosk has: the project's packages compiled, then one untimed
        # start of each program writes the cache of everything else it imports.
        bytecode = directory / "pycache"
        _compile_bytecode(bytecode, log_path)
        _time_to_ready(kiosk, directory, log_path, bytecode=bytecode, serving=True)
        _time_to_ready(bare, directory, log_path, bytecode=bytecode)
        kiosk_runs, bare_runs, chromium_runs = [], [], []
        # Alternated, so that a busy moment of a shared machine falls on all three alike.
        for _ in range(starts):
            kiosk_runs.append(_time_to_ready(kiosk, directory, log_path, bytecode=bytecode, serving=True))
            bare_runs.append(_time_to_ready(bare, directory, log_path, bytecode=bytecode))
            if chromium is not None:
                chromium_runs.append(_chromium_to_screenshot(chromium, directory, log_path)[0])
        figures += _startup_figures(kiosk_runs, bare_runs, chromium_runs, chromium)
        figures += _first_use_figures(config)
        walk = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "_journey-memory", str(config)],
            env=_headless_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if walk.returncode != 0:
        raise RuntimeError(f"the journey-memory child failed: {walk.stderr.strip()[-600:]}")
    memory = json.loads(walk.stdout.strip().splitlines()[-1])
    return figures + _memory_figures(memory)


def _memory_figures(memory: dict[str, Any]) -> list[Figure]:
    """The rows of the two walks: the kiosk process, and honestly, its face-check children beside it."""
    note = (
        "`kiosk run --simulate --autopilot --languages id`, walked twice: the autopilot takes a citizen "
        f"through each of the {memory['services']} services to the receipt, then the degraded and idle "
        "screens, back to welcome; VmHWM / VmRSS from /proc/self/status, after a garbage collection"
    )
    before = f"welcome screen before any journey {_fmt(memory['before_rss_mb'])} MB"
    ready = memory["face_check_ready_s"]
    figures = [
        Figure(
            "ui",
            "memory after a full journey: peak RSS",
            memory["peak_rss_mb"],
            "MB",
            before,
            "<= 150",
            memory["peak_rss_mb"] <= 150,
            note + "; the kiosk process alone: the face check runs in a child process, next rows",
        ),
        Figure(
            "ui",
            "memory after a full journey: steady RSS",
            memory["steady_rss_mb"],
            "MB",
            f"{before}; after the first walk {_fmt(memory['first_walk_rss_mb'])} MB",
            "<= 130",
            memory["steady_rss_mb"] <= 130,
            "RSS back on the welcome screen after the second walk; its child processes then hold "
            f"{_fmt(memory['children_after_mb'])} MB (multiprocessing's resource tracker, which lives as "
            "long as the kiosk; the face check's child is gone)",
        ),
        Figure(
            "ui",
            "face-check child process: peak RSS",
            memory["child_peak_mb"],
            "MB",
            f"kiosk process peak {_fmt(memory['peak_rss_mb'])} MB",
            "",
            None,
            f"VmHWM of each face-check child (a fresh interpreter, numpy, OpenCV, the Haar cascade), the "
            f"largest of the {memory['face_check_starts']} started (one per session with a photo step); "
            "it lives from the service choice to the end of the photo step",
        ),
        Figure(
            "ui",
            "memory during the walks: kiosk + its children, largest sum",
            memory["largest_sum_mb"],
            "MB",
            before,
            "",
            None,
            "VmRSS of the kiosk plus every child process (face check, resource tracker), sampled every "
            "20 ms through both walks; the figure the kiosk alone does not show. RSS counts the pages the "
            "processes share (the interpreter, libc, numpy) once in each, so this sum overstates the memory "
            "used",
        ),
        Figure(
            "ui",
            "memory during the walks: kiosk + its children, largest PSS sum",
            memory["largest_pss_sum_mb"],
            "MB",
            before,
            "",
            None,
            "Pss of the kiosk plus every child process, from /proc/<pid>/smaps_rollup, sampled with the RSS "
            "sum: each shared page divided among the processes that map it, so the sum is the memory the "
            "kiosk's processes really hold together",
        ),
    ]
    if ready:
        figures.append(
            Figure(
                "ui",
                "face-check child: start to ready",
                ms(ready[len(ready) // 2]),
                "ms",
                f"slowest of {len(ready)}: {_fmt(ms(ready[-1]))} ms",
                "",
                None,
                "from the journey starting the child (the citizen chose a service that takes a photo; the "
                "checklist, identity and details steps come before the photo step) to the child's answer "
                "that OpenCV and the cascade are loaded; median",
            )
        )
    return figures


#: Chromium as an office would run a browser kiosk, headless here: the flags of the project's browser tests.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: A static page equivalent to the kiosk's welcome screen: title, subtitle, one large button, status line.
_WELCOME_HTML = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Dukcapil</title>
<style>
body { margin: 0; font-family: "Noto Sans", "DejaVu Sans", sans-serif; background: #fafafa; color: #1a1a1a; }
main { display: flex; flex-direction: column; align-items: center; justify-content: center; height: 100vh; }
h1 { font-size: 48px; margin: 0 0 16px; } p { font-size: 24px; color: #555; margin: 0 0 48px; }
button { font: inherit; font-size: 32px; padding: 24px 96px; border: 0; border-radius: 12px;
         background: #0b5cad; color: white; }
footer { position: fixed; bottom: 0; width: 100%; padding: 12px 24px; font-size: 18px; background: #eee; }
</style></head>
<body><main><h1>Selamat datang di Dukcapil</h1><p>Daftar sendiri: e-KTP, KK, akta kelahiran, akta kematian</p>
<button>Sentuh untuk mulai</button></main><footer>Kios siap &middot; Dukcapil Bolaang Mongondow Timur</footer>
</body></html>
"""


def _chromium() -> str | None:
    """Debian's Chromium, or None where it is not installed (the figures then say so)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


def _chromium_to_screenshot(binary: str, directory: Path, log_path: Path) -> tuple[float, dict[str, float]]:
    """Seconds from starting Chromium in kiosk mode (fresh profile) to its screenshot of the welcome page."""
    page = directory / "welcome.html"
    page.write_text(_WELCOME_HTML, encoding="utf-8")
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=directory))
    shot = directory / f"chromium-{uuid.uuid4().hex[:8]}.png"
    argv = [
        binary,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--kiosk",
        "--window-size=1280,800",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    try:
        with open(log_path, "ab") as log:
            began = time.perf_counter()
            subprocess.run(argv, stdout=log, stderr=log, timeout=120, check=False)
            took = time.perf_counter() - began
        if not shot.exists():
            raise RuntimeError(f"Chromium wrote no screenshot (see {log_path})")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shot.unlink(missing_ok=True)
    return took, {}


def _startup_figures(
    kiosk_runs: list[StartUp], bare_runs: list[StartUp], chromium_runs: list[float], chromium: str | None
) -> list[Figure]:
    """Start-up to the first welcome frame and to the kiosk built, beside a bare pygame window and Chromium,
    and the first frame's two ratios."""
    startup = percentile([run.ready_s for run in kiosk_runs], 0.5)
    built = percentile([run.serving_s or 0.0 for run in kiosk_runs], 0.5)
    bare = percentile([run.ready_s for run in bare_runs], 0.5)
    at_ready = kiosk_runs[-1].memory["VmRSS"]
    browser = percentile(chromium_runs, 0.5) if chromium_runs else None
    browser_text = (
        f"Chromium kiosk to its screenshot {_fmt(ms(browser))} ms"
        if browser is not None
        else "Chromium is not installed here: no browser reference"
    )
    compiled = (
        "bytecode compiled beforehand as on an installed kiosk (the project's packages with compileall, the "
        "rest by one untimed start of each program, into a PYTHONPYCACHEPREFIX under the run's directory)"
    )
    figures = [
        Figure(
            "ui",
            "start-up: process start to first welcome frame",
            ms(startup),
            "ms",
            f"bare pygame window to its first frame {_fmt(ms(bare))} ms; {browser_text}",
            "",
            None,
            f"`kiosk run --simulate` (every device simulated, dummy SDL driver), timed from exec to the "
            f"READY=1 it sends systemd after the first frame, which it draws before building the kiosk "
            f"(ui/first_frame.py); median of {len(kiosk_runs)}, the three starts alternated; {compiled}; "
            f"RSS then {at_ready:.0f} MB",
        ),
        Figure(
            "ui",
            "start-up: process start to the kiosk built (first tap served)",
            ms(built),
            "ms",
            f"first welcome frame {_fmt(ms(startup))} ms; bare pygame window {_fmt(ms(bare))} ms",
            "",
            None,
            "the same starts, to the STATUS=serving the kiosk sends once devices, outbox, journey, sync and "
            "maintenance are built and the welcome screen is redrawn with what they say; a tap made on the "
            "first frame waits in SDL's queue until then and is served then",
        ),
        Figure(
            "ui",
            "start-up ratio to the bare pygame window",
            startup / bare,
            "x",
            "1.0 = a pygame program that only opens its window",
            "<= 2",
            startup / bare <= 2,
        ),
    ]
    if browser is None:
        figures.append(
            Figure(
                "ui", "start-up ratio to Chromium", None, "x", "", "<= 0.4", None, "Chromium is not installed"
            )
        )
    else:
        figures.append(
            Figure(
                "ui",
                "start-up ratio to Chromium",
                startup / browser,
                "x",
                "1.0 = Chromium in kiosk mode on an equivalent static welcome page",
                "<= 0.4",
                startup / browser <= 0.4,
                f"{chromium} {' '.join(CHROMIUM_FLAGS)} --kiosk --window-size=1280,800 --screenshot, a fresh "
                "--user-data-dir each start; timed from exec to its exit after writing the screenshot",
            )
        )
    return figures


#: The first photo-step frame and the first receipt, in a fresh kiosk process (kiosk.warm_up): with the
#: warm-up finished (as when a citizen reaches those steps) and without it (a citizen faster than it).
_FIRST_USE = """
import json, sys, time
from kiosk.warm_up import import_lean_storage, warm_up
import_lean_storage()
from hal.events import EventQueue
from hal.printer.receipt import Receipt
from kiosk.assembly import build_kiosk
from kiosk.commands.run import simulator_config
from kiosk.config import load_config

kiosk = build_kiosk(simulator_config(load_config(sys.argv[1])), EventQueue())
try:
    result = {}
    if sys.argv[2] == "warm":
        began = time.perf_counter()
        warm_up(then=(kiosk.devices.camera.prepare,))
        result["warm_up_s"] = time.perf_counter() - began
    camera = kiosk.devices.camera
    began = time.perf_counter()
    camera.start_preview()
    frame = camera.wait_for_frame(timeout=60)
    result["first_frame_s"] = time.perf_counter() - began
    assert frame is not None, "no camera frame"
    camera.stop_preview()
    receipt = Receipt(title="Perekaman e-KTP", reference="7KQ2-M9XD", lines=("Bawa KK asli.", ""),
                      qr_data="7KQ2-M9XD")
    began = time.perf_counter()
    kiosk.devices.printer.print_receipt(receipt)
    result["first_print_s"] = time.perf_counter() - began
    print(json.dumps(result))
finally:
    kiosk.close()
"""


def _first_use_figures(config: Path) -> list[Figure]:
    """The first camera frame on the photo step and the first receipt print, each in a fresh process."""
    found = {}
    for mode in ("warm", "cold"):
        child = subprocess.run(
            [sys.executable, "-c", _FIRST_USE, str(config), mode],
            env=_headless_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the first-use child failed: {child.stderr.strip()[-600:]}")
        found[mode] = json.loads(child.stdout.strip().splitlines()[-1])
    warm, cold = found["warm"], found["cold"]
    note = (
        f"fresh `kiosk run --simulate` parts (build_kiosk), after the warm-up the kiosk starts once it is "
        f"built and serving (it took {_fmt(ms(warm['warm_up_s']))} ms here, on its own); the reference is "
        "the same without the warm-up: a citizen who reaches the step before it ends"
    )
    return [
        Figure(
            "ui",
            "first camera frame on the photo step",
            ms(warm["first_frame_s"]),
            "ms",
            f"without the warm-up {_fmt(ms(cold['first_frame_s']))} ms",
            "",
            None,
            note + "; simulated camera: start_preview to the first frame",
        ),
        Figure(
            "ui",
            "first receipt print",
            ms(warm["first_print_s"]),
            "ms",
            f"without the warm-up {_fmt(ms(cold['first_print_s']))} ms",
            "",
            None,
            note + "; simulated printer: layout, QR, PNG of the paper",
        ),
    ]


def _children_rss_mb() -> dict[int, float]:
    """VmRSS in MB of every child process of this process (the face check's, multiprocessing's tracker)."""
    found = {}
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(OSError, KeyError):  # it exited meanwhile
                found[int(pid)] = _proc_status(pid)["VmRSS"]
    return found


def _pss_mb(pid: int | str) -> float:
    """Proportional set size of a process in MB (0 when it exited meanwhile), from smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _ProcessTreeSampler:
    """Samples the RSS of the kiosk and of its children every ``period`` s, on a thread of the bench's own.

    The face check runs in a child process while a citizen needs it: a kiosk figure alone would hide that
    memory. This keeps the largest sum (kiosk + children) seen, and each child's own peak (VmHWM, read while
    it lives: the last reading before it exits is its peak).
    """

    def __init__(self, period: float = 0.02) -> None:
        import threading

        self.period = period
        self.largest_sum_mb = 0.0
        self.largest_pss_sum_mb = 0.0
        self.child_peak_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def __enter__(self) -> _ProcessTreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            own = _proc_status()["VmRSS"]
            children = _children_rss_mb()
            self.largest_sum_mb = max(self.largest_sum_mb, own + sum(children.values()))
            pss = sum(_pss_mb(pid) for pid in ("self", *children))
            self.largest_pss_sum_mb = max(self.largest_pss_sum_mb, pss)
            for pid in children:
                with contextlib.suppress(OSError, KeyError):
                    self.child_peak_mb[pid] = _proc_status(pid)["VmHWM"]


def _journey_memory_child(config: str) -> int:
    """Run ``kiosk run --simulate --autopilot`` with a probe around the autopilot's walk (child process).

    The probe wraps ``ui.kiosk_app.walk_everything``, so the kiosk runs exactly as the command runs it; only
    the memory is read before and after each walk, with the display still open, and the process tree (the
    kiosk and its face-check children) sampled throughout. The face check's start is timed from the moment the
    journey starts its child to the child's answer that it is ready.
    """
    import gc

    import kiosk.face_check
    import ui.kiosk_app
    from kiosk.cli import main as kiosk_main

    walk, open_check = ui.kiosk_app.walk_everything, kiosk.face_check.FaceCheckProcess.open
    measured: dict[str, Any] = {}
    starts: list[float] = []

    def open_and_time(self: Any) -> None:
        began, before = time.perf_counter(), self.pid
        open_check(self)
        if self.pid is not None and self.pid != before:  # this call started a child
            self.ready().add_done_callback(lambda _: starts.append(time.perf_counter() - began))

    def walk_and_measure(app: Any, view: Any, kiosk: Any, *args: Any, **kwargs: Any) -> int:
        # Walked twice: memory that keeps growing on the second walk would be a leak, not a cache filling.
        measured["before_rss_mb"] = _proc_status()["VmRSS"]
        with _ProcessTreeSampler() as sampler:
            result = walk(app, view, kiosk, *args, **kwargs)
            gc.collect()
            measured["first_walk_rss_mb"] = _proc_status()["VmRSS"]
            result = walk(app, view, kiosk, *args, **kwargs) or result
            gc.collect()
            kiosk.face_check.close().result(timeout=60)
        status = _proc_status()
        measured.update(
            peak_rss_mb=status["VmHWM"],
            steady_rss_mb=status["VmRSS"],
            services=len(kiosk.journey.catalog),
            largest_sum_mb=sampler.largest_sum_mb,
            largest_pss_sum_mb=sampler.largest_pss_sum_mb,
            child_peak_mb=max(sampler.child_peak_mb.values(), default=None),
            children_after_mb=sum(_children_rss_mb().values()),
            face_check_starts=len(starts),
            face_check_ready_s=sorted(starts),
        )
        return result

    kiosk.face_check.FaceCheckProcess.open = open_and_time
    ui.kiosk_app.walk_everything = walk_and_measure
    code = kiosk_main(["run", "--simulate", "--autopilot", "--languages", "id", "--config", config])
    if code or "steady_rss_mb" not in measured:
        return code or 1
    print(json.dumps(measured))
    return 0


def ui_figures(directory: Path, *, quick: bool) -> list[Figure]:
    """Start-up and memory of the kiosk process; frame times and idle CPU by scripts/bench_ui.py."""
    figures = kiosk_process_figures(directory, quick=quick)
    module = _import_script("bench_ui")
    if module is None:
        return figures + _missing("ui", "scripts/bench_ui.py", "is not in the tree", "frame times; idle CPU")
    frames, idle_seconds = (30, 5.0) if quick else (200, 10.0)
    if hasattr(module, "measure"):
        result = module.measure(frames=frames, idle_seconds=idle_seconds)
        screens = result["screens"]
        idle_share, idle_frames = result["idle_cpu_share"], result["idle_frames"]
    elif hasattr(module, "measure_screens") and hasattr(module, "idle_cpu"):
        screens = {
            f"{w}x{h}": [
                {"screen": row[0], "draw_p50_s": row[1], "draw_p99_s": row[2], "rebuild_p50_s": row[3],
                 "rebuild_p99_s": row[4]}
                for row in module.measure_screens((w, h), frames)
            ]
            for w, h in ((1280, 800), (800, 480))
        }  # fmt: skip
        idle_share, idle_frames = module.idle_cpu(idle_seconds)
    else:
        return figures + _missing(
            "ui", "scripts/bench_ui.py", "has neither measure() nor measure_screens()/idle_cpu()",
            "frame times; idle CPU",
        )  # fmt: skip
    for size, rows in screens.items():
        width, _, height = size.partition("x")
        floor = percentile(_bare_frame_times((int(width), int(height)), frames), 0.5)
        for row in rows:
            figures.append(
                Figure(
                    "ui",
                    f"frame {row['screen']} @{size}",
                    ms(row["draw_p50_s"]),
                    "ms",
                    f"bare fill + flip {_fmt(ms(floor))} ms",
                    "",
                    None,
                    f"rebuild after a change p50 {_fmt(ms(row['rebuild_p50_s']))} ms, "
                    f"p99 {_fmt(ms(row['rebuild_p99_s']))} ms",
                    p99=ms(row["draw_p99_s"]),
                )
            )
    bare_idle = _bare_idle_share(min(idle_seconds, 3.0))
    figures.append(
        Figure(
            "ui",
            "idle CPU on the welcome screen",
            idle_share * 100,
            "%",
            f"bare pygame loop in event.wait: {_fmt(bare_idle * 100)} %",
            "",
            None,
            f"share of one core over {idle_seconds:g} s, {idle_frames} frames drawn (the attract loop)",
        )
    )
    return figures


def _bare_frame_times(size: tuple[int, int], frames: int) -> list[float]:
    """The floor of any frame at ``size`` under the same driver: fill the window and flip it."""
    import pygame

    pygame.display.init()
    try:
        surface = pygame.display.set_mode(size)
        times = []
        for i in range(max(frames, 20)):
            began = time.perf_counter()
            surface.fill((240, 240, 240) if i % 2 else (250, 250, 250))
            pygame.display.flip()
            times.append(time.perf_counter() - began)
        return times
    finally:
        pygame.display.quit()


def _bare_idle_share(seconds: float) -> float:
    """CPU share of a pygame loop doing nothing but waiting for events (the floor of idle CPU)."""
    import pygame

    pygame.display.init()
    try:
        pygame.display.set_mode((1280, 800))
        deadline = time.monotonic() + seconds
        before = time.process_time()
        while (left := deadline - time.monotonic()) > 0:
            pygame.event.wait(max(1, int(left * 1000)))
        return (time.process_time() - before) / seconds
    finally:
        pygame.display.quit()


MEASURE: dict[str, Callable[..., list[Figure]]] = {
    "ui": ui_figures,
    "enqueue": enqueue_figures,
    "drain": drain_figures,
    "queue": queue_figures,
    "photo": photo_figures,
    "office": office_figures,
}


# ------------------------------------------------------------------------------------------------ report


def table(figures: Sequence[Figure]) -> str:
    """The figures as a plain-text table (notes below it, numbered)."""
    header = ("part", "figure", "value", "reference (same run)", "target", "")
    rows = [header] + [(f.part, f.name, f.shown(), f.reference, f.target, f.verdict()) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"[{i}] {f.part} / {f.name}: {f.note}" for i, f in enumerate(figures, start=1) if f.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def markdown(figures: Sequence[Figure], machine: dict[str, Any], run: dict[str, Any]) -> str:
    """The figures as the Markdown table of docs/performance.md, with the machine above it."""
    lines = [
        f"Run of {run['started']} (`python scripts/bench.py{' --quick' if run['quick'] else ''}`, "
        f"{run['duration_s']:.0f} s).",
        "",
        *(f"- {line}" for line in machine_lines(machine)),
        "",
        "| Part | Figure | Value | Reference (same run) | Target | Verdict |",
        "|---|---|---|---|---|---|",
    ]
    for figure in figures:
        verdict = {True: "met", False: "**missed**", None: ""}[figure.met]
        lines.append(
            f"| {figure.part} | {figure.name} | {figure.shown()} | {figure.reference} | "
            f"{figure.target.replace('<', '&lt;')} | {verdict} |"
        )
    notes = [f"{i}. **{f.part} / {f.name}**: {f.note}" for i, f in enumerate(figures, start=1) if f.note]
    if notes:
        lines += ["", "Notes (numbered by row):", "", *notes]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _workdir(parent: str | None) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="kiosk-bench-", dir=parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run(parts: Sequence[str], *, quick: bool, directory: Path) -> tuple[list[Figure], list[str]]:
    """Measure ``parts`` in order; returns the figures and the parts that could not be measured."""
    figures: list[Figure] = []
    failed: list[str] = []
    for part in parts:
        began = time.perf_counter()
        print(f"bench: measuring {part} ...", file=sys.stderr, flush=True)
        part_dir = directory / part
        part_dir.mkdir()
        try:
            measured = MEASURE[part](part_dir, quick=quick)
        except Exception as exc:  # one broken part must not hide the others' figures
            measured = [
                Figure(part, f"(all {part} figures)", None, "", note=f"failed: {type(exc).__name__}: {exc}")
            ]
        if any(figure.value is None for figure in measured):
            failed.append(part)
        figures += measured
        shutil.rmtree(part_dir, ignore_errors=True)
        print(f"bench: {part} took {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    return figures, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the kiosk's published performance figures.")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under 3 minutes)")
    parser.add_argument("--json", metavar="PATH", help="write the machine and every figure as JSON")
    parser.add_argument(
        "--markdown", metavar="PATH", help="write the table as Markdown (docs/performance.md)"
    )
    parser.add_argument(
        "--only", metavar="PARTS", help=f"comma-separated parts to measure ({','.join(PARTS)})"
    )
    parser.add_argument("--dir", metavar="DIR", help="where to put the databases (default: the temp dir)")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_journey-memory"]:
        return _journey_memory_child(argv[1])
    args = parser.parse_args(argv)
    parts = PARTS if not args.only else tuple(p.strip() for p in args.only.split(","))
    unknown = [p for p in parts if p not in MEASURE]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    started = datetime.datetime.now(tz=datetime.UTC)
    began = time.perf_counter()
    with _workdir(args.dir) as directory:
        machine = describe_machine(directory)
        figures, failed = run(parts, quick=args.quick, directory=directory)
    run_info = {
        "started": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "quick": args.quick,
        "parts": list(parts),
        "duration_s": round(time.perf_counter() - began, 1),
        "not_measured": failed,
    }
    print()
    for line in machine_lines(machine):
        print(line)
    print(f"Run: {run_info['started']}, {'quick' if args.quick else 'full'}, {run_info['duration_s']:.0f} s")
    print()
    print(table(figures))
    if args.json:
        payload = {"machine": machine, "run": run_info, "figures": [dataclasses.asdict(f) for f in figures]}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(figures, machine, run_info))
    if failed:
        print(f"\nnot measured: {', '.join(failed)} (see the notes)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
