"""Outbox: durable states, guarded transitions, recovery, retention, migrations, damaged files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from kiosk.outbox import MIGRATIONS, Outbox, OutboxDamaged, OutboxError, OutboxStateError
from kiosk.sealing import BLOB_MAGIC, SealedRecord


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sealed(size: int = 256) -> SealedRecord:
    blob = BLOB_MAGIC + os.urandom(size)
    return SealedRecord(
        record_id=str(uuid.uuid4()),
        kiosk_id="BMT-MODAYAG-01",
        created_at="2024-05-01T03:04:05.000Z",
        blob=blob,
        sha256=hashlib.sha256(blob).hexdigest(),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(tmp_path: Path, clock: FakeClock):
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock)
    yield box
    box.close()


def test_enqueue_claim_send(outbox: Outbox, clock: FakeClock) -> None:
    record = sealed()
    outbox.enqueue(record)
    assert outbox.counts() == {"pending": 1, "sending": 0, "sent": 0, "dead": 0}
    item = outbox.claim_next()
    assert item is not None
    assert (item.record_id, item.state, item.blob, item.sha256) == (
        record.record_id,
        "sending",
        record.blob,
        record.sha256,
    )
    assert item.size == len(record.blob) and item.kiosk_id == record.kiosk_id
    assert outbox.claim_next() is None
    clock.now += 5
    outbox.mark_sent(record.record_id, '{"receipt_id": "R1"}')
    stored = outbox.get(record.record_id)
    assert stored.state == "sent" and stored.receipt == '{"receipt_id": "R1"}' and stored.sent_at == clock.now
    assert stored.blob is None and outbox.read_blob(record.record_id) is None  # the server holds it now
    assert outbox.counts()["sent"] == 1


def test_enqueueing_the_same_record_twice_keeps_one(outbox: Outbox) -> None:
    record = sealed()
    outbox.enqueue(record)
    outbox.enqueue(record)
    assert outbox.counts()["pending"] == 1


def test_unsealed_bytes_are_refused(outbox: Outbox) -> None:
    plain = SealedRecord(
        str(uuid.uuid4()), "K", "2024-05-01T03:04:05Z", b'{"nik": "7110014507900003"}', "0" * 64
    )
    with pytest.raises(OutboxError, match="not sealed"):
        outbox.enqueue(plain)
    assert outbox.counts()["pending"] == 0


def test_claims_oldest_first_and_only_when_due(outbox: Outbox, clock: FakeClock) -> None:
    records = [sealed() for _ in range(3)]
    for record in records:
        outbox.enqueue(record)
        clock.now += 1
    first = outbox.claim_next()
    assert first.record_id == records[0].record_id
    outbox.mark_retry(first.record_id, "HTTP 503", next_attempt=clock.now + 60)
    assert outbox.claim_next().record_id == records[1].record_id
    assert outbox.claim_next().record_id == records[2].record_id
    assert outbox.claim_next() is None  # the first one is not due yet
    assert outbox.next_due() == clock.now + 60
    clock.now += 60
    again = outbox.claim_next()
    assert again.record_id == records[0].record_id and again.attempts == 1 and again.last_error == "HTTP 503"


def test_sync_now_claims_records_that_are_not_due_yet(outbox: Outbox, clock: FakeClock) -> None:
    first, second = sealed(), sealed()
    outbox.enqueue(first)
    outbox.enqueue(second)
    outbox.mark_retry(outbox.claim_next().record_id, "timeout", next_attempt=clock.now + 3600)
    outbox.mark_retry(outbox.claim_next().record_id, "timeout", next_attempt=clock.now + 60)
    assert outbox.claim_next() is None
    assert outbox.claim_next(due_only=False).record_id == first.record_id
    assert outbox.claim_next(due_only=False).record_id == second.record_id
    assert outbox.claim_next(due_only=False) is None


def test_retry_dead_and_release(outbox: Outbox) -> None:
    a, b = sealed(), sealed()
    outbox.enqueue(a)
    outbox.enqueue(b)
    outbox.claim_next()
    outbox.mark_dead(a.record_id, "422: key reused for another record")
    outbox.mark_dead(b.record_id, "400 malformed")  # pending -> dead is allowed too
    dead = {item.record_id: item for item in outbox.items("dead")}
    assert dead[a.record_id].attempts == 1 and dead[b.record_id].attempts == 0
    assert dead[a.record_id].last_error == "422: key reused for another record"
    assert outbox.retry_dead([a.record_id, "no-such-id"]) == 1
    assert outbox.counts() == {"pending": 1, "sending": 0, "sent": 0, "dead": 1}
    assert outbox.retry_dead() == 1
    item = outbox.claim_next()
    assert item.attempts == 0
    outbox.release(item.record_id)
    assert outbox.get(item.record_id).state == "pending" and outbox.get(item.record_id).attempts == 0


@pytest.mark.parametrize(
    "transition",
    [
        lambda box, rid: box.mark_sent(rid, "{}"),
        lambda box, rid: box.mark_retry(rid, "x", 0.0),
        lambda box, rid: box.release(rid),
    ],
)
def test_transitions_are_guarded_by_the_old_state(outbox: Outbox, transition) -> None:
    record = sealed()
    outbox.enqueue(record)
    with pytest.raises(OutboxStateError, match="is pending, not sending"):
        transition(outbox, record.record_id)
    assert outbox.get(record.record_id).state == "pending"
    with pytest.raises(OutboxStateError, match="not in the outbox"):
        transition(outbox, "00000000-0000-4000-8000-000000000000")


def test_dead_cannot_die_again(outbox: Outbox) -> None:
    record = sealed()
    outbox.enqueue(record)
    outbox.mark_dead(record.record_id, "400")
    with pytest.raises(OutboxStateError, match="is dead"):
        outbox.mark_dead(record.record_id, "400")


def test_sent_is_final(outbox: Outbox) -> None:
    record = sealed()
    outbox.enqueue(record)
    outbox.claim_next()
    assert outbox.mark_acknowledged(record.record_id, '{"via": "usb"}', sha256=record.sha256)
    # The sync worker finishing its attempt afterwards changes nothing.
    outbox.mark_retry(record.record_id, "timeout", 0.0)
    outbox.mark_dead(record.record_id, "400")
    outbox.release(record.record_id)
    outbox.mark_sent(record.record_id, '{"via": "http"}')
    item = outbox.get(record.record_id)
    assert item.state == "sent" and item.receipt == '{"via": "usb"}' and item.last_error is None
    assert not outbox.mark_acknowledged(record.record_id, "{}")


def test_acknowledgement_with_another_hash_is_ignored(outbox: Outbox) -> None:
    record = sealed()
    outbox.enqueue(record)
    assert not outbox.mark_acknowledged(record.record_id, "{}", sha256="0" * 64)
    assert outbox.get(record.record_id).state == "pending"


def test_two_threads_never_claim_the_same_record(outbox: Outbox) -> None:
    for _ in range(40):
        outbox.enqueue(sealed(16))
    claimed: list[str] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        while (item := outbox.claim_next()) is not None:
            claimed.append(item.record_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 40 and len(set(claimed)) == 40


def test_two_processes_claiming_through_two_connections(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.sqlite3"
    a, b = Outbox(path, clock=clock), Outbox(path, clock=clock)
    try:
        a.enqueue(sealed())
        assert b.claim_next() is not None
        assert a.claim_next() is None
    finally:
        a.close()
        b.close()


CLAIM_AND_HANG = """
import sys
from kiosk.outbox import Outbox
outbox = Outbox(sys.argv[1])
for _ in range(int(sys.argv[2])):
    print(outbox.claim_next().record_id, flush=True)
