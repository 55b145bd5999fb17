"""Carrying sealed records to the server on a USB stick, and the server's acknowledgement back.

When the network is gone for days, a technician runs ``kiosk outbox export /media/usb``: every record not yet
delivered (pending, being sent, or dead) is copied, still sealed, into one *bundle* file. The outbox is not
changed: export never deletes. The ingest server imports the bundle (idempotently, like HTTP deliveries) and
writes an *acknowledgement* file, signed with its Ed25519 key; ``kiosk outbox ack FILE`` checks that signature
against ``[server] ack_verify_key`` and marks the acknowledged records sent. Only then may they be purged.

Both formats are defined here and only here: the kiosk writes bundles and reads acknowledgements, the server
(``office/ingest.py``) reads bundles with :func:`read_bundle` and writes acknowledgements with
:func:`write_ack`.

Bundle: ``dukcapil-<kiosk_id>-<YYYYMMDDTHHMMSSZ>.bundle.tar``, an uncompressed POSIX tar (sealed blobs do not
compress) holding::

    records/<record_id>.sealed    one sealed blob per record, byte for byte as in the outbox
    manifest.json                 UTF-8 JSON, keys sorted, written after the blobs
    manifest.sig                  base64 Ed25519 signature of manifest.json's exact bytes by the kiosk key

``manifest.json``::

    {"format": "dukcapil-kiosk-bundle", "version": 1, "bundle_id": "<uuid4>", "kiosk_id": "...",
     "kiosk_verify_key": "<base64, informative: the server uses the key it enrolled>",
     "created_at": "<RFC 3339 UTC>",
     "records": [{"record_id": "<uuid4>", "kiosk_id": "...", "created_at": "...",
                  "state": "pending|sending|dead", "size": <bytes>, "sha256": "<hex of the blob>"}, ...]}

The manifest holds no personal data. Each blob also carries the kiosk's own signature inside its sealed box,
so the server checks every record exactly as it does for an HTTP delivery. The file is written under a
fresh ``.partial`` name (``kiosk.storage.atomic_writer``: never through a symlink), flushed to the stick and
then renamed, so a stick pulled out too early never holds a bundle that looks complete.

Acknowledgement: ``dukcapil-<kiosk_id>-<bundle_id>.ack.json`` (or any name the server is given)::

    {"signed": "<the acknowledgement below, as JSON text>", "signature": "<base64 Ed25519 of signed's UTF-8>"}

    {"format": "dukcapil-kiosk-ack", "version": 1, "kiosk_id": "...", "bundle_id": "...",
     "created_at": "<RFC 3339 UTC>",
     "acknowledged": [{"record_id": "...", "sha256": "...", "receipt": "<server's JSON receipt, as text>"}],
     "rejected": [{"record_id": "...", "sha256": "...", "reason": "<plain words>"}]}

Acknowledged records become ``sent`` (with the receipt) when the kiosk holds a blob with that hash; rejected
ones (the server refused them for good, as an HTTP 4xx would) become ``dead`` with the reason, visible to the
technician and retryable.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import logging
import re
import tarfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kiosk.outbox import (
    DEAD,
    META_LAST_ACK,
    META_LAST_EXPORT,
    PENDING,
    SENDING,
    Outbox,
    OutboxError,
    OutboxItem,
    OutboxStateError,
)
from kiosk.sealing import KioskIdentity, SealError, sign_detached, verify_detached
from kiosk.storage import atomic_write, atomic_writer, utc_rfc3339, utc_stamp

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "dukcapil-kiosk-bundle"
ACK_FORMAT = "dukcapil-kiosk-ack"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
#: States whose records go into a bundle: everything not yet delivered.
EXPORTED_STATES = (PENDING, SENDING, DEAD)
#: Refuse members larger than this when reading untrusted files (a record is well under 1 MB).
MAX_BLOB_BYTES = 32 * 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_ACK_BYTES = 64 * 1024 * 1024

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


_SAFE_KIOSK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class BundleError(ValueError):
    """A file that is not a usable kiosk bundle; the message says why."""


class AckError(ValueError):
    """A file that is not a usable acknowledgement (or not for this kiosk); the message says why."""


class BundleRecord(NamedTuple):
    """One sealed record read from a bundle (unpacks as ``record_id, blob, sha256``)."""

    record_id: str
    blob: bytes
    sha256: str


@dataclass(frozen=True)
class Bundle:
    """A bundle whose manifest signature was checked."""

    kiosk_id: str
    bundle_id: str
    created_at: str
    records: list[BundleRecord]
    #: Records listed in the manifest but missing or damaged in the file: (record_id, what is wrong).
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Acknowledgement:
    """An acknowledgement whose signature was checked."""

    kiosk_id: str
    bundle_id: str
    created_at: str
    #: (record_id, sha256, receipt)
    acknowledged: list[tuple[str, str, str]]
    #: (record_id, sha256, reason)
    rejected: list[tuple[str, str, str]]


# -- kiosk side: write a bundle --------------------------------------------------------------------------


def export_bundle(
    outbox: Outbox,
    identity: KioskIdentity,
    directory: Path,
    *,
    kiosk_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> Path:
    """Write every undelivered record (pending, sending, dead), still sealed, to a bundle in ``directory``.

    Nothing in the outbox changes. Blobs are read one at a time, so memory stays small however many records
    there are.

    Args:
        outbox: the kiosk's outbox.
        identity: the kiosk key that signs the manifest.
        directory: where to write (the mounted USB stick); it must exist.
        kiosk_id: this kiosk's id (default: the records' kiosk id).
        progress: called with (records written, records to write).
        clock: for the file name and ``created_at``.

    Returns:
        The bundle file.

    Raises:
        OSError: ``directory`` does not exist or cannot be written (stick full, read-only, pulled out).
        OutboxError: the outbox cannot be read.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory (is the USB stick mounted?)")
    items = [item for state in EXPORTED_STATES for item in outbox.items(state, limit=None)]
    items.sort(key=lambda item: item.created)
    if kiosk_id is None:
        ids = {item.kiosk_id for item in items}
        if len(ids) != 1:
            raise ValueError("give kiosk_id: the outbox holds records of several kiosk ids, or none")
        kiosk_id = ids.pop()
    now = clock()
    final = directory / f"dukcapil-{kiosk_id}-{utc_stamp(now)}.bundle.tar"
    entries = []
    with (
        atomic_writer(final) as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for done, item in enumerate(items, start=1):
            entry = _export_record(outbox, tar, item, now)
            if entry is not None:
                entries.append(entry)
            if progress is not None:
                progress(done, len(items))
        manifest = _dumps(
            {
                "format": BUNDLE_FORMAT,
                "version": FORMAT_VERSION,
                "bundle_id": str(uuid.uuid4()),
                "kiosk_id": kiosk_id,
                "kiosk_verify_key": identity.verify_key_b64,
                "created_at": utc_rfc3339(now),
                "records": entries,
            }
        )
        _add_member(tar, MANIFEST, manifest, now)
        _add_member(tar, MANIFEST_SIG, base64.b64encode(identity.sign(manifest)) + b"\n", now)
    with contextlib.suppress(OutboxError):
        outbox.set_meta(
            META_LAST_EXPORT,
            json.dumps({"at": utc_rfc3339(now), "file": str(final.absolute()), "records": len(entries)}),
        )
    log.info("exported %d record(s) to %s", len(entries), final)
    return final


def _export_record(outbox: Outbox, tar: tarfile.TarFile, item: OutboxItem, now: float) -> dict | None:
    """Add one record's sealed blob to the bundle; its manifest entry, or None when nothing is left."""
    blob = outbox.read_blob(item.record_id)
    if blob is None:
        log.info("record %s was delivered while exporting: nothing left to carry", item.record_id)
        return None
    if hashlib.sha256(blob).hexdigest() != item.sha256:
        log.error("record %s: stored blob does not match its hash; not exported", item.record_id)
        return None
    _add_member(tar, f"records/{item.record_id}.sealed", blob, now)
    return {
        "record_id": item.record_id,
        "kiosk_id": item.kiosk_id,
        "created_at": item.created_at,
        "state": item.state,
        "size": len(blob),
        "sha256": item.sha256,
    }


# -- server side: read a bundle, write an acknowledgement ------------------------------------------------


#: The kiosk's verify key (base64), or the keys it may have signed with (the current one first: a bundle
#: written before a key rotation is signed with the previous key), or a function from a kiosk id to either
#: (None when the kiosk is not enrolled).
VerifyKeys = str | Sequence[str] | Callable[[str], str | Sequence[str] | None]


def read_bundle(path: Path, verify_key: VerifyKeys) -> Bundle:
    """Read a bundle and check its manifest signature (server side).

    Args:
        path: the bundle file.
        verify_key: the kiosk's enrolled Ed25519 verify key (base64), or the keys it may have signed with (see
            :data:`VerifyKeys`), or a function from the bundle's kiosk id to either.

    Returns:
        The bundle. Records whose blob is missing or does not match the manifest are left out and listed
        in ``problems``; the sealed blobs themselves are still to be opened and checked by the caller.

    Raises:
        BundleError: not a bundle, an unknown kiosk, or a manifest the kiosk did not sign.
    """
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {member.name: member for member in tar.getmembers()}
            return _read_bundle(path, tar, members, verify_key)
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"{path} is not a readable kiosk bundle ({exc})") from None


