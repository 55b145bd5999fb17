"""SyncWorker and sync_once against the real reference server, with an injected clock (no sleeping)."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest
from fault_proxy import Fault
from ingest_lab import IngestLab

from kiosk.config import SyncSettings
from kiosk.events import CredentialsRejected, RecordRejected, SyncStatusChanged
from kiosk.outbox import META_LAST_SYNC
from kiosk.sync import IngestClient, SyncWorker, full_jitter_backoff, sync_once
from tests.kiosk.worker_waits import settled, wait_for

SETTINGS = SyncSettings(
    backoff_initial_s=2.0,
    backoff_max_s=300.0,
    poll_interval_s=60.0,
    heartbeat_interval_s=600.0,
    retention_days=1,
)


class FakeClock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(lab: IngestLab, clock: FakeClock):
    with lab.outbox(clock=clock) as outbox:
        yield outbox


@pytest.fixture
def make_worker(lab, proxy, outbox, clock, events):
    workers: list[SyncWorker] = []

    def make(**kwargs) -> SyncWorker:
        kwargs.setdefault("settings", SETTINGS)
        kwargs.setdefault("rng", random.Random(3))
        client = kwargs.pop("client", None) or lab.client(proxy.url, timeout=2.0, clock=clock)
        worker = SyncWorker(outbox, client, events=events, clock=clock, monotonic=clock, **kwargs)
        workers.append(worker)
        worker.start()
        return worker

    yield make
    for worker in workers:
        worker.stop()


def test_worker_drains_oldest_first_and_is_woken_on_enqueue(lab, server, outbox, make_worker, events):
    first = lab.enqueue(outbox, 5)
    worker = make_worker()
    wait_for(worker, events, settled(5))

    later = [lab.seal(lab.record(100 + i)) for i in range(3)]
    for sealed in later:
        outbox.enqueue(sealed)
    worker.wake()
    wait_for(worker, events, settled(8))

    assert server.store.record_ids() == first + [s.record_id for s in later]
    assert all(item.receipt for item in outbox.items("sent"))
    last = json.loads(outbox.get_meta(META_LAST_SYNC))
    assert (last["sent"], last["dead"], last["held"], last["error"], last["by"]) == (
        3,
        0,
        False,
        None,
        "worker",
    )


def test_503_retry_after_is_honoured(lab, server, proxy, outbox, clock, make_worker, events):
    ids = lab.enqueue(outbox, 3)
    proxy.set_fault(Fault.answer(503, retry_after=120))
    worker = make_worker()

    status = wait_for(worker, events, lambda s: s.state == "waiting")
    assert status.next_attempt_at == clock.now + 120
    (first,) = [item for item in outbox.items() if item.record_id == ids[0]]
    assert (first.state, first.attempts, first.next_attempt) == ("pending", 1, clock.now + 120)
    assert "503" in first.last_error
    assert proxy.applied["status:503"] == 1

    # Woken before the time is up (a record enqueued, say): the server is left alone.
    proxy.set_fault(Fault.passthrough())
    clock.advance(119)
    worker.wake()
    wait_for(worker, events, lambda s: s.state == "waiting" and s.next_attempt_at == clock.now + 1)
    assert proxy.applied["status:503"] == 1 and proxy.applied["pass"] == 0

    clock.advance(1)
    worker.wake()
    wait_for(worker, events, settled(3))
    assert server.store.record_ids() == ids


def test_failures_back_off_with_capped_full_jitter(lab, proxy, outbox, clock, make_worker, events):
    lab.enqueue(outbox, 1)
    proxy.set_fault(Fault.answer(500))
    worker = make_worker(rng=random.Random(11))
    expected = random.Random(11)

    for failures in range(1, 12):
        status = wait_for(
            worker,
            events,
            # A new wait is set once the failure is stored; the old one ended at clock.now.
            lambda s, n=failures: (
                s.state == "waiting" and proxy.applied["status:500"] == n and s.next_attempt_at > clock.now
            ),
        )
        delay = full_jitter_backoff(failures, SETTINGS.backoff_initial_s, SETTINGS.backoff_max_s, expected)
        assert status.next_attempt_at == pytest.approx(clock.now + delay)
        assert delay <= min(SETTINGS.backoff_max_s, SETTINGS.backoff_initial_s * 2 ** (failures - 1))
        clock.advance(delay)
        worker.wake()
    (item,) = outbox.items()
    assert (item.state, item.attempts) == ("pending", 11)


def test_401_holds_the_queue_and_resumes_when_fixed(lab, server, proxy, outbox, clock, make_worker, events):
    ids = lab.enqueue(outbox, 4)
    proxy.set_fault(Fault.answer(401))
    worker = make_worker()

    wait_for(worker, events, lambda s: s.state == "held")
    alerts = [e for e in events.drain() if isinstance(e, CredentialsRejected)]
    assert [a.status for a in alerts] == [401]
    assert outbox.counts() == {"pending": 4, "sending": 0, "sent": 0, "dead": 0}
    assert all(item.attempts == 0 for item in outbox.items())  # the records are not at fault
    assert server.store.count() == 0
    last = json.loads(outbox.get_meta(META_LAST_SYNC))
    assert last["held"] and "401" in last["error"]

    # Still wrong at the next look: no second alert, nothing dead.
    clock.advance(SETTINGS.poll_interval_s)
    worker.wake()
    wait_for(
        worker,
        events,
        lambda s: s.state == "held" and s.next_attempt_at == clock.now + SETTINGS.poll_interval_s,
    )
    assert proxy.applied["status:401"] == 2
    assert not [e for e in events.drain() if isinstance(e, CredentialsRejected)]

    proxy.set_fault(Fault.passthrough())  # the office fixed the enrolment
    clock.advance(SETTINGS.poll_interval_s)
    worker.wake()
    wait_for(worker, events, settled(4))
    assert server.store.record_ids() == ids


def test_permanent_rejection_is_dead_and_the_queue_goes_on(lab, server, proxy, outbox, make_worker, events):
    ids = lab.enqueue(outbox, 3)
    proxy.set_fault(Fault.rejection(400), count=1)
    worker = make_worker()

    wait_for(worker, events, settled(2, dead=1))
    (dead,) = outbox.items("dead")
    assert dead.record_id == ids[0]
    assert "400" in dead.last_error
    rejected = [e for e in events.drain() if isinstance(e, RecordRejected)]
    assert [(e.record_id, e.status) for e in rejected] == [(ids[0], 400)]
    assert server.store.record_ids() == ids[1:]


def test_sync_now_tries_records_that_are_backing_off(lab, server, proxy, outbox, make_worker, events):
    lab.enqueue(outbox, 2)
    proxy.set_fault(Fault.answer(503, retry_after=3600), count=1)
    worker = make_worker()
    wait_for(worker, events, lambda s: s.state == "waiting")

    worker.sync_now()
    wait_for(worker, events, settled(2))


def test_status_events_tell_the_ui_what_happens(lab, proxy, outbox, make_worker, events):
    lab.enqueue(outbox, 2)
    proxy.set_fault(Fault.answer(503, retry_after=30), count=1)
    worker = make_worker()
    wait_for(worker, events, lambda s: s.state == "waiting")
    changes = [e for e in events.drain() if isinstance(e, SyncStatusChanged)]
    assert changes[-1].state == "waiting"
    assert changes[-1].pending == 2
    assert "503" in changes[-1].detail


def test_stop_is_prompt_with_a_request_in_flight_and_counts_no_attempt(lab, proxy, outbox, clock, events):
    lab.enqueue(outbox, 1)
    proxy.set_fault(Fault.timeout())
    worker = SyncWorker(
        outbox,
        lab.client(proxy.url, timeout=120),
        settings=SETTINGS,
        events=events,
        clock=clock,
        monotonic=clock,
    )
    worker.start()
    assert proxy.wait_applied("timeout")

    worker.stop(timeout=5)

    assert worker.status().state == "stopped"
    (item,) = outbox.items()
    assert (item.state, item.attempts) == ("pending", 0)


def test_heartbeat_carries_the_snapshot_and_the_queue(lab, server, outbox, clock, make_worker, events):
    lab.enqueue(outbox, 2)
    worker = make_worker(heartbeat=lambda: {"camera": "failed", "battery_percent": 81})
    wait_for(worker, events, settled(2))
    (beat,) = server.store.heartbeats(lab.kiosk_id)
    assert beat.snapshot["camera"] == "failed"
    assert beat.snapshot["outbox"]["counts"]["pending"] == 2  # taken before this pass sent them
    assert beat.snapshot["outbox"]["accepts_new_session"] is True
    assert beat.snapshot["outbox"]["used_bytes"] > 0 and beat.snapshot["outbox"]["free_bytes"] > 0

    clock.advance(SETTINGS.heartbeat_interval_s)
    worker.wake()
    wait_for(worker, events, lambda s: len(server.store.heartbeats(lab.kiosk_id)) == 2)
    assert server.store.heartbeats(lab.kiosk_id)[1].snapshot["outbox"]["counts"]["sent"] == 2


def test_a_broken_heartbeat_snapshot_does_not_stop_deliveries(lab, outbox, make_worker, events):
    lab.enqueue(outbox, 1)

    def broken() -> dict:
        raise RuntimeError("camera driver crashed")

    worker = make_worker(heartbeat=broken)
    wait_for(worker, events, settled(1))


def test_sent_records_are_purged_after_the_retention(lab, outbox, clock, make_worker, events):
    lab.enqueue(outbox, 2)
    worker = make_worker()
    wait_for(worker, events, settled(2))

    clock.advance(SETTINGS.retention_days * 86400 + 3600)
    worker.wake()
    wait_for(worker, events, lambda s: s.state == "idle" and s.counts.get("sent") == 0)
    assert outbox.items() == []


def test_start_twice_is_refused(lab, proxy, outbox, make_worker):
    worker = make_worker()
    with pytest.raises(RuntimeError):
        worker.start()


# -- sync_once ---------------------------------------------------------------------------------------------


def test_sync_once_sends_everything_with_progress(lab, server, outbox, clock):
    ids = lab.enqueue(outbox, 5)
    seen = []
    report = sync_once(
        outbox, lab.client(server.url), lambda done, total: seen.append((done, total)), clock=clock
    )
    assert (report.sent, report.dead, report.retried, report.held, report.error) == (5, 0, 0, False, None)
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert server.store.record_ids() == ids


def test_sync_once_tries_records_not_yet_due(lab, server, proxy, outbox, clock):
    lab.enqueue(outbox, 2)
    proxy.set_fault(Fault.answer(503, retry_after=600), count=1)
    first = sync_once(outbox, lab.client(proxy.url), clock=clock)
    assert (first.sent, first.retried, first.held) == (0, 1, False)
    assert "503" in first.error

    again = sync_once(outbox, lab.client(proxy.url), clock=clock)
    assert (again.sent, again.error) == (2, None)


def test_sync_once_stops_on_hold_and_goes_on_after_dead(lab, server, proxy, outbox, clock):
    lab.enqueue(outbox, 3)
    proxy.set_fault(Fault.rejection(422), count=1)
    report = sync_once(outbox, lab.client(proxy.url), clock=clock)
    assert (report.sent, report.dead) == (2, 1)

    lab.enqueue(outbox, 1)
    proxy.set_fault(Fault.answer(403))
    held = sync_once(outbox, lab.client(proxy.url), clock=clock)
    assert held.held and held.sent == 0
    assert outbox.counts()["pending"] == 1
    assert outbox.items("pending")[0].attempts == 0


def test_a_damaged_stored_record_goes_dead_without_being_sent(lab, server, proxy, outbox, clock):
    ids = lab.enqueue(outbox, 3)
    # A flipped bit on the SD card, written behind the outbox's back.
    db = sqlite3.connect(outbox.path)
    (seq,) = db.execute("SELECT seq FROM outbox WHERE record_id = ?", (ids[1],)).fetchone()
    (blob,) = db.execute("SELECT blob FROM outbox_blobs WHERE seq = ?", (seq,)).fetchone()
    with db:
        db.execute(
            "UPDATE outbox_blobs SET blob = ? WHERE seq = ?",
            (blob[:99] + bytes([blob[99] ^ 4]) + blob[100:], seq),
        )
    db.close()
    report = sync_once(outbox, lab.client(proxy.url), clock=clock)
    assert (report.sent, report.dead) == (2, 1)
    (dead,) = outbox.items("dead")
    assert dead.record_id == ids[1]
    assert "damaged" in dead.last_error
    assert proxy.forwarded == 2
    assert server.store.record_ids() == [ids[0], ids[2]]


def test_a_bug_while_sending_neither_strands_the_record_nor_kills_the_worker(
    lab, server, outbox, clock, make_worker, events, caplog
):
    class OnceBroken(IngestClient):
        broken = True

        def post_record(self, item):
            if self.broken:
                self.broken = False
                raise RuntimeError("a bug")
            return super().post_record(item)

    lab.enqueue(outbox, 1)
    worker = make_worker(
        client=OnceBroken(
            server.url, lab.token, lab.kiosk_id, timeout=2, clock=clock, ack_verify_key=lab.keys.sign_public
        )
    )
    status = wait_for(worker, events, lambda s: s.state == "waiting")
    (item,) = outbox.items()
    assert (item.state, item.attempts) == ("pending", 1)
    assert "internal error" in item.last_error
    assert "a bug" in caplog.text

    clock.now = status.next_attempt_at
    worker.wake()
    wait_for(worker, events, settled(1))
