"""The office service's key file, and the secret the NIK lookup hash is keyed with.

``dukcapil-office keygen --key server.key`` writes it (mode 0600, never overwritten): a Curve25519 pair the
kiosks seal records to and an Ed25519 pair that signs delivery receipts and USB acknowledgements. The first
public key goes into each kiosk's ``[server] public_key``, the second into ``[server] ack_verify_key``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nacl.signing

from kiosk.sealing import generate_server_keypair, generate_signing_keypair

#: Domain of the NIK lookup secret derived from the box secret (so it means nothing else).
_NIK_KEY_DOMAIN = b"dukcapil-office nik lookup v1"


@dataclass(frozen=True, repr=False)
class ServerKeys:
    """The service's key file: the sealed-box pair kiosks seal to and the pair that signs acknowledgements."""

    box_public: str
    box_secret: str
    sign_public: str
    sign_secret: str

    def __repr__(self) -> str:
        # Never the secrets: a repr ends up in logs.
        return f"ServerKeys(box_public={self.box_public!r}, sign_public={self.sign_public!r})"

    @classmethod
    def generate(cls) -> ServerKeys:
        """A fresh set of keys."""
        box_public, box_secret = generate_server_keypair()
        sign_public, sign_secret = generate_signing_keypair()
        return cls(box_public, box_secret, sign_public, sign_secret)

    def save(self, path: Path) -> None:
        """Write the key file with mode 0600; an existing file is never replaced.

        Raises:
            FileExistsError: there is already a key file at ``path`` (replacing it would make every
                record sealed to it unreadable).
        """
        data = json.dumps({"version": 1, **dataclasses.asdict(self)}, indent=2).encode() + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: Path | str) -> ServerKeys:
        """Read a key file written by :meth:`save`.

        Raises:
            ValueError: the file is not a server key file; the message says why.
            OSError: the file cannot be read.
        """
        try:
            data = json.loads(Path(path).read_bytes())
            keys = cls(*(data[name] for name in ("box_public", "box_secret", "sign_public", "sign_secret")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a server key file ({exc})") from None
        for name, value in dataclasses.asdict(keys).items():
            if b64_length(value) != 32:
                raise ValueError(f"{path}: {name} is not a 32-byte base64 key")
        return keys

    def signing_key(self) -> nacl.signing.SigningKey:
        """The acknowledgement key that signs delivery receipts."""
        return _signing_key(self.sign_secret)

    def nik_hmac(self, nik: str) -> str:
        """The keyed hash a NIK is stored and looked up by (hex HMAC-SHA256), never the NIK itself.

        The key is derived from the box secret, so the key file stays the one secret to keep and back up;
        without it nobody can test a guessed NIK against the database.
        """
        return hmac.new(_nik_key(self.box_secret), nik.strip().encode("utf-8"), hashlib.sha256).hexdigest()


# Derived once per key (every record needs them): deriving an Ed25519 key pair from its seed is not free.
@functools.lru_cache(maxsize=4)
def _signing_key(sign_secret: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(base64.b64decode(sign_secret))


@functools.lru_cache(maxsize=4)
def _nik_key(box_secret: str) -> bytes:
    return hmac.new(base64.b64decode(box_secret), _NIK_KEY_DOMAIN, hashlib.sha256).digest()


def b64_length(value: object) -> int:
    """The decoded length of a base64 text, or -1 when it is not base64."""
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return -1
