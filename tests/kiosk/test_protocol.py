"""The shared protocol pieces: a receipt verifies only for its record and the service's key; problems."""

from __future__ import annotations

import json

import nacl.signing
import pytest

from kiosk.protocol import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    ReceiptError,
    parse_idempotency_key,
    parse_problem,
    sign_receipt,
    verify_receipt,
)

RID = "0b6f1d7e-2c1a-4d8e-9f00-1234567890ab"
SHA = "a" * 64


@pytest.fixture
def key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


def _receipt(key: nacl.signing.SigningKey, **overrides: str) -> dict[str, str]:
    receipt = sign_receipt(
        key, record_id=RID, kiosk_id="K1", sha256=SHA, received_at="2026-12-02T09:12:03.120Z"
    )
    return {**json.loads(receipt.to_json()), **overrides}


def test_a_signed_receipt_verifies_for_its_record(key: nacl.signing.SigningKey) -> None:
    body = json.dumps(_receipt(key))
    receipt = verify_receipt(body, key.verify_key, record_id=RID, kiosk_id="K1", sha256=SHA)
    assert receipt.record_id == RID and receipt.kiosk_id == "K1"


@pytest.mark.parametrize(
    ("expect", "reason"),
    [
        ({"record_id": "0b6f1d7e-2c1a-4d8e-9f00-ffffffffffff"}, "record_id"),
        ({"kiosk_id": "K2"}, "kiosk_id"),
        ({"sha256": "b" * 64}, "sha256"),
    ],
)
def test_a_receipt_for_another_record_is_refused(
    key: nacl.signing.SigningKey, expect: dict, reason: str
) -> None:
    args = {"record_id": RID, "kiosk_id": "K1", "sha256": SHA, **expect}
    with pytest.raises(ReceiptError, match=reason):
        verify_receipt(json.dumps(_receipt(key)), key.verify_key, **args)


def test_unsigned_forged_or_edited_receipts_are_refused(key: nacl.signing.SigningKey) -> None:
    other = nacl.signing.SigningKey.generate()
    good = _receipt(key)
    unsigned = {k: v for k, v in good.items() if k != "signature"}
    with pytest.raises(ReceiptError, match="lacks signature"):
        verify_receipt(json.dumps(unsigned), key.verify_key, record_id=RID, kiosk_id="K1", sha256=SHA)
    with pytest.raises(ReceiptError, match="not signed"):
        verify_receipt(json.dumps(_receipt(other)), key.verify_key, record_id=RID, kiosk_id="K1", sha256=SHA)
    edited = {**good, "received_at": "2026-12-03T09:12:03.120Z"}
    with pytest.raises(ReceiptError, match="not signed"):
        verify_receipt(json.dumps(edited), key.verify_key, record_id=RID, kiosk_id="K1", sha256=SHA)
    for junk in (b"", b"[]", b"not json", json.dumps({"record_id": RID}).encode()):
        with pytest.raises(ReceiptError):
            verify_receipt(junk, key.verify_key, record_id=RID, kiosk_id="K1", sha256=SHA)


def test_only_the_services_own_problem_document_counts() -> None:
    problem = Problem(413, "too-large", "Record too large", "over 8 MiB", record_id=RID, permanent=True)
    parsed = parse_problem(PROBLEM_CONTENT_TYPE + "; charset=utf-8", problem.to_json(), status=413)
    assert parsed == problem
    assert parse_problem("text/html", problem.to_json(), status=413) is None
    assert parse_problem(PROBLEM_CONTENT_TYPE, problem.to_json(), status=400) is None
    assert parse_problem(PROBLEM_CONTENT_TYPE, b'{"type": "about:blank", "status": 400}', status=400) is None
    assert parse_problem(PROBLEM_CONTENT_TYPE, b"<html>", status=400) is None


def test_idempotency_key_is_a_quoted_uuid() -> None:
    assert parse_idempotency_key(f'"{RID}"') == RID
    for bad in (None, "", RID, f'"{RID.upper()}"', '"x"'):
        assert parse_idempotency_key(bad) is None
