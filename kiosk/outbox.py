"""The outbox: sealed records waiting on this kiosk until the registry server acknowledged them.

One SQLite file (``<data_dir>/outbox.sqlite3``) through sqlite-utils. Every connection is set to WAL with
``synchronous=FULL`` (a commit is on disk when it returns, a power cut loses nothing committed) and
``secure_delete`` (freed pages are zeroed, so a purged blob leaves no bytes behind). Only sealed blobs
(:mod:`kiosk.sealing`) and non-personal metadata are stored: record id, kiosk id, times, state, attempts,
last error, size, SHA-256 and, once sent, the server's receipt. Blobs live in their own table
(``outbox_blobs``), so a state change rewrites a small row, never the 270 KB of a record with a photo, and
keeps working on a database at its size limit. A sent record's blob is dropped the moment the server
acknowledged it; the row (receipt and metadata) stays until the retention period ends.

States::

    pending --claim_next--> sending --mark_sent--> sent --purge_sent (after the retention)--> row deleted
       ^                       |  \\--mark_retry / release--> pending
       |                       \\--mark_dead--> dead (kept, visible, never deleted automatically)
       \\------retry_dead------------------------/

Every state change is one UPDATE whose WHERE names the old state, so two threads or processes can never both
move the same row. ``sent`` is final: a record acknowledged through a USB acknowledgement file while the sync
worker was posting it stays sent, and the worker's later ``mark_sent`` / ``mark_retry`` / ``mark_dead`` /
``release`` on it do nothing. Any other transition from the wrong state raises :class:`OutboxStateError`.

On open: the file is checked (``PRAGMA integrity_check``; a damaged file is moved aside, never deleted, and
:class:`OutboxError` says where it went), numbered migrations bring the schema up to date (each in its own
transaction, recorded in ``schema_migrations``), and rows left in ``sending`` by a crash go back to
``pending``. "Left by a crash" is decided exactly, not guessed: each open :class:`Outbox` holds an exclusive
``flock`` on its own file in ``<outbox>.owners/`` for as long as it lives and stamps the rows it claims with
that file's token; the kernel drops the lock when the process dies (SIGKILL and power cuts included). So a
``kiosk outbox status`` run while the kiosk is sending never takes a record away from the live sender, and
:meth:`Outbox.recover_interrupted` is safe to call at any time.

Storage problems (disk full, read-only, I/O error) come out as :class:`OutboxFull` / :class:`OutboxError` with
a message a technician understands, and the database stays as it was.

Room (issue 10): :meth:`Outbox.from_config` caps the database at ``[outbox] max_size_mb`` (by default derived
from the data partition, see :func:`size_limit`), and :meth:`Outbox.room` tells the kiosk before a session
starts whether one more record fits with ``[outbox] session_headroom_mb`` to spare, so nobody is turned away
after typing everything. Should the partition still fill up to the last byte (other files, a limit set too
high), a reserve file beside the outbox (``outbox.sqlite3.reserve``) is given back so that opening,
delivering, exporting, acknowledging and checkpointing keep working: they are what frees the partition.
The file is created with ``auto_vacuum = INCREMENTAL`` and the WAL is kept small, so the pages of delivered
records go back to the partition when it is full (:meth:`Outbox.give_back_space`).

An :class:`Outbox` is safe to share between threads (one connection behind a lock); other processes (the
``kiosk outbox`` commands while the kiosk runs) may open the same file at the same time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlite_utils

from kiosk.config import Config
from kiosk.sealing import BLOB_MAGIC, SealedRecord
from kiosk.storage import (
    Migration,
    NewerSchemaError,
    close_quietly,
    connect_durable,
    create_exclusive,
    locked,
    migrate,
    move_aside,
    require_open,
    sql_steps,
)

log = logging.getLogger(__name__)

#: The outbox's file name inside the data directory: ``<data_dir>/outbox.sqlite3``.
OUTBOX_FILENAME = "outbox.sqlite3"

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
#: Every state, in the order status screens list them.
STATES = (PENDING, SENDING, SENT, DEAD)
#: Meta key of the last sync pass's result: JSON ``{"at": RFC 3339 UTC, "sent": n, "retried": n, "dead": n,
#: "held": bool, "error": str | null, "by": "worker" | "cli"}``, written by whoever ran the pass.
META_LAST_SYNC = "last_sync"
#: Meta keys written by the USB export and the acknowledgement (JSON, see :mod:`kiosk.usb_export`).
META_LAST_EXPORT = "last_export"
META_LAST_ACK = "last_ack"
#: Below this much free space, an I/O error while writing is reported as a full disk (SQLite reports some
#: ENOSPC failures, e.g. while growing the WAL index, as I/O errors).
LOW_SPACE_BYTES = 1024 * 1024
#: How long a statement waits for another process holding the write lock.
BUSY_TIMEOUT_S = 5.0
MIB = 1024 * 1024
#: What an automatic size limit leaves free on the data partition: a quarter of it, within these bounds, for
#: the write-ahead log and its checkpoint, the maintenance store, keys and logs.
RESERVE_MIN_BYTES = 1 * MIB
RESERVE_MAX_BYTES = 256 * MIB
#: The reserve file beside the outbox (``outbox.sqlite3.reserve``): an eighth of the partition, within these
#: bounds. Given back when the partition is 100% full, so that delivering, exporting and acknowledging (what
#: frees the outbox) can still write their few pages and checkpoint the WAL; made again once there is room.
RESERVE_FILE_MIN_BYTES = 1 * MIB
RESERVE_FILE_MAX_BYTES = 16 * MIB
#: The WAL is checkpointed at SQLite's default of 1000 pages (4 MiB), or earlier on a partition so small that
#: its reserve file could not make room for that much (it holds at most half the reserve), and is cut back to
#: that size after a checkpoint instead of staying at its largest.
WAL_AUTOCHECKPOINT_PAGES = 1000
WAL_MIN_AUTOCHECKPOINT_PAGES = 64
#: Free pages given back to the partition per step (and checkpoint) when it is full.
SHRINK_STEP_PAGES = 128
#: Room below the limit under which no new session starts (``[outbox] session_headroom_mb``'s default).
DEFAULT_SESSION_HEADROOM_BYTES = 4 * MIB


class OutboxError(Exception):
    """The outbox cannot do what was asked; the message says why in plain words. Nothing was changed."""


class OutboxFull(OutboxError, OSError):
    """The kiosk's storage (or the outbox's size limit) is full: the record was not saved."""


class OutboxDamaged(OutboxError):
    """The database file is damaged; it is moved aside (kept for recovery) when the outbox is next opened."""

    #: What SQLite found wrong.
    problem: str = ""


class OutboxStateError(OutboxError, LookupError):
    """A state change asked of a record that is not in the state it needs (or not in the outbox)."""


@dataclass(frozen=True)
class OutboxItem:
    """One outbox row. ``blob`` is only filled by :meth:`Outbox.claim_next`."""

    record_id: str
    kiosk_id: str
    #: When the record was enqueued (kiosk clock, seconds since the epoch).
    created: float
    state: str
    attempts: int
    #: Not to be sent before this time (kiosk clock).
    next_attempt: float
    last_error: str | None
    size: int
    sha256: str
    blob: bytes | None = None
    #: The record's own ``created_at`` (RFC 3339 UTC).
    created_at: str = ""
    #: The server's receipt once sent (JSON text).
    receipt: str | None = None
    #: When it was sent (kiosk clock), once sent.
    sent_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"OutboxItem(record_id={self.record_id!r}, state={self.state!r}, attempts={self.attempts}, "
            f"size={self.size})"
        )


@dataclass(frozen=True)
class Room:
    """Whether the outbox can take another citizen's record, asked before a session starts.

    Attributes:
        accepts_new_session: a new session may start: its record will fit, with headroom to spare.
        reason: why not, in a technician's words naming the config key (empty when accepting).
        used_bytes: what the queue's data takes inside the database (free pages not counted).
        limit_bytes: the database's size limit, or None when only the partition bounds it.
        free_bytes: free space on the data partition.
    """

    accepts_new_session: bool
    reason: str
    used_bytes: int
    limit_bytes: int | None
    free_bytes: int


def size_limit(directory: Path, max_size_mb: float, current_bytes: int = 0) -> int:
    """The outbox's size limit in bytes for ``[outbox] max_size_mb`` (0 = derived from the partition).

    Derived: the partition's free space plus what the outbox already holds (``current_bytes``), less a
    reserve of a quarter of the partition (:data:`RESERVE_MIN_BYTES` to :data:`RESERVE_MAX_BYTES`).
    """
    if max_size_mb > 0:
        return int(max_size_mb * MIB)
    try:
        usage = shutil.disk_usage(directory)
    except OSError:
        return RESERVE_MAX_BYTES  # cannot tell: a size no SD card partition of a kiosk misses by much
    reserve = min(max(usage.total // 4, RESERVE_MIN_BYTES), RESERVE_MAX_BYTES)
    return max(usage.free + current_bytes - reserve, 0)


# Numbered migrations: (version, what it does, statements). Append only; never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "outbox and meta tables",
        sql_steps(
            """CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY,
                record_id TEXT NOT NULL UNIQUE,
                kiosk_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created REAL NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt REAL NOT NULL,
                last_error TEXT,
                size INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                receipt TEXT,
                sent_at REAL,
                claimed_by TEXT
            )""",
            """CREATE TABLE outbox_blobs (
                seq INTEGER PRIMARY KEY REFERENCES outbox (seq) ON DELETE CASCADE,
                blob BLOB NOT NULL
            )""",
            "CREATE INDEX outbox_state_seq ON outbox (state, seq)",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ),
    ),
)

_COLUMNS = "record_id, kiosk_id, created, state, attempts, next_attempt, last_error, size, sha256"
_ITEM_COLUMNS = f"{_COLUMNS}, created_at, receipt, sent_at"
_ENQUEUE_SQL = (
    "INSERT INTO outbox (record_id, kiosk_id, created_at, created, state, attempts, next_attempt, size, "
    "sha256) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (record_id) DO NOTHING"
)
_DROP_BLOB_SQL = "DELETE FROM outbox_blobs WHERE seq = (SELECT seq FROM outbox WHERE record_id = ?)"


_T = TypeVar("_T")
_P = ParamSpec("_P")


def _works_when_full(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run an outbox method that frees space (or must work to free it) even on a 100% full partition.

    On :class:`OutboxFull` the reserve file is given back and the WAL checkpointed, the method runs once more,
    and the reserve is made again if there is room. Saving a new record never uses this: it is refused.
    """

    @functools.wraps(method)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        outbox = args[0]
        assert isinstance(outbox, Outbox)
        try:
            return method(*args, **kwargs)
        except OutboxFull:
            if not outbox._make_room():
                raise
        result = method(*args, **kwargs)
        outbox._reserve.restore()
        return result

    return run


