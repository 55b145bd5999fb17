"""The service's own limits, against the service alone: revocation, rate limits, strict framing, early 413,
and slow connections that must not starve the kiosks."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from ingest_lab import IngestLab, ServiceProcess

from hal.events import EventQueue
from kiosk.config import SyncSettings
from kiosk.events import CredentialsRejected
from kiosk.protocol import parse_problem
from kiosk.sync import SyncWorker, sync_once
from office.limits import Rate, RateLimiter, header_problem


def _address(server) -> tuple[str, int]:
    url = urllib.parse.urlsplit(server.url)
    return url.hostname, url.port


def raw_exchange(server, request: bytes) -> bytes:
    """Send raw bytes, read the answer until the server closes or 5 s pass."""
    with socket.create_connection(_address(server), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks):
                    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                    length = [
                        line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
                    ]
                    if length and len(rest) >= int(length[0].split(b":")[1]):
                        break
        except TimeoutError:
            pass
    return b"".join(chunks)


def auth(lab: IngestLab) -> dict[str, str]:
    return {"Authorization": f"Bearer {lab.token}", "X-Kiosk-Id": lab.kiosk_id}


# -- revocation -----------------------------------------------------------------------------------------


def test_a_revoked_kiosk_is_refused_and_holds_its_queue_with_an_alert(lab, server):
    events = EventQueue()
    settings = SyncSettings(
        backoff_initial_s=2.0,
        backoff_max_s=300.0,
        poll_interval_s=60.0,
        heartbeat_interval_s=600.0,
        retention_days=1,
    )
    with lab.outbox() as outbox:
        ids = lab.enqueue(outbox, 3)
        assert sync_once(outbox, lab.client(server.url)).sent == 3
        server.store.revoke(lab.kiosk_id, actor="tester", reason="stolen")
        later = lab.enqueue(outbox, 2)

        delivery = lab.client(server.url).post_record(outbox.claim_next())
        assert (delivery.outcome, delivery.status) == ("hold", 403)
        assert "revoked" in delivery.reason
        outbox.release(later[0])

        woken = threading.Event()
        events.add_waker(woken.set)
        worker = SyncWorker(outbox, lab.client(server.url), events=events, settings=settings)
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while worker.status().state != "held":
                assert time.monotonic() < deadline, worker.status()
                woken.wait(0.25)
                woken.clear()
        finally:
            worker.stop()
        alerts = [event for event in events.drain() if isinstance(event, CredentialsRejected)]
        assert [alert.status for alert in alerts] == [403]
        assert outbox.counts()["pending"] == 2 and outbox.counts()["dead"] == 0
    assert server.store.record_ids() == ids
    assert lab.client(server.url).probe().credentials == "rejected"


# -- heartbeat flood ------------------------------------------------------------------------------------


def test_a_heartbeat_flood_is_answered_429_and_grows_nothing(lab):
    frozen = 1000.0  # the rate limiter's clock does not move: only the burst is allowed
    with lab.server(heartbeat_rate=Rate(per_second=0.1, burst=10), monotonic=lambda: frozen) as server:
        host, port = _address(server)
        conn = http.client.HTTPConnection(host, port, timeout=5)
        body = b'{"camera": "ok", "padding": "' + b"x" * 30_000 + b'"}'
        statuses, retry_after = [], set()

        def beat() -> None:
            conn.request("POST", "/v1/heartbeat", body=body, headers=auth(lab))
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            if response.status == 429:
                retry_after.add(response.headers["Retry-After"])
                conn.close()  # the answer closes the connection; the next request opens another

        for _ in range(20):
            beat()
        files = [lab.server_db, Path(f"{lab.server_db}-wal")]
        size_after_burst = sum(path.stat().st_size for path in files if path.exists())
        for _ in range(300):
            beat()
        size_after_flood = sum(path.stat().st_size for path in files if path.exists())

        assert statuses[:10] == [200] * 10
        assert statuses[10:] == [429] * 310
        assert retry_after == {"10"}
        assert len(server.store.heartbeats(lab.kiosk_id)) == 10
        assert size_after_flood == size_after_burst
        conn.close()


def test_rate_limiter_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(lambda: now[0], max_keys=2)
    rate = Rate(per_second=0.5, burst=2)
    assert [limiter.acquire("a", rate) for _ in range(3)] == [0.0, 0.0, pytest.approx(2.0)]
    now[0] += 2.0
    assert limiter.acquire("a", rate) == 0.0
    limiter.acquire("b", rate)
    limiter.acquire("c", rate)  # over max_keys: the least recently used bucket ("a") is forgotten
    assert limiter.acquire("a", rate) == 0.0


# -- strict framing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lengths",
    [
        [b"2", b"2"],
        [b"2", b"3"],
        [b"+2"],
        [b"1_0"],
        [b"0x2"],
        [b"-1"],
        [b" 2 2"],
    ],
)
@pytest.mark.parametrize("path", [b"/v1/heartbeat", b"/v1/records"])
def test_odd_or_duplicate_content_length_is_refused_with_400(lab, server, lengths, path):
    headers = b"".join(b"Content-Length: " + value + b"\r\n" for value in lengths)
    request = (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: office\r\nAuthorization: Bearer "
        + lab.token.encode()
        + b"\r\n"
        b"X-Kiosk-Id: " + lab.kiosk_id.encode() + b"\r\n" + headers + b"\r\n{}"
    )
    answer = raw_exchange(server, request)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert server.store.heartbeats() == [] and server.store.count() == 0


def test_header_problem_names_each_ambiguity():
    assert header_problem([(b"content-length", b"12")]) is None
    assert header_problem([]) is None
    assert "more than one" in header_problem([(b"content-length", b"1"), (b"Content-Length", b"1")])
    for value in (b"+2", b"1_0", b"0x1", b"1 0", b"", b"\xd9\xa3", b"9" * 16):
        assert "digits" in header_problem([(b"content-length", value)]), value
    assert "Transfer-Encoding" in header_problem(
        [(b"content-length", b"1"), (b"transfer-encoding", b"chunked")]
    )


# -- early answers the kiosk can read -------------------------------------------------------------------


def test_a_too_large_record_is_answered_413_and_the_kiosk_reads_it(lab):
    with lab.server(max_body=100_000) as server, lab.outbox() as outbox:
        # Megabytes: far more than the socket buffers, so the kiosk is still writing when the answer comes.
        lab.enqueue(outbox, 1, photo_size=6_000_000)
        delivery = lab.client(server.url, timeout=20).post_record(outbox.claim_next())
        assert (delivery.outcome, delivery.status) == ("dead", 413)
        assert "too large" in delivery.reason
        assert server.store.count() == 0


def test_expect_100_continue_gets_the_413_without_sending_the_body(lab):
    with lab.server(max_body=100_000) as server:
        sealed = lab.seal(lab.record(1))
        request = (
            f"POST /v1/records HTTP/1.1\r\nHost: office\r\nAuthorization: Bearer {lab.token}\r\n"
            f'X-Kiosk-Id: {lab.kiosk_id}\r\nIdempotency-Key: "{sealed.record_id}"\r\n'
            f"X-Record-SHA256: {sealed.sha256}\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n"
        ).encode()
        answer = raw_exchange(server, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in head
    problem = parse_problem("application/problem+json", body, status=413)
    assert problem is not None and problem.permanent and problem.record_id == sealed.record_id


# -- slow connections -----------------------------------------------------------------------------------


def test_500_trickling_connections_do_not_hold_up_10_kiosks(tmp_path):
    labs = [IngestLab.create(tmp_path / "lab0")]
    with labs[0].store() as store:
        for n in range(1, 10):
            lab = IngestLab.create(tmp_path / f"lab{n}", kiosk_id=f"SLOW-TEST-{n:02d}")
            lab.keys = labs[0].keys
            store.enroll(lab.kiosk_id, lab.identity.verify_key_b64, lab.token)
            labs.append(lab)
    # The service in its own process: this one holds the 500 client sockets (and the kiosks' select()).
    with ServiceProcess(labs[0].server_db, labs[0].directory / "server.key") as server:
        slow = [socket.create_connection(_address(server), timeout=5) for _ in range(500)]
        stop = threading.Event()

        def trickle() -> None:
            # One header byte per connection at a time, for as long as the kiosks deliver.
            line = b"POST /v1/records HTTP/1.1\r\nHost: office\r\nX-Padding: " + b"a" * 4000
            sent = 0
            while not stop.is_set() and sent < len(line):
                for sock in slow:
                    sock.send(line[sent : sent + 1])
                sent += 1
                stop.wait(0.05)

        trickler = threading.Thread(target=trickle)
        trickler.start()
        delivered: dict[str, list[str]] = {}

        def kiosk(lab: IngestLab) -> None:
            with lab.outbox() as outbox:
                ids = lab.enqueue(outbox, 10)
                report = sync_once(outbox, lab.client(server.url, timeout=10))
                delivered[lab.kiosk_id] = ids if report.sent == 10 else []

        try:
            kiosks = [threading.Thread(target=kiosk, args=(lab,)) for lab in labs]
            for thread in kiosks:
                thread.start()
            for thread in kiosks:
                thread.join()
        finally:
            stop.set()
            trickler.join()
            for sock in slow:
                sock.close()
    with labs[0].store() as store:
        stored = {(row.kiosk_id, row.record_id) for row in store.record_rows()}
    assert len(delivered) == 10 and all(len(ids) == 10 for ids in delivered.values())
    assert stored == {(kiosk_id, rid) for kiosk_id, ids in delivered.items() for rid in ids}


def test_a_connection_that_never_finishes_its_headers_is_closed(lab):
    with lab.server(header_timeout_s=0.3) as server:
        silent = socket.create_connection(_address(server), timeout=30)
        trickling = socket.create_connection(_address(server), timeout=30)
        trickling.sendall(b"POST /v1/records HTTP/1.1\r\nHost: off")
        # Both are closed by the service (recv returns end of file), not by this test's timeout.
        assert silent.recv(100) == b""
        assert trickling.recv(100) == b""
        silent.close()
        trickling.close()
        # A prompt client on a keep-alive connection is not cut: two requests, well apart in bytes.
        conn = http.client.HTTPConnection(*_address(server), timeout=5)
        for _ in range(2):
            conn.request("GET", "/v1/health")
            assert conn.getresponse().read() and conn.sock is not None
        conn.close()


def test_a_database_outage_is_503_with_retry_after_and_the_kiosk_retries(lab, postgres):
    from pg_lab import TempPostgres

    from office.store import Store

    with TempPostgres() as own:  # a server of this test's own, to stop under the service
        database = own.create_database()
        with Store.open(database, lab.keys) as store:
            store.enroll(lab.kiosk_id, lab.identity.verify_key_b64, lab.token)
        server = lab.make_server(database=database)
        with server.running(), lab.outbox() as outbox:
            lab.enqueue(outbox, 1)
            own.stop()
            delivery = lab.client(server.url).post_record(outbox.claim_next())
    assert (delivery.outcome, delivery.status) == ("retry", 503)  # not dead, not held: nothing was stored
    assert delivery.retry_after == 30 and not delivery.alert
