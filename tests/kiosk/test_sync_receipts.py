"""A 201 is a delivery only with the office service's signed receipt for exactly this record (issue 10).

A fake server on loopback answers every post with a 201 of our choosing: unsigned, signed by another key,
signed for another record, not JSON. Each time the kiosk keeps the sealed record (pending, blob intact) and
the reason names the missing receipt, so maintenance shows it; only the genuine receipt lets the record go.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nacl.signing
import pytest
from ingest_lab import IngestLab

from kiosk.outbox import Outbox
from kiosk.protocol import sign_receipt
from kiosk.sync import RECEIPT_ALERT, sync_once

#: Makes the body of the 201 from the posted record's id, sha256 and the kiosk id.
Answer = Callable[[str, str, str], bytes]


@pytest.fixture
def fake_server() -> Iterator[Callable[[Answer], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                record_id = self.headers["Idempotency-Key"].strip('"')
                body = answer(record_id, self.headers["X-Record-SHA256"], self.headers["X-Kiosk-Id"])
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _signed(key: nacl.signing.SigningKey, record_id: str, sha256: str, kiosk_id: str) -> bytes:
    receipt = sign_receipt(
        key, record_id=record_id, kiosk_id=kiosk_id, sha256=sha256, received_at="2026-12-02T09:12:03.120Z"
    )
    return receipt.to_json().encode()


def _service_key(lab: IngestLab) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(base64.b64decode(lab.keys.sign_secret))


FORGED: dict[str, Callable[[IngestLab], Answer]] = {
    "unsigned, as the old reference server answered": lambda lab: (
        lambda rid, sha, kid: json.dumps(
            {"record_id": rid, "received_at": "2026-12-02T09:12:03.120Z", "receipt_id": rid}
        ).encode()
    ),
    "signed by a key that is not the service's": lambda lab: (
        lambda rid, sha, kid: _signed(nacl.signing.SigningKey.generate(), rid, sha, kid)
    ),
    "the service's signature over another hash": lambda lab: (
        lambda rid, sha, kid: _signed(_service_key(lab), rid, "0" * 64, kid)
    ),
    "the service's signature for another kiosk": lambda lab: (
        lambda rid, sha, kid: _signed(_service_key(lab), rid, sha, "ANOTHER-KIOSK")
    ),
    "not JSON at all": lambda lab: lambda rid, sha, kid: b"<html>Created</html>",
}


@pytest.mark.parametrize("forgery", sorted(FORGED))
def test_a_201_without_the_services_signed_receipt_keeps_the_record(lab, fake_server, forgery):
    url = fake_server(FORGED[forgery](lab))
    with lab.outbox() as outbox:
        lab.enqueue(outbox, 3)
        report = sync_once(outbox, lab.client(url))
        assert report.sent == 0 and report.dead == 0
        assert report.error is not None and RECEIPT_ALERT in report.error
        assert outbox.counts()["pending"] == 3
        assert _blobs_kept(outbox) == 3
        assert all(RECEIPT_ALERT in (item.last_error or "") for item in outbox.items() if item.attempts)


def test_the_genuine_signed_receipt_lets_the_record_go(lab, fake_server):
    url = fake_server(lambda rid, sha, kid: _signed(_service_key(lab), rid, sha, kid))
    with lab.outbox() as outbox:
        lab.enqueue(outbox, 3)
        report = sync_once(outbox, lab.client(url))
        assert report.sent == 3
        assert outbox.counts()["sent"] == 3
        assert _blobs_kept(outbox) == 0


def test_a_kiosk_without_a_pinned_key_lets_nothing_go(lab, server):
    with lab.outbox() as outbox:
        lab.enqueue(outbox, 1)
        report = sync_once(outbox, lab.client(server.url, ack_verify_key=None))
        assert report.sent == 0
        assert "ack_verify_key" in (report.error or "")
        assert outbox.counts()["pending"] == 1


def _blobs_kept(outbox: Outbox) -> int:
    """Sealed blobs still in the outbox file, read on a connection of the test's own."""
    with contextlib.closing(sqlite3.connect(outbox.path)) as db:
        return db.execute("SELECT count(*) FROM outbox_blobs").fetchone()[0]
