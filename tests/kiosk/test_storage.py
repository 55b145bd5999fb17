"""kiosk/storage.py: atomic writes never follow a planted link, leave nothing behind, sync the directory."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from kiosk import storage
from kiosk.storage import UnsafePathError, atomic_write, atomic_writer, create_exclusive, utc_rfc3339


def test_atomic_write_replaces_the_file_with_mode_0600_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "pin"
    target.write_bytes(b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pin"]


def test_a_symlink_under_the_target_name_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "technician-pin"
    victim.write_bytes(b"the real PIN hash\n")
    planted = tmp_path / "export.tar"
    planted.symlink_to(victim)
    with pytest.raises(UnsafePathError):
        atomic_write(planted, b"attacker's bytes")
    assert victim.read_bytes() == b"the real PIN hash\n"
    assert planted.is_symlink()


def test_the_temp_file_is_never_opened_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    link = tmp_path / "temp"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        create_exclusive(link)
    assert victim.read_bytes() == b"keep"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "bundle.tar"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half")
        raise RuntimeError("stick pulled")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tar"]


def test_a_directory_fsync_the_file_system_lacks_is_not_an_error_but_others_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def fsync(fd: int, error: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(error, os.strerror(error))
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "fsync", lambda fd: fsync(fd, errno.EINVAL))
    atomic_write(tmp_path / "a", b"1")
    assert (tmp_path / "a").read_bytes() == b"1"
    monkeypatch.setattr(storage.os, "fsync", lambda fd: fsync(fd, errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        atomic_write(tmp_path / "b", b"2")


def test_utc_rfc3339() -> None:
    assert utc_rfc3339(0) == "1970-01-01T00:00:00Z"
    assert utc_rfc3339(1.5, timespec="milliseconds") == "1970-01-01T00:00:01.500Z"
    assert utc_rfc3339().endswith("Z")


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_every_outbox_and_maintenance_file_is_0600_wal_and_shm_included(tmp_path: Path, umask: int) -> None:
    from kiosk.maintenance.store import MaintenanceStore
    from kiosk.outbox import Outbox

    old = os.umask(umask)
    try:
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        store = MaintenanceStore(tmp_path / "maintenance.sqlite3")
        outbox.set_meta("probe", "1")  # a write, so the WAL and shared memory exist
        with store.use("probing") as db:
            db.execute("INSERT INTO audit (at, action, outcome) VALUES (1, 'probe', 'ok')")
        files = [p for p in tmp_path.iterdir() if ".sqlite3" in p.name and not p.name.endswith(".owners")]
        assert {p.name for p in files} >= {
            "outbox.sqlite3", "outbox.sqlite3-wal", "outbox.sqlite3-shm",
            "maintenance.sqlite3", "maintenance.sqlite3-wal", "maintenance.sqlite3-shm",
        }  # fmt: skip
        assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
            p.name: "0o600" for p in files
        }
        outbox.close()
        store.close()
    finally:
        os.umask(old)


def test_files_of_an_older_version_are_made_0600_when_opened(tmp_path: Path) -> None:
    from kiosk.outbox import Outbox

    path = tmp_path / "outbox.sqlite3"
    Outbox(path).close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").touch()
        os.chmod(f"{path}{suffix}", 0o644)
    Outbox(path).close()
    modes = {
        s: stat.S_IMODE(os.stat(f"{path}{s}").st_mode)
        for s in ("", "-wal", "-shm")
        if Path(f"{path}{s}").exists()
    }
    assert set(modes.values()) == {0o600}, modes
