"""The technician PIN: stored only as a scrypt hash, in a file of its own in the data directory.

The file (``<data_dir>/technician-pin``, mode 0600) holds one line that names its parameters, so that they can
be raised later without breaking PINs already set::

    scrypt$16384$8$1$<salt, base64>$<hash, base64>

The scrypt parameters are the ones its author gives for interactive logins (N = 2^14, r = 8, p = 1: 16 MiB and
well under a second on a Raspberry Pi), with a fresh 16-byte random salt per PIN. A 4 to 12 digit PIN cannot
resist an offline search however slow the hash is; what protects it is the file's mode, the lockout
(:mod:`kiosk.maintenance.lockout`) and the fact that the PIN never appears in clear anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from kiosk.storage import atomic_write

#: The file name in the data directory.
FILE_NAME = "technician-pin"

MIN_LENGTH = 6
MAX_LENGTH = 12
_PIN = re.compile(rf"[0-9]{{{MIN_LENGTH},{MAX_LENGTH}}}")

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
# hashlib.scrypt refuses to use more than ``maxmem`` bytes; 128 * N * r * p is what these parameters need.
_MAXMEM = 64 * 1024 * 1024


class PinFormatError(ValueError):
    """A PIN that cannot be set: not 6 to 12 digits, or too easy to guess."""


class PinFileError(OSError):
    """The PIN file is missing, unreadable or damaged; the message says what to do."""


@dataclass(frozen=True)
class PinHash:
    """A PIN's scrypt hash with its parameters and salt."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        """The one-line text form kept in the PIN file."""
        salt = base64.b64encode(self.salt).decode()
        digest = base64.b64encode(self.digest).decode()
        return f"scrypt${self.n}${self.r}${self.p}${salt}${digest}"

    @classmethod
    def decode(cls, text: str) -> PinHash:
        """Parse the text form.

        Raises:
            ValueError: It is not a hash this software wrote.
        """
        parts = text.strip().split("$")
        if len(parts) != 6 or parts[0] != "scrypt":
            raise ValueError("not a scrypt PIN hash")
        try:
            n, r, p = (int(v) for v in parts[1:4])
            salt = base64.b64decode(parts[4], validate=True)
            digest = base64.b64decode(parts[5], validate=True)
        except (ValueError, binascii.Error):
            raise ValueError("damaged scrypt PIN hash") from None
        if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or not salt or len(digest) < 16:
            raise ValueError("scrypt PIN hash with impossible parameters")
        return cls(n, r, p, salt, digest)

    def matches(self, pin: str) -> bool:
        """True when ``pin`` is the PIN this hash was made from (constant-time comparison)."""
        if not isinstance(pin, str) or len(pin) > MAX_LENGTH * 4:
            # Nothing a keypad types is this long; do not spend scrypt on it.
            return False
        candidate = _scrypt(pin, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def check_pin_format(pin: str) -> str:
    """Return ``pin`` when it may be set as the technician PIN.

    Raises:
        PinFormatError: Not 6 to 12 digits (0-9), or one digit repeated, or a run such as 123456 / 987654.
    """
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise PinFormatError(f"the PIN must be {MIN_LENGTH} to {MAX_LENGTH} digits (0-9)")
    if len(set(pin)) == 1:
        raise PinFormatError("the PIN must not be one digit repeated")
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if steps in ({1}, {9}):
        raise PinFormatError("the PIN must not be a run of consecutive digits such as 123456 or 987654")
    return pin


def hash_pin(pin: str) -> PinHash:
    """Hash a valid PIN with a fresh random salt.

    Raises:
        PinFormatError: See :func:`check_pin_format`.
    """
    check_pin_format(pin)
    salt = secrets.token_bytes(SALT_BYTES)
    return PinHash(
        SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    )


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=length)


class TechnicianPin:
    """The PIN file of one kiosk.

    Args:
        path: The file (usually ``<data_dir>/technician-pin``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> TechnicianPin:
        """The PIN file at its usual place in the kiosk's data directory."""
        return cls(Path(data_dir) / FILE_NAME)

    def is_set(self) -> bool:
        """True when a PIN file exists."""
        return self.path.is_file()

    def load(self) -> PinHash:
        """Read the stored hash.

        Raises:
            PinFileError: No PIN is set, or the file cannot be read or is damaged.
        """
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise PinFileError(
                f"no technician PIN is set: run `kiosk set-pin` (expected {self.path})"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise PinFileError(f"the technician PIN file {self.path} cannot be read ({reason})") from None
        try:
            return PinHash.decode(text)
        except ValueError as exc:
            raise PinFileError(
                f"the technician PIN file {self.path} is damaged ({exc}): "
                "set the PIN again with `kiosk set-pin`"
            ) from None

    def verify(self, pin: str) -> bool:
        """True when ``pin`` is the technician PIN.

        Raises:
            PinFileError: No PIN is set or the file is damaged (no PIN can be right then).
        """
        return self.load().matches(pin)

    def set(self, pin: str) -> None:
        """Store a new PIN's hash, replacing the old one atomically (mode 0600, synced to disk).

        Raises:
            PinFormatError: The PIN is not acceptable.
            PinFileError: The file cannot be written.
        """
        line = hash_pin(pin).encode() + "\n"
        directory = self.path.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(self.path, line.encode("ascii"), mode=0o600)
        except OSError as exc:
            raise PinFileError(f"cannot write the technician PIN file {self.path} ({exc.strerror})") from None
