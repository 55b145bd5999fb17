"""Signing records with the kiosk's key and sealing them to the registry server.

A record leaves RAM only as a *sealed blob*: its canonical bytes (:func:`kiosk.records.canonical_json`) are
signed with the kiosk's Ed25519 key, then encrypted to the server's Curve25519 public key with a libsodium
sealed box (PyNaCl). Only the server's secret key opens it; the kiosk itself cannot read what it stored, so
a stolen SD card leaks nothing.

Blob layout (what the outbox stores and the server receives)::

    b"DKR1" || SealedBox(server_public_key).encrypt( signature[64] || canonical_json )

``signature`` is the kiosk key's Ed25519 signature of ``RECORD_SIGNATURE_CONTEXT || SHA-512(canonical_json)``:
hash-then-sign, with a context string so the signature cannot be taken for one over anything else the kiosk
signs (bundle manifests, heartbeats). Hashing first with OpenSSL's SHA-512 (hashlib) reads the ~300 KB of a
record with a photo once, at twice the speed of libsodium's Ed25519 or Ed25519ph which hash it in portable C
(Ed25519 twice); sealing is on the path the citizen waits on. The 4-byte prefix names the layout so a later
one can be told apart. The server opens the box, checks the signature against the
kiosk's enrolled verify key, then decodes the record.

Key files (``<data_dir>/keys``, directory mode 0700): ``kiosk.key`` holds the 32-byte Ed25519 seed (mode
0600); ``kiosk.pub`` the base64 verify key, for the technician to enrol the kiosk at the server.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.signing

from kiosk.records import Record, RecordError, canonical_json, record_from_json
from kiosk.storage import atomic_write, create_exclusive, fsync_dir

log = logging.getLogger(__name__)

#: Prefix of every sealed blob: names the blob layout.
BLOB_MAGIC = b"DKR1"
SIGNATURE_SIZE = nacl.bindings.crypto_sign_BYTES
#: Prefix of what a record signature signs: ``RECORD_SIGNATURE_CONTEXT || SHA-512(canonical_json)``.
RECORD_SIGNATURE_CONTEXT = b"dukcapil-kiosk record signature v1\x00"
KEY_FILE = "kiosk.key"
PUBLIC_KEY_FILE = "kiosk.pub"


class SealError(ValueError):
    """A blob or key that cannot be used: bad box, bad signature, malformed record or key."""


class BoxUnreadable(SealError):
    """Not a sealed record, or a box this server key cannot open (sealed to another key, or damaged)."""


class SignatureMismatch(SealError):
    """The box opened but its signature is not the kiosk's, or the signed record does not decode."""


class IdentityError(OSError):
    """The kiosk's key files are missing, unreadable or damaged; the message says what to do."""


@dataclass(frozen=True)
class SealedRecord:
    """A record as it may be stored and sent: the sealed blob plus non-personal metadata."""

    record_id: str
    kiosk_id: str
    created_at: str
    blob: bytes
    #: Hex SHA-256 of ``blob``: the ``X-Record-SHA256`` header and the bundle manifest use it.
    sha256: str

    def __repr__(self) -> str:
        return (
            f"SealedRecord(record_id={self.record_id!r}, size={len(self.blob)}, sha256={self.sha256[:12]}...)"
        )


