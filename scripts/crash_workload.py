"""Kill a kiosk again and again while it enqueues and delivers, and keep score.

:func:`run_kiosk` is the victim, run in a child process: it opens the outbox (crash recovery and integrity
check), starts the real :class:`~kiosk.sync.SyncWorker`, then enqueues records in a loop until it is killed.
It reports each operation to the parent over a pipe: ``A <op>`` just before ``enqueue``, ``E <op> <record
id>`` once ``enqueue`` returned (each report is one write under ``PIPE_BUF`` bytes: it arrives whole or not
at all, even under SIGKILL).

:class:`CrashLoop` is the killer, in the parent: it starts a child (through a fork server that has already
imported the kiosk, so a child is up in milliseconds), kills it with SIGKILL the moment it has reported a
random number of steps (never after a time: on a machine five times slower the kills land in the same phases
of the workload, just later), collects
its reports, and checks the outbox file with ``PRAGMA integrity_check`` and that every acknowledged record
is in it. The crash test and the torture script both drive it; at the end the caller drains the outbox
cleanly and hands ``attempted`` / ``acknowledged`` and the server's records to :mod:`queue_checker`.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kiosk import __version__
from kiosk.config import SyncSettings
from kiosk.outbox import Outbox
from kiosk.records import Consent, PenPoint, Record, SignatureCapture, utc_timestamp
from kiosk.sealing import KioskIdentity, seal_record
from kiosk.sync import IngestClient, SyncWorker

#: Modules the fork server imports once, so that each child starts without importing anything heavy.
PRELOAD = ["kiosk.outbox", "kiosk.sync", "kiosk.sealing", "kiosk.records", "kiosk.config", "sqlite3"]
#: Field of each record holding the operation id (what the checker compares).
OP_FIELD = "op"

#: The victim retries quickly, so that kills land in every phase of a delivery.
VICTIM_SYNC = SyncSettings(
    backoff_initial_s=0.05,
    backoff_max_s=0.5,
    poll_interval_s=1.0,
    heartbeat_interval_s=3600.0,
    retention_days=30,
)


@dataclass(frozen=True)
class KioskSetup:
    """What the victim needs (plain values: it is pickled to the child)."""

    outbox_path: str
    key_dir: str
    server_public_key: str
    url: str
    token: str
    kiosk_id: str
    #: The office service's acknowledgement key: receipts are checked against it, as on a real kiosk.
    ack_verify_key: str
    #: Pause between two enqueues (the sync worker drains meanwhile).
    enqueue_interval_s: float = 0.005
    client_timeout_s: float = 5.0


def workload_record(kiosk_id: str, op: str) -> Record:
    """A small synthetic record carrying the operation id."""
    points = tuple(PenPoint(t=i * 0.02, x=10 * i, y=5 * i, pen_down=True) for i in range(8))
    return Record.new(
        kiosk_id=kiosk_id,
        service="ektp",
        language="id",
        fields={OP_FIELD: op, "nik": "7110010101900001", "full_name": "WARGA PERCOBAAN"},
        photo_jpeg=None,
        photo_note="taken_at_counter",
        signature=SignatureCapture(
            samples=points, width=320, height=120, png=b"\x89PNG-test", source="touch"
        ),
        consent=Consent(given=True, text_version="2024-1", at=utc_timestamp(time.time())),
        software_version=__version__,
    )


def run_kiosk(setup: KioskSetup, report: multiprocessing.connection.Connection, run_id: str) -> None:
    """The victim: enqueue and deliver until killed (never returns on its own)."""
    # Recovery warnings after each kill are expected here; the parent checks the outcome instead.
    logging.getLogger().addHandler(logging.NullHandler())
    outbox = Outbox(Path(setup.outbox_path))
    report.send_bytes(b"O")
    identity = KioskIdentity.load(Path(setup.key_dir))
    client = IngestClient(
        setup.url,
        setup.token,
        setup.kiosk_id,
        timeout=setup.client_timeout_s,
        ack_verify_key=setup.ack_verify_key,
    )
    worker = SyncWorker(outbox, client, settings=VICTIM_SYNC)
    worker.start()
    pause = threading.Event()
    for n in range(10**9):
        op = f"{run_id}-{n}"
        sealed = seal_record(workload_record(setup.kiosk_id, op), identity, setup.server_public_key)
        report.send_bytes(f"A {op}".encode())
        outbox.enqueue(sealed)
        report.send_bytes(f"E {op} {sealed.record_id}".encode())
        worker.wake()
        pause.wait(setup.enqueue_interval_s)


@dataclass
class CrashLoop:
    """Start, kill and check victims one after the other (see the module docstring).

    Args:
        setup: the victim's setup.
        rng: picks the kill moments.
        max_steps: a child is killed right after its n-th report, n uniform in [0, max_steps]; the reports
            alternate ``A`` (an enqueue is about to commit) and ``E`` (it committed), so a kill lands inside
            a commit, between two, or before the outbox opened (n = 0), whatever the machine's speed.
        stall_timeout_s: a child that reports nothing for this long is a problem (a hang, not a kill moment).
    """

    setup: KioskSetup
    rng: random.Random = field(default_factory=random.Random)
    max_steps: int = 16
    stall_timeout_s: float = 120.0
    #: Operation ids reported as attempted / acknowledged, over all children.
    attempted: set[str] = field(default_factory=set)
    acknowledged: dict[str, str] = field(default_factory=dict)
    kills: int = 0
    #: Children that got as far as opening the outbox.
    opened: int = 0
    #: Problems seen after a kill (integrity, acknowledged records missing); empty when all is well.
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    def run_once(self) -> None:
        """One child: start it, kill it after a random number of reports, collect them, check the outbox."""
        reader, writer = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=run_kiosk, args=(self.setup, writer, f"k{self.kills}"), name="crash-victim", daemon=True
        )
        child.start()
        writer.close()
        steps = self.rng.randint(0, self.max_steps)
        seen = 0
        while seen < steps:
            if not reader.poll(self.stall_timeout_s):
                silent = f"the victim reported nothing for {self.stall_timeout_s} s"
                self.problems.append(f"kill {self.kills}: {silent}")
                break
            if not self._receive(reader):
                break
            seen += 1
        child.kill()
        child.join()
        while reader.poll(0) and self._receive(reader):
            pass
        reader.close()
        self.kills += 1
        self._check_outbox()

    def _receive(self, reader: multiprocessing.connection.Connection) -> bool:
        try:
            message = reader.recv_bytes().decode()
        except (EOFError, OSError):
            return False
        kind, _, rest = message.partition(" ")
        if kind == "O":
            self.opened += 1
        elif kind == "A":
            self.attempted.add(rest)
        elif kind == "E":
            op, _, record_id = rest.partition(" ")
            self.acknowledged[op] = record_id
        return True

    def _check_outbox(self) -> None:
        path = Path(self.setup.outbox_path)
        if not path.exists():
            if self.acknowledged:
                self.problems.append(f"kill {self.kills}: the outbox file is gone")
            return
        db = sqlite3.connect(path, timeout=10)
        try:
            result = [row[0] for row in db.execute("PRAGMA integrity_check")]
            # A child killed while creating the file may leave it without the table yet.
            created = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
            ).fetchone()
            stored = {row[0] for row in db.execute("SELECT record_id FROM outbox")} if created else set()
        except sqlite3.Error as exc:
            self.problems.append(f"kill {self.kills}: the outbox cannot be read ({exc})")
            return
        finally:
            db.close()
        if result != ["ok"]:
            self.problems.append(f"kill {self.kills}: integrity_check says {'; '.join(result)}")
        missing = [op for op, record_id in self.acknowledged.items() if record_id not in stored]
        if missing:
            self.problems.append(f"kill {self.kills}: acknowledged but not in the outbox: {missing[:5]}")
