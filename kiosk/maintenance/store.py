"""The maintenance database: one SQLite file for the audit log, the metrics and the PIN lockout.

It lives in the data directory (``<data_dir>/maintenance.sqlite3``), apart from the outbox so that a busy
audit log or chart never competes with a citizen's commit, and so that it can be moved aside when damaged
without touching a single record. Like the outbox, every connection uses WAL with ``synchronous=FULL``: an
audit line or a lockout that was written survives a power cut.

Nothing personal is ever stored here: the audit log names actions and outcomes, the metrics are numbers.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from kiosk import storage

log = logging.getLogger(__name__)

#: The file name in the data directory.
FILE_NAME = "maintenance.sqlite3"
#: How long a statement waits for another process (``kiosk set-pin`` while the kiosk runs) to finish.
BUSY_TIMEOUT_S = 5.0


class MaintenanceStoreError(Exception):
    """The maintenance database cannot be used; the message says why in plain words."""


def _migration_1(db: sqlite_utils.Database) -> None:
    """Audit, metric samples and the PIN lockout tables."""
    db["audit"].create(
        {"id": int, "at": float, "session": str, "action": str, "outcome": str, "detail": str},
        pk="id",
        not_null={"at", "action", "outcome", "detail"},
        defaults={"detail": ""},
    )
    db["audit"].create_index(["at"])
    db["metric_samples"].create({"at": float, "name": str, "value": float}, not_null={"at", "name", "value"})
    db["metric_samples"].create_index(["name", "at"])
    # One row (id = 1): the technician PIN's lockout, persisted so that a restart does not reset it.
    db["pin_lockout"].create(
        {"id": int, "failures": int, "lockouts": int, "locked_until": float, "locked_for": float},
        pk="id",
        not_null={"failures", "lockouts", "locked_until", "locked_for"},
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    """The PIN lockout counts wrong PINs in a row across lockouts (the hard block after too many)."""
    db["pin_lockout"].add_column("consecutive", int, not_null_default=0)


#: Numbered schema migrations, applied in order, each in its own transaction.
MIGRATIONS: tuple[storage.Migration, ...] = (
    (1, "audit, metric samples, PIN lockout", _migration_1),
    (2, "PIN failures in a row", _migration_2),
)


class MaintenanceStore:
    """The open maintenance database, shared by :class:`~kiosk.maintenance.audit.AuditLog`,
    :class:`~kiosk.maintenance.metrics.Metrics` and :class:`~kiosk.maintenance.lockout.PinLockout`.

    Thread-safe: one connection behind a lock (the UI thread audits, a worker thread may run an export).

    Args:
        path: The SQLite file; its directory is created (mode 0700) when missing.
        clock: Seconds since the epoch, used to name a damaged file moved aside.

    Raises:
        MaintenanceStoreError: The storage cannot be read or written, or the file was written by newer
            software. A damaged file is moved aside (kept, never deleted) and a fresh one is created.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._db: sqlite_utils.Database | None = None
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise MaintenanceStoreError(f"cannot create {self.path.parent} ({exc.strerror})") from None
        try:
            self._open()
        except storage.NewerSchemaError as exc:
            self._close_quietly()
            raise MaintenanceStoreError(
                f"{self.path} was written by newer software ({exc}): update the firmware"
            ) from None
        except (sqlite3.DatabaseError, OSError) as exc:
            self._close_quietly()
            if not _is_corruption(exc):
                raise MaintenanceStoreError(f"cannot open {self.path}: {exc}") from None
            self._move_aside(str(exc))
            try:
                self._open()
            except (sqlite3.Error, OSError) as again:
                self._close_quietly()
                raise MaintenanceStoreError(f"cannot open {self.path}: {again}") from None

    @classmethod
    def in_data_dir(cls, data_dir: Path, *, clock: Callable[[], float] = time.time) -> MaintenanceStore:
        """The store at its usual place in the kiosk's data directory."""
        return cls(Path(data_dir) / FILE_NAME, clock=clock)

    def _open(self) -> None:
        existed = self.path.exists() and self.path.stat().st_size > 0
        self._db = storage.connect_durable(self.path, timeout=BUSY_TIMEOUT_S)
        if existed:
            problem = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {problem}")
        storage.migrate(self._db, MIGRATIONS, what="maintenance database")

    @property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils database (use :meth:`use` to hold the lock while using it)."""
        return storage.require_open(self._db, "the maintenance database is closed", MaintenanceStoreError)

    def use(self, action: str) -> contextlib.AbstractContextManager[sqlite_utils.Database]:
        """Hold the lock around a use of the database; SQLite errors become :class:`MaintenanceStoreError`."""
        name = self.path.name
        return storage.locked(
            self._lock,
            lambda: self.db,
            lambda exc: MaintenanceStoreError(f"{action} failed in {name}: {exc}"),
        )

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (before a clean shutdown)."""
        with self.use("checkpointing") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close the database. Calling it again does nothing."""
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        storage.close_quietly(self._db)
        self._db = None

    def _move_aside(self, problem: str) -> None:
        try:
            aside = storage.move_aside(self.path, self._clock())
        except OSError as exc:
            raise MaintenanceStoreError(
                f"{self.path} is damaged ({problem}) and cannot be moved aside ({exc.strerror})"
            ) from None
        log.error("damaged maintenance database moved aside to %s (%s); starting a new one", aside, problem)

    def __enter__(self) -> MaintenanceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_corruption(exc: BaseException) -> bool:
    message = str(exc).lower()
    return "malformed" in message or "not a database" in message or "file is encrypted" in message