class KioskIdentity:
    """The kiosk's Ed25519 signing key: it signs records, bundle manifests and heartbeats."""

    def __init__(self, signing_key: nacl.signing.SigningKey) -> None:
        self._signing_key = signing_key
        #: The verify key, base64: what the server enrols for this kiosk.
        self.verify_key_b64: str = base64.b64encode(bytes(signing_key.verify_key)).decode("ascii")

    def __repr__(self) -> str:
        return f"KioskIdentity(verify_key={self.verify_key_b64!r})"

    @classmethod
    def load_or_create(cls, key_dir: Path) -> KioskIdentity:
        """The identity stored in ``key_dir``, created first if there is none.

        The directory is created with mode 0700 and the key file with mode 0600. Creation is atomic: the
        key is written to a temporary file and linked into place, so a power cut never leaves half a key
        and two processes starting at once end up with the same key.

        Raises:
            IdentityError: the directory cannot be written or the existing key is damaged.
        """
        key_dir = Path(key_dir)
        try:
            key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            _tighten(key_dir, 0o700)
            if not (key_dir / KEY_FILE).exists():
                _create_key(key_dir)
        except OSError as exc:
            if isinstance(exc, IdentityError):
                raise
            raise IdentityError(f"cannot create the kiosk key in {key_dir}: {exc.strerror or exc}") from None
        return cls.load(key_dir)

    @classmethod
    def load(cls, key_dir: Path) -> KioskIdentity:
        """The identity stored in ``key_dir``.

        A key file readable by other users is tightened to 0600 with a warning.

        Raises:
            IdentityError: no key, unreadable or damaged key.
        """
        path = Path(key_dir) / KEY_FILE
        try:
            _tighten(path, 0o600)
            seed = path.read_bytes()
        except FileNotFoundError:
            raise IdentityError(f"no kiosk key in {key_dir}: create it with `kiosk keys`") from None
        except OSError as exc:
            raise IdentityError(f"cannot read the kiosk key {path}: {exc.strerror or exc}") from None
        if len(seed) != nacl.bindings.crypto_sign_SEEDBYTES:
            raise IdentityError(
                f"the kiosk key {path} is damaged ({len(seed)} bytes instead of "
                f"{nacl.bindings.crypto_sign_SEEDBYTES}); restore it from backup"
            )
        identity = cls(nacl.signing.SigningKey(seed))
        _write_public_key(Path(key_dir), identity.verify_key_b64)
        return identity

    def sign(self, data: bytes) -> bytes:
        """The detached 64-byte Ed25519 signature of ``data``."""
        return self._signing_key.sign(data).signature


def seal_record(record: Record, identity: KioskIdentity, server_public_key: str) -> SealedRecord:
    """Sign ``record`` with the kiosk key and seal it to the server's public key (base64).

    Raises:
        SealError: the server public key is missing or not a Curve25519 key.
    """
    box = nacl.public.SealedBox(_server_public_key(server_public_key))
    payload = canonical_json(record)
    blob = BLOB_MAGIC + box.encrypt(identity.sign(_signed_digest(payload)) + payload)
    return SealedRecord(
        record_id=record.record_id,
        kiosk_id=record.kiosk_id,
        created_at=record.created_at,
        blob=blob,
        sha256=hashlib.sha256(blob).hexdigest(),
    )


