"""Field hardening of delivery (issue 10 items 3, 4, 5): no head-of-line blocking, monotonic scheduling, a
middlebox's 400 dead-letters nothing. Real reference server and fault proxy on loopback, injected clocks."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable

import pytest
from fault_proxy import Fault
from ingest_lab import IngestLab

from kiosk.config import SyncSettings
from kiosk.events import DeliveryAlert, RecordRejected
from kiosk.protocol import Problem
from kiosk.sync import FOREIGN_REJECTION_BACKOFF_S, SyncWorker
from tests.kiosk.worker_waits import settled, wait_for

SETTINGS = SyncSettings(
    backoff_initial_s=2.0,
    backoff_max_s=300.0,
    poll_interval_s=60.0,
    heartbeat_interval_s=600.0,
    retention_days=30,
)
DAY = 86400.0


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def mono() -> FakeClock:
    return FakeClock(5_000.0)


@pytest.fixture
def outbox(lab: IngestLab, wall: FakeClock):
    with lab.outbox(clock=wall) as outbox:
        yield outbox


@pytest.fixture
def start_worker(lab, outbox, wall, mono, events):
    workers: list[SyncWorker] = []

    def start(url: str, **kwargs) -> SyncWorker:
        client = kwargs.pop("client", None) or lab.client(url, timeout=2.0, clock=wall)
        kwargs.setdefault("settings", SETTINGS)
        worker = SyncWorker(
            outbox, client, events=events, clock=wall, monotonic=mono, rng=random.Random(7), **kwargs
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


# -- no head-of-line blocking (item 3) --------------------------------------------------------------------


def test_an_oversized_record_ahead_of_20_normal_ones_lets_them_through_and_is_dead_as_too_large(
    lab, outbox, start_worker, events
):
    big = lab.seal(lab.record(0, photo_size=300_000))
    outbox.enqueue(big)
    normal = lab.enqueue(outbox, 20)
    with lab.server(max_body=100_000) as small:
        worker = start_worker(small.url)
        wait_for(worker, events, settled(20, dead=1))
        assert small.store.record_ids() == normal

    (dead,) = outbox.items("dead")
    assert dead.record_id == big.record_id
    assert "too large" in dead.last_error and "413" in dead.last_error
    assert dead.attempts == 1  # dead after one answer, not after hundreds of resets
    rejected = [e for e in events.drain() if isinstance(e, RecordRejected)]
    assert [(e.record_id, e.status) for e in rejected] == [(big.record_id, 413)]


def test_the_413_is_read_over_tls_too_before_any_byte_of_the_body(lab, outbox, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_pem, key_pem, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    outbox.enqueue(lab.seal(lab.record(0, photo_size=2_000_000)))
    item = outbox.claim_next()
    with lab.server(tls_cert=cert_pem, tls_key=key_pem, max_body=50_000) as small:
        client = lab.client(small.url, ca_bundle=ca_pem)
        first = client.post_record(item)
        # The connection that carried the refusal is not reused: the next request goes through cleanly.
        outbox.enqueue(lab.seal(lab.record(1)))
        second = client.post_record(outbox.claim_next())
    assert (first.outcome, first.status) == ("dead", 413)
    assert "too large" in first.reason
    assert (second.outcome, second.status) == ("sent", 201)


class RawServer:
    """A one-connection HTTP server on a raw socket, to play servers the reference one is not."""

    def __init__(self, answer: Callable[[socket.socket, bytes], None]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._answer = answer
        self.body_bytes = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            self._answer(conn, head)

    def read_body(self, conn: socket.socket, head: bytes) -> None:
        headers, _, already = head.partition(b"\r\n\r\n")
        length = int(
            next(line for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length")).split(
                b":"
            )[1]
        )
        self.body_bytes = len(already)
        while self.body_bytes < length:
            self.body_bytes += len(conn.recv(65536))

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)


def test_an_early_413_is_read_even_when_the_server_closes_at_once(lab, outbox):
    outbox.enqueue(lab.seal(lab.record(0, photo_size=500_000)))
    item = outbox.claim_next()

    def refuse(conn: socket.socket, head: bytes) -> None:
        # No "100 Continue", no lingering: the answer, then an immediate close.
        problem = Problem(413, "too-large", "Record too large", "over 64 KB", item.record_id, permanent=True)
        body = problem.to_json()
        conn.sendall(
            b"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/problem+json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    server = RawServer(refuse)
    try:
        delivery = lab.client(server.url).post_record(item)
    finally:
        server.close()
    assert (delivery.outcome, delivery.status) == ("dead", 413)
    assert "too large" in delivery.reason


def test_a_server_that_ignores_expect_still_gets_the_body_and_answers(lab, outbox):
    outbox.enqueue(lab.seal(lab.record(0, photo_size=50_000)))
    item = outbox.claim_next()

    def busy(conn: socket.socket, head: bytes) -> None:
        assert b"expect: 100-continue" in head.lower()
        server.read_body(conn, head)  # waits for the body without ever saying "100 Continue"
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n")

    server = RawServer(busy)
    try:
        delivery = lab.client(server.url).post_record(item)
    finally:
        server.close()
    assert (delivery.outcome, delivery.status, delivery.retry_after) == ("retry", 503, 7)
    assert server.body_bytes == len(item.blob)


def test_a_failing_record_backs_off_on_its_own_while_the_ones_behind_it_flow(
    lab, server, proxy, outbox, wall, mono, start_worker, events
):
    ids = lab.enqueue(outbox, 20)
    proxy.set_fault(Fault.answer(500), count=1)  # the oldest record crashes the server, once
    worker = start_worker(proxy.url)

    # Without any clock moving: the 19 behind it are delivered while the first waits on its own backoff.
    status = wait_for(worker, events, lambda s: s.state == "waiting" and s.counts.get("sent") == 19)
    (first,) = outbox.items("pending")
    assert (first.record_id, first.attempts) == (ids[0], 1)
    assert status.next_attempt_at <= wall.now + SETTINGS.backoff_initial_s

    mono.now += SETTINGS.backoff_initial_s
    worker.wake()
    wait_for(worker, events, settled(20))
    assert sorted(server.store.record_ids()) == sorted(ids)


# -- monotonic scheduling (item 4) ------------------------------------------------------------------------


@pytest.mark.parametrize("jump", [DAY, -DAY], ids=["clock+1day", "clock-1day"])
def test_wall_clock_jumps_delay_nothing(lab, server, proxy, outbox, wall, mono, start_worker, events, jump):
    ids = lab.enqueue(outbox, 40)
    proxy.set_fault(Fault.refused())
    worker = start_worker(proxy.url)
    waiting = wait_for(worker, events, lambda s: s.state == "waiting" and s.last_error is not None)
    assert waiting.next_attempt_at - wall.now <= SETTINGS.backoff_max_s

    # NTP corrects the clock (or fake-hwclock's stale time is replaced) while the network comes back.
    wall.now += jump
    proxy.set_fault(Fault.passthrough())
    worker.wake()  # a fresh status, in the corrected clock's time
    wait_for(worker, events, lambda s: s != waiting)
    spent = 0.0
    for _round in range(20):
        status = worker.status()
        if status.state == "idle" and status.counts.get("sent") == 40:
            break
        if status.state == "waiting":
            wait = status.next_attempt_at - wall.now
            # Never a day away, whatever the wall clock did.
            assert 0.0 <= wait <= SETTINGS.backoff_max_s
            mono.now += wait
            spent += wait
        worker.wake()
        wait_for(worker, events, lambda s, before=status: s != before and s.state != "sending")
    wait_for(worker, events, settled(40))
    assert spent <= SETTINGS.backoff_max_s
    assert sorted(server.store.record_ids()) == sorted(ids)


def test_a_next_attempt_stored_under_a_wrong_clock_does_not_hold_a_record_after_a_restart(
    lab, server, outbox, wall, start_worker, events
):
    # Written while the clock was a day ahead: the stored next attempt is a day in the "future".
    ids = lab.enqueue(outbox, 3)
    for item in outbox.claim_batch(len(ids), due_only=False):
        outbox.mark_retry(item.record_id, "the server did not answer in time", wall.now + DAY)
    assert outbox.next_due() == wall.now + DAY
    worker = start_worker(server.url)
    wait_for(worker, events, settled(3))


def test_heartbeats_keep_their_rhythm_across_clock_jumps(
    lab, server, outbox, wall, mono, start_worker, events
):
    worker = start_worker(server.url, heartbeat=lambda: {"probe": True})
    wait_for(worker, events, lambda s: len(server.store.heartbeats(lab.kiosk_id)) == 1)

    wall.now -= DAY  # backwards: a wall-clock timer would wait a day
    mono.now += SETTINGS.heartbeat_interval_s
    worker.wake()
    wait_for(worker, events, lambda s: len(server.store.heartbeats(lab.kiosk_id)) == 2)

    wall.now += 2 * DAY  # forwards: a wall-clock timer would fire at every wake
    worker.wake()
    lab.enqueue(outbox, 1)
    worker.wake()
    wait_for(worker, events, settled(1))
    assert len(server.store.heartbeats(lab.kiosk_id)) == 2


# -- a middlebox's 400 (item 5) ---------------------------------------------------------------------------


def test_a_proxy_style_400_dead_letters_nothing_holds_the_queue_long_and_alerts(
    lab, server, proxy, outbox, wall, mono, start_worker, events
):
    ids = lab.enqueue(outbox, 10)
    proxy.set_fault(Fault.answer(400))  # an HTML page from a proxy or captive portal, for every request
    worker = start_worker(proxy.url)

    status = wait_for(worker, events, lambda s: s.state == "waiting")
    assert outbox.counts()["dead"] == 0
    assert status.next_attempt_at >= wall.now + FOREIGN_REJECTION_BACKOFF_S
    assert proxy.applied["status:400"] == 1  # the queue stopped at the first foreign answer
    assert "did not come from the ingest service" in status.alert
    alerts = [e for e in events.drain() if isinstance(e, DeliveryAlert)]
    assert len(alerts) == 1 and "400" in alerts[0].reason

    # Woken early (a record enqueued): the middlebox is left alone until the long wait is over.
    ids += lab.enqueue(outbox, 1)
    worker.wake()
    wait_for(worker, events, lambda s: s.state == "waiting" and s.pending == 11)
    assert proxy.applied["status:400"] == 1

    proxy.set_fault(Fault.passthrough())  # the office fixed its proxy
    mono.now += FOREIGN_REJECTION_BACKOFF_S
    worker.wake()
    wait_for(worker, events, settled(11))
    assert sorted(server.store.record_ids()) == sorted(ids)
    assert worker.status().alert is None
