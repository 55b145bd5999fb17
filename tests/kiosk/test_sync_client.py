"""IngestClient against the real reference server on loopback: every answer becomes the right outcome."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import random
import threading

import nacl.signing
import pytest
from fault_proxy import Fault, FaultProxy
from ingest_lab import IngestLab

from kiosk.config import ConfigError, parse_config
from kiosk.outbox import Outbox
from kiosk.sealing import seal_record
from kiosk.sync import (
    FOREIGN_REJECTION_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    IngestClient,
    full_jitter_backoff,
    parse_retry_after,
    sync_once,
)


@pytest.fixture
def outbox(lab: IngestLab):
    with lab.outbox() as outbox:
        yield outbox


def claimed(lab: IngestLab, outbox: Outbox, seq: int = 0, photo_size: int = 0):
    """A record enqueued and claimed, as the worker would hold it."""
    outbox.enqueue(lab.seal(lab.record(seq, photo_size=photo_size)))
    item = outbox.claim_next()
    assert item is not None
    return item


def test_new_record_is_sent_and_a_repeat_gets_the_original_receipt(lab, server, outbox):
    item = claimed(lab, outbox, photo_size=200_000)
    client = lab.client(server.url)

    first = client.post_record(item)
    again = client.post_record(item)

    assert (first.outcome, first.status) == ("sent", 201)
    assert (again.outcome, again.status) == ("sent", 200)
    assert again.receipt == first.receipt
    assert server.store.record_ids() == [item.record_id]
    (received,) = server.records()
    assert received.record.fields["full_name"] == "WARGA PERCOBAAN 0"
    assert received.record.photo_jpeg == lab.record(0, photo_size=200_000).photo_jpeg


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        # A proxy's 400/413/422 (no problem document of the service's) is never the record's fault.
        (400, "retry"),
        (413, "retry"),
        (422, "retry"),
        (401, "hold"),
        (403, "hold"),
        (408, "retry"),
        (409, "retry"),
        (425, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
        (404, "retry"),  # a wrong URL is not the record's fault: never dead-lettered
    ],
)
def test_each_status_code_gets_the_outcome_the_design_lists(lab, proxy, outbox, status, outcome):
    proxy.set_fault(Fault.answer(status))
    delivery = lab.client(proxy.url).post_record(claimed(lab, outbox))
    assert (delivery.outcome, delivery.status) == (outcome, status)
    assert delivery.receipt is None
    assert str(status) in delivery.reason


def test_retry_after_in_seconds_and_as_http_date_is_passed_on(lab, proxy, outbox):
    now = 1_800_000_000.0
    client = lab.client(proxy.url, clock=lambda: now)
    item = claimed(lab, outbox)

    proxy.set_fault(Fault.answer(503, retry_after=7), count=1)
    assert client.post_record(item).retry_after == 7
    proxy.set_fault(Fault.answer(429, retry_after=email.utils.formatdate(now + 90, usegmt=True)), count=1)
    assert client.post_record(item).retry_after == pytest.approx(90)


def test_unknown_token_and_token_of_another_kiosk_hold(lab, server, outbox):
    store = lab.store()
    other_token = "another-kiosk-token-0123456789"
    store.enroll("OTHER-KIOSK", lab.identity.verify_key_b64, other_token)
    store.close()
    item = claimed(lab, outbox)

    unknown = lab.client(server.url, token="not-a-token-of-anyone-at-all").post_record(item)
    wrong_kiosk = lab.client(server.url, token=other_token).post_record(item)

    assert (unknown.outcome, unknown.status) == ("hold", 401)
    assert (wrong_kiosk.outcome, wrong_kiosk.status) == ("hold", 403)
    assert "another kiosk" in wrong_kiosk.reason
    assert server.store.count() == 0


def test_record_over_the_server_limit_is_dead_with_413(lab, outbox):
    with lab.server(max_body=10_000) as small:
        delivery = lab.client(small.url).post_record(claimed(lab, outbox, photo_size=20_000))
    assert (delivery.outcome, delivery.status) == ("dead", 413)


def test_same_key_with_another_body_is_dead_with_422(lab, server, outbox):
    item = claimed(lab, outbox)
    client = lab.client(server.url)
    assert client.post_record(item).outcome == "sent"
    # Same record id, other content (sealed again: a sealed box is never the same twice).
    record = lab.record(0)
    resealed = lab.seal(dataclasses.replace(record, record_id=item.record_id))
    other = dataclasses.replace(item, blob=resealed.blob, sha256=resealed.sha256)

    delivery = client.post_record(other)

    assert (delivery.outcome, delivery.status) == ("dead", 422)
    assert "Idempotency-Key" in delivery.reason


def test_record_sealed_to_another_server_is_dead_with_400(lab, server, outbox, tmp_path):
    stranger = IngestLab.create(tmp_path / "other", kiosk_id=lab.kiosk_id)
    sealed = stranger.seal(lab.record(0))
    outbox.enqueue(sealed)
    delivery = lab.client(server.url).post_record(outbox.claim_next())
    assert (delivery.outcome, delivery.status) == ("dead", 400)


def test_record_signed_by_another_kiosk_key_is_dead_with_422(lab, server, outbox, tmp_path):
    impostor = IngestLab.create(tmp_path / "impostor", kiosk_id=lab.kiosk_id)
    # Sealed to the right server, but signed with a key the server did not enrol.
    sealed = dataclasses.replace(lab, identity=impostor.identity).seal(lab.record(0))
    outbox.enqueue(sealed)
    delivery = lab.client(server.url).post_record(outbox.claim_next())
    assert (delivery.outcome, delivery.status) == ("dead", 422)
    assert "signature" in delivery.reason


def test_connection_refused_is_a_retry_in_plain_words(lab, outbox):
    with FaultProxy("http://127.0.0.1:9") as proxy:
        proxy.set_fault(Fault.refused())
        delivery = lab.client(proxy.url).post_record(claimed(lab, outbox))
    assert (delivery.outcome, delivery.status) == ("retry", None)
    assert "refused" in delivery.reason


def test_one_connection_is_kept_alive_for_many_records(lab, proxy, outbox):
    client = lab.client(proxy.url)
    for seq in range(20):
        assert client.post_record(claimed(lab, outbox, seq)).outcome == "sent"
    assert proxy.connections_accepted == 1


def test_client_reconnects_after_the_server_closed_the_connection(lab, proxy, outbox):
    client = lab.client(proxy.url)
    assert client.post_record(claimed(lab, outbox, 0)).outcome == "sent"
    proxy.set_fault(Fault.refused())  # resets every open connection...
    proxy.set_fault(Fault.passthrough())  # ...and listens again
    assert client.post_record(claimed(lab, outbox, 1)).outcome == "sent"
    assert proxy.connections_accepted == 2


def test_a_request_that_never_gets_an_answer_is_cut_at_the_deadline(lab, proxy, outbox):
    proxy.set_fault(Fault.timeout())
    client = lab.client(proxy.url, timeout=0.3)
    delivery = client.post_record(claimed(lab, outbox))
    assert (delivery.outcome, delivery.status) == ("retry", None)
    assert "too slow" in delivery.reason or "in time" in delivery.reason


def test_a_trickling_answer_is_cut_at_the_whole_request_deadline(lab, proxy, outbox):
    # Each piece arrives well within the socket timeout: only the whole-request budget stops it.
    proxy.set_fault(Fault.slow(delay=0.1, chunk=8), count=1)
    delivery = lab.client(proxy.url, timeout=0.5).post_record(claimed(lab, outbox))
    assert delivery.outcome == "retry"
    assert "too slow" in delivery.reason


def test_a_slow_but_moving_exchange_gets_through(lab, proxy, outbox):
    proxy.set_fault(Fault.slow(delay=0.01, chunk=512, upload=True))
    delivery = lab.client(proxy.url, timeout=2).post_record(claimed(lab, outbox, photo_size=4000))
    assert (delivery.outcome, delivery.status) == ("sent", 201)


def test_abort_cuts_a_request_in_flight_short(lab, proxy, outbox):
    proxy.set_fault(Fault.timeout())
    client = lab.client(proxy.url, timeout=60)
    result = []
    thread = threading.Thread(target=lambda: result.append(client.post_record(claimed(lab, outbox))))
    thread.start()
    assert proxy.wait_applied("timeout")
    client.abort()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert result[0].outcome == "retry"


def test_probe_says_whether_the_server_is_reachable_and_accepts_the_kiosk(lab, server):
    accepted = lab.client(server.url).probe()
    rejected = lab.client(server.url, token="wrong-token-wrong-token").probe()
    with FaultProxy(server.url) as proxy:
        proxy.set_fault(Fault.refused())
        unreachable = lab.client(proxy.url).probe()

    assert (accepted.reachable, accepted.credentials) == (True, "accepted")
    assert (rejected.reachable, rejected.credentials) == (True, "rejected")
    assert "token" in rejected.message
    assert (unreachable.reachable, unreachable.credentials) == (False, "unknown")
    assert "refused" in unreachable.message


def test_heartbeat_snapshot_is_stored_by_the_server(lab, server):
    assert lab.client(server.url).heartbeat({"camera": "failed", "queue": 3})
    assert not lab.client(server.url, token="wrong-token-wrong-token").heartbeat({"camera": "ok"})
    (beat,) = server.store.heartbeats(lab.kiosk_id)
    assert beat.snapshot == {"camera": "failed", "queue": 3}


def test_tls_is_verified_against_the_ca_bundle(lab, outbox, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_pem, key_pem, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    item = claimed(lab, outbox)
    with lab.server(tls_cert=cert_pem, tls_key=key_pem) as server:
        assert server.url.startswith("https://")
        untrusted = lab.client(server.url).post_record(item)
        trusted = lab.client(server.url, ca_bundle=ca_pem).post_record(item)
        unverified = lab.client(server.url, verify_tls=False).post_record(item)

    assert untrusted.outcome == "retry"
    assert "certificate" in untrusted.reason
    assert (trusted.outcome, trusted.status) == ("sent", 201)
    assert (unverified.outcome, unverified.status) == ("sent", 200)


def test_client_from_config_reads_the_token_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("secret-token-from-file\n")
    config = parse_config(
        f'[kiosk]\nid = "BMT-01"\n[server]\nurl = "https://ingest.example/base"\n'
        f'token_file = "{token_file}"\n'
    )
    client = IngestClient.from_config(config)
    assert client.kiosk_id == "BMT-01"
    assert client._auth_headers()["Authorization"] == "Bearer secret-token-from-file"


def test_parse_retry_after():
    now = 1_800_000_000.0
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0
    assert parse_retry_after("99999999", now) == MAX_RETRY_AFTER_S
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


def test_full_jitter_backoff_stays_under_the_capped_exponential():
    rng = random.Random(7)
    for failures in range(1, 40):
        ceiling = min(300.0, 2.0 * 2 ** (failures - 1))
        delays = [full_jitter_backoff(failures, 2.0, 300.0, rng) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole range, not clustered at the bottom
    assert full_jitter_backoff(10_000, 2.0, 300.0, rng) <= 300.0


def test_retry_after_arrives_even_when_time_moves(lab, proxy, outbox):
    # A clock read per request, not once: a date-based Retry-After is relative to the answer's time.
    moments = iter([1_800_000_000.0, 1_800_000_100.0])
    client = lab.client(proxy.url, clock=lambda: next(moments))
    date = email.utils.formatdate(1_800_000_200.0, usegmt=True)
    proxy.set_fault(Fault.answer(503, retry_after=date))
    item = claimed(lab, outbox)
    assert client.post_record(item).retry_after == pytest.approx(200)
    assert client.post_record(item).retry_after == pytest.approx(100)


def test_post_record_refuses_an_item_without_its_blob(lab, server, outbox):
    outbox.enqueue(lab.seal(lab.record(0)))
    (item,) = outbox.items()
    with pytest.raises(ValueError, match="claim_next"):
        lab.client(server.url).post_record(item)


def test_close_ends_a_request_in_flight_even_with_a_long_timeout(lab, proxy, outbox):
    proxy.set_fault(Fault.timeout())
    client = lab.client(proxy.url, timeout=120)
    done = threading.Event()
    threading.Thread(
        target=lambda: (client.post_record(claimed(lab, outbox)), done.set()), daemon=True
    ).start()
    assert proxy.wait_applied("timeout")
    client.close()
    assert done.wait(5)


def test_a_proxy_style_400_dead_letters_nothing_and_alerts(lab, proxy, outbox):
    for seq in range(3):
        outbox.enqueue(lab.seal(lab.record(seq)))
    proxy.set_fault(Fault.answer(400), count=3)

    report = sync_once(outbox, lab.client(proxy.url))

    assert report.dead == 0 and report.sent == 0
    assert outbox.counts()["dead"] == 0 and outbox.counts()["pending"] == 3
    delivery = lab.client(proxy.url).post_record(claimed(lab, outbox, seq=9))
    assert delivery.outcome == "retry" and delivery.alert
    assert delivery.retry_after is not None and delivery.retry_after >= FOREIGN_REJECTION_BACKOFF_S


def test_the_service_rejection_is_a_problem_document_naming_the_record(lab, server, outbox):
    big = claimed(lab, outbox, photo_size=200_000)
    with lab.server(max_body=1000) as small:
        delivery = lab.client(small.url).post_record(big)
    assert delivery.outcome == "dead" and "too large" in delivery.reason


@pytest.mark.parametrize("key", ["", "other"])
def test_a_201_without_the_pinned_key_signature_is_not_a_delivery(lab, server, outbox, key):
    item = claimed(lab, outbox)
    other = base64.b64encode(bytes(nacl.signing.SigningKey.generate().verify_key)).decode()
    client = lab.client(server.url, ack_verify_key=other if key else "")

    delivery = client.post_record(item)

    assert (delivery.outcome, delivery.status) == ("retry", 201)
    assert delivery.alert and "receipt" in delivery.reason
    assert delivery.receipt is None
    # The genuine key verifies the same stored record's receipt on the repeat, and keeps it signed.
    sent = lab.client(server.url).post_record(item)
    assert (sent.outcome, sent.status) == ("sent", 200)
    assert json.loads(sent.receipt)["signature"]


def test_records_are_keyed_by_kiosk_so_another_kiosk_cannot_block_an_id(lab, server, outbox, tmp_path):
    item = claimed(lab, outbox)
    intruder = IngestLab.create(tmp_path / "intruder", kiosk_id="BMT-OTHER-02")
    server.store.enroll(intruder.kiosk_id, intruder.identity.verify_key_b64, intruder.token)
    record = dataclasses.replace(intruder.record(0), record_id=item.record_id)
    sealed = seal_record(record, intruder.identity, lab.keys.box_public)
    with intruder.outbox() as other_outbox:
        other_outbox.enqueue(sealed)
        theirs = other_outbox.claim_next()
        assert theirs is not None and theirs.record_id == item.record_id
        first = intruder.client(server.url, ack_verify_key=lab.keys.sign_public).post_record(theirs)
    assert (first.outcome, first.status) == ("sent", 201)

    genuine = lab.client(server.url).post_record(item)

    assert (genuine.outcome, genuine.status) == ("sent", 201)
    assert json.loads(genuine.receipt)["kiosk_id"] == lab.kiosk_id
    assert server.store.find(item.record_id, lab.kiosk_id).kiosk_id == lab.kiosk_id


@pytest.mark.parametrize(
    ("server", "words"),
    [
        ('url = "http://ingest.example"', "https://"),
        ('url = "https://ingest.example"\nverify_tls = false', "verify_tls"),
    ],
)
def test_plain_http_and_unverified_tls_are_refused_unless_lab(server, words):
    with pytest.raises(ConfigError, match=words):
        parse_config(f'[kiosk]\nid = "BMT-01"\n[server]\n{server}\n')
    lab_config = parse_config(f'[kiosk]\nid = "BMT-01"\n[server]\n{server}\nlab = true\n')
    assert lab_config.server.lab


def test_a_process_holding_over_1024_descriptors_still_delivers(lab, server, outbox):
    """select.select fails past descriptor 1024 ("filedescriptor out of range"); the client must not care."""
    import os

    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        client = lab.client(server.url)
        first = claimed(lab, outbox, seq=1, photo_size=10_000)  # Expect: 100-continue waits on the socket
        assert client.post_record(first).outcome == "sent"
        second = claimed(lab, outbox, seq=2)  # the kept-alive connection is checked before reuse
        assert client.post_record(second).outcome == "sent"
        assert max(held) > 1024
    finally:
        for fd in held:
            os.close(fd)
