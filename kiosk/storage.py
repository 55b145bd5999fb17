"""Storage written once: durable SQLite connections, migrations, moving a damaged file aside, atomic file
writes, directory syncs and UTC timestamps. The outbox, the maintenance store, sealing, the PIN file and USB
export use it.

SQLite: :func:`connect_durable` gives every connection WAL and ``synchronous=FULL`` (a commit is on disk when
it returns) and keeps the database, its ``-wal`` and its ``-shm`` at mode 0600 (SQLite creates the latter two
with the main file's mode, so the main file is created 0600 before SQLite sees it). :func:`migrate` applies
numbered migrations, each in its own ``BEGIN IMMEDIATE`` transaction, recorded in ``schema_migrations`` and in
``PRAGMA user_version``. :func:`move_aside` renames a damaged database with its WAL and shared-memory files.

Every file the kiosk (and the reference server's bundle import) writes goes through :func:`atomic_write` or
:func:`atomic_writer`: the bytes go to a fresh temp file in the target directory, created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` (a planted file or symlink under the temp name makes the open fail instead
of being followed), are synced, renamed over the target, and the directory is synced so the rename survives
power loss. A symlink already standing under the target name is refused: nothing the kiosk writes ever lands
where a link points.

    atomic_write(Path("/var/lib/kiosk/pin"), b"...", mode=0o600)
    with atomic_writer(usb / "bundle.tar") as handle:
        handle.write(...)
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import sqlite_utils

_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

# A directory fsync that the file system does not implement (vfat on a USB stick, on some kernels) is not a
# failure of this write: the data itself was synced. Any other error is.
_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF})


log = logging.getLogger(__name__)

#: A numbered schema migration: (version, what it does, the function that applies it inside its transaction).
Migration = tuple[int, str, Callable[[sqlite_utils.Database], None]]

#: The companion files of a WAL database, moved and protected with it.
SQLITE_SUFFIXES = ("", "-wal", "-shm")


class WalUnavailableError(sqlite3.OperationalError):
    """The file system cannot hold a write-ahead log (journal mode stayed something else)."""


class NewerSchemaError(sqlite3.DatabaseError):
    """The database was written by newer software; it is kept and not touched."""


class UnsafePathError(OSError):
    """The target of a write is a symlink: refused, never followed."""


def utc_rfc3339(seconds: float | None = None, *, timespec: str = "seconds") -> str:
    """A moment as RFC 3339 in UTC with a ``Z``, e.g. ``2026-12-02T21:07:21Z``.

    Args:
        seconds: POSIX time; None means now.
        timespec: as for :meth:`datetime.datetime.isoformat` (``"seconds"``, ``"milliseconds"``).
    """
    moment = (
        datetime.datetime.now(tz=datetime.UTC)
        if seconds is None
        else datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    )
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_stamp(seconds: float) -> str:
    """A compact UTC stamp for file names, e.g. ``20261202T210721Z``."""
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def create_exclusive(path: Path, mode: int = 0o600) -> int:
    """Open a new file for writing; fails when anything (a file, a symlink) already stands under ``path``."""
    return os.open(path, _EXCLUSIVE, mode)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable.

    Raises:
        OSError: The directory cannot be synced for a reason other than the file system not supporting it.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def refuse_symlink(path: Path) -> None:
    """Raise :class:`UnsafePathError` when ``path`` is a symlink."""
    if path.is_symlink():
        raise UnsafePathError(errno.ELOOP, "refusing to write through a symlink", str(path))


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yields a binary file; on a clean exit it replaces ``path`` durably.

    On an exception the temp file is removed and ``path`` is left as it was.

    Raises:
        UnsafePathError: ``path`` is a symlink.
        OSError: The file cannot be written.
    """
    path = Path(path)
    refuse_symlink(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    fd = create_exclusive(temp, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably (see :func:`atomic_writer`)."""
    with atomic_writer(path, mode) as handle:
        handle.write(data)


def sql_steps(*statements: str) -> Callable[[sqlite_utils.Database], None]:
    """A migration step that runs SQL statements in order."""

    def apply(db: sqlite_utils.Database) -> None:
        for statement in statements:
            db.execute(statement)

    return apply


def connect_durable(
    path: Path, *, timeout: float, max_size_bytes: int | None = None, shrinkable: bool = False
) -> sqlite_utils.Database:
    """A connection with the pragmas every connection must have (they are per connection).

    Args:
        path: the SQLite file; created with mode 0600 when missing.
        timeout: seconds a statement waits for another process's lock.
        max_size_bytes: cap on the database size (``max_page_count``); None for no cap.
        shrinkable: a NEW file is created with ``auto_vacuum = INCREMENTAL``, so that ``PRAGMA
            incremental_vacuum`` can give its free pages back to the file system (it must be set before the
            journal mode and the first table; on an existing file it changes nothing).

    Raises:
        WalUnavailableError: the journal mode cannot be WAL.
        sqlite3.Error, OSError: the file cannot be opened.
    """
    path = Path(path)
    fresh = not path.exists() or path.stat().st_size == 0
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    restrict_mode(path)
    # isolation_level=None: no implicit transactions from Python's sqlite3 module; a statement is its own
    # transaction unless inside an explicit BEGIN, so every transaction is visible in the caller's code.
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        if shrinkable and fresh:
            # Only on a new file: on an existing one even setting the same mode writes the header, which
            # fails on a full disk.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise WalUnavailableError(f"{path} cannot use write-ahead logging (journal mode is {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        if max_size_bytes is not None:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, max_size_bytes // page_size)}")
    except BaseException:
        conn.close()
        raise
    restrict_mode(path)
    return sqlite_utils.Database(conn, execute_plugins=False)


def restrict_mode(path: Path) -> None:
    """Mode 0600 for a database and its ``-wal`` / ``-shm`` (files of an older version may be 0644)."""
    for suffix in SQLITE_SUFFIXES:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", 0o600, follow_symlinks=False)


def migrate(db: sqlite_utils.Database, migrations: Sequence[Migration], *, what: str) -> None:
    """Apply the migrations newer than the database, each in its own transaction.

    The version is the larger of ``PRAGMA user_version`` and the newest row of ``schema_migrations`` (files
    written before both were kept have one of them), read again under the write lock so that two processes
    opening a new file at once do not both apply a migration.

    Raises:
        NewerSchemaError: the file was written by newer software (it is left as it was).
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    newest = migrations[-1][0]
    for version, name, apply in migrations:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = max(
                db.execute("PRAGMA user_version").fetchone()[0],
                db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0],
            )
            if current > newest:
                raise NewerSchemaError(f"schema {current}; this software knows up to {newest}")
            if version > current:
                apply(db)
                db["schema_migrations"].insert(
                    {"version": version, "name": name, "applied_at": utc_rfc3339()}
                )
                db.execute(f"PRAGMA user_version = {int(version)}")
                log.info("%s schema migrated to version %d (%s)", what, version, name)
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise


def move_aside(path: Path, seconds: float) -> Path:
    """Rename a damaged database with its ``-wal`` and ``-shm`` to ``<name>.damaged-<UTC stamp>``.

    Returns:
        The new name of the main file.

    Raises:
        OSError: a file could not be renamed (the ones before it were).
    """
    aside = path.with_name(f"{path.name}.damaged-{utc_stamp(seconds)}")
    for suffix in SQLITE_SUFFIXES:
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{aside}{suffix}")
    return aside


def close_quietly(db: sqlite_utils.Database | None) -> None:
    """Close a connection that may already be broken (after an error, nothing more can be said about it)."""
    if db is not None:
        with contextlib.suppress(sqlite3.Error):
            db.close()


@contextlib.contextmanager
def locked(
    lock: threading.RLock,
    database: Callable[[], sqlite_utils.Database],
    translate: Callable[[sqlite3.Error], Exception],
) -> Iterator[sqlite_utils.Database]:
    """Hold ``lock`` around a use of the database; a SQLite error comes out as ``translate(error)``."""
    with lock:
        db = database()
        try:
            yield db
        except sqlite3.Error as exc:
            raise translate(exc) from None


def require_open(
    db: sqlite_utils.Database | None, message: str, error: type[Exception]
) -> sqlite_utils.Database:
    """``db``, or ``error(message)`` when it was closed."""
    if db is None:
        raise error(message)
    return db
