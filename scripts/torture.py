"""Torture the kiosk for minutes: power cuts, network chaos, a noisy pad, a hanging camera, a full disk.

One command, a duration and a seed::

    python scripts/torture.py --minutes 10 --seed 7          # the documented long run
    python scripts/torture.py --minutes 0.25 --seed 1 -v     # about what the CI suite runs

It builds an ingest lab in a temporary directory (:mod:`ingest_lab`: server keys, an enrolled kiosk, its
outbox), serves the office service behind the fault proxy on loopback, then runs *episodes* picked at
random (every kind once first, in a seeded order) until the time is up. The seed fixes every choice
(episodes, network modes, fault sequences, sizes, delays); how far a child got when its delay ran out still
depends on the machine, so two runs with one seed are alike, not identical.

``power_cut``
    Child processes enqueue records, sync them (the real :class:`~kiosk.sync.SyncWorker` or
    :func:`~kiosk.sync.sync_once`) and export USB bundles on the kiosk's one outbox, all at once or a few of
    them, while the fault proxy plays a network mode picked at random (refused, timeouts, resets, answers
    dropped after the server committed, 5xx, 429, 400, 401, a trickling link, or a per-request mix). At a
    random moment every child is killed with SIGKILL, as a power cut would; the outbox is then reopened
    (which recovers rows left in ``sending``) and must pass ``PRAGMA integrity_check``, and every bundle on
    the "USB stick" must be complete and correctly signed (or still be a ``.partial`` file). Some episodes
    carry the newest bundle to the server and apply its acknowledgement, as a technician would. Every record
    the enqueuer was told was saved must still be in the outbox or at the server.
``kiosk_crash``
    The crash test's victim (:mod:`crash_workload`: the kiosk as it runs, enqueue and sync worker in one
    process, started in milliseconds by a fork server) killed again and again at random moments, its sync
    worker going through the fault proxy, whose mode changes between kills.
``migration_cut``
    A child creates fresh outboxes (running the schema migrations) and enqueues into each, and is killed at a
    random moment; every file must then open at the newest schema, pass the integrity check and hold every
    record the child was told was saved.
``quota_cut``
    A child whose file-size limit (``RLIMIT_FSIZE``, a tiny disk quota) is just above its outbox enqueues
    until the storage refuses; the enqueue must fail with :class:`~kiosk.outbox.OutboxError`, and the file
    must stay intact with every saved record (sometimes the child is killed mid-way instead).
``disk_full``
    An outbox with a small size cap (``PRAGMA max_page_count``) is filled until
    :class:`~kiosk.outbox.OutboxFull`; the failed enqueue must leave the queue unchanged and intact, and the
    space freed by purging sent records must take new records again.
``partition_full``
    A small data partition (a tmpfs of a few MiB, mounted for the episode; skipped with a note where mounting
    is not permitted) filled to the last byte by the outbox itself, its limit set above the partition's size:
    the refused enqueue leaves the queue intact, the outbox opens again, says no new session fits
    (:meth:`~kiosk.outbox.Outbox.room`), and still delivers, through sync or a USB export and its
    acknowledgement, after which it takes sessions again.
``oversized_record``
    A record over the server's body limit among normal ones, delivered by the real worker or one
    ``sync_once`` pass to a server with a small limit: the normal records all arrive, the big one is dead as
    too large after exactly one answer (and, untagged, would show as unexpected should it ever arrive).
``clock_jump``
    The sync worker meets a refused connection, then its wall clock jumps a day forwards or backwards (and
    back) while the network returns: every record must still arrive within the backoff, not a day later.
``pad_stream``
    Topaz and ISDV4 byte streams with random corruption (flipped bits, inserted noise, cut and repeated
    spans), fed in random chunks to :class:`~hal.signature_pad.protocols.StreamDecoder`: it never raises,
    decodes a clean stream exactly, a chunked stream as the whole one, and recovers at the next clean packet.
``pad_unplug``
    The real serial driver reading the pty :class:`~hal.signature_pad.emulator.PadEmulator`, which injects
    line noise and is unplugged and plugged back at random: the driver must report the loss, reconnect and
    deliver a pen touch after every replug.
``camera_faults``
    The simulated camera's faults switched at random under a running preview: a hung camera makes a capture
    raise :class:`~hal.errors.DeviceTimeout`, an unplugged one :class:`~hal.errors.DeviceDisconnected`, a
    black one fails its self-test; stopping the preview of a hung camera returns promptly; once the fault
    clears, stills and preview frames come back.

At the end the proxy lets everything through, dead records are retried, the queue is drained, and the history
(every record a child tried to enqueue, and those it was told were saved) is checked against what the server
holds with :mod:`queue_checker`: **lost** (saved, not at the server), **duplicated** (one enqueue delivered as
more than one record) and **unexpected** (at the server, never enqueued) must all be 0, the kiosk's queue must
be empty and both databases must pass the integrity check. One summary line is printed; the exit status is 0
only when nothing was violated.

SIGKILL kills the process at any instruction but leaves the operating system's page cache alone: it proves the
outbox's crash atomicity and recovery, not the disk's flush on a real power loss (that rests on SQLite's WAL
with ``synchronous=FULL``, which the outbox sets on every connection).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import random
import resource
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from crash_workload import OP_FIELD, CrashLoop, KioskSetup  # noqa: E402
from fault_proxy import Fault, FaultProxy  # noqa: E402
from ingest_lab import IngestLab, sample_record  # noqa: E402
from queue_checker import check_total_queue  # noqa: E402

from hal.camera.simulated import FAULTS as CAMERA_FAULTS  # noqa: E402
from hal.camera.simulated import SimulatedCamera  # noqa: E402
from hal.device import HealthStatus  # noqa: E402
from hal.errors import DeviceDisconnected, DeviceTimeout  # noqa: E402
from hal.events import PenSample  # noqa: E402
from hal.settings import CameraSettings, SignaturePadSettings  # noqa: E402
from hal.signature_pad.emulator import PadEmulator  # noqa: E402
from hal.signature_pad.protocols import (  # noqa: E402
    ISDV4,
    ISDV4_QUERY_REPLY_SIZE,
    PROTOCOLS,
    TOPAZ,
    PadProtocol,
    PenReading,
    StreamDecoder,
)
from hal.signature_pad.serial_pad import SerialSignaturePad  # noqa: E402
from kiosk.config import SyncSettings  # noqa: E402
from kiosk.outbox import MIGRATIONS, Outbox, OutboxError, OutboxFull  # noqa: E402
from kiosk.sealing import KioskIdentity  # noqa: E402
from kiosk.sync import SyncWorker, sync_once  # noqa: E402
from kiosk.usb_export import BundleError, apply_ack, export_bundle, read_bundle  # noqa: E402
from office.ingest import import_bundle  # noqa: E402
from office.keys import ServerKeys  # noqa: E402

log = logging.getLogger("torture")

EPISODES = (
    "power_cut",
    "kiosk_crash",
    "migration_cut",
    "quota_cut",
    "disk_full",
    "partition_full",
    "oversized_record",
    "clock_jump",
    "pad_stream",
    "pad_unplug",
    "camera_faults",
)
#: How often each episode is picked after the first round (power cuts are what the long run is for).
WEIGHTS = {
    "power_cut": 4,
    "kiosk_crash": 4,
    "migration_cut": 2,
    "quota_cut": 1,
    "disk_full": 1,
    "partition_full": 1,
    "oversized_record": 1,
    "clock_jump": 1,
    "pad_stream": 2,
    "pad_unplug": 1,
    "camera_faults": 1,
}
#: Bytes of photo in the records the children enqueue: mostly small, sometimes a full 200 KB camera still.
PHOTO_SIZES = (0, 0, 2_000, 20_000, 20_000, 200_000)
#: Ops of one child are numbered from a block of this size, so the children's ops never collide.
OPS_PER_CHILD = 1_000_000
#: Longest a child may take to start (imports) before the episode counts it as failed.
CHILD_START_TIMEOUT_S = 30.0
#: Liveness bounds: generous, so that a loaded CI machine does not fail the run; they catch hangs.
RECOVER_TIMEOUT_S = 10.0
FINAL_DRAIN_TIMEOUT_S = 120.0
#: The client's timeout in the children: short, so that a ``timeout`` fault costs a second, not fifteen.
CHILD_CLIENT_TIMEOUT_S = 1.0

Violations = list[str]


# ---------------------------------------------------------------------------------------------- history


class Journal:
    """An append-only history file a child writes and the parent reads after the child died.

    Each line is ``<event> <op> <record_id> [<path index>]``: ``attempt`` before the enqueue is called,
    ``ok`` once it returned (the record is acknowledged to the enqueuer), ``fail`` when it raised. Lines are
    written with one ``write(2)`` each on an ``O_APPEND`` descriptor, so a kill leaves at most a torn last
    line, which the reader drops.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, event: str, op: int, record_id: str, extra: str = "") -> None:
        line = f"{event} {op} {record_id}{' ' + extra if extra else ''}\n"
        os.write(self._fd, line.encode())

    def close(self) -> None:
        os.close(self._fd)

    @staticmethod
    def read(path: Path) -> list[tuple[str, int, str, str]]:
        """The complete lines of a journal, as (event, op, record_id, extra)."""
        if not path.exists():
            return []
        entries = []
        for line in path.read_bytes().split(b"\n")[:-1]:  # the last piece has no newline: torn or empty
            parts = line.decode().split(" ")
            if len(parts) in (3, 4) and parts[0] in ("attempt", "ok", "fail"):
                entries.append((parts[0], int(parts[1]), parts[2], parts[3] if len(parts) == 4 else ""))
        return entries


