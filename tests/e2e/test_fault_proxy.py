"""The outbox delivered through the fault proxy, one network failure mode at a time.

Each test: records are enqueued, the sync worker (real client, real reference server, injected clock) meets
the fault, and the clock is moved to its next attempt until the queue settles. The result is always: no
record lost, none twice at the server, dead only for a permanent rejection (400), held on 401.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from fault_proxy import Fault

from hal.events import EventQueue
from kiosk.config import SyncSettings
from kiosk.events import CredentialsRejected
from kiosk.outbox import Outbox
from kiosk.sync import STOP_AFTER_FAILURES, SyncStatus, SyncWorker
from tests.kiosk.worker_waits import wait_for

RECORDS = 4
SETTINGS = SyncSettings(
    backoff_initial_s=2.0,
    backoff_max_s=300.0,
    poll_interval_s=60.0,
    heartbeat_interval_s=600.0,
    retention_days=7,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(lab, clock):
    with lab.outbox(clock=clock) as outbox:
        yield outbox


@pytest.fixture
def ids(lab, outbox) -> list[str]:
    return lab.enqueue(outbox, RECORDS, photo_size=3000)


@pytest.fixture
def start_worker(lab, proxy, outbox, clock, events):
    workers = []

    def start(client_timeout: float = 2.0) -> SyncWorker:
        client = lab.client(proxy.url, timeout=client_timeout, clock=clock)
        worker = SyncWorker(
            outbox,
            client,
            settings=SETTINGS,
            events=events,
            clock=clock,
            monotonic=clock,
            rng=random.Random(5),
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def settle(
    worker: SyncWorker,
    outbox: Outbox,
    events: EventQueue,
    clock: FakeClock,
    *,
    sent: int,
    dead: int = 0,
    on_failure: Callable[[], None] | None = None,
    max_rounds: int = 30,
) -> int:
    """Move the clock to each next attempt until ``sent`` and ``dead`` records settle; returns the failed
    attempts on the way (each record's attempts count its failures, and stay counted once it is sent)."""

    def done(s: SyncStatus) -> bool:
        return s.state == "idle" and s.counts.get("sent") == sent and s.counts.get("dead") == dead

    for _round in range(max_rounds):
        # "waiting" counts only once its new next attempt is set (the old one ended at clock.now).
        status = wait_for(
            worker, events, lambda s: done(s) or (s.state == "waiting" and s.next_attempt_at > clock.now)
        )
        if done(status):
            return sum(item.attempts for item in outbox.items(limit=None) if item.state == "sent")
        if on_failure is not None:
            on_failure()
        clock.now = status.next_attempt_at
        worker.wake()
    raise AssertionError("the queue never settled")


def assert_exactly_once(server, outbox, expected: list[str]) -> None:
    """Each expected record at the server once, and sent (with its receipt) at the kiosk.

    Not necessarily in enqueue order: a record that failed backs off on its own while later ones flow.
    """
    at_server = server.store.record_ids()
    assert len(at_server) == len(set(at_server))
    assert sorted(at_server) == sorted(expected)
    sent = {item.record_id: item for item in outbox.items("sent", limit=None)}
    assert set(sent) == set(expected)
    for record_id in expected:
        assert sent[record_id].receipt == server.store.find(record_id).receipt


def test_connection_refused(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.refused())
    worker = start_worker()
    failures = settle(
        worker, outbox, events, clock, sent=RECORDS, on_failure=lambda: proxy.set_fault(Fault.passthrough())
    )
    # Refused until the queue waits: that is after STOP_AFTER_FAILURES records failed in a row.
    assert failures == STOP_AFTER_FAILURES
    assert_exactly_once(server, outbox, ids)
    assert proxy.forwarded == RECORDS


def test_timeout_never_answered(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.timeout(), count=1)
    worker = start_worker(client_timeout=0.3)
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 1
    assert_exactly_once(server, outbox, ids)
    assert proxy.forwarded == RECORDS  # the held request never reached the server


def test_reset_mid_request(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.reset(), count=2)
    worker = start_worker()
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 2
    assert_exactly_once(server, outbox, ids)
    assert proxy.forwarded == RECORDS


def test_response_dropped_after_the_server_committed(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.drop_response(), count=1)
    worker = start_worker()
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 1
    # The first record reached the server twice; the retry got 200 and the original receipt.
    assert proxy.forwarded == RECORDS + 1
    assert_exactly_once(server, outbox, ids)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(server, proxy, outbox, ids, clock, start_worker, events, status):
    proxy.set_fault(Fault.answer(status), count=3)
    worker = start_worker()
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 3
    assert_exactly_once(server, outbox, ids)
    assert outbox.counts()["dead"] == 0


def test_503_with_retry_after_is_honoured(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.answer(503, retry_after=45), count=1)
    start = clock.now
    worker = start_worker()
    status = wait_for(worker, events, lambda s: s.state == "waiting")
    assert status.next_attempt_at == start + 45
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 1
    assert clock.now == start + 45
    assert_exactly_once(server, outbox, ids)


@pytest.mark.parametrize("retry_after", [None, 20])
def test_429_too_many_requests(server, proxy, outbox, ids, clock, start_worker, events, retry_after):
    proxy.set_fault(Fault.answer(429, retry_after=retry_after), count=1)
    start = clock.now
    worker = start_worker()
    status = wait_for(worker, events, lambda s: s.state == "waiting")
    if retry_after is not None:
        assert status.next_attempt_at == start + retry_after
    else:
        assert start <= status.next_attempt_at <= start + SETTINGS.backoff_initial_s
    settle(worker, outbox, events, clock, sent=RECORDS)
    assert_exactly_once(server, outbox, ids)


def test_400_is_the_only_dead_letter(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.rejection(400), count=1)
    worker = start_worker()
    assert settle(worker, outbox, events, clock, sent=RECORDS - 1, dead=1) == 0
    (dead,) = outbox.items("dead")
    assert dead.record_id == ids[0]
    assert "400" in dead.last_error
    assert_exactly_once(server, outbox, ids[1:])


def test_401_holds_everything_and_resumes_when_fixed(server, proxy, outbox, ids, clock, start_worker, events):
    proxy.set_fault(Fault.answer(401))
    worker = start_worker()
    wait_for(worker, events, lambda s: s.state == "held")
    assert outbox.counts() == {"pending": RECORDS, "sending": 0, "sent": 0, "dead": 0}
    assert server.store.count() == 0
    assert any(isinstance(e, CredentialsRejected) and e.status == 401 for e in events.drain())

    proxy.set_fault(Fault.passthrough())
    clock.now += SETTINGS.poll_interval_s
    worker.wake()
    settle(worker, outbox, events, clock, sent=RECORDS)
    assert_exactly_once(server, outbox, ids)
    assert all(item.attempts == 0 for item in outbox.items("sent"))


def test_very_slow_body_that_still_moves_gets_through(
    server, proxy, outbox, ids, clock, start_worker, events
):
    proxy.set_fault(Fault.slow(delay=0.005, chunk=1024, upload=True))
    worker = start_worker()
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 0
    assert_exactly_once(server, outbox, ids)


def test_body_too_slow_for_the_deadline_is_retried(server, proxy, outbox, ids, clock, start_worker, events):
    # The answer trickles: the server has committed, the client gives up, the retry gets the receipt.
    proxy.set_fault(Fault.slow(delay=0.1, chunk=8), count=1)
    worker = start_worker(client_timeout=0.4)
    assert settle(worker, outbox, events, clock, sent=RECORDS) == 1
    assert proxy.forwarded == RECORDS + 1
    assert_exactly_once(server, outbox, ids)


def test_random_faults_lose_nothing_and_duplicate_nothing(
    lab, server, proxy, outbox, clock, start_worker, events
):
    ids = lab.enqueue(outbox, 30)
    proxy.set_chaos(
        [
            Fault.reset(),
            Fault.drop_response(),
            Fault.answer(500),
            Fault.answer(503, retry_after=5),
            Fault.answer(429),
            Fault.timeout(),
        ],
        probability=0.4,
        rng=random.Random(2024),
    )
    worker = start_worker(client_timeout=0.3)
    failures = settle(worker, outbox, events, clock, sent=len(ids), max_rounds=300)
    assert_exactly_once(server, outbox, ids)
    # Every fault applied cost exactly one failed attempt, and there were plenty of them.
    assert failures == sum(n for label, n in proxy.applied.items() if label != "pass") >= 5
