"""A citizen's pre-registration record and its canonical bytes.

A :class:`Record` is what the citizen confirmed: identity fields, face photo, signature, consent. It holds
personal data in plaintext, so it lives only in RAM: it is turned into canonical bytes
(:func:`canonical_json`), signed and sealed (:mod:`kiosk.sealing`) before anything touches the disk. Its
``repr`` shows no personal data, so a record that ends up in a log line or a traceback leaks nothing.

Canonical form: UTF-8 JSON, keys sorted at every level, no whitespace, binaries as standard base64, ``null``
for absent optionals. The same record always gives the same bytes, so a signature over them is stable and
the server can re-serialise and compare.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from kiosk.storage import utc_rfc3339

#: Version of the record layout; bumped whenever a field changes meaning or shape.
SCHEMA_VERSION = 1

#: RFC 3339 timestamp in UTC with a ``Z`` suffix, optional fraction of a second.
_RFC3339_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$"
_UUID4 = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_KIOSK_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SERVICE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_LANGUAGE = r"^[a-z]{2,3}$"

Rfc3339Utc = Annotated[str, msgspec.Meta(pattern=_RFC3339_UTC)]


class RecordError(ValueError):
    """Bytes or values that do not make a valid record; the message says which field and why."""


def utc_timestamp(seconds: float) -> str:
    """``seconds`` since the epoch as RFC 3339 UTC with milliseconds, e.g. ``2024-05-01T03:04:05.120Z``."""
    return utc_rfc3339(seconds, timespec="milliseconds")


def _require(pattern: str, value: object, name: str) -> None:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise RecordError(f"{name}: {value!r} is not valid")


@dataclass(frozen=True)
class PenPoint:
    """One pen sample: seconds since the signature started, pad coordinates, pen state, optional pressure."""

    t: float
    x: int
    y: int
    pen_down: bool
    pressure: int | None = None

    def __post_init__(self) -> None:
        # NaN and infinity have no JSON form: they would not survive the round trip.
        if not math.isfinite(self.t):
            raise RecordError("pen sample time must be a finite number")


@dataclass(frozen=True, repr=False)
class SignatureCapture:
    """A signature: the pen samples with their timing plus the rendered PNG the receipt shows."""

    samples: tuple[PenPoint, ...]
    width: int
    height: int
    png: bytes
    source: Literal["pad", "touch"]

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", tuple(self.samples))
        if self.width <= 0 or self.height <= 0:
            raise RecordError("signature width and height must be positive")
        if self.source not in ("pad", "touch"):
            raise RecordError(f"signature source must be 'pad' or 'touch', not {self.source!r}")

    def __repr__(self) -> str:
        return (
            f"SignatureCapture(source={self.source!r}, samples={len(self.samples)}, "
            f"size={self.width}x{self.height}, png={len(self.png)} bytes)"
        )


@dataclass(frozen=True)
class Consent:
    """The citizen's answer to the consent text of a given version, and when it was given."""

    given: bool
    text_version: str
    at: Rfc3339Utc

    def __post_init__(self) -> None:
        _require(_RFC3339_UTC, self.at, "consent.at")


@dataclass(frozen=True, repr=False)
class Record:
    """Everything one citizen confirmed at the kiosk, in plaintext (RAM only)."""

    #: uuid4; also the Idempotency-Key the server de-duplicates on.
    record_id: Annotated[str, msgspec.Meta(pattern=_UUID4)]
    kiosk_id: Annotated[str, msgspec.Meta(pattern=_KIOSK_ID)]
    service: Annotated[str, msgspec.Meta(pattern=_SERVICE)]
    language: Annotated[str, msgspec.Meta(pattern=_LANGUAGE)]
    created_at: Rfc3339Utc
    #: Form fields by name (NIK, names, addresses ...), values exactly as validated.
    fields: Mapping[str, str]
    photo_jpeg: bytes | None
    #: Why there is no photo or what is special about it, e.g. ``"taken_at_counter"``.
    photo_note: str | None
    signature: SignatureCapture | None
    consent: Consent
    software_version: str
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _require(_UUID4, self.record_id, "record_id")
        _require(_KIOSK_ID, self.kiosk_id, "kiosk_id")
        _require(_SERVICE, self.service, "service")
        _require(_LANGUAGE, self.language, "language")
        _require(_RFC3339_UTC, self.created_at, "created_at")
        if self.schema_version != SCHEMA_VERSION:
            raise RecordError(
                f"schema_version {self.schema_version} is not supported "
                f"(this software writes {SCHEMA_VERSION})"
            )
        # A private copy: the caller's dict may change after the record was made.
        fields = dict(self.fields)
        for key, value in fields.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise RecordError("fields must map text to text")
        object.__setattr__(self, "fields", fields)

    def __repr__(self) -> str:
        # Never the field values, photo or signature: a repr ends up in logs.
        return (
            f"Record(record_id={self.record_id!r}, kiosk_id={self.kiosk_id!r}, service={self.service!r}, "
            f"created_at={self.created_at!r}, fields={len(self.fields)}, "
            f"photo={'yes' if self.photo_jpeg else 'no'}, signature={'yes' if self.signature else 'no'})"
        )

    @classmethod
    def new(
        cls,
        *,
        kiosk_id: str,
        service: str,
        language: str,
        fields: Mapping[str, str],
        photo_jpeg: bytes | None,
        photo_note: str | None,
        signature: SignatureCapture | None,
        consent: Consent,
        software_version: str,
        clock: Callable[[], float] = time.time,
    ) -> Record:
        """A new record with a fresh uuid4 and ``created_at`` from ``clock``."""
        return cls(
            record_id=str(uuid.uuid4()),
            kiosk_id=kiosk_id,
            service=service,
            language=language,
            created_at=utc_timestamp(clock()),
            fields=fields,
            photo_jpeg=photo_jpeg,
            photo_note=photo_note,
            signature=signature,
            consent=consent,
            software_version=software_version,
        )


_ENCODER = msgspec.json.Encoder(order="sorted")
_DECODER = msgspec.json.Decoder(type=Record, strict=True)


def canonical_json(record: Record) -> bytes:
    """The record's canonical bytes: sorted keys, no whitespace, base64 binaries, UTF-8."""
    return _ENCODER.encode(record)


def record_from_json(data: bytes) -> Record:
    """The record that :func:`canonical_json` produced ``data`` from.

    Raises:
        RecordError: ``data`` is not JSON, misses or mistypes a field, or has another schema version.
    """
    try:
        return _DECODER.decode(data)
    except RecordError:
        raise
    except msgspec.ValidationError as exc:
        raise RecordError(f"not a valid record: {exc}") from None
    except msgspec.DecodeError as exc:
        raise RecordError(f"not a valid record: malformed JSON ({exc})") from None
