"""The maintenance database: durable settings, migrations, a damaged file moved aside, the audit log."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from kiosk.maintenance import (
    AuditAction,
    AuditLog,
    AuditOutcome,
    MaintenanceStore,
    MaintenanceStoreError,
    scrub,
)
from kiosk.maintenance.store import FILE_NAME


def test_every_connection_is_wal_with_full_sync_and_private(tmp_path: Path) -> None:
    with MaintenanceStore.in_data_dir(tmp_path / "data") as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert set(store.db.table_names()) >= {"audit", "metric_samples", "pin_lockout"}
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def test_reopening_keeps_the_audit_log(tmp_path: Path) -> None:
    with MaintenanceStore.in_data_dir(tmp_path) as store:
        AuditLog(store, clock=lambda: 100.0).record(AuditAction.ENTER, AuditOutcome.OK, session="ab12cd34")
    with MaintenanceStore.in_data_dir(tmp_path) as store:
        (entry,) = AuditLog(store).recent()
    assert (entry.at, entry.action, entry.outcome, entry.session) == (100.0, "enter", "ok", "ab12cd34")


def test_a_damaged_file_is_moved_aside_and_a_fresh_one_started(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 2000)
    with MaintenanceStore(path, clock=lambda: 1_700_000_000.0) as store:
        AuditLog(store).record("enter", "failed", "wrong PIN")
    aside = path.with_name(f"{FILE_NAME}.damaged-20231114T221320Z")
    assert aside.exists()  # kept for whoever wants to read it, never deleted
    assert aside.read_bytes().startswith(b"SQLite format 3")


def test_a_file_from_newer_software_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    MaintenanceStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(MaintenanceStoreError, match="newer software"):
        MaintenanceStore(path)


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(MaintenanceStoreError, match="cannot create"):
        MaintenanceStore.in_data_dir(blocker)


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = MaintenanceStore.in_data_dir(tmp_path)
    store.close()
    store.close()
    with pytest.raises(MaintenanceStoreError, match="closed"):
        AuditLog(store).record("enter", "ok")


def test_audit_codes_are_checked(tmp_path: Path) -> None:
    with MaintenanceStore.in_data_dir(tmp_path) as store:
        log = AuditLog(store)
        with pytest.raises(ValueError):
            log.record("format_disk", "ok")
        with pytest.raises(ValueError):
            log.record("enter", "maybe")
        assert log.recent() == []


def test_recent_and_since(tmp_path: Path) -> None:
    now = [1000.0]
    with MaintenanceStore.in_data_dir(tmp_path) as store:
        log = AuditLog(store, clock=lambda: now[0])
        for action in ("enter", "sync_now", "exit"):
            log.record(action, "ok")
            now[0] += 10
        assert [e.action for e in log.recent(2)] == ["exit", "sync_now"]
        assert [e.action for e in log.recent(action="enter")] == ["enter"]
        assert [e.action for e in log.since(1010.0)] == ["sync_now", "exit"]


@pytest.mark.parametrize(
    ("detail", "kept"),
    [
        ("3 record(s) back in the queue", "3 record(s) back in the queue"),
        ("NIK 7110045708900001 rejected", "NIK [number] rejected"),
        ("line one\nline two\x00", "line one line two"),
        ("bundle dukcapil-K-20240131T101500Z.bundle.tar", "bundle dukcapil-K-20240131T101500Z.bundle.tar"),
        ("x" * 1000, "x" * 299 + "\u2026"),
    ],
)
def test_scrub(detail: str, kept: str) -> None:
    assert scrub(detail) == kept


def test_a_database_of_the_first_schema_gains_the_count_of_wrong_pins_in_a_row(tmp_path: Path) -> None:
    import sqlite3

    from kiosk.maintenance.lockout import PinLockout
    from kiosk.maintenance.store import FILE_NAME, MIGRATIONS

    with MaintenanceStore.in_data_dir(tmp_path):
        pass  # created at today's schema; the test then rewrites it as the older software left it
    # Written by the software before the hard block: schema 1, a lockout row without the new column.
    db = sqlite3.connect(tmp_path / FILE_NAME)
    db.execute("DROP TABLE pin_lockout")
    db.execute(
        "CREATE TABLE pin_lockout (id INTEGER PRIMARY KEY, failures INTEGER NOT NULL,"
        " lockouts INTEGER NOT NULL, locked_until FLOAT NOT NULL, locked_for FLOAT NOT NULL)"
    )
    db.execute("INSERT INTO pin_lockout VALUES (1, 3, 1, 0.0, 60.0)")
    db.execute("DELETE FROM schema_migrations WHERE version > 1")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with MaintenanceStore.in_data_dir(tmp_path) as store:
        state = PinLockout(store, max_failures=5, initial_s=60.0).state()
        assert (state.failures, state.lockouts, state.consecutive) == (3, 1, 0)
        assert len(MIGRATIONS) == 2
