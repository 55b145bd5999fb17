"""The office service speaks the ingest protocol exactly: raw HTTP requests, its CLI, its store."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import stat
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import nacl.signing
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_lab import IngestLab

import office.cli
from kiosk.protocol import parse_idempotency_key, verify_receipt
from office import db
from office.keys import ServerKeys
from office.store import Store


@pytest.fixture
def server(lab):
    with lab.server(max_body=50_000) as server:
        yield server


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    url = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        # HTTPMessage: header names are case-insensitive, as HTTP says.
        return response.status, response.headers, json.loads(response.read() or b"null")
    finally:
        conn.close()


def record_headers(lab: IngestLab, sealed, **overrides) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {lab.token}",
        "X-Kiosk-Id": lab.kiosk_id,
        "Idempotency-Key": f'"{sealed.record_id}"',
        "X-Record-SHA256": sealed.sha256,
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_created_then_repeat_gives_the_original_receipt(lab, server):
    record = lab.record(1)
    sealed = lab.seal(record)
    status, _, receipt = request(server, "POST", "/v1/records", sealed.blob, record_headers(lab, sealed))
    again_status, _, again = request(server, "POST", "/v1/records", sealed.blob, record_headers(lab, sealed))
    assert (status, again_status) == (201, 200)
    assert again == receipt
    assert set(receipt) == {"record_id", "kiosk_id", "sha256", "received_at", "receipt_id", "signature"}
    assert receipt["record_id"] == sealed.record_id
    # Signed with the acknowledgement key the kiosk pins: it verifies for exactly this record.
    verify_key = nacl.signing.VerifyKey(base64.b64decode(lab.keys.sign_public))
    verify_receipt(
        receipt, verify_key, record_id=sealed.record_id, kiosk_id=lab.kiosk_id, sha256=sealed.sha256
    )
    (received,) = server.records()
    assert received.receipt_id == receipt["receipt_id"]
    assert received.record == record


@pytest.mark.parametrize(
    ("overrides", "status", "words"),
    [
        ({"Authorization": None}, 401, "unknown kiosk token"),
        ({"Authorization": "Bearer nobody-has-this-token"}, 401, "unknown kiosk token"),
        ({"Authorization": "Basic abc"}, 401, "unknown kiosk token"),
        ({"X-Kiosk-Id": "SOMEONE-ELSE"}, 403, "another kiosk"),
        ({"Idempotency-Key": None}, 400, "Idempotency-Key"),
        ({"Idempotency-Key": "not-a-uuid"}, 400, "Idempotency-Key"),
        ({"X-Record-SHA256": "0" * 64}, 400, "does not match"),
        ({"X-Record-SHA256": "xyz"}, 400, "64 hex"),
    ],
)
def test_bad_requests_get_the_status_the_protocol_names(lab, server, overrides, status, words):
    sealed = lab.seal(lab.record(2))
    headers = record_headers(lab, sealed, **overrides)
    answer, answer_headers, body = request(server, "POST", "/v1/records", sealed.blob, headers)
    assert answer == status
    assert words in body["detail"]
    if status == 401:
        assert answer_headers["WWW-Authenticate"].startswith("Bearer")
    assert server.store.count() == 0


def test_key_of_the_record_inside_must_match_the_header(lab, server):
    sealed, other = lab.seal(lab.record(3)), lab.seal(lab.record(4))
    headers = record_headers(lab, sealed, **{"Idempotency-Key": f'"{other.record_id}"'})
    status, _, body = request(server, "POST", "/v1/records", sealed.blob, headers)
    assert status == 422
    assert "Idempotency-Key" in body["detail"]


def test_body_over_the_limit_is_413_without_reading_it(lab, server):
    sealed = lab.seal(lab.record(5, photo_size=60_000))
    status, headers, body = request(server, "POST", "/v1/records", sealed.blob, record_headers(lab, sealed))
    assert status == 413
    assert headers.get("Connection") == "close"


def test_chunked_body_is_refused_with_411(lab, server):
    sealed = lab.seal(lab.record(6))
    url = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.request("POST", "/v1/records", body=iter([sealed.blob]), headers=record_headers(lab, sealed),
                 encode_chunked=True)  # fmt: skip
    assert conn.getresponse().status == 411
    conn.close()


def test_health_and_heartbeat(lab, server):
    status, _, health = request(server, "GET", "/v1/health")
    assert (status, health["status"]) == (200, "ok")
    auth = {"Authorization": f"Bearer {lab.token}", "X-Kiosk-Id": lab.kiosk_id}
    assert request(server, "GET", "/v1/health", headers=auth)[2]["credentials"] == "accepted"

    snapshot = b'{"outbox": {"pending": 2},  "camera": "ok"}'  # stored exactly so, not re-serialised
    assert request(server, "POST", "/v1/heartbeat", snapshot, auth)[0] == 200
    assert request(server, "POST", "/v1/heartbeat", b"[1, 2]", auth)[0] == 400
    assert request(server, "POST", "/v1/heartbeat", b"{not json", auth)[0] == 400
    assert request(server, "POST", "/v1/heartbeat", '{"a": 1}'.encode("utf-16"), auth)[0] == 400
    assert request(server, "POST", "/v1/heartbeat", b'{"a": "\xff"}', auth)[0] == 400
    assert request(server, "POST", "/v1/heartbeat", snapshot)[0] == 401
    assert [beat.snapshot for beat in server.store.heartbeats()] == [json.loads(snapshot)]
    with server.store.engine.connect() as conn:
        assert conn.execute(sa.select(db.heartbeats.c.snapshot)).scalar_one() == snapshot.decode()
    assert request(server, "GET", "/v1/nothing")[0] == 404


def test_concurrent_deliveries_of_one_record_store_it_once(lab, server):
    sealed = lab.seal(lab.record(7))
    answers = []

    def post() -> None:
        answers.append(request(server, "POST", "/v1/records", sealed.blob, record_headers(lab, sealed)))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _, _ in answers) == [200] * 7 + [201]
    assert len({json.dumps(body, sort_keys=True) for _, _, body in answers}) == 1
    assert server.store.count() == 1


def test_parse_idempotency_key():
    key = "0b7c3c1e-0f0a-4b5e-9f0d-4a1e2b3c4d5e"
    assert parse_idempotency_key(f'"{key}"') == key
    assert parse_idempotency_key(key) is None  # a structured-field string is quoted
    assert parse_idempotency_key(f'"{key.upper()}"') is None
    assert parse_idempotency_key('"not-a-uuid-but-thirty-six-characters"') is None
    assert parse_idempotency_key(None) is None


def test_store_keeps_tokens_only_as_digests(lab):
    Store.open(lab.server_db).close()
    wal = Path(f"{lab.server_db}-wal")
    data = lab.server_db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert lab.token.encode() not in data
    assert hashlib.sha256(lab.token.encode()).hexdigest().encode() in data


def test_enroll_refuses_bad_input(lab):
    store = lab.store()
    try:
        with pytest.raises(ValueError, match="kiosk id"):
            store.enroll("bad id!", lab.identity.verify_key_b64, "x" * 20)
        with pytest.raises(ValueError, match="verify key"):
            store.enroll("K-1", "not-base64", "x" * 20)
        with pytest.raises(ValueError, match="at least"):
            store.enroll("K-1", lab.identity.verify_key_b64, "short")
        with pytest.raises(ValueError, match="another kiosk"):
            store.enroll("K-2", lab.identity.verify_key_b64, lab.token)
    finally:
        store.close()


def test_keygen_writes_a_private_key_file_and_never_replaces_it(tmp_path, capsys):
    key = tmp_path / "server.key"
    assert office.cli.main(["keygen", "--key", str(key)]) == 0
    printed = capsys.readouterr().out
    keys = ServerKeys.load(key)
    assert keys.box_public in printed and keys.sign_public in printed
    assert keys.box_secret not in printed
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    before = key.read_bytes()
    assert office.cli.main(["keygen", "--key", str(key)]) == 1
    assert "refusing" in capsys.readouterr().err
    assert key.read_bytes() == before


def test_enroll_command_generates_a_token_when_none_is_given(lab, capsys):
    code = office.cli.main(
        ["enroll", "--db", str(lab.server_db), "--kiosk-id", "BMT-NUANGAN-02", "--verify-key",
         lab.identity.verify_key_b64]
    )  # fmt: skip
    assert code == 0
    token = capsys.readouterr().out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    store = lab.store()
    try:
        assert store.kiosk_for_token(token).kiosk_id == "BMT-NUANGAN-02"
    finally:
        store.close()
    assert office.cli.main(["status", "--db", str(lab.server_db)]) == 0
    assert "BMT-NUANGAN-02 (active): 0 records" in capsys.readouterr().out


def test_serve_command_starts_with_one_command(lab):
    process = subprocess.Popen(
        [sys.executable, "-m", "office", "serve", "--db", str(lab.server_db), "--key",
         str(lab.directory / "server.key"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        sealed = lab.seal(lab.record(8))
        from kiosk.outbox import Outbox

        with Outbox(lab.outbox_path) as outbox:
            outbox.enqueue(sealed)
            assert lab.client(url).post_record(outbox.claim_next()).status == 201
    finally:
        process.terminate()
        process.wait(timeout=10)


_printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2000),
    key=st.one_of(st.none(), _printable),
    sha=st.one_of(st.none(), _printable, st.just("0" * 64)),
    path=st.sampled_from(["/v1/records", "/v1/heartbeat"]),
)
def test_no_request_of_an_enrolled_kiosk_makes_a_server_error(lab, server, body, key, sha, path):
    headers = {"Authorization": f"Bearer {lab.token}", "X-Kiosk-Id": lab.kiosk_id}
    headers.update({k: v for k, v in (("Idempotency-Key", key), ("X-Record-SHA256", sha)) if v is not None})
    status, answer_headers, _ = request(server, "POST", path, body, headers)
    assert status < 500
    if path == "/v1/records":
        assert status >= 400  # random bytes are never a sealed record of this kiosk
    if status >= 400:
        assert answer_headers["Content-Type"] == "application/problem+json"