def operation_id(op: int) -> str:
    """The operation id a journalled enqueue writes into its record (``fields["tag"]``) for the checker."""
    return f"op-{op}"


@dataclasses.dataclass
class History:
    """Operation ids the enqueuers attempted and were acknowledged (what :mod:`queue_checker` compares)."""

    attempted: set[str] = dataclasses.field(default_factory=set)
    acknowledged: set[str] = dataclasses.field(default_factory=set)

    def add_journal(self, path: Path) -> None:
        for event, op, _record_id, _extra in Journal.read(path):
            if event == "attempt":
                self.attempted.add(operation_id(op))
            elif event == "ok":
                self.acknowledged.add(operation_id(op))

    def add_crash_loop(self, loop: CrashLoop) -> None:
        self.attempted |= loop.attempted
        self.acknowledged |= set(loop.acknowledged)


# ------------------------------------------------------------------------------------------------ children


def _lab_from(directory: Path) -> IngestLab:
    """The lab the parent made, read back from its files (children have only the directory)."""
    facts = json.loads((directory / "lab.json").read_text())
    return IngestLab(
        directory=directory,
        keys=ServerKeys.load(directory / "server.key"),
        identity=KioskIdentity.load(Path(facts["key_dir"])),
        kiosk_id=facts["kiosk_id"],
        token=facts["token"],
    )


class _Orphaned(Exception):
    """The torture parent went away: a child stops instead of running forever."""


def _child_guard(parent: int) -> Callable[[], None]:
    def check() -> None:
        if os.getppid() != parent:
            raise _Orphaned

    return check


