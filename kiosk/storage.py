"""File safety written once: atomic writes, directory syncs and UTC timestamps.

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
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

# A directory fsync that the file system does not implement (vfat on a USB stick, on some kernels) is not a
# failure of this write: the data itself was synced. Any other error is.
_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF})


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