def _read_bundle(
    path: Path,
    tar: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    verify_key: VerifyKeys,
) -> Bundle:
    manifest_bytes = _read_member(tar, members, MANIFEST, MAX_MANIFEST_BYTES)
    signature_text = _read_member(tar, members, MANIFEST_SIG, 1024)
    if manifest_bytes is None or signature_text is None:
        raise BundleError(f"{path} is not a kiosk bundle (no signed manifest)")
    try:
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{path} is not a kiosk bundle (format {manifest.get('format')!r})")
        if manifest.get("version") != FORMAT_VERSION:
            raise BundleError(f"{path}: bundle version {manifest.get('version')!r} is not supported")
        kiosk_id = _kiosk_id(manifest["kiosk_id"])
        bundle_id = _bundle_uuid(manifest["bundle_id"])
        created_at = str(manifest["created_at"])
        listed = list(manifest["records"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{path}: the manifest is malformed ({exc})") from None
    keys = verify_key(kiosk_id) if callable(verify_key) else verify_key
    keys = (keys,) if isinstance(keys, str) else tuple(keys or ())
    if not keys:
        raise BundleError(f"{path}: kiosk {kiosk_id!r} is not enrolled")
    if not _signed_by_one_of(manifest_bytes, signature_text, keys):
        raise BundleError(f"{path}: the manifest is not signed by kiosk {kiosk_id!r}")
    records, problems = [], []
    for entry in listed:
        try:
            record_id, sha256, size = str(entry["record_id"]), str(entry["sha256"]), int(entry["size"])
        except (KeyError, TypeError, ValueError):
            problems.append(("?", "malformed manifest entry"))
            continue
        if not _UUID.match(record_id) or not _HEX64.match(sha256):
            problems.append((record_id, "malformed record id or hash in the manifest"))
            continue
        blob = _read_member(tar, members, f"records/{record_id}.sealed", MAX_BLOB_BYTES)
        if blob is None:
            problems.append((record_id, "missing from the bundle"))
        elif len(blob) != size or hashlib.sha256(blob).hexdigest() != sha256:
            problems.append((record_id, "damaged: does not match the manifest"))
        else:
            records.append(BundleRecord(record_id, blob, sha256))
    return Bundle(kiosk_id, bundle_id, created_at, records, problems)


def _signed_by_one_of(manifest: bytes, signature_text: bytes, keys: Sequence[str]) -> bool:
    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    for key in keys:
        try:
            verify_detached(manifest, signature, key)
            return True
        except (SealError, ValueError):
            continue
    return False


def write_ack(
    path: Path,
    bundle: Bundle,
    acknowledged: Sequence[tuple[str, str, str]],
    server_signing_key: str,
    *,
    rejected: Sequence[tuple[str, str, str]] = (),
    clock: Callable[[], float] = time.time,
) -> Path:
    """Write a signed acknowledgement for a bundle (server side).

    Args:
        path: the file to write, or a directory to write ``dukcapil-<kiosk>-<bundle>.ack.json`` into.
        bundle: the bundle being acknowledged.
        acknowledged: (record_id, sha256, receipt JSON text) of each record the server now holds.
        server_signing_key: the server's Ed25519 seed, base64.
        rejected: (record_id, sha256, reason) of each record the server refused for good.
        clock: for ``created_at``.

    Returns:
        The file written.
    """
    path = Path(path)
    if path.is_dir():
        path = path / f"dukcapil-{bundle.kiosk_id}-{bundle.bundle_id}.ack.json"
    signed = json.dumps(
        {
            "format": ACK_FORMAT,
            "version": FORMAT_VERSION,
            "kiosk_id": bundle.kiosk_id,
            "bundle_id": bundle.bundle_id,
            "created_at": utc_rfc3339(clock()),
            "acknowledged": [
                {"record_id": r, "sha256": h, "receipt": receipt} for r, h, receipt in acknowledged
            ],
            "rejected": [{"record_id": r, "sha256": h, "reason": reason} for r, h, reason in rejected],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    signature = base64.b64encode(sign_detached(signed.encode("utf-8"), server_signing_key)).decode("ascii")
    atomic_write(path, _dumps({"signed": signed, "signature": signature}) + b"\n")
    return path


# -- kiosk side: read and apply an acknowledgement -------------------------------------------------------


def read_ack(path: Path, server_verify_key: str | None) -> Acknowledgement:
    """Read an acknowledgement file and check the server's signature.

    Raises:
        AckError: no key configured, unreadable or malformed file, or a signature that is not the server's.
    """
    if not server_verify_key:
        raise AckError(
            "cannot check the acknowledgement: set [server] ack_verify_key in the config "
            "(the ingest server's `keygen` prints it)"
        )
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_ACK_BYTES + 1)
    except OSError as exc:
        raise AckError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ACK_BYTES:
        raise AckError(f"{path} is too large to be an acknowledgement")
    try:
        envelope = json.loads(data)
        signed, signature = envelope["signed"], base64.b64decode(envelope["signature"], validate=True)
        if not isinstance(signed, str):
            raise TypeError("signed is not text")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise AckError(f"{path} is not an acknowledgement file") from None
    try:
        verify_detached(signed.encode("utf-8"), signature, server_verify_key)
    except SealError:
        raise AckError(f"{path} is not signed by the registry server (wrong or forged file)") from None
    try:
        body = json.loads(signed)
        if body.get("format") != ACK_FORMAT or body.get("version") != FORMAT_VERSION:
            raise AckError(f"{path}: unsupported acknowledgement format {body.get('format')!r}")
        return Acknowledgement(
            kiosk_id=str(body["kiosk_id"]),
            bundle_id=_bundle_uuid(body["bundle_id"]),
            created_at=str(body["created_at"]),
            acknowledged=[
                (str(a["record_id"]), str(a["sha256"]), str(a["receipt"])) for a in body["acknowledged"]
            ],
            rejected=[
                (str(r["record_id"]), str(r["sha256"]), str(r["reason"])) for r in body.get("rejected", [])
            ],
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, AckError):
            raise
        raise AckError(f"{path}: the acknowledgement is malformed ({exc})") from None


def apply_ack(
    outbox: Outbox,
    ack_path: Path,
    server_verify_key: str | None,
    *,
    kiosk_id: str | None = None,
    on_record: Callable[[str, str], None] | None = None,
) -> int:
    """Apply a signed acknowledgement: acknowledged records -> sent, rejected ones -> dead.

    Applying the same file twice changes nothing the second time.

    Args:
        outbox: the kiosk's outbox.
        ack_path: the acknowledgement file.
        server_verify_key: ``[server] ack_verify_key`` (base64).
        kiosk_id: when given, a file for another kiosk is refused.
        on_record: called with (record_id, outcome) for each entry; outcome is ``"sent"``,
            ``"already sent"``, ``"unknown"`` (not in this outbox, e.g. purged), ``"hash mismatch"``,
            ``"dead"`` or ``"not pending"`` (a rejection for a record no longer pending).

    Returns:
        How many records became sent.

    Raises:
        AckError: see :func:`read_ack`, or a file for another kiosk.
        OutboxError: the outbox cannot be written.
    """
    ack = read_ack(ack_path, server_verify_key)
    if kiosk_id is not None and ack.kiosk_id != kiosk_id:
        raise AckError(f"{ack_path} acknowledges kiosk {ack.kiosk_id!r}, not this kiosk ({kiosk_id!r})")
    sent = 0
    for record_id, sha256, receipt in ack.acknowledged:
        if outbox.mark_acknowledged(record_id, receipt, sha256=sha256):
            sent += 1
            outcome = "sent"
        else:
            item = outbox.get(record_id)
            outcome = (
                "unknown" if item is None else "already sent" if item.state == "sent" else "hash mismatch"
            )
        if on_record is not None:
            on_record(record_id, outcome)
    for record_id, sha256, reason in ack.rejected:
        item = outbox.get(record_id)
        if item is None or item.sha256 != sha256:
            outcome = "unknown" if item is None else "hash mismatch"
        else:
            try:
                outbox.mark_dead(record_id, f"rejected by the server on USB import: {reason}")
                outcome = "dead"
            except OutboxStateError:
                outcome = "not pending"
        if on_record is not None:
            on_record(record_id, outcome)
    with contextlib.suppress(OutboxError):
        outbox.set_meta(
            META_LAST_ACK,
            json.dumps(
                {"at": utc_rfc3339(), "file": str(ack_path), "bundle_id": ack.bundle_id, "sent": sent}
            ),
        )
    log.info("acknowledgement %s applied: %d record(s) now sent", ack_path, sent)
    return sent


# -- helpers ---------------------------------------------------------------------------------------------


def _bundle_uuid(value: object) -> str:
    """The manifest's bundle id in canonical form; it names the ack file, so nothing but a UUID passes."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"bundle_id {str(value)[:60]!r} is not a UUID") from None


def _kiosk_id(value: object) -> str:
    """The manifest's kiosk id; it names the ack file too, so it must be a plain file-name word."""
    text = str(value)
    if not _SAFE_KIOSK_ID.fullmatch(text):
        raise ValueError(f"kiosk_id {text[:60]!r} is not a plain kiosk id")
    return text


def _dumps(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _add_member(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _read_member(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, limit: int
) -> bytes | None:
    """A regular file's bytes from the archive, or None when missing, not a file or over ``limit``."""
    member = members.get(name)
    if member is None or not member.isfile() or member.size > limit:
        return None
    file = tar.extractfile(member)
    return None if file is None else file.read()