class Outbox:
    """The durable queue of sealed records (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        max_size_bytes: int | None = None,
        check_on_open: bool = True,
        session_headroom_bytes: int = DEFAULT_SESSION_HEADROOM_BYTES,
    ) -> None:
        """Open (or create) the outbox at ``path``.

        Args:
            path: the SQLite file; its directory is created (mode 0700) if missing.
            clock: seconds since the epoch; tests inject a fake one.
            max_size_bytes: optional cap on the database size, so the outbox never fills the data partition;
                beyond it :meth:`enqueue` raises :class:`OutboxFull` (:meth:`from_config` derives it).
            session_headroom_bytes: :meth:`room` refuses new sessions when less than this is left.
            check_on_open: run ``PRAGMA integrity_check`` before anything else. It reads every page, which
                on a cold page cache takes seconds on a large queue (docs/performance.md), so the kiosk passes
                False and runs :meth:`check_in_background` once it serves. A check that failed there leaves a
                marker file, and the next open checks (and moves a damaged file aside) whatever this says.

        Raises:
            OutboxError: the file is damaged (it was moved aside), written by newer software, or the storage
                cannot be read or written.
        """
        self.path = Path(path)
        self._clock = clock
        self._max_size_bytes = max_size_bytes
        self._headroom = session_headroom_bytes
        self._lock = threading.RLock()
        self._db: sqlite_utils.Database | None = None
        existed = self.path.exists()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._owner = _OwnerLock(self.path.with_name(self.path.name + ".owners"))
        except OSError as exc:
            raise _os_storage_error(exc, self.path.parent) from None
        self._reserve = _ReserveFile(self.path.with_name(self.path.name + ".reserve"))
        try:
            try:
                recovered = self._open(existed, check_on_open)
            except (sqlite3.OperationalError, OutboxFull) as exc:
                # A 100% full partition must not stop the outbox from opening: what frees it needs it open.
                if not _is_full(exc, self.path.parent) or not self._reserve.release():
                    raise
                log.warning("the data partition is full: the outbox's reserve was used to open it")
                self._close_quietly()
                recovered = self._open(existed, check_on_open)
        except OSError as exc:
            self._close_quietly()
            self._owner.release()
            raise _os_storage_error(exc, self.path.parent) from None
        except (sqlite3.DatabaseError, OutboxError) as exc:
            self._close_quietly()
            self._owner.release()
            if _is_corruption(exc):
                raise OutboxDamaged(self._move_aside(getattr(exc, "problem", str(exc)))) from None
            if isinstance(exc, OutboxError):
                raise
            raise _storage_error(exc, "opening the outbox", self.path) from None
        self._check_marker.unlink(missing_ok=True)
        self._reserve.restore()
        if recovered:
            log.warning(
                "%d record(s) were being sent when the kiosk stopped; they are pending again", recovered
            )

    # -- connection ------------------------------------------------------------------------------------

    def _open(self, existed: bool, check_on_open: bool) -> int:
        """Connect, check, migrate and recover; returns how many interrupted sends went back to pending."""
        self._db = self._connect()
        if existed and (check_on_open or self._check_marker.exists()):
            problem = self.integrity_check()
            if problem != "ok":
                raise sqlite3.DatabaseError(problem)
        self._migrate()
        return self._recover_on_open()

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> Outbox:
        """The outbox of the kiosk configured by ``config``, with its ``[outbox]`` size limit and headroom.

        Args:
            config: the kiosk's config.
            **kwargs: passed on (``clock``, ``check_on_open``).
        """
        path = config.data_path / OUTBOX_FILENAME
        # The reserve file counts as the outbox's: it is part of the margin the limit leaves.
        current = sum(_file_size(Path(f"{path}{suffix}")) for suffix in ("", "-wal", ".reserve"))
        with contextlib.suppress(OSError):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        limit = size_limit(path.parent, config.outbox.max_size_mb, current)
        headroom = int(config.outbox.session_headroom_mb * MIB)
        return cls(path, max_size_bytes=limit, session_headroom_bytes=headroom, **kwargs)

    def _recover_on_open(self) -> int:
        """:meth:`recover_interrupted` at open; on a full partition the rows wait for the next pass instead.

        A full disk must never stop the outbox from opening: status, sync, export and acknowledgement are what
        frees it.
        """
        try:
            return self.recover_interrupted()
        except OutboxFull as exc:
            log.warning("interrupted sends not recovered yet: %s", exc)
            return 0

    def _connect(self) -> sqlite_utils.Database:
        """A durable connection (:func:`kiosk.storage.connect_durable`) with the outbox's size limit and a
        WAL bounded by the reserve (:data:`WAL_AUTOCHECKPOINT_PAGES`)."""
        # Shrinkable: pages freed by deliveries can be given back to a full partition (give_back_space).
        db = connect_durable(
            self.path, timeout=BUSY_TIMEOUT_S, max_size_bytes=self._max_size_bytes, shrinkable=True
        )
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = min(
            WAL_AUTOCHECKPOINT_PAGES, max(WAL_MIN_AUTOCHECKPOINT_PAGES, self._reserve.size // page_size // 2)
        )
        db.execute(f"PRAGMA wal_autocheckpoint = {pages}")
        db.execute(f"PRAGMA journal_size_limit = {pages * page_size}")
        self._wal_limit_bytes = pages * page_size
        return db

    def _make_room(self, *, use_reserve: bool = True) -> bool:
        """The partition is full: give free pages back to it, checkpoint the WAL and, for work that frees the
        outbox (``use_reserve``), give back the reserve file.

        Returns:
            True when something may have been freed and the failed write is worth trying once more.
        """
        freed = use_reserve and self._reserve.release()
        try:
            self._shrink()
            self._checkpoint()
        except OutboxError as exc:
            log.warning("the outbox's WAL could not be checkpointed on a full partition: %s", exc)
        else:
            freed = True
        if freed and use_reserve:
            log.warning("the data partition is full: the outbox's reserve was used to keep delivering")
        return freed

    def _shrink(self) -> None:
        """Give the file's free pages back to the partition, a few at a time (each step's WAL must fit on a
        nearly full partition), checkpointing after each step. Only a file created shrinkable shrinks."""
        for _step in range(10_000):
            with self._storage("giving free space back to the partition") as db:
                if not db.execute("PRAGMA freelist_count").fetchone()[0]:
                    return
                # executescript: the pragma frees one page per step, and only a script runs it to the end.
                db.conn.executescript(f"PRAGMA incremental_vacuum({SHRINK_STEP_PAGES});")
                if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                    return
            self._checkpoint()

    def _storage(self, action: str) -> contextlib.AbstractContextManager[sqlite_utils.Database]:
        """Hold the lock and turn SQLite errors into clear outbox errors."""
        return locked(self._lock, lambda: self.db, lambda exc: _storage_error(exc, action, self.path))

    def _migrate(self) -> None:
        try:
            migrate(self.db, MIGRATIONS, what="outbox")
        except NewerSchemaError as exc:
            raise OutboxError(
                f"the outbox {self.path} was written by newer software ({exc}): update the firmware, do not "
                "delete the file"
            ) from None

    def _close_quietly(self) -> None:
        close_quietly(self._db)
        self._db = None

    @property
    def db(self) -> sqlite_utils.Database:
        """The open connection (use ``_storage`` to hold the lock while using it)."""
        return require_open(self._db, "the outbox is closed", OutboxError)

    def _move_aside(self, problem: str) -> str:
        """Rename a damaged database (and its WAL and shared-memory files) and say where it went."""
        if len(problem) > 300:
            problem = problem[:300] + "..."
        try:
            aside = move_aside(self.path, self._clock())
        except OSError as exc:
            return (
                f"the outbox database {self.path} is damaged ({problem}) and could not be moved aside "
                f"({exc.strerror}): copy it off the kiosk for recovery before anything else"
            )
        log.error("damaged outbox moved aside to %s (%s)", aside, problem)
        return (
            f"the outbox database {self.path} is damaged ({problem}); it was moved aside to {aside} "
            "(kept for recovery with `sqlite3 ... .recover`) and a new, empty outbox will be created on the "
            "next start"
        )

    # -- the queue -------------------------------------------------------------------------------------

    def enqueue(self, sealed: SealedRecord) -> None:
        """Store a sealed record as pending; durable (on disk) when this returns.

        A record id already in the outbox is left as it is (enqueueing twice is harmless).

        Raises:
            OutboxFull: storage full; the record was not saved, the outbox is unchanged.
            OutboxError: anything else that stopped the commit (read-only, I/O error, damaged file).
        """
        if not sealed.blob.startswith(BLOB_MAGIC):
            # The one check that keeps plaintext out of the database even if a caller gets it wrong.
            raise OutboxError("refusing to store a record that is not sealed")
        now = self._clock()
        params = (
            sealed.record_id,
            sealed.kiosk_id,
            sealed.created_at,
            now,
            now,
            len(sealed.blob),
            sealed.sha256,
        )
        try:
            self._insert(sealed, params)
        except OutboxFull:
            # Pages freed by deliveries may be given back to a full partition; the reserve is not touched.
            if not self._make_room(use_reserve=False):
                raise
            self._insert(sealed, params)

    def _insert(self, sealed: SealedRecord, params: tuple) -> None:
        # Row and blob in one transaction, one WAL fsync at COMMIT. Plain conn.execute calls: this is the
        # path a citizen waits on, so no extra queries or introspection.
        with self._storage("saving the record") as db:
            conn = db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(_ENQUEUE_SQL, params)
                if cursor.rowcount == 1:
                    conn.execute(
                        "INSERT INTO outbox_blobs (seq, blob) VALUES (?, ?)", (cursor.lastrowid, sealed.blob)
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @_works_when_full
    def claim_next(self, *, due_only: bool = True) -> OutboxItem | None:
        """Move the oldest pending record that is due to ``sending`` and return it with its blob.

        Args:
            due_only: False claims the oldest pending record even if its ``next_attempt`` is still ahead
                ("sync now" from the technician). A caller looping with it must remember what it already tried
                in this pass: a record put back by ``mark_retry`` is claimable again at once.
        """
        with self._storage("taking the next record to send") as db, db.atomic():
            rows = db.execute(
                f"UPDATE outbox SET state = 'sending', claimed_by = ? WHERE seq = ("
                f"  SELECT seq FROM outbox WHERE state = 'pending' AND next_attempt <= ? ORDER BY seq LIMIT 1"
                f") AND state = 'pending' RETURNING {_ITEM_COLUMNS}, seq",
                (self._owner.token, self._clock() if due_only else float("inf")),
            ).fetchall()  # fetch to the end: the statement must finish before COMMIT
            if not rows:
                return None
            blob = db.execute("SELECT blob FROM outbox_blobs WHERE seq = ?", (rows[0][12],)).fetchone()
        return _item(rows[0][:12], blob=None if blob is None else blob[0])

    @_works_when_full
    def mark_sent(self, record_id: str, receipt: str) -> None:
        """``sending`` -> ``sent``, keeping the server's receipt (already sent: nothing to do).

        The sealed blob is dropped at once (its pages are zeroed): the server holds the record, so the kiosk
        keeps only the receipt and metadata until the retention ends.
        """
        self._transition(
            record_id,
            (SENDING,),
            "state = 'sent', receipt = ?, sent_at = ?, last_error = NULL",
            (receipt, self._clock()),
            drop_blob=True,
        )

    @_works_when_full
    def claim_batch(
        self, limit: int, *, due_only: bool = True, exclude: Collection[str] = ()
    ) -> list[OutboxItem]:
        """Move up to ``limit`` of the oldest due pending records to ``sending`` in ONE transaction.

        Same rules as :meth:`claim_next`, oldest first, with blobs. Claiming ahead costs nothing in safety:
        a claim lost to a power cut is recovered to pending on the next open.

        Args:
            limit: at most this many records.
            due_only: as for :meth:`claim_next`.
            exclude: record ids not to claim (the sync worker's records backing off on its own clock).
        """
        with self._storage("taking records to send") as db, db.atomic():
            rows = db.execute(
                f"UPDATE outbox SET state = 'sending', claimed_by = ? WHERE seq IN ("
                f"  SELECT seq FROM outbox WHERE state = 'pending' AND next_attempt <= ?"
                f"  AND record_id NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?"
                f") AND state = 'pending' RETURNING {_ITEM_COLUMNS}, seq",
                (
                    self._owner.token,
                    self._clock() if due_only else float("inf"),
                    json.dumps(sorted(exclude)),
                    max(0, limit),
                ),
            ).fetchall()
            rows.sort(key=lambda row: row[12])  # RETURNING gives no order; the courier wants oldest first
            blobs = (
                dict(
                    db.execute(
                        f"SELECT seq, blob FROM outbox_blobs WHERE seq IN ({', '.join('?' for _ in rows)})",
                        [row[12] for row in rows],
                    ).fetchall()
                )
                if rows
                else {}
            )
        return [_item(row[:12], blob=blobs.get(row[12])) for row in rows]

    @_works_when_full
    def mark_sent_many(self, receipts: Sequence[tuple[str, str]]) -> None:
        """``sending`` -> ``sent`` for several ``(record_id, receipt)`` pairs in ONE transaction.

        Records already sent are left alone, as with :meth:`mark_sent`; one in another state is logged and
        skipped, so it cannot undo the receipts of the others. Batching is safe for exactly-once
        delivery: should the commit be lost, the records go back to pending and a re-post is answered 200 with
        the server's original receipt, never stored twice.
        """
        if not receipts:
            return
        now = self._clock()
        with self._storage("recording sent records") as db, db.atomic():
            for record_id, receipt in receipts:
                moved = db.execute(
                    "UPDATE outbox SET state = 'sent', receipt = ?, sent_at = ?, last_error = NULL "
                    "WHERE record_id = ? AND state = 'sending'",
                    (receipt, now, record_id),
                ).rowcount
                if moved:
                    db.execute(_DROP_BLOB_SQL, (record_id,))
                    continue
                # One odd record must not undo the receipts of the others: note it and go on.
                row = db.execute("SELECT state FROM outbox WHERE record_id = ?", (record_id,)).fetchone()
                if row is None or row[0] != SENT:
                    log.warning(
                        "record %s is %s, not sending: receipt not recorded",
                        record_id,
                        "not in the outbox" if row is None else row[0],
                    )

    @_works_when_full
    def mark_retry(self, record_id: str, error: str, next_attempt: float) -> None:
        """``sending`` -> ``pending`` after a failed attempt: counts it, notes why and when to try again."""
        self._transition(
            record_id,
            (SENDING,),
            "state = 'pending', attempts = attempts + 1, last_error = ?, next_attempt = ?",
            (error, next_attempt),
        )

    @_works_when_full
    def mark_dead(self, record_id: str, reason: str) -> None:
        """``sending`` or ``pending`` -> ``dead``: the server rejected it for good; kept for a technician."""
        self._transition(
            record_id,
            (SENDING, PENDING),
            "attempts = attempts + (state = 'sending'), state = 'dead', last_error = ?",
            (reason,),
        )

    @_works_when_full
    def release(self, record_id: str) -> None:
        """``sending`` -> ``pending`` without counting an attempt (queue on hold, not the record's fault)."""
        self._transition(record_id, (SENDING,), "state = 'pending'", ())

    @_works_when_full
    def mark_acknowledged(self, record_id: str, receipt: str, sha256: str | None = None) -> bool:
        """``pending`` / ``sending`` / ``dead`` -> ``sent``: acknowledged another way (USB ack file).

        Args:
            record_id: the acknowledged record.
            receipt: the server's receipt.
            sha256: when given, only a row whose blob has this hash is acknowledged.

        Returns:
            True if the record moved to sent; False if it is unknown, already sent, or has another hash.
        """
        sql = (
            "UPDATE outbox SET state = 'sent', receipt = ?, sent_at = ?, last_error = NULL "
            "WHERE record_id = ? AND state IN ('pending', 'sending', 'dead')"
        )
        params: tuple = (receipt, self._clock(), record_id)
        if sha256 is not None:
            sql += " AND sha256 = ?"
            params += (sha256,)
        with self._storage("recording an acknowledgement") as db, db.atomic():
            if db.execute(sql, params).rowcount != 1:
                return False
            db.execute(_DROP_BLOB_SQL, (record_id,))
            return True

    @_works_when_full
    def retry_dead(self, record_ids: Sequence[str] | None = None) -> int:
        """``dead`` -> ``pending`` (all dead records, or those given), due now, attempts reset.

        Returns:
            How many records moved; ids that are not dead are left alone.
        """
        sql = "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ? WHERE state = 'dead'"
        params: list = [self._clock()]
        with self._storage("putting dead records back in the queue") as db, db.atomic():
            if record_ids is None:
                return db.execute(sql, params).rowcount
            return sum(db.execute(sql + " AND record_id = ?", [*params, rid]).rowcount for rid in record_ids)

    @_works_when_full
    def purge_sent(self, older_than_s: float) -> int:
        """Delete records sent more than ``older_than_s`` seconds ago, logging each server receipt first.

        Returns:
            How many records were purged.
        """
        cutoff = self._clock() - older_than_s
        with self._storage("purging sent records") as db, db.atomic():
            rows = db.execute(
                "DELETE FROM outbox WHERE state = 'sent' AND sent_at <= ? RETURNING record_id, receipt",
                (cutoff,),
            ).fetchall()
        for record_id, receipt in rows:
            log.info("purged sent record %s (server receipt: %s)", record_id, receipt)
        return len(rows)

    @_works_when_full
    def recover_interrupted(self) -> int:
        """Rows left in ``sending`` by a process that is gone (crash, power cut) -> ``pending``.

        Rows claimed by a live :class:`Outbox` (this one, or one in another process) are left alone, so this
        is safe to call at any time, e.g. at the start of each sync pass.

        Returns:
            How many rows went back to pending.
        """
        with self._storage("recovering interrupted sends") as db:
            claimers = [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT claimed_by FROM outbox WHERE state = 'sending'"
                ).fetchall()
            ]
            recovered = 0
            for token in claimers:
                if token is None or not self._owner.is_alive(token):
                    recovered += db.execute(
                        "UPDATE outbox SET state = 'pending', claimed_by = NULL "
                        "WHERE state = 'sending' AND claimed_by IS ?",
                        (token,),
                    ).rowcount
            return recovered

    # -- looking -----------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Records per state, every state present (zeros included)."""
        with self._storage("counting records") as db:
            found = dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
        return {state: found.get(state, 0) for state in STATES}

    def oldest_pending_age(self) -> float | None:
        """Seconds since the oldest record not yet delivered (pending or sending) was enqueued, or None."""
        with self._storage("reading the queue") as db:
            oldest = db.execute(
                "SELECT min(created) FROM outbox WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]
        return None if oldest is None else max(0.0, self._clock() - oldest)

    def room(self) -> Room:
        """Whether a new session may start: its record must fit below the limit with the headroom to spare.

        Cheap (a few pragmas and a ``statvfs``): the kiosk asks before every session, so a citizen is turned
        away at the welcome screen, never after typing everything. Only when the answer would be no while
        delivered records left free pages in the file, those are first given back to the partition
        (:meth:`give_back_space`, a checkpoint: a moment on an SD card).
        """
        room, free_page_bytes = self._measure_room()
        if not room.accepts_new_session and free_page_bytes > 0:
            self.give_back_space()
            room, _ = self._measure_room()
        return room

    def give_back_space(self) -> None:
        """Return the file's free pages (records delivered) to the partition and make the reserve again."""
        self._make_room(use_reserve=False)
        self._reserve.restore()

    def _measure_room(self) -> tuple[Room, int]:
        with self._storage("measuring the outbox") as db:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            free_page_bytes = db.execute("PRAGMA freelist_count").fetchone()[0] * page_size
        used = pages * page_size - free_page_bytes
        limit = self._max_size_bytes
        free = _free_bytes(self.path.parent, unknown=self._headroom)
        headroom_mb = f"{self._headroom / MIB:.1f} MiB"
        if limit is not None and limit - used < self._headroom:
            reason = (
                f"this kiosk's outbox is full: {max(limit - used, 0) / MIB:.1f} MiB left below its limit of "
                f"{limit / MIB:.1f} MiB ([outbox] max_size_mb), less than the {headroom_mb} a session needs "
                "([outbox] session_headroom_mb); deliver the queue (kiosk outbox sync, or USB export and "
                "acknowledgement) or raise [outbox] max_size_mb"
            )
            return Room(False, reason, used, limit, free), free_page_bytes
        # Records reuse the free pages inside the file, but the WAL grows on the partition before every
        # checkpoint; a missing reserve file means the partition has been full since.
        wal_growth = max(0, self._wal_limit_bytes - _file_size(Path(f"{self.path}-wal")))
        if free < wal_growth + max(0, self._headroom - free_page_bytes) or not self._reserve.present():
            reason = (
                f"the data partition {self.path.parent} is full: {free / MIB:.1f} MiB free, less than the "
                f"{headroom_mb} a session needs ([outbox] session_headroom_mb) and room for the outbox's "
                "log; deliver the queue (kiosk outbox sync, or USB export and acknowledgement), free space, "
                "or lower [outbox] max_size_mb"
            )
            return Room(False, reason, used, limit, free), free_page_bytes
        return Room(True, "", used, limit, free), free_page_bytes

    def next_due(self) -> float | None:
        """The earliest ``next_attempt`` among pending records, or None when nothing is pending."""
        with self._storage("reading the queue") as db:
            return db.execute("SELECT min(next_attempt) FROM outbox WHERE state = 'pending'").fetchone()[0]

    def items(self, state: str | None = None, limit: int | None = 100) -> list[OutboxItem]:
        """Records oldest first (without blobs), all or in one state, at most ``limit`` (None = all)."""
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r} (states: {', '.join(STATES)})")
        sql = f"SELECT {_ITEM_COLUMNS} FROM outbox"
        params: list = []
        if state is not None:
            sql += " WHERE state = ?"
            params.append(state)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._storage("listing records") as db:
            return [_item(row) for row in db.execute(sql, params).fetchall()]

    def get(self, record_id: str) -> OutboxItem | None:
        """One record (without its blob), or None."""
        with self._storage("reading a record") as db:
            row = db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE record_id = ?", (record_id,)
            ).fetchone()
        return None if row is None else _item(row)

    def read_blob(self, record_id: str) -> bytes | None:
        """The sealed blob of a record (for the USB export); None if it is not in the outbox or was sent."""
        with self._storage("reading a record") as db:
            row = db.execute(
                "SELECT blob FROM outbox_blobs WHERE seq = (SELECT seq FROM outbox WHERE record_id = ?)",
                (record_id,),
            ).fetchone()
        return None if row is None else row[0]

    # -- upkeep ------------------------------------------------------------------------------------------

    def integrity_check(self) -> str:
        """``"ok"``, or what ``PRAGMA integrity_check`` found wrong."""
        with self._storage("checking the outbox") as db:
            rows = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
        return "ok" if rows == ["ok"] else "; ".join(rows)

    @property
    def _check_marker(self) -> Path:
        return self.path.with_name(self.path.name + ".check-failed")

    def check_in_background(self) -> str:
        """Run ``PRAGMA integrity_check`` on a connection of its own, without holding the outbox's lock.

        Meant for a worker thread once the kiosk serves: saves and sends go on meanwhile (WAL lets one writer
        and readers work at once; the check reads a consistent snapshot). When it finds damage, a marker file
        makes the next open check again and move the file aside; until then the outbox keeps working as well
        as SQLite can, and a failing write is reported to the citizen and the technician as a storage error.

        Returns:
            ``"ok"``, or what the check found wrong (also logged as an error).
        """
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            try:
                rows = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
            finally:
                conn.close()
            problem = "ok" if rows == ["ok"] else "; ".join(rows)
        except sqlite3.Error as exc:
            if not _is_corruption(exc):
                log.warning("the outbox's integrity check could not run (%s); it runs on the next start", exc)
                return f"the check could not run: {exc}"
            problem = str(exc)
        if problem != "ok":
            with contextlib.suppress(OSError):
                self._check_marker.write_text(problem[:2000] + "\n", encoding="utf-8")
            log.error(
                "the outbox failed its integrity check (%s): it is checked again on the next start", problem
            )
        return problem

    def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it (before a planned shutdown).

        On a 100% full partition the reserve file is given back for it; should even that not be enough, the
        WAL is kept as it is (every commit in it is durable: nothing is lost) and checkpointed later.
        """
        try:
            self._checkpoint()
        except OutboxFull:
            if self._reserve.release():
                log.warning("the data partition is full: the outbox's reserve was used to checkpoint")
                with contextlib.suppress(OutboxFull):
                    self._checkpoint()
                    self._reserve.restore()
                    return
            log.warning("the outbox's WAL stays as it is until the full data partition has room")

    def _checkpoint(self) -> None:
        with self._storage("checkpointing the outbox") as db:
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning("outbox checkpoint incomplete: another process is reading the database")

    @_works_when_full
    def set_meta(self, key: str, value: str) -> None:
        """Remember a small non-personal value, e.g. the last sync result."""
        with self._storage("saving outbox metadata") as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get_meta(self, key: str) -> str | None:
        """A value stored with :meth:`set_meta`, or None."""
        with self._storage("reading outbox metadata") as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def schema_version(self) -> int:
        """The newest migration applied to this file."""
        with self._storage("reading the schema version") as db:
            return db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]

    def close(self) -> None:
        """Close the database (idempotent). Records this outbox was sending go back to pending for others."""
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute(
                        "UPDATE outbox SET state = 'pending', claimed_by = NULL "
                        "WHERE state = 'sending' AND claimed_by = ?",
                        (self._owner.token,),
                    )
                    self._db.execute("PRAGMA optimize")
                self._close_quietly()
                self._owner.release()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------------

    def _transition(
        self,
        record_id: str,
        old_states: tuple[str, ...],
        assignments: str,
        params: tuple,
        *,
        drop_blob: bool = False,
    ) -> None:
        """One guarded UPDATE; explains what is wrong when the row was not in an allowed old state.

        With ``drop_blob`` the record's blob is deleted in the same transaction (it reached the server).
        """
        placeholders = ", ".join("?" for _ in old_states)
        sql = f"UPDATE outbox SET {assignments} WHERE record_id = ? AND state IN ({placeholders})"
        with self._storage("updating a record") as db:
            if drop_blob:
                with db.atomic():
                    moved = db.execute(sql, (*params, record_id, *old_states)).rowcount
                    if moved:
                        db.execute(_DROP_BLOB_SQL, (record_id,))
            else:
                moved = db.execute(sql, (*params, record_id, *old_states)).rowcount
            if moved:
                return
            row = db.execute("SELECT state FROM outbox WHERE record_id = ?", (record_id,)).fetchone()
        if row is None:
            raise OutboxStateError(f"record {record_id} is not in the outbox")
        if row[0] == SENT:
            log.debug("record %s was already sent; nothing to change", record_id)
            return
        raise OutboxStateError(f"record {record_id} is {row[0]}, not {' or '.join(old_states)}")


class _OwnerLock:
    """Proof that an :class:`Outbox` is alive: an exclusive ``flock`` on its own token file.

    The kernel releases a flock when its process dies, however it dies, so "the lock on token T can be taken"
    means "the outbox that claimed rows as T is gone". The file is locked under a temporary name and then
    renamed into place, so nobody can find a token file that is not locked yet.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.token = uuid.uuid4().hex
        directory.mkdir(mode=0o700, exist_ok=True)
        temporary = directory / f".{self.token}.tmp"
        self._fd: int | None = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.rename(temporary, self._path(self.token))
        except BaseException:
            os.close(self._fd)
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        self._sweep()

    def _sweep(self) -> None:
        """Remove the files of owners that died (their rows are told apart by token, not by file)."""
        for path in self.directory.iterdir():
            if path.name in (f"{self.token}.lock", f".{self.token}.tmp"):
                continue
            try:
                # A temporary file may belong to an outbox being opened right now, between its creation
                # and its lock: only old ones are left over from a crash.
                if path.suffix == ".tmp" and time.time() - path.stat().st_mtime < 60:
                    continue
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink()
            except OSError:
                pass  # alive (lock held), or already gone
            finally:
                os.close(fd)

    def _path(self, token: str) -> Path:
        return self.directory / f"{token}.lock"

    def is_alive(self, token: str) -> bool:
        """Whether the outbox that holds ``token`` still lives (a dead one's file is removed)."""
        if token == self.token:
            return self._fd is not None
        if not re.fullmatch(r"[0-9a-f]{32}", token):
            return False
        try:
            fd = os.open(self._path(token), os.O_RDWR)
        except FileNotFoundError:
            return False
        except OSError:
            return True  # cannot tell (e.g. read-only): do not take records from a possibly live sender
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            self._path(token).unlink()  # we hold the dead owner's lock: nobody else is using the file
        os.close(fd)
        return False

    def release(self) -> None:
        """Remove the token file and drop the lock (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self._path(self.token).unlink()
            os.close(self._fd)
            self._fd = None


class _ReserveFile:
    """Space kept aside on the data partition (see :data:`RESERVE_FILE_MIN_BYTES`): a file of real blocks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            total = shutil.disk_usage(path.parent).total
        except OSError:
            total = 0
        self.size = min(max(total // 8, RESERVE_FILE_MIN_BYTES), RESERVE_FILE_MAX_BYTES)

    def present(self) -> bool:
        """Whether the reserve is in place (the partition has its safety margin)."""
        return _file_size(self.path) >= self.size

    def release(self) -> bool:
        """Give the space back; True if there was a reserve to give."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("the outbox's reserve file %s cannot be removed (%s)", self.path, exc.strerror)
            return False
        return True

    def restore(self) -> None:
        """Make the reserve again when it is missing and the partition has room for it (quietly otherwise)."""
        if self.present():
            return
        temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            fd = create_exclusive(temp)
            try:
                os.posix_fallocate(fd, 0, self.size)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            log.debug("the outbox's reserve file cannot be made yet (%s)", exc.strerror)


def _os_storage_error(exc: OSError, directory: Path) -> OutboxError:
    """An outbox error for a file-system call that failed while opening the outbox."""
    what = f"cannot create {exc.filename or directory} ({exc.strerror})"
    if exc.errno == errno.ENOSPC:
        return OutboxFull(f"the kiosk's storage is full: {what}; free space on the data partition")
    return OutboxError(
        f"the kiosk's storage cannot be written: {what}; check that {directory} is mounted read-write and "
        "belongs to the kiosk user"
    )


def _item(row: Sequence, blob: bytes | None = None) -> OutboxItem:
    return OutboxItem(*row[:9], blob=blob, created_at=row[9], receipt=row[10], sent_at=row[11])


def _free_bytes(directory: Path, unknown: int = LOW_SPACE_BYTES) -> int:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return unknown  # cannot tell: do not claim the disk is full


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _is_full(exc: BaseException, directory: Path) -> bool:
    """Whether a storage error means the partition (or the size limit) is full."""
    if isinstance(exc, OutboxFull):
        return True
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name == "SQLITE_FULL" or (
        name.startswith("SQLITE_IOERR") and _free_bytes(directory) < LOW_SPACE_BYTES
    )


def _is_corruption(exc: BaseException) -> bool:
    if isinstance(exc, OutboxDamaged):
        return True
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        name = getattr(exc, "sqlite_errorname", "") or ""
        # integrity_check problems are raised as plain DatabaseError without an error name.
        return name in ("", "SQLITE_CORRUPT", "SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT")
    return False


def _storage_error(exc: sqlite3.Error, action: str, path: Path) -> OutboxError:
    """An outbox error whose message says what happened to the storage, in a technician's words."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if _is_full(exc, path.parent):
        return OutboxFull(
            f"the kiosk's storage is full: {action} failed ({exc}); what was saved before is intact, but new "
            "records cannot be saved until space is freed on the data partition (deliver the queue: sync, or "
            "USB export and acknowledgement) or [outbox] max_size_mb is raised"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return OutboxError(
            f"the kiosk's storage cannot be written: {action} failed ({exc}); check that {path.parent} is "
            "mounted read-write and belongs to the kiosk user"
        )
    if name.startswith("SQLITE_IOERR"):
        return OutboxError(
            f"the kiosk's storage failed: {action} failed ({exc}); the SD card or data partition may be "
            "failing"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        damaged = OutboxDamaged(
            f"the outbox database {path} is damaged: {action} failed ({exc}); restart the kiosk: the damaged "
            "file is then moved aside and kept for recovery"
        )
        damaged.problem = str(exc)
        return damaged
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return OutboxError(f"the outbox is busy in another process: {action} failed ({exc}); try again")
    return OutboxError(f"{action} failed: {exc}")