def open_sealed_record(blob: bytes, server_private_key: str, verify_key_b64: str) -> Record:
    """The record inside ``blob``, after checking the kiosk's signature (server side).

    Args:
        blob: a blob made by :func:`seal_record`.
        server_private_key: the server's Curve25519 secret key, base64.
        verify_key_b64: the sending kiosk's Ed25519 verify key, base64.

    Raises:
        BoxUnreadable: wrong layout, or a box this key cannot open (sealed to another key, or tampered).
        SignatureMismatch: the signature is not the kiosk's, or the signed record does not decode.
        SealError: a key argument is malformed.
    """
    if not blob.startswith(BLOB_MAGIC):
        raise BoxUnreadable("not a sealed kiosk record (unknown layout)")
    private_key = nacl.public.PrivateKey(_decode_key(server_private_key, "server private key", 32))
    verify_key = nacl.signing.VerifyKey(_decode_key(verify_key_b64, "kiosk verify key", 32))
    try:
        signed = nacl.public.SealedBox(private_key).decrypt(blob[len(BLOB_MAGIC) :])
    except nacl.exceptions.CryptoError:
        raise BoxUnreadable("the sealed box cannot be opened: wrong server key or damaged blob") from None
    if len(signed) < SIGNATURE_SIZE:
        raise SignatureMismatch("the sealed box holds no signature")
    signature, payload = signed[:SIGNATURE_SIZE], signed[SIGNATURE_SIZE:]
    try:
        verify_key.verify(_signed_digest(payload), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureMismatch("the record's signature does not match the kiosk's key") from None
    try:
        return record_from_json(payload)
    except RecordError as exc:
        raise SignatureMismatch(f"the signed record is malformed: {exc}") from None


def _signed_digest(payload: bytes) -> bytes:
    """What a record signature signs: the context string and the SHA-512 of the canonical record."""
    return RECORD_SIGNATURE_CONTEXT + hashlib.sha512(payload).digest()


def generate_server_keypair() -> tuple[str, str]:
    """A new server sealing key pair as ``(public_b64, private_b64)`` (Curve25519)."""
    key = nacl.public.PrivateKey.generate()
    return _b64(bytes(key.public_key)), _b64(bytes(key))


def generate_signing_keypair() -> tuple[str, str]:
    """A new Ed25519 key pair as ``(verify_key_b64, seed_b64)``; the server signs acknowledgements with it."""
    key = nacl.signing.SigningKey.generate()
    return _b64(bytes(key.verify_key)), _b64(bytes(key))


def sign_detached(data: bytes, signing_key_b64: str) -> bytes:
    """The Ed25519 signature of ``data`` by the key whose 32-byte seed is ``signing_key_b64``."""
    return nacl.signing.SigningKey(_decode_key(signing_key_b64, "signing key", 32)).sign(data).signature


def verify_detached(data: bytes, signature: bytes, verify_key_b64: str) -> None:
    """Check an Ed25519 signature.

    Raises:
        SealError: the key is malformed or the signature does not match.
    """
    verify_key = nacl.signing.VerifyKey(_decode_key(verify_key_b64, "verify key", 32))
    try:
        verify_key.verify(data, signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise SealError("the signature does not match the key") from None


def check_server_public_key(value: str) -> None:
    """Check that ``value`` (``[server] public_key``) is a key records can be sealed to.

    Raises:
        SealError: empty, not base64, or not 32 bytes; the message says how to fix it.
    """
    _server_public_key(value)


def _server_public_key(value: str) -> nacl.public.PublicKey:
    if not value:
        raise SealError(
            "the server's public key is not configured: set [server] public_key in the config "
            "(the ingest server's `keygen` prints it)"
        )
    return nacl.public.PublicKey(_decode_key(value, "server public key", 32))


def _decode_key(value: str, name: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise SealError(f"the {name} is not valid base64") from None
    if len(raw) != size:
        raise SealError(f"the {name} has {len(raw)} bytes instead of {size}")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _tighten(path: Path, mode: int) -> None:
    """Take away any permission beyond ``mode`` (warns: someone loosened it)."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        log.warning("%s had mode %o; tightening it to %o", path, current, mode)
        os.chmod(path, mode)


def _create_key(key_dir: Path) -> None:
    """Write a new seed to ``kiosk.key`` atomically, never replacing an existing key."""
    seed = bytes(nacl.signing.SigningKey.generate())
    tmp = key_dir / f".{KEY_FILE}.{os.getpid()}.tmp"
    fd = create_exclusive(tmp, 0o600)
    try:
        os.write(fd, seed)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails when the key exists: another process created it first and its key wins.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, key_dir / KEY_FILE)
    finally:
        tmp.unlink()
    fsync_dir(key_dir)
    log.info("created the kiosk key in %s", key_dir)


def _write_public_key(key_dir: Path, verify_key_b64: str) -> None:
    """Keep ``kiosk.pub`` in step with the key (best effort: it is derived, the key is what counts)."""
    path = key_dir / PUBLIC_KEY_FILE
    text = verify_key_b64 + "\n"
    try:
        if path.exists() and path.read_text(encoding="ascii", errors="replace") == text:
            return
        atomic_write(path, text.encode("ascii"), mode=0o644)
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc.strerror or exc)
