"""Sealing: signed and sealed records open only with the right keys; the kiosk key is kept safe."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest

from kiosk.records import Consent, Record, canonical_json
from kiosk.sealing import (
    BLOB_MAGIC,
    RECORD_SIGNATURE_CONTEXT,
    BoxUnreadable,
    IdentityError,
    KioskIdentity,
    SealError,
    SignatureMismatch,
    generate_server_keypair,
    generate_signing_keypair,
    open_sealed_record,
    seal_record,
    sign_detached,
    verify_detached,
)

NIK = "7110014507900003"


@pytest.fixture(scope="module")
def server_keys() -> tuple[str, str]:
    return generate_server_keypair()


@pytest.fixture
def identity(tmp_path: Path) -> KioskIdentity:
    return KioskIdentity.load_or_create(tmp_path / "keys")


def make_record() -> Record:
    return Record.new(
        kiosk_id="BMT-MODAYAG-01",
        service="kk",
        language="id",
        fields={"nik": NIK, "nama": "Budi"},
        photo_jpeg=os.urandom(2048),
        photo_note=None,
        signature=None,
        consent=Consent(True, "2024-01", "2024-05-01T03:04:05Z"),
        software_version="0.1.0",
    )


def test_seal_then_open_gives_the_same_record(identity: KioskIdentity, server_keys) -> None:
    public, private = server_keys
    record = make_record()
    sealed = seal_record(record, identity, public)
    assert sealed.record_id == record.record_id
    assert sealed.kiosk_id == record.kiosk_id and sealed.created_at == record.created_at
    assert sealed.sha256 == hashlib.sha256(sealed.blob).hexdigest()
    assert sealed.blob.startswith(BLOB_MAGIC)
    assert NIK.encode() not in sealed.blob
    assert open_sealed_record(sealed.blob, private, identity.verify_key_b64) == record


def test_sealing_twice_gives_different_blobs(identity: KioskIdentity, server_keys) -> None:
    record = make_record()
    assert (
        seal_record(record, identity, server_keys[0]).blob
        != seal_record(record, identity, server_keys[0]).blob
    )


def test_other_server_key_cannot_open(identity: KioskIdentity, server_keys) -> None:
    sealed = seal_record(make_record(), identity, server_keys[0])
    _, other_private = generate_server_keypair()
    with pytest.raises(BoxUnreadable, match="cannot be opened"):
        open_sealed_record(sealed.blob, other_private, identity.verify_key_b64)


@pytest.mark.parametrize("position", [4, 40, -1])
def test_tampered_blob_is_rejected(identity: KioskIdentity, server_keys, position: int) -> None:
    sealed = seal_record(make_record(), identity, server_keys[0])
    blob = bytearray(sealed.blob)
    blob[position] ^= 0x01
    with pytest.raises(BoxUnreadable):
        open_sealed_record(bytes(blob), server_keys[1], identity.verify_key_b64)


def test_a_signature_over_the_bare_record_is_not_accepted(identity: KioskIdentity, server_keys) -> None:
    """Only the context-tagged digest counts: a kiosk signature made for another purpose does not verify."""
    import nacl.public

    record = make_record()
    payload = canonical_json(record)
    box = nacl.public.SealedBox(nacl.public.PublicKey(base64.b64decode(server_keys[0])))
    blob = BLOB_MAGIC + box.encrypt(identity.sign(payload) + payload)
    with pytest.raises(SignatureMismatch):
        open_sealed_record(blob, server_keys[1], identity.verify_key_b64)


@pytest.mark.parametrize("blob", [b"", b"DKR1", b"DKR1" + b"\x00" * 100, b"PK\x03\x04 not a record"])
def test_garbage_blobs_are_rejected(server_keys, identity: KioskIdentity, blob: bytes) -> None:
    with pytest.raises(BoxUnreadable):
        open_sealed_record(blob, server_keys[1], identity.verify_key_b64)


def test_signature_of_another_kiosk_is_rejected(identity: KioskIdentity, server_keys, tmp_path: Path) -> None:
    sealed = seal_record(make_record(), identity, server_keys[0])
    other = KioskIdentity.load_or_create(tmp_path / "other-keys")
    with pytest.raises(SignatureMismatch, match="signature"):
        open_sealed_record(sealed.blob, server_keys[1], other.verify_key_b64)


def test_box_with_valid_signature_over_garbage_is_rejected(identity: KioskIdentity, server_keys) -> None:
    import nacl.public

    payload = b'{"not": "a record"}'
    box = nacl.public.SealedBox(nacl.public.PublicKey(base64.b64decode(server_keys[0])))
    signature = identity.sign(RECORD_SIGNATURE_CONTEXT + hashlib.sha512(payload).digest())
    blob = BLOB_MAGIC + box.encrypt(signature + payload)
    with pytest.raises(SignatureMismatch, match="malformed"):
        open_sealed_record(blob, server_keys[1], identity.verify_key_b64)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "not configured"),
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "bytes"),
    ],
)
def test_bad_server_public_key_is_explained(identity: KioskIdentity, key: str, message: str) -> None:
    with pytest.raises(SealError, match=message):
        seal_record(make_record(), identity, key)


def test_key_files_are_private_and_the_key_persists(tmp_path: Path) -> None:
    key_dir = tmp_path / "data" / "keys"
    first = KioskIdentity.load_or_create(key_dir)
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((key_dir / "kiosk.key").stat().st_mode) == 0o600
    assert (key_dir / "kiosk.pub").read_text().strip() == first.verify_key_b64
    assert KioskIdentity.load_or_create(key_dir).verify_key_b64 == first.verify_key_b64
    assert KioskIdentity.load(key_dir).verify_key_b64 == first.verify_key_b64
    assert sorted(p.name for p in key_dir.iterdir()) == ["kiosk.key", "kiosk.pub"]


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    KioskIdentity.load_or_create(key_dir)
    os.chmod(key_dir / "kiosk.key", 0o644)
    os.chmod(key_dir, 0o755)
    KioskIdentity.load_or_create(key_dir)
    assert stat.S_IMODE((key_dir / "kiosk.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700


def test_missing_or_damaged_key_is_explained(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="kiosk keys"):
        KioskIdentity.load(tmp_path / "nothing")
    key_dir = tmp_path / "keys"
    KioskIdentity.load_or_create(key_dir)
    (key_dir / "kiosk.key").write_bytes(b"short")
    with pytest.raises(IdentityError, match="damaged"):
        KioskIdentity.load_or_create(key_dir)


def test_detached_signatures(identity: KioskIdentity) -> None:
    verify, seed = generate_signing_keypair()
    signature = sign_detached(b"manifest", seed)
    verify_detached(b"manifest", signature, verify)
    with pytest.raises(SealError):
        verify_detached(b"manifest!", signature, verify)
    with pytest.raises(SealError):
        verify_detached(b"manifest", signature, identity.verify_key_b64)
    verify_detached(b"x", identity.sign(b"x"), identity.verify_key_b64)