def _ready() -> None:
    """Tell the parent the child is past its imports and working: from now on a kill is a power cut."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def _step() -> None:
    """Tell the parent one unit of work is done (it cuts after a number of steps, never after a time)."""
    sys.stdout.write("step\n")
    sys.stdout.flush()


def _child_enqueue(args: argparse.Namespace, lab: IngestLab, alive: Callable[[], None]) -> None:
    rng = random.Random(args.seed)
    journal = Journal(Path(args.journal))
    outbox = lab.outbox()
    _ready()
    for op in range(args.first_op, args.first_op + OPS_PER_CHILD):
        alive()
        record = sample_record(
            lab.kiosk_id, seq=op, photo_size=rng.choice(PHOTO_SIZES), rng=rng, tag=operation_id(op)
        )
        sealed = lab.seal(record)
        journal.write("attempt", op, sealed.record_id)
        try:
            outbox.enqueue(sealed)
        except OutboxError as exc:
            journal.write("fail", op, sealed.record_id)
            print(f"enqueue failed: {exc}", file=sys.stderr)
            time.sleep(0.05)
            _step()
            continue
        journal.write("ok", op, sealed.record_id)
        _step()


def _child_sync(args: argparse.Namespace, lab: IngestLab, alive: Callable[[], None]) -> None:
    rng = random.Random(args.seed)
    outbox = lab.outbox()
    client = lab.client(args.url, timeout=CHILD_CLIENT_TIMEOUT_S)
    if rng.random() < 0.5:
        # The kiosk's own background worker, with a fast backoff so that it keeps trying within the episode.
        settings = SyncSettings(
            backoff_initial_s=0.05, backoff_max_s=0.5, poll_interval_s=0.2, heartbeat_interval_s=1.0
        )
        worker = SyncWorker(outbox, client, settings=settings, rng=rng, heartbeat=lambda: {"torture": True})
        worker.start()
        _ready()
        while True:
            alive()
            time.sleep(0.05)
            worker.wake()
            _step()
    _ready()
    while True:
        alive()
        report = sync_once(outbox, client)
        _step()
        if report.sent == 0 or report.error:
            time.sleep(0.05)


def _child_export(args: argparse.Namespace, lab: IngestLab, alive: Callable[[], None]) -> None:
    outbox = lab.outbox()
    usb = Path(args.usb)
    _ready()
    while True:
        alive()
        with contextlib.suppress(ValueError):  # an empty queue: nothing to carry yet
            export_bundle(outbox, lab.identity, usb, kiosk_id=lab.kiosk_id)
        _step()
        time.sleep(0.01)


def _child_migrate(args: argparse.Namespace, lab: IngestLab, alive: Callable[[], None]) -> None:
    rng = random.Random(args.seed)
    journal = Journal(Path(args.journal))
    directory = Path(args.dir)
    _ready()
    for index, op in enumerate(range(args.first_op, args.first_op + OPS_PER_CHILD)):
        alive()
        path = directory / f"outbox-{index:05d}.sqlite3"
        with Outbox(path) as outbox:
            sealed = lab.seal(sample_record(lab.kiosk_id, seq=op, rng=rng, tag=f"migrate-{op}"))
            journal.write("attempt", op, sealed.record_id, str(index))
            outbox.enqueue(sealed)
            journal.write("ok", op, sealed.record_id, str(index))
        _step()


def _child_quota(args: argparse.Namespace, lab: IngestLab, alive: Callable[[], None]) -> None:
    rng = random.Random(args.seed)
    journal = Journal(Path(args.journal))
    path = Path(args.db)
    outbox = Outbox(path)
    # A write past the limit then fails with EFBIG instead of killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = max(path.stat().st_size, 64 * 1024) + args.quota
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    _ready()
    for op in range(args.first_op, args.first_op + OPS_PER_CHILD):
        alive()
        sealed = lab.seal(sample_record(lab.kiosk_id, seq=op, photo_size=rng.choice(PHOTO_SIZES), rng=rng))
        journal.write("attempt", op, sealed.record_id)
        try:
            outbox.enqueue(sealed)
        except OutboxError as exc:
            journal.write("fail", op, sealed.record_id)
            print(f"storage full: {type(exc).__name__}: {exc}", flush=True)
            break
        except Exception as exc:  # anything else is the violation the parent reports
            print(f"unexpected: {type(exc).__name__}: {exc}", flush=True)
            raise
        journal.write("ok", op, sealed.record_id)
        _step()
    problem = outbox.integrity_check()
    print(f"integrity {problem}", flush=True)


CHILD_ROLES: dict[str, Callable[[argparse.Namespace, IngestLab, Callable[[], None]], None]] = {
    "enqueue": _child_enqueue,
    "sync": _child_sync,
    "export": _child_export,
    "migrate": _child_migrate,
    "quota": _child_quota,
}


def child_main(argv: list[str]) -> int:
    """Entry point of a child process (``torture.py _child ROLE ...``)."""
    parser = argparse.ArgumentParser(prog="torture.py _child")
    parser.add_argument("role", choices=sorted(CHILD_ROLES))
    parser.add_argument("--lab", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-op", type=int, default=0)
    parser.add_argument("--journal")
    parser.add_argument("--url")
    parser.add_argument("--usb")
    parser.add_argument("--dir")
    parser.add_argument("--db")
    parser.add_argument("--quota", type=int, default=256 * 1024)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{args.role}: %(name)s: %(message)s")
    try:
        CHILD_ROLES[args.role](args, _lab_from(Path(args.lab)), _child_guard(args.parent))
    except _Orphaned:
        return 0
    return 0


@dataclasses.dataclass
class Child:
    """A running child process and where its output goes."""

    role: str
    process: subprocess.Popen[str]
    stderr_path: Path
    #: Already reported as a violation (it did not start): not reported again at the cut.
    failed: bool = False

    def stderr_tail(self, lines: int = 6) -> str:
        with contextlib.suppress(OSError):
            text = self.stderr_path.read_text(errors="replace").strip().splitlines()
            return " | ".join(text[-lines:])
        return ""


# ------------------------------------------------------------------------------------------------- torture


@dataclasses.dataclass
class Tally:
    """What the run did, for the summary and the JSON report."""

    episodes: Counter[str] = dataclasses.field(default_factory=Counter)
    kills: int = 0
    network_modes: Counter[str] = dataclasses.field(default_factory=Counter)
    bundles_checked: int = 0
    bundles_imported: int = 0
    partial_bundles: int = 0
    migration_files_checked: int = 0
    storage_full: int = 0
    partitions_filled: int = 0
    partition_skipped: str = ""
    oversized_dead: int = 0
    clock_jumps: int = 0
    pad_bytes_fuzzed: int = 0
    pad_replugs: int = 0
    pad_slowest_reconnect_s: float = 0.0
    camera_faults: Counter[str] = dataclasses.field(default_factory=Counter)


class Torture:
    """One torture run (see the module docstring)."""

    def __init__(self, workdir: Path, seed: int, duration_s: float) -> None:
        self.workdir = workdir
        self.seed = seed
        self.rng = random.Random(seed)
        self.duration_s = duration_s
        self.violations: Violations = []
        self.tally = Tally()
        self.history = History()
        self._next_op = OPS_PER_CHILD
        self._children: list[Child] = []
        self._spawned = 0
        self._episode = 0
        self._crash_loop: CrashLoop | None = None
        self._crash_problems_seen = 0
        self.lab = IngestLab.create(workdir / "lab")
        (self.lab.directory / "lab.json").write_text(
            json.dumps(
                {"kiosk_id": self.lab.kiosk_id, "token": self.lab.token, "key_dir": str(self.lab.key_dir)}
            )
        )
        for name in ("journals", "logs", "usb", "acks", "migrations", "quota", "full", "partition", "side"):
            (workdir / name).mkdir()
        Outbox(self.lab.outbox_path).close()  # created once here, so children never race to create it

    # -- the run --------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run episodes until the time is up, then drain and check; returns the report."""
        started = time.monotonic()
        deadline = started + self.duration_s
        with self.lab.server() as server, FaultProxy(server.url) as proxy:
            self.server, self.proxy = server, proxy
            try:
                order = list(EPISODES)
                self.rng.shuffle(order)
                while True:
                    name = order.pop(0) if order else self._pick()
                    self._run_episode(name)
                    if time.monotonic() >= deadline and not order:
                        break
                result = self._finish()
            finally:
                self._kill_children()
        result["elapsed_s"] = round(time.monotonic() - started, 1)
        return result

    def _pick(self) -> str:
        names = list(WEIGHTS)
        return self.rng.choices(names, weights=[WEIGHTS[n] for n in names])[0]

    def _run_episode(self, name: str) -> None:
        self._episode += 1
        before = len(self.violations)
        began = time.monotonic()
        try:
            getattr(self, f"_episode_{name}")()
        except Exception as exc:  # an episode that blows up is a violation, and the run goes on
            log.exception("episode %d (%s) failed", self._episode, name)
            self._violate(f"{name} raised {type(exc).__name__}: {exc}")
        finally:
            self._kill_children()
        self.tally.episodes[name] += 1
        status = "ok" if len(self.violations) == before else f"{len(self.violations) - before} violation(s)"
        log.info("episode %3d %-14s %5.1f s  %s", self._episode, name, time.monotonic() - began, status)

    def _violate(self, what: str) -> None:
        message = f"episode {self._episode}: {what}"
        log.error("VIOLATION %s", message)
        self.violations.append(message)

    # -- children -------------------------------------------------------------------------------------

    def _spawn(self, role: str, **options: Any) -> Child:
        self._spawned += 1
        stderr_path = self.workdir / "logs" / f"{self._spawned:05d}-{role}.stderr"
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_child",
            role,
            "--lab",
            str(self.lab.directory),
            "--parent",
            str(os.getpid()),
            "--seed",
            str(self.rng.randrange(2**32)),
        ]
        for key, value in options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        with open(stderr_path, "w") as stderr:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
        child = Child(role, process, stderr_path)
        self._children.append(child)
        return child

    def _wait_ready(self, children: list[Child]) -> bool:
        """Wait for every child's ``ready`` line; a child that dies or stays silent is a violation."""
        deadline = time.monotonic() + CHILD_START_TIMEOUT_S
        for child in children:
            stdout = child.process.stdout
            assert stdout is not None
            ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = stdout.readline() if ready else ""
            if line.strip() != "ready":
                self._violate(f"{child.role} child did not start: {child.stderr_tail()}")
                child.failed = True
                return False
        return True

    def _wait_steps(self, children: list[Child], steps: int) -> None:
        """Let the children do ``steps`` units of work between them (their ``step`` lines), then return.

        The cut comes after progress, never after a time, so it lands in the same phases on a machine five
        times slower. A child that ends or stays silent for :data:`CHILD_START_TIMEOUT_S` ends the wait early.
        """
        streams = {child.process.stdout: child for child in children if child.process.stdout is not None}
        seen = 0
        while seen < steps and streams:
            ready, _, _ = select.select(list(streams), [], [], CHILD_START_TIMEOUT_S)
            if not ready:
                self._violate(f"children reported no progress for {CHILD_START_TIMEOUT_S} s")
                return
            for stream in ready:
                line = stream.readline()
                if not line:
                    del streams[stream]
                elif line.strip() == "step":
                    seen += 1

    def _new_ops(self) -> int:
        first, self._next_op = self._next_op, self._next_op + OPS_PER_CHILD
        return first

    def _power_cut(self, children: list[Child]) -> None:
        """SIGKILL every child at once; a child that had already died on its own is a violation."""
        for child in children:
            if child.process.poll() is not None:
                if not child.failed:
                    self._violate(f"{child.role} child died before the power cut: {child.stderr_tail()}")
            else:
                child.process.send_signal(signal.SIGKILL)
                self.tally.kills += 1
        for child in children:
            child.process.wait()

    def _kill_children(self) -> None:
        for child in self._children:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait()
            if child.process.stdout is not None:
                child.process.stdout.close()
        self._children.clear()

    # -- episodes -------------------------------------------------------------------------------------

    def _episode_power_cut(self) -> None:
        roles = self.rng.choice(
            [
                ["enqueue"],
                ["sync"],
                ["enqueue", "sync"],
                ["enqueue", "sync"],
                ["enqueue", "sync", "export"],
                ["export"],
            ]
        )
        self._shake_network()
        children = []
        for role in roles:
            if role == "enqueue":
                journal = self.workdir / "journals" / f"enqueue-{self._episode:05d}.log"
                children.append(self._spawn(role, journal=journal, first_op=self._new_ops()))
            elif role == "sync":
                children.append(self._spawn(role, url=self.proxy.url))
            else:
                children.append(self._spawn(role, usb=self.workdir / "usb"))
        if self._wait_ready(children):
            # The network changes its mind while the children work: one to three modes before the cut.
            for segment in range(self.rng.randint(1, 3)):
                if segment:
                    self._shake_network()
                self._wait_steps(children, self.rng.randint(1, 40))
        self._power_cut(children)
        journal = self.workdir / "journals" / f"enqueue-{self._episode:05d}.log"
        self.history.add_journal(journal)
        self._check_outbox_after_restart()
        self._check_saved_records_kept(journal)
        if "export" in roles:
            self._check_bundles(carry=self.rng.random() < 0.5)

    def _episode_kiosk_crash(self) -> None:
        """The kiosk as it runs (enqueue + sync worker in one process) killed again and again.

        The victim and the kill loop are the crash test's (:class:`crash_workload.CrashLoop`: a fork server
        starts each victim in milliseconds, so a kill can land anywhere); here its sync worker goes through
        the fault proxy, whose mode changes between kills.
        """
        if self._crash_loop is None:
            setup = KioskSetup(
                outbox_path=str(self.lab.outbox_path),
                key_dir=str(self.lab.key_dir),
                server_public_key=self.lab.keys.box_public,
                url=self.proxy.url,
                token=self.lab.token,
                kiosk_id=self.lab.kiosk_id,
                ack_verify_key=self.lab.keys.sign_public,
                client_timeout_s=CHILD_CLIENT_TIMEOUT_S,
            )
            self._crash_loop = CrashLoop(setup, rng=random.Random(self.rng.randrange(2**32)))
        loop = self._crash_loop
        kills = loop.kills
        for _ in range(self.rng.randint(3, 12)):
            self._shake_network()
            loop.max_steps = self.rng.randint(2, 60)
            loop.run_once()
        self.tally.kills += loop.kills - kills
        for problem in loop.problems[self._crash_problems_seen :]:
            self._violate(problem)
        self._crash_problems_seen = len(loop.problems)
        self.history.add_crash_loop(loop)
        self._check_outbox_after_restart()

    def _shake_network(self) -> None:
        """Put the fault proxy in a network mode picked at random for this episode."""
        rng = self.rng
        modes: dict[str, Callable[[], None]] = {
            "pass": lambda: self.proxy.set_fault(Fault()),
            "refuse": lambda: self.proxy.set_fault(Fault.refused()),
            "timeout": lambda: self.proxy.set_fault(Fault.timeout()),
            "reset": lambda: self.proxy.set_fault(Fault.reset()),
            "drop_response": lambda: self.proxy.set_fault(Fault.drop_response()),
            "500": lambda: self.proxy.set_fault(Fault.answer(500)),
            "503+retry-after": lambda: self.proxy.set_fault(Fault.answer(503, retry_after="1")),
            "429": lambda: self.proxy.set_fault(Fault.answer(429, retry_after="0")),
            "400 once": lambda: self.proxy.set_fault(Fault.answer(400), count=1),
            "401": lambda: self.proxy.set_fault(Fault.answer(401)),
            "slow": lambda: self.proxy.set_fault(Fault.slow(delay=0.01, chunk=64)),
            "chaos": lambda: self.proxy.set_chaos(
                [
                    Fault.timeout(),
                    Fault.reset(),
                    Fault.drop_response(),
                    Fault.answer(500),
                    Fault.answer(503, retry_after="0"),
                    Fault.answer(429),
                    Fault.slow(delay=0.005, chunk=128),
                ],
                probability=rng.uniform(0.2, 0.8),
                rng=random.Random(rng.randrange(2**32)),
            ),
        }
        weights = {"pass": 3, "chaos": 6, "drop_response": 2, "timeout": 2, "reset": 2}
        names = list(modes)
        mode = rng.choices(names, weights=[weights.get(name, 1) for name in names])[0]
        modes[mode]()
        self.tally.network_modes[mode] += 1

    def _check_outbox_after_restart(self) -> None:
        """Reopen the outbox as the kiosk does on boot: it must open, recover and pass the integrity check."""
        try:
            with Outbox(self.lab.outbox_path) as outbox:
                problem = outbox.integrity_check()
                counts = outbox.counts()
        except OutboxError as exc:
            self._violate(f"the outbox did not reopen after the power cut: {exc}")
            return
        if problem != "ok":
            self._violate(f"integrity check after the power cut: {problem}")
        if counts["sending"]:
            self._violate(f"{counts['sending']} record(s) still 'sending' after reopening")

    def _check_saved_records_kept(self, journal: Path) -> None:
        """Every record the enqueuer was told was saved is still in the outbox or already at the server."""
        saved = [record_id for event, _op, record_id, _ in Journal.read(journal) if event == "ok"]
        if not saved:
            return
        store = self.lab.store()
        try:
            with Outbox(self.lab.outbox_path) as outbox:
                missing = [rid for rid in saved if outbox.get(rid) is None and store.find(rid) is None]
        finally:
            store.close()
        if missing:
            self._violate(f"{len(missing)} saved record(s) gone after the power cut: {missing[:3]}")

    def _check_bundles(self, *, carry: bool) -> None:
        """Every bundle on the stick is complete and signed; maybe carry the newest one to the server."""
        usb = self.workdir / "usb"
        bundles = sorted(usb.glob("*.bundle.tar"))
        self.tally.partial_bundles += len(list(usb.glob(".*.partial")))
        for path in bundles:
            try:
                read_bundle(path, self.lab.identity.verify_key_b64)
            except (BundleError, OSError) as exc:
                self._violate(f"bundle {path.name} unreadable after the power cut: {exc}")
            self.tally.bundles_checked += 1
        if carry and bundles:
            store = self.lab.store()
            try:
                result = import_bundle(store, bundles[-1], self.workdir / "acks")
            finally:
                store.close()
            with Outbox(self.lab.outbox_path) as outbox:
                apply_ack(outbox, result.ack, self.lab.keys.sign_public, kiosk_id=self.lab.kiosk_id)
            self.tally.bundles_imported += 1
        for path in [*bundles, *usb.glob(".*.partial")]:
            path.unlink()  # the stick is emptied, as a technician's would be

    def _episode_migration_cut(self) -> None:
        directory = self.workdir / "migrations"
        journal = self.workdir / "journals" / f"migrate-{self._episode:05d}.log"
        child = self._spawn("migrate", journal=journal, dir=directory, first_op=self._new_ops())
        if self._wait_ready([child]):
            self._wait_steps([child], self.rng.randint(0, 30))
        self._power_cut([child])
        saved: dict[int, list[str]] = {}
        for event, _op, record_id, index in Journal.read(journal):
            if event == "ok":
                saved.setdefault(int(index), []).append(record_id)
        newest = MIGRATIONS[-1][0]
        for path in sorted(directory.glob("outbox-*.sqlite3")):
            index = int(path.stem.split("-")[1])
            try:
                with Outbox(path) as outbox:
                    version, problem = outbox.schema_version(), outbox.integrity_check()
                    missing = [rid for rid in saved.get(index, []) if outbox.get(rid) is None]
            except OutboxError as exc:
                self._violate(f"{path.name} does not open after a cut during its migration: {exc}")
                continue
            if version != newest:
                self._violate(f"{path.name} is at schema {version}, not {newest}")
            if problem != "ok":
                self._violate(f"{path.name} integrity: {problem}")
            if missing:
                self._violate(f"{path.name} lost {len(missing)} saved record(s)")
            self.tally.migration_files_checked += 1
        shutil.rmtree(directory)
        directory.mkdir()

    def _episode_quota_cut(self) -> None:
        path = self.workdir / "quota" / "outbox.sqlite3"
        shutil.rmtree(path.parent)
        path.parent.mkdir()
        Outbox(path).close()
        journal = self.workdir / "journals" / f"quota-{self._episode:05d}.log"
        quota = self.rng.randint(16, 512) * 1024
        child = self._spawn("quota", journal=journal, db=path, quota=quota, first_op=self._new_ops())
        cut = self.rng.random() < 0.3
        if not self._wait_ready([child]):
            self._power_cut([child])
            return
        stdout = child.process.stdout
        assert stdout is not None
        if cut:
            self._wait_steps([child], self.rng.randint(0, 20))
            if child.process.poll() is None:
                self._power_cut([child])
            output = ""
        else:
            try:
                output, _ = child.process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                self._violate("the enqueuer with a disk quota neither filled it nor stopped within 60 s")
                self._power_cut([child])
                output = ""
            if "storage full:" not in output:
                self._violate(f"enqueue past the disk quota did not fail cleanly: {child.stderr_tail()}")
            elif "integrity ok" not in output:
                self._violate(f"integrity after a full disk, in the same process: {output.strip()}")
            else:
                self.tally.storage_full += 1
        acknowledged = [rid for event, _op, rid, _ in Journal.read(journal) if event == "ok"]
        try:
            with Outbox(path) as outbox:
                problem = outbox.integrity_check()
                missing = [rid for rid in acknowledged if outbox.get(rid) is None]
        except OutboxError as exc:
            self._violate(f"the outbox does not reopen after the disk quota was hit: {exc}")
            return
        if problem != "ok":
            self._violate(f"integrity after the disk quota was hit: {problem}")
        if missing:
            self._violate(f"{len(missing)} saved record(s) lost when the disk quota was hit")

    def _episode_disk_full(self) -> None:
        path = self.workdir / "full" / f"outbox-{self._episode:05d}.sqlite3"
        cap = self.rng.randint(24, 160) * 4096
        size = self.rng.choice([2_000, 20_000])
        saved: list[str] = []
        with Outbox(path, max_size_bytes=cap) as outbox:
            for seq in range(10_000):
                sealed = self.lab.seal(
                    sample_record(self.lab.kiosk_id, seq=seq, photo_size=size, rng=self.rng)
                )
                before = outbox.counts()
                try:
                    outbox.enqueue(sealed)
                except OutboxFull:
                    break
                saved.append(sealed.record_id)
            else:
                self._violate(f"an outbox capped at {cap} bytes took 10,000 records")
                return
            self.tally.storage_full += 1
            if outbox.counts() != before:
                self._violate("a refused enqueue changed the queue")
            if (problem := outbox.integrity_check()) != "ok":
                self._violate(f"integrity after the disk filled: {problem}")
            if missing := [rid for rid in saved if outbox.get(rid) is None]:
                self._violate(f"{len(missing)} saved record(s) lost when the disk filled")
            # Deliver the oldest half, purge them, and the freed space must take new records again.
            for _ in range(max(1, len(saved) // 2)):
                item = outbox.claim_next()
                if item is not None:
                    outbox.mark_sent(item.record_id, "{}")
            outbox.purge_sent(0)
            sealed = self.lab.seal(sample_record(self.lab.kiosk_id, seq=0, photo_size=size, rng=self.rng))
            try:
                outbox.enqueue(sealed)
            except OutboxFull:
                self._violate("space freed by purging sent records cannot be reused")
        shutil.rmtree(path.parent)
        path.parent.mkdir()

    def _tagged(self, count: int, sizes: tuple[int, ...]) -> Iterator[tuple[int, Any]]:
        """Sealed records tagged with fresh operation ids (attempted in the history; callers acknowledge)."""
        first = self._new_ops()
        for op in range(first, first + count):
            self.history.attempted.add(operation_id(op))
            record = sample_record(
                self.lab.kiosk_id,
                seq=op,
                photo_size=self.rng.choice(sizes),
                rng=self.rng,
                tag=operation_id(op),
            )
            yield op, self.lab.seal(record)

    def _episode_partition_full(self) -> None:
        mount = self.workdir / "partition" / f"p{self._episode:05d}"
        mount.mkdir()
        size_mb = self.rng.randint(3, 8)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            self.tally.partition_skipped = f"mounting a tmpfs is not permitted: {done.stderr.strip()}"
            log.info("partition_full skipped: %s", self.tally.partition_skipped)
            return
        try:
            self._fill_and_free(mount / "outbox.sqlite3")
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)

    def _fill_and_free(self, path: Path) -> None:
        """Fill a partition with the outbox itself, then check it opens, refuses sessions and delivers."""
        headroom = 256 * 1024
        saved: list[str] = []
        with Outbox(path, max_size_bytes=1 << 30, session_headroom_bytes=headroom) as outbox:
            for op, sealed in self._tagged(10_000, (0, 2_000, 20_000)):
                before = outbox.counts()
                try:
                    outbox.enqueue(sealed)
                except OutboxFull:
                    if outbox.counts() != before:
                        self._violate("a refused enqueue on a full partition changed the queue")
                    break
                self.history.acknowledged.add(operation_id(op))
                saved.append(sealed.record_id)
        self.tally.partitions_filled += 1
        with Outbox(path, session_headroom_bytes=headroom) as outbox:
            if outbox.room().accepts_new_session:
                self._violate("a 100% full partition still accepts new sessions")
            if (problem := outbox.integrity_check()) != "ok":
                self._violate(f"integrity on a full partition: {problem}")
            if missing := [rid for rid in saved if outbox.get(rid) is None]:
                self._violate(f"{len(missing)} saved record(s) lost when the partition filled")
            if self.rng.random() < 0.5:
                bundle = export_bundle(
                    outbox, self.lab.identity, self.workdir / "usb", kiosk_id=self.lab.kiosk_id
                )
                store = self.lab.store()
                try:
                    result = import_bundle(store, bundle, self.workdir / "acks")
                finally:
                    store.close()
                apply_ack(outbox, result.ack, self.lab.keys.sign_public, kiosk_id=self.lab.kiosk_id)
                bundle.unlink()
            else:
                client = self.lab.client(self.server.url)
                try:
                    sync_once(outbox, client)
                finally:
                    client.close()
            if (counts := outbox.counts())["pending"] or counts["sending"] or counts["dead"]:
                self._violate(f"a full partition's outbox did not deliver everything: {counts}")
            if not outbox.room().accepts_new_session:
                self._violate(f"no room after delivering a full partition: {outbox.room().reason}")

    def _episode_oversized_record(self) -> None:
        path = self.workdir / "side" / f"oversized-{self._episode:05d}.sqlite3"
        normal = self.rng.randint(5, 20)
        limit = 100_000
        with Outbox(path) as outbox, self.lab.server(max_body=limit) as small:
            tagged = list(self._tagged(normal, (0, 2_000, 20_000)))
            position = self.rng.randint(0, normal)
            # Untagged: should it ever reach the server, the checker reports it as unexpected.
            big = self.lab.seal(sample_record(self.lab.kiosk_id, seq=0, photo_size=3 * limit, rng=self.rng))
            for index, (op, sealed) in enumerate(tagged):
                if index == position:
                    outbox.enqueue(big)
                outbox.enqueue(sealed)
                self.history.acknowledged.add(operation_id(op))
            if position == normal:
                outbox.enqueue(big)
            client = self.lab.client(small.url, timeout=CHILD_CLIENT_TIMEOUT_S)
            try:
                if self.rng.random() < 0.5:
                    sync_once(outbox, client)
                else:
                    self._drain_with_worker(outbox, client, normal, dead=1)
            finally:
                client.close()
            counts = outbox.counts()
            dead = outbox.get(big.record_id)
            if counts != {"pending": 0, "sending": 0, "sent": normal, "dead": 1}:
                self._violate(f"an oversized record held the queue: {counts}")
            elif dead is None or dead.attempts != 1 or "too large" not in (dead.last_error or ""):
                self._violate(f"the oversized record is not dead as too large after one answer: {dead!r}")
            else:
                self.tally.oversized_dead += 1
        for suffix in ("", "-wal", "-shm", ".reserve"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(path.with_name(path.name + ".owners"), ignore_errors=True)

    def _episode_clock_jump(self) -> None:
        path = self.workdir / "side" / f"jump-{self._episode:05d}.sqlite3"
        wall = _JumpingClock()
        count = self.rng.randint(5, 30)
        with Outbox(path, clock=wall) as outbox:
            for op, sealed in self._tagged(count, (0, 2_000)):
                outbox.enqueue(sealed)
                self.history.acknowledged.add(operation_id(op))
            self.proxy.set_fault(Fault.refused())
            client = self.lab.client(self.proxy.url, timeout=CHILD_CLIENT_TIMEOUT_S, clock=wall)
            settings = SyncSettings(backoff_initial_s=0.2, backoff_max_s=1.0, poll_interval_s=1.0)
            worker = SyncWorker(
                outbox, client, settings=settings, clock=wall, rng=random.Random(self.rng.random())
            )
            worker.start()
            try:
                if not _wait_until(lambda: worker.status().last_error is not None, RECOVER_TIMEOUT_S):
                    self._violate("the sync worker never met the refused connection")
                for _jump in range(self.rng.randint(1, 3)):
                    wall.offset += self.rng.choice([86400.0, -86400.0])
                    self.tally.clock_jumps += 1
                self.proxy.set_fault(Fault())
                # The backoff is at most a second: a day's jump must not add a day (nor even a poll interval).
                if not _wait_until(lambda: outbox.counts()["sent"] == count, RECOVER_TIMEOUT_S):
                    self._violate(
                        f"a wall-clock jump delayed delivery: {outbox.counts()} ({worker.status()})"
                    )
            finally:
                worker.stop()
                client.close()
        for suffix in ("", "-wal", "-shm", ".reserve"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(path.with_name(path.name + ".owners"), ignore_errors=True)

    def _drain_with_worker(self, outbox: Outbox, client: Any, sent: int, dead: int) -> None:
        """Run the real sync worker until ``sent`` and ``dead`` records settled (liveness bound)."""
        settings = SyncSettings(backoff_initial_s=0.2, backoff_max_s=1.0, poll_interval_s=1.0)
        worker = SyncWorker(outbox, client, settings=settings, rng=random.Random(self.rng.random()))
        worker.start()
        try:
            settled = _wait_until(
                lambda: (c := outbox.counts())["sent"] == sent and c["dead"] == dead, RECOVER_TIMEOUT_S
            )
            if not settled:
                self._violate(f"the worker did not settle the queue: {outbox.counts()}")
        finally:
            worker.stop()

    def _episode_pad_stream(self) -> None:
        for _ in range(self.rng.randint(20, 60)):
            self._fuzz_decoder(self.rng.choice([TOPAZ, ISDV4]))

    def _fuzz_decoder(self, protocol: PadProtocol) -> None:
        rng = self.rng
        readings = [_random_reading(protocol, rng) for _ in range(rng.randint(1, 120))]
        clean = b"".join(protocol.encode(reading) for reading in readings)
        decoded = _feed_in_chunks(protocol, clean, rng)
        if decoded != readings:
            self._violate(f"{protocol.name}: a clean stream did not decode exactly")
        noisy = _corrupt(clean, rng)
        tail_readings = [_random_reading(protocol, rng) for _ in range(rng.randint(1, 10))]
        tail = b"".join(protocol.encode(reading) for reading in tail_readings)
        stream = noisy + tail
        self.tally.pad_bytes_fuzzed += len(stream)
        try:
            chunked = _feed_in_chunks(protocol, stream, rng)
            # The same stream decoder fed the whole stream at once: size replies outside the greeting window
            # are dropped as noise by both (the bare protocol.decode would still report them).
            whole_decoder = StreamDecoder(protocol)
            whole = whole_decoder.feed(stream)
        except Exception as exc:
            self._violate(f"{protocol.name} decoder raised {type(exc).__name__} on a corrupted stream: {exc}")
            return
        if whole_decoder.pending:
            self._violate(f"{protocol.name}: bytes left over after a complete final packet")
        if chunked != whole:
            self._violate(f"{protocol.name}: chunked decoding differs from decoding the whole stream")
        if any(not isinstance(report, PenReading) for report in chunked):
            self._violate(f"{protocol.name}: line noise was taken for a size reply mid-stream")
        pens = [report for report in chunked if isinstance(report, PenReading)]
        if pens[-len(tail_readings) :] != tail_readings:
            self._violate(
                f"{protocol.name}: the decoder did not recover at the first clean packet after noise"
            )
        for report in pens:
            if not (0 <= report.x <= protocol.max_x and 0 <= report.y <= protocol.max_y):
                self._violate(f"{protocol.name}: decoded a reading outside the pad ({report.x}, {report.y})")
                break

    def _episode_pad_unplug(self) -> None:
        rng = self.rng
        protocol = rng.choice(sorted(PROTOCOLS))
        samples = threading.Event()

        def on_sample(_sample: PenSample) -> None:
            samples.set()

        with PadEmulator(protocol=protocol, rate_hz=200, seed=rng.randrange(2**32)) as emulator:
            settings = SignaturePadSettings(
                backend="serial",
                port=emulator.path,
                protocol=protocol,  # type: ignore[arg-type]
                reconnect_initial_s=0.05,
                reconnect_max_s=0.4,
            )
            with SerialSignaturePad(settings) as pad:
                pad.add_listener(on_sample)
                if not _wait_until(lambda: pad.connected and pad.health().ok, RECOVER_TIMEOUT_S):
                    self._violate(f"{protocol} pad did not connect: {pad.health().detail}")
                    return
                for _ in range(rng.randint(3, 8)):
                    action = rng.choice(["garbage", "garbage", "unplug", "unplug", "sign"])
                    if action == "garbage":
                        emulator.inject_garbage(rng.randint(1, 400))
                    elif action == "sign":
                        emulator.write_now(emulator.signature(rng.randrange(1000))[: rng.randint(1, 60)])
                    else:
                        emulator.unplug()
                        if not _wait_until(
                            lambda: pad.health().status is HealthStatus.FAILED, RECOVER_TIMEOUT_S
                        ):
                            self._violate(f"{protocol} pad did not notice it was unplugged")
                            return
                        time.sleep(rng.uniform(0.0, 0.3))
                        emulator.replug()
                        replugged = time.monotonic()
                        if not _wait_until(lambda: pad.connected and pad.health().ok, RECOVER_TIMEOUT_S):
                            self._violate(f"{protocol} pad did not reconnect: {pad.health().detail}")
                            return
                        took = time.monotonic() - replugged
                        self.tally.pad_replugs += 1
                        self.tally.pad_slowest_reconnect_s = max(self.tally.pad_slowest_reconnect_s, took)
                    samples.clear()
                    emulator.tap()
                    if not samples.wait(RECOVER_TIMEOUT_S):
                        self._violate(f"{protocol} pad delivered no pen touch after {action}")
                        return

    def _episode_camera_faults(self) -> None:
        rng = self.rng
        settings = CameraSettings(
            backend="simulated",
            preview_size=(320, 240),
            still_size=(640, 480),
            # Only pictures that should come wait this long (a hang is probed with its own 0.2 s): at Pi 4
            # speed the first picture of a fresh simulated scene can take over 0.3 s.
            capture_timeout_s=2.0,
            reconnect_initial_s=0.05,
            reconnect_max_s=0.3,
        )
        with SimulatedCamera(settings, frame_interval=0.02) as camera:
            camera.prepare()  # as the kiosk's warm-up does after its first frame
            camera.start_preview()
            for _ in range(rng.randint(3, 8)):
                fault = rng.choice(CAMERA_FAULTS)
                camera.set_fault(fault)  # type: ignore[arg-type]
                self.tally.camera_faults[fault] += 1
                self._check_camera(camera, fault)
            camera.set_fault("none")
            self._check_camera(camera, "none")

    def _check_camera(self, camera: SimulatedCamera, fault: str) -> None:
        expected: dict[str, type[Exception]] = {"hang": DeviceTimeout, "disconnect": DeviceDisconnected}
        if fault in expected:
            try:
                camera.capture_jpeg(timeout=0.2)
            except expected[fault]:
                pass
            except Exception as exc:
                self._violate(
                    f"camera {fault}: capture raised {type(exc).__name__}, not {expected[fault].__name__}"
                )
            else:
                self._violate(f"camera {fault}: capture returned a picture")
            if camera.health().status is not HealthStatus.FAILED:
                self._violate(f"camera {fault}: health is {camera.health().status}, not failed")
            if fault == "hang":
                began = time.monotonic()
                camera.stop_preview()
                if (took := time.monotonic() - began) > 2.0:
                    self._violate(f"stopping the preview of a hung camera took {took:.1f} s")
                camera.start_preview()
        elif fault == "black":
            health = camera.self_test()
            if health.status is not HealthStatus.FAILED or "black" not in health.detail:
                self._violate(f"camera black: self-test says {health.status} {health.detail!r}")
        else:
            health = camera.self_test()
            if not health.ok:
                self._violate(f"camera did not recover from its fault: {health.detail}")
                return
            jpeg = camera.capture_jpeg()
            if not jpeg.startswith(b"\xff\xd8"):
                self._violate("camera recovered but its still is not a JPEG")
            latest = camera.latest_frame()
            if camera.wait_for_frame(latest.seq if latest else 0, timeout=RECOVER_TIMEOUT_S) is None:
                self._violate("camera recovered but the preview shows no new frame")

    # -- the end --------------------------------------------------------------------------------------

    def _finish(self) -> dict[str, Any]:
        """Let the network through, drain the queue, and check the history against the server."""
        self.proxy.set_fault(Fault())
        drained = self._drain()
        with Outbox(self.lab.outbox_path) as outbox:
            counts = outbox.counts()
            outbox_integrity = outbox.integrity_check()
        server_integrity = _integrity(self.lab.server_db)
        store = self.lab.store()
        try:
            received = store.records()
        finally:
            store.close()
        verdict = check_total_queue(
            self.history.attempted, self.history.acknowledged, delivered_operations(received)
        )
        if not drained:
            self._violate(f"the queue did not drain within {FINAL_DRAIN_TIMEOUT_S:.0f} s: {counts}")
        undelivered = counts["pending"] + counts["sending"] + counts["dead"]
        if undelivered:
            self._violate(f"{undelivered} record(s) still on the kiosk after the final drain: {counts}")
        for name, problem in (("outbox", outbox_integrity), ("server database", server_integrity)):
            if problem != "ok":
                self._violate(f"{name} integrity check: {problem}")
        if not verdict.valid:
            self._violate(verdict.summary())
        return {
            "seed": self.seed,
            "minutes": round(self.duration_s / 60, 2),
            "episodes": dict(self.tally.episodes),
            "kills": self.tally.kills,
            "network_modes": dict(self.tally.network_modes),
            "attempted": verdict.attempted,
            "acknowledged": verdict.acknowledged,
            "at_server": len(received),
            "lost": len(verdict.lost),
            "duplicated": len(verdict.duplicated),
            "unexpected": len(verdict.unexpected),
            "recovered": len(verdict.recovered),
            "outbox_integrity": outbox_integrity,
            "server_integrity": server_integrity,
            "tally": {
                key: (dict(value) if isinstance(value, Counter) else value)
                # Not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, counting the pairs.
                for key, value in vars(self.tally).items()
                if key not in ("episodes", "kills", "network_modes")
            },
            "violations": list(self.violations),
        }

    def _drain(self) -> bool:
        deadline = time.monotonic() + FINAL_DRAIN_TIMEOUT_S
        with Outbox(self.lab.outbox_path) as outbox:
            outbox.retry_dead()
            client = self.lab.client(self.server.url)
            try:
                while time.monotonic() < deadline:
                    report = sync_once(outbox, client)
                    counts = outbox.counts()
                    if counts["pending"] + counts["sending"] == 0 and not report.error:
                        return True
                    if report.dead:
                        outbox.retry_dead()
                    time.sleep(0.1)
            finally:
                client.close()
        return False


def delivered_operations(received: list[Any]) -> list[str]:
    """The operation id of every record at the server, one entry per stored record.

    Journalled enqueues carry theirs in ``fields["tag"]``, the crash-loop victims (:mod:`crash_workload`) in
    ``fields[OP_FIELD]``; a record with neither cannot have come from this run and shows as unexpected.
    """
    return [
        item.record.fields.get("tag") or item.record.fields.get(OP_FIELD) or f"untagged {item.record_id}"
        for item in received
    ]


# ----------------------------------------------------------------------------------------------- helpers


class _JumpingClock:
    """The wall clock of a Pi without a real-time clock: the true time plus whatever NTP has not fixed yet."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _random_reading(protocol: PadProtocol, rng: random.Random) -> PenReading:
    pressure = rng.randint(0, protocol.max_pressure) if protocol.max_pressure is not None else None
    return PenReading(
        x=rng.randint(0, protocol.max_x),
        y=rng.randint(0, protocol.max_y),
        pen_down=rng.random() < 0.7,
        in_range=rng.random() < 0.9,
        pressure=pressure,
    )


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few random injuries: flipped bits, inserted noise, cut and repeated spans."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        injury = rng.choice(["flip", "insert", "cut", "repeat", "sync"])
        at = rng.randrange(len(buffer) + 1)
        if injury == "flip" and buffer:
            at = min(at, len(buffer) - 1)
            buffer[at] ^= 1 << rng.randrange(8)
        elif injury == "insert":
            buffer[at:at] = rng.randbytes(rng.randint(1, 32))
        elif injury == "cut":
            del buffer[at : at + rng.randint(1, 16)]
        elif injury == "repeat":
            buffer[at:at] = buffer[max(0, at - 12) : at]
        else:
            buffer[at:at] = bytes([0x80 | rng.randrange(0x80)])
    return bytes(buffer)


def _feed_in_chunks(protocol: PadProtocol, data: bytes, rng: random.Random) -> list[Any]:
    decoder = StreamDecoder(protocol)
    reports: list[Any] = []
    position = 0
    while position < len(data):
        size = rng.choice([1, 1, 2, 3, 5, 7, 16, 64, 512])
        reports += decoder.feed(data[position : position + size])
        position += size
        if decoder.pending >= ISDV4_QUERY_REPLY_SIZE:
            raise AssertionError(f"decoder holds {decoder.pending} bytes, more than any packet")
    return reports


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll a device's state (devices report health by state, not by an event this script can wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _integrity(path: Path) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    finally:
        connection.close()
    return "ok" if rows == ["ok"] else "; ".join(rows)


@contextlib.contextmanager
def _workdir(path: str | None, keep: bool) -> Iterator[tuple[Path, Callable[[bool], None]]]:
    """The run's directory; a temporary one is removed at the end unless --keep or the run failed."""
    if path is not None:
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=False)
    else:
        directory = Path(tempfile.mkdtemp(prefix="kiosk-torture-"))
    outcome = {"passed": False}

    def passed(value: bool) -> None:
        outcome["passed"] = value

    try:
        yield directory, passed
    finally:
        if path is None and outcome["passed"] and not keep:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"torture: files kept in {directory}", file=sys.stderr)


def summary_line(result: dict[str, Any]) -> str:
    """The one line a run ends with."""
    verdict = "PASS" if not result["violations"] else f"FAIL ({len(result['violations'])} violation(s))"
    episodes = sum(result["episodes"].values())
    return (
        f"torture seed={result['seed']} {result['elapsed_s']:.0f}s: {episodes} episodes, "
        f"{result['kills']} SIGKILLs, {result['acknowledged']} records saved, {result['at_server']} at the "
        f"server; lost={result['lost']} duplicated={result['duplicated']} unexpected={result['unexpected']}; "
        f"integrity outbox={result['outbox_integrity']} server={result['server_integrity']}: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        return child_main(argv[1:])
    parser = argparse.ArgumentParser(
        description="Torture the kiosk with power cuts, network chaos, pad and camera faults and full disks.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    parser.add_argument("--workdir", help="directory to work in (must not exist; default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working files even when the run passes")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per episode")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # The devices, the sync worker and the server log every fault the torture causes on purpose; what matters
    # here are the violations. Verbose shows their warnings too.
    for name in ("hal", "kiosk", "office", "fault_proxy"):
        logging.getLogger(name).setLevel(logging.WARNING if args.verbose else logging.CRITICAL)
    print(f"torture: seed {seed}, {args.minutes:g} minute(s)", file=sys.stderr)
    with _workdir(args.workdir, args.keep) as (directory, passed):
        result = Torture(directory, seed, args.minutes * 60).run()
        passed(not result["violations"])
    for violation in result["violations"]:
        print(f"VIOLATION {violation}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(summary_line(result))
    return 0 if not result["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