print("claimed", flush=True)
sys.stdin.read()  # hang until killed
"""


def claim_in_child(path: Path, count: int) -> tuple[subprocess.Popen, list[str]]:
    """A child process that claims ``count`` records and then hangs, holding them."""
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, str(path), str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    claimed = []
    for line in child.stdout:
        if line.strip() == "claimed":
            return child, claimed
        claimed.append(line.strip())
    raise AssertionError(f"child ended early with {child.wait()}")


def test_rows_of_a_killed_sender_go_back_to_pending(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, clock=clock) as box:
        for _ in range(3):
            box.enqueue(sealed())
    child, claimed = claim_in_child(path, 2)
    try:
        # While the sender lives, neither opening the outbox nor asking for recovery takes its records.
        with Outbox(path, clock=clock) as box:
            assert box.counts()["sending"] == 2
            assert box.recover_interrupted() == 0
            child.kill()  # SIGKILL: no clean-up runs in the child
            child.wait()
            assert box.recover_interrupted() == 2
            assert box.counts() == {"pending": 3, "sending": 0, "sent": 0, "dead": 0}
            assert box.claim_next().record_id == claimed[0]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # The dead sender's token file was cleaned up; only live outboxes keep one.
    assert list(path.with_name(path.name + ".owners").glob("*.lock")) == []


def test_reopening_after_a_crash_recovers(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, clock=clock) as box:
        box.enqueue(sealed())
    child, _ = claim_in_child(path, 1)
    child.kill()
    child.wait()
    with Outbox(path, clock=clock) as box:
        assert box.counts() == {"pending": 1, "sending": 0, "sent": 0, "dead": 0}
        owners = list(path.with_name(path.name + ".owners").iterdir())
        assert len(owners) == 1  # only this outbox's own token file is left


def test_a_live_outbox_keeps_its_own_claims(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.sqlite3"
    sender, other = Outbox(path, clock=clock), Outbox(path, clock=clock)
    try:
        sender.enqueue(sealed())
        item = sender.claim_next()
        assert sender.recover_interrupted() == 0 and other.recover_interrupted() == 0
        assert Outbox(path, clock=clock).counts()["sending"] == 1  # opening does not take it either
        sender.mark_sent(item.record_id, "{}")
    finally:
        sender.close()
        other.close()


def test_closing_returns_unfinished_claims(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, clock=clock)
    box.enqueue(sealed())
    box.claim_next()
    box.close()
    with Outbox(path, clock=clock) as again:
        assert again.counts()["pending"] == 1


def test_purge_sent_after_retention(outbox: Outbox, clock: FakeClock, caplog) -> None:
    old, recent, waiting = sealed(), sealed(), sealed()
    for record in (old, recent, waiting):
        outbox.enqueue(record)
    outbox.claim_next()
    outbox.mark_sent(old.record_id, '{"receipt_id": "OLD"}')
    clock.now += 10 * 86400
    outbox.claim_next()
    outbox.mark_sent(recent.record_id, '{"receipt_id": "NEW"}')
    outbox.mark_dead(waiting.record_id, "400")
    clock.now += 86400
    with caplog.at_level("INFO", logger="kiosk.outbox"):
        assert outbox.purge_sent(older_than_s=5 * 86400) == 1
    assert outbox.get(old.record_id) is None
    assert old.record_id in caplog.text and "OLD" in caplog.text
    assert outbox.purge_sent(older_than_s=0) == 1
    assert outbox.counts() == {"pending": 0, "sending": 0, "sent": 0, "dead": 1}  # dead is never purged


def test_status_figures(outbox: Outbox, clock: FakeClock) -> None:
    assert outbox.oldest_pending_age() is None and outbox.next_due() is None
    outbox.enqueue(sealed())
    clock.now += 30
    outbox.enqueue(sealed())
    clock.now += 15
    assert outbox.oldest_pending_age() == 45
    outbox.claim_next()
    assert outbox.oldest_pending_age() == 45  # being sent is not delivered yet
    assert [item.state for item in outbox.items()] == ["sending", "pending"]
    assert len(outbox.items(limit=1)) == 1
    with pytest.raises(ValueError, match="unknown state"):
        outbox.items("lost")


def test_meta_values(outbox: Outbox) -> None:
    assert outbox.get_meta("last_sync") is None
    outbox.set_meta("last_sync", "ok")
    outbox.set_meta("last_sync", "failed: timeout")
    assert outbox.get_meta("last_sync") == "failed: timeout"


def test_every_connection_has_the_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    for _ in range(2):  # a fresh file, then an existing one
        box = Outbox(path)
        conn = box.db.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        box.close()


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    Outbox(path).close()
    box = Outbox(path)
    try:
        rows = box.db.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert rows == [(version, name) for version, name, _ in MIGRATIONS]
        assert box.schema_version() == MIGRATIONS[-1][0]
    finally:
        box.close()


def test_newer_schema_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    box.enqueue(sealed())
    box.db.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', '2030-01-01T00:00:00Z')")
    box.close()
    with pytest.raises(OutboxError, match="newer software"):
        Outbox(path)
    assert path.exists()


def test_damaged_file_is_moved_aside_not_deleted(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database, it is a damaged SD card sector" * 100)
    with pytest.raises(OutboxError, match="damaged.*moved aside"):
        Outbox(path, clock=clock)
    assert not path.exists()
    aside = list(tmp_path.glob("outbox.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    Outbox(path, clock=clock).close()  # the next start gets a fresh outbox


def test_corrupted_pages_are_found_by_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    for _ in range(20):
        box.enqueue(sealed(3000))
    box.checkpoint()
    box.close()
    data = bytearray(path.read_bytes())
    page = 4096
    # Scribble over the second page (a b-tree page of the outbox table or its index).
    data[page + 8 : page + 200] = b"\xa5" * 192
    path.write_bytes(bytes(data))
    with pytest.raises(OutboxError, match="damaged"):
        Outbox(path)
    assert list(tmp_path.glob("outbox.sqlite3.damaged-*"))


def test_damaged_schema_page_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path) as box:
        box.enqueue(sealed())
    data = bytearray(path.read_bytes())
    data[100:140] = b"\xff" * 40  # the b-tree header of the schema table, on page 1
    path.write_bytes(bytes(data))
    with pytest.raises(OutboxDamaged, match="damaged.*moved aside to"):
        Outbox(path)
    assert list(tmp_path.glob("outbox.sqlite3.damaged-*"))
    with Outbox(path) as fresh:
        assert fresh.counts()["pending"] == 0


def test_closed_outbox_says_so(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    box.close()
    box.close()
    with pytest.raises(OutboxError, match="closed"):
        box.counts()


def test_database_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.sqlite3"
    Outbox(path).close()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_checkpoint_truncates_the_wal(outbox: Outbox) -> None:
    outbox.enqueue(sealed(10_000))
    outbox.checkpoint()
    assert Path(f"{outbox.path}-wal").stat().st_size == 0
    assert sqlite3.connect(outbox.path).execute("SELECT count(*) FROM outbox").fetchone()[0] == 1


# -- batches, as the courier claims and acknowledges them for throughput ---------------------------


def test_claim_batch_takes_the_oldest_due_records_with_their_blobs(outbox: Outbox, clock: FakeClock) -> None:
    records = [sealed() for _ in range(5)]
    for record in records:
        outbox.enqueue(record)
        clock.now += 1
    outbox.mark_retry(outbox.claim_next().record_id, "503", next_attempt=clock.now + 60)  # not due

    batch = outbox.claim_batch(3)

    assert [item.record_id for item in batch] == [r.record_id for r in records[1:4]]
    assert [item.blob for item in batch] == [r.blob for r in records[1:4]]
    assert all(item.state == "sending" for item in batch)
    assert outbox.counts() == {"pending": 2, "sending": 3, "sent": 0, "dead": 0}
    assert [i.record_id for i in outbox.claim_batch(10, due_only=False)] == [
        records[0].record_id,
        records[4].record_id,
    ]
    assert outbox.claim_batch(10) == []


def test_mark_sent_many_records_every_receipt_and_drops_the_blobs(outbox: Outbox) -> None:
    records = [sealed() for _ in range(4)]
    for record in records:
        outbox.enqueue(record)
    batch = outbox.claim_batch(4)
    outbox.mark_sent(batch[0].record_id, '{"receipt_id": "r0"}')  # sent by another path already

    outbox.mark_sent_many([(item.record_id, f'{{"receipt_id": "r{n}"}}') for n, item in enumerate(batch)])

    assert outbox.counts() == {"pending": 0, "sending": 0, "sent": 4, "dead": 0}
    assert all(outbox.read_blob(r.record_id) is None for r in records)
    assert outbox.get(batch[2].record_id).receipt == '{"receipt_id": "r2"}'


def test_one_record_in_the_wrong_state_does_not_undo_the_others(outbox: Outbox) -> None:
    first, second = sealed(), sealed()
    outbox.enqueue(first)
    outbox.enqueue(second)
    claimed = outbox.claim_batch(1)
    assert [i.record_id for i in claimed] == [first.record_id]

    outbox.mark_sent_many([(second.record_id, "{}"), (first.record_id, '{"receipt_id": "ok"}')])

    assert outbox.get(first.record_id).state == "sent"
    assert outbox.get(second.record_id).state == "pending"


# -- the integrity check deferred until the kiosk serves (a cold check of a big queue takes seconds) ------


def test_a_background_check_finds_damage_and_the_next_open_moves_the_file_aside(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    for _ in range(20):
        box.enqueue(sealed(3000))
    box.checkpoint()
    box.close()
    data = bytearray(path.read_bytes())
    last_but_one = (len(data) // 4096 - 2) * 4096  # a blob page: nothing the open itself reads
    data[last_but_one : last_but_one + 200] = b"\xa5" * 200
    path.write_bytes(bytes(data))

    box = Outbox(path, check_on_open=False)  # opens at once and serves
    assert box.counts()["pending"] == 20
    assert box.check_in_background() != "ok"
    box.close()

    with pytest.raises(OutboxDamaged, match="moved aside"):
        Outbox(path, check_on_open=False)  # the failed check is remembered: this open checks
    assert list(tmp_path.glob("outbox.sqlite3.damaged-*"))
    with Outbox(path, check_on_open=False) as fresh:
        assert fresh.counts()["pending"] == 0
    assert not list(tmp_path.glob("*.check-failed"))


def test_a_background_check_of_a_sound_outbox_is_ok_and_leaves_no_marker(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite3", check_on_open=False) as box:
        box.enqueue(sealed())
        assert box.check_in_background() == "ok"
    assert not list(tmp_path.glob("*.check-failed"))
