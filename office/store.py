"""Every read and write of the office service's database: the API the ingest code and the web pages use.

::

    engine = make_engine("office.sqlite3")          # or "postgresql://office@db/office"
    migrate(engine)
    store = Store(engine, ServerKeys.load("server.key"))
    [row] = store.find_by_reference("7kq2 m9xd 4ra")   # whatever parse_reference accepts
    record = store.open_record(row)                     # kiosk.records.Record, in RAM only
    store.find_by_nik("7110...")                        # through the keyed hash, never a plaintext column

Registry: :meth:`Store.enroll`, :meth:`Store.rotate`, :meth:`Store.revoke` (each audited in
``registry_audit``, see :meth:`Store.audit`), :meth:`Store.kiosk`, :meth:`Store.kiosks`,
:meth:`Store.kiosk_for_token`.

Records: :meth:`Store.store_record` (exactly once per (kiosk, record), the signed receipt made inside the
storing transaction), :meth:`Store.find`, :meth:`Store.find_by_reference`, :meth:`Store.find_by_nik`,
:meth:`Store.record_rows`, :meth:`Store.open_record`, :meth:`Store.records` (all, opened),
:meth:`Store.count`, :meth:`Store.record_ids`.

Heartbeats: :meth:`Store.add_heartbeat` (keeps the newest ``heartbeat_history`` per kiosk),
:meth:`Store.heartbeats` (``kiosk_id``, ``since``), :meth:`Store.summary`.

Rows come back as frozen dataclasses (:class:`KioskRow`, :class:`RecordRow`, :class:`HeartbeatRow`,
:class:`AuditRow`) with timezone-aware UTC datetimes. Every write is one transaction; a method returns only
after its commit.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kiosk.protocol import sign_receipt
from kiosk.records import Record
from kiosk.reference import parse_reference
from kiosk.sealing import open_sealed_record
from office import db
from office.keys import ServerKeys, b64_length

KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_TOKEN_LENGTH = 16
#: Heartbeats kept per kiosk (older ones are deleted as new ones arrive).
HEARTBEAT_HISTORY = 2100
ACTIVE, REVOKED = "active", "revoked"


class RegistryError(ValueError):
    """A registry change that cannot be made (malformed id, key or token; unknown or revoked kiosk)."""


class KeyConflict(Exception):
    """This kiosk already stored the record id with another body."""


class KeysRequired(RuntimeError):
    """The store was opened without the server key file, and this needs it (opening, NIK lookup)."""


@dataclass(frozen=True)
class KioskRow:
    """An enrolled kiosk."""

    kiosk_id: str
    verify_key: str
    status: str
    enrolled_at: datetime.datetime
    rotated_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    #: The key before the last rotation (records sealed before it still verify), if rotated.
    previous_verify_key: str | None = None

    @property
    def revoked(self) -> bool:
        return self.status == REVOKED

    @property
    def verify_keys(self) -> tuple[str, ...]:
        """The keys a record of this kiosk may be signed with, the current one first."""
        return (self.verify_key, self.previous_verify_key) if self.previous_verify_key else (self.verify_key,)


@dataclass(frozen=True, repr=False)
class RecordRow:
    """A stored record, still sealed, with its non-personal lookup columns."""

    id: int
    kiosk_id: str
    record_id: str
    reference_code: str
    service: str
    captured_at: datetime.datetime
    received_at: datetime.datetime
    body_sha256: str
    sealed: bytes
    nik_hmac: str | None
    receipt_id: str
    receipt: str
    after_revocation: bool
    state: str
    source: str
    verify_key: str

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the sealed body (the ``X-Record-SHA256`` the kiosk sent)."""
        return self.body_sha256

    def __repr__(self) -> str:
        return f"RecordRow({self.kiosk_id}/{self.record_id}, {self.reference_code}, {self.state})"


@dataclass(frozen=True, repr=False)
class ReceivedRecord(RecordRow):
    """A stored record opened with the server key (plaintext: RAM only)."""

    record: Record


@dataclass(frozen=True)
class NewRecord:
    """What :meth:`Store.store_record` stores: the sealed body and the lookup columns taken from it."""

    kiosk_id: str
    record_id: str
    sha256: str
    sealed: bytes
    reference_code: str
    service: str
    captured_at: datetime.datetime
    nik_hmac: str | None
    source: str
    verify_key: str


@dataclass(frozen=True)
class HeartbeatRow:
    """One health snapshot a kiosk sent."""

    id: int
    kiosk_id: str
    received_at: datetime.datetime
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class AuditRow:
    """One registry action."""

    id: int
    at: datetime.datetime
    actor: str
    kiosk_id: str
    action: str
    detail: str


# The statements of the ingest path, built once: building a statement costs more than running it on SQLite.
_KIOSK_BY_TOKEN = sa.select(db.kiosks).where(db.kiosks.c.token_hash == sa.bindparam("token_hash"))
_KIOSK_STATUS = sa.select(db.kiosks.c.status).where(db.kiosks.c.kiosk_id == sa.bindparam("kiosk_id"))
_RECORD_OF_KIOSK = sa.select(db.records).where(
    db.records.c.kiosk_id == sa.bindparam("kiosk_id"), db.records.c.record_id == sa.bindparam("record_id")
)
_RECORD_FIRST = (
    sa.select(db.records)
    .where(db.records.c.record_id == sa.bindparam("record_id"))
    .order_by(db.records.c.id)
    .limit(1)
)


def _insert_new_record(dialect: str) -> sa.Executable:
    # INSERT .. ON CONFLICT DO NOTHING: on PostgreSQL a concurrent insert of the same (kiosk, record) by
    # another process waits for that one's commit and then does nothing, instead of failing.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(db.records)
        .on_conflict_do_nothing(index_elements=["kiosk_id", "record_id"])
        .returning(db.records.c.id)
    )


def token_hash(token: str) -> str:
    """How a bearer token is stored: its SHA-256 (tokens are long random strings, no slow KDF needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def rfc3339(moment: datetime.datetime) -> str:
    """``moment`` as RFC 3339 UTC with milliseconds, e.g. ``2026-12-02T09:12:03.120Z``."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(cls: type, row: Any) -> dict[str, Any]:
    mapping = row._mapping
    return {field.name: mapping[field.name] for field in dataclasses.fields(cls) if field.name in mapping}


class Store:
    """The office service's database.

    Args:
        engine: from :func:`office.db.make_engine`, migrated (:func:`office.db.migrate`).
        keys: the server key file; needed to open records and look up NIKs, not for the registry.
        clock: seconds since the epoch (tests inject one).
        heartbeat_history: heartbeats kept per kiosk.
    """

    def __init__(
        self,
        engine: Engine,
        keys: ServerKeys | None = None,
        *,
        clock: Callable[[], float] = time.time,
        heartbeat_history: int = HEARTBEAT_HISTORY,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self._writer = db.writer(engine)
        self._clock = clock
        self._history = heartbeat_history
        self._insert_record = _insert_new_record(engine.dialect.name)

    @classmethod
    def open(cls, target: str | Path, keys: ServerKeys | None = None, **kwargs: Any) -> Store:
        """A store on a SQLite path or database URL, migrated to the shipped schema first."""
        engine = db.make_engine(target)
        db.migrate(engine)
        return cls(engine, keys, **kwargs)

    def close(self) -> None:
        """Close the engine's pooled connections (idempotent)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime.datetime:
        """The store's clock as an aware UTC datetime, to the millisecond (what receipts carry)."""
        moment = datetime.datetime.fromtimestamp(self._clock(), tz=datetime.UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # -- registry ------------------------------------------------------------------------------------------

    def enroll(self, kiosk_id: str, verify_key: str, token: str, *, actor: str = "cli") -> None:
        """Register a kiosk; an already enrolled one gets the new key and token (as :meth:`rotate`).

        Raises:
            RegistryError: a malformed kiosk id, verify key or token, a token already given to another
                kiosk, or a revoked kiosk (revocation is final: enrol the replacement under a new id).
        """
        if not KIOSK_ID.match(kiosk_id):
            raise RegistryError(f"kiosk id {kiosk_id!r} is not valid (letters, digits, . _ -; up to 64)")
        self._check_credentials(verify_key, token)
        with self._writer.begin() as conn:
            existing = self._kiosk(conn, kiosk_id)
            if existing is not None:
                self._rotate(conn, existing, verify_key, token, actor, "re-enrolled")
                return
            self._check_token_free(conn, kiosk_id, token)
            now = self.now()
            conn.execute(
                db.kiosks.insert().values(
                    kiosk_id=kiosk_id,
                    verify_key=verify_key,
                    token_hash=token_hash(token),
                    status=ACTIVE,
                    enrolled_at=now,
                )
            )
            self._audit(conn, actor, kiosk_id, "enrol", f"verify key {verify_key}")

    def rotate(self, kiosk_id: str, verify_key: str, token: str, *, actor: str = "cli") -> None:
        """Give an enrolled kiosk a new key and token; the old token is refused from then on.

        Raises:
            RegistryError: unknown or revoked kiosk, malformed key or token, or a token in use elsewhere.
        """
        self._check_credentials(verify_key, token)
        with self._writer.begin() as conn:
            existing = self._kiosk(conn, kiosk_id)
            if existing is None:
                raise RegistryError(f"kiosk {kiosk_id} is not enrolled")
            self._rotate(conn, existing, verify_key, token, actor, "rotated")

    def revoke(self, kiosk_id: str, *, actor: str = "cli", reason: str = "") -> None:
        """Revoke a kiosk: its token is refused from then on, records arriving later are flagged.

        Raises:
            RegistryError: unknown kiosk, or already revoked.
        """
        with self._writer.begin() as conn:
            existing = self._kiosk(conn, kiosk_id)
            if existing is None:
                raise RegistryError(f"kiosk {kiosk_id} is not enrolled")
            if existing.revoked:
                raise RegistryError(f"kiosk {kiosk_id} is already revoked")
            conn.execute(
                db.kiosks.update()
                .where(db.kiosks.c.kiosk_id == kiosk_id, db.kiosks.c.status == ACTIVE)
                .values(status=REVOKED, revoked_at=self.now())
            )
            self._audit(conn, actor, kiosk_id, "revoke", reason)

    def kiosk(self, kiosk_id: str) -> KioskRow | None:
        """The enrolled kiosk with this id, if any."""
        with self.engine.connect() as conn:
            return self._kiosk(conn, kiosk_id)

    def kiosks(self) -> list[KioskRow]:
        """Every enrolled kiosk (revoked ones too), by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.kiosks).order_by(db.kiosks.c.kiosk_id))
            return [KioskRow(**_fields(KioskRow, row)) for row in rows]

    def kiosk_for_token(self, token: str) -> KioskRow | None:
        """The kiosk this bearer token belongs to (revoked or not), if any."""
        with self.engine.connect() as conn:
            row = conn.execute(_KIOSK_BY_TOKEN, {"token_hash": token_hash(token)}).first()
        return KioskRow(**_fields(KioskRow, row)) if row else None

    def audit(self, kiosk_id: str | None = None) -> list[AuditRow]:
        """Registry actions, oldest first, of one kiosk or all."""
        query = sa.select(db.registry_audit).order_by(db.registry_audit.c.id)
        if kiosk_id is not None:
            query = query.where(db.registry_audit.c.kiosk_id == kiosk_id)
        with self.engine.connect() as conn:
            return [AuditRow(**_fields(AuditRow, row)) for row in conn.execute(query)]

    @staticmethod
    def _check_credentials(verify_key: str, token: str) -> None:
        if b64_length(verify_key) != 32:
            raise RegistryError("the verify key is not a 32-byte base64 Ed25519 key (see `kiosk keys`)")
        if len(token) < MIN_TOKEN_LENGTH:
            raise RegistryError(f"the token must have at least {MIN_TOKEN_LENGTH} characters")

    @staticmethod
    def _kiosk(conn: Connection, kiosk_id: str) -> KioskRow | None:
        row = conn.execute(sa.select(db.kiosks).where(db.kiosks.c.kiosk_id == kiosk_id)).first()
        return KioskRow(**_fields(KioskRow, row)) if row else None

    @staticmethod
    def _check_token_free(conn: Connection, kiosk_id: str, token: str) -> None:
        owner = conn.execute(
            sa.select(db.kiosks.c.kiosk_id).where(db.kiosks.c.token_hash == token_hash(token))
        ).scalar()
        if owner is not None and owner != kiosk_id:
            raise RegistryError("this token is already given to another kiosk")

    def _rotate(
        self, conn: Connection, kiosk: KioskRow, verify_key: str, token: str, actor: str, action: str
    ) -> None:
        if kiosk.revoked:
            raise RegistryError(
                f"kiosk {kiosk.kiosk_id} is revoked; revocation is final (enrol the kiosk under a new id)"
            )
        self._check_token_free(conn, kiosk.kiosk_id, token)
        conn.execute(
            db.kiosks.update()
            .where(db.kiosks.c.kiosk_id == kiosk.kiosk_id)
            .values(
                verify_key=verify_key,
                previous_verify_key=kiosk.verify_key
                if kiosk.verify_key != verify_key
                else kiosk.previous_verify_key,
                token_hash=token_hash(token),
                rotated_at=self.now(),
            )
        )
        self._audit(conn, actor, kiosk.kiosk_id, action, f"verify key {verify_key}")

    def _audit(self, conn: Connection, actor: str, kiosk_id: str, action: str, detail: str) -> None:
        conn.execute(
            db.registry_audit.insert().values(
                at=self.now(), actor=actor, kiosk_id=kiosk_id, action=action, detail=detail
            )
        )

    # -- records -------------------------------------------------------------------------------------------

    def store_record(self, new: NewRecord) -> tuple[RecordRow, bool]:
        """Store a record unless this kiosk already did; returns ``(row, created)``.

        The signed receipt (:func:`kiosk.protocol.sign_receipt`) is made inside the storing transaction and
        returned only after the commit: a kiosk never holds a receipt for a record that is not on disk.
        Across processes on one database the (kiosk, record) unique key decides who stored it first.

        Raises:
            KeyConflict: this kiosk stored the id with another body.
            KeysRequired: the store has no key to sign the receipt with.
        """
        keys = self._require_keys()
        received_at = self.now()
        receipt = sign_receipt(
            keys.signing_key(),
            record_id=new.record_id,
            kiosk_id=new.kiosk_id,
            sha256=new.sha256,
            received_at=rfc3339(received_at),
        )
        with self._writer.begin() as conn:
            revoked = conn.execute(_KIOSK_STATUS, {"kiosk_id": new.kiosk_id}).scalar() == REVOKED
            values = {
                **{field.name: getattr(new, field.name) for field in dataclasses.fields(NewRecord)},
                "received_at": received_at,
                "receipt_id": receipt.receipt_id,
                "receipt": receipt.to_json(),
                "after_revocation": revoked,
                "state": "received",
            }
            values["body_sha256"] = values.pop("sha256")
            inserted = conn.execute(self._insert_record, values).first()
            row = (
                RecordRow(id=inserted[0], **values)
                if inserted
                else self._find(conn, new.record_id, new.kiosk_id)
            )
        assert row is not None  # inserted, or there since the conflict: rows are never deleted
        if row.body_sha256 != new.sha256:
            raise KeyConflict(new.record_id)
        return row, inserted is not None

    def find(self, record_id: str, kiosk_id: str | None = None) -> RecordRow | None:
        """The stored record with this id (of this kiosk, when given; else the first received), if any."""
        with self.engine.connect() as conn:
            return self._find(conn, record_id, kiosk_id)

    @staticmethod
    def _find(conn: Connection, record_id: str, kiosk_id: str | None) -> RecordRow | None:
        if kiosk_id is not None:
            row = conn.execute(_RECORD_OF_KIOSK, {"kiosk_id": kiosk_id, "record_id": record_id}).first()
        else:
            row = conn.execute(_RECORD_FIRST, {"record_id": record_id}).first()
        return RecordRow(**_fields(RecordRow, row)) if row else None

    def find_by_reference(self, text: str) -> list[RecordRow]:
        """Records whose receipt code is ``text`` (typed or scanned; anything :func:`parse_reference` takes).

        Usually one; two records may share a code (50 bits of the uuid), and the counter then sees both.
        An invalid code finds nothing.
        """
        code = parse_reference(text)
        if code is None:
            return []
        return self.record_rows(where=db.records.c.reference_code == code)

    def find_by_nik(self, nik: str) -> list[RecordRow]:
        """Records whose NIK field is ``nik``, through the keyed hash column."""
        return self.record_rows(where=db.records.c.nik_hmac == self._require_keys().nik_hmac(nik))

    def record_rows(
        self,
        *,
        where: sa.ColumnElement[bool] | None = None,
        kiosk_id: str | None = None,
        limit: int | None = None,
    ) -> list[RecordRow]:
        """Stored records (sealed), in the order received, optionally filtered."""
        query = sa.select(db.records).order_by(db.records.c.id).limit(limit)
        if where is not None:
            query = query.where(where)
        if kiosk_id is not None:
            query = query.where(db.records.c.kiosk_id == kiosk_id)
        with self.engine.connect() as conn:
            return [RecordRow(**_fields(RecordRow, row)) for row in conn.execute(query)]

    def open_record(self, row: RecordRow) -> Record:
        """The record's content, opened with the server key and checked against the kiosk's key it came with.

        Raises:
            KeysRequired: the store has no server key.
            kiosk.sealing.SealError: the stored blob does not open (another key file than this database's).
        """
        return open_sealed_record(row.sealed, self._require_keys().box_secret, row.verify_key)

    def records(self) -> list[ReceivedRecord]:
        """Every stored record, opened, in the order received (tests and exports)."""
        return [
            ReceivedRecord(**dataclasses.asdict(row), record=self.open_record(row))
            for row in self.record_rows()
        ]

    def count(self) -> int:
        """How many records are stored."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(db.records)).scalar_one()

    def record_ids(self) -> list[str]:
        """Every stored record id, in the order received."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(db.records.c.record_id).order_by(db.records.c.id)).scalars())

    def _require_keys(self) -> ServerKeys:
        if self.keys is None:
            raise KeysRequired("this needs the server key file (--key)")
        return self.keys

    # -- heartbeats ----------------------------------------------------------------------------------------

    def add_heartbeat(self, kiosk_id: str, snapshot: dict[str, Any], *, text: str | None = None) -> str:
        """Store a health snapshot, dropping the kiosk's oldest beyond the history; returns when received.

        Args:
            kiosk_id: the kiosk that sent it.
            snapshot: the snapshot (a JSON object).
            text: the JSON text exactly as the kiosk sent it, kept as is (default: ``snapshot`` serialised).
        """
        received_at = self.now()
        table = db.heartbeats
        with self._writer.begin() as conn:
            conn.execute(
                table.insert().values(
                    kiosk_id=kiosk_id,
                    received_at=received_at,
                    snapshot=text or json.dumps(snapshot, sort_keys=True),
                )
            )
            oldest_kept = (
                sa.select(table.c.id)
                .where(table.c.kiosk_id == kiosk_id)
                .order_by(table.c.id.desc())
                .offset(self._history - 1)
                .limit(1)
                .scalar_subquery()
            )
            conn.execute(table.delete().where(table.c.kiosk_id == kiosk_id, table.c.id < oldest_kept))
        return rfc3339(received_at)

    def heartbeats(
        self, kiosk_id: str | None = None, since: datetime.datetime | None = None
    ) -> list[HeartbeatRow]:
        """Stored snapshots, oldest first, of one kiosk or all; only those from ``since`` if given."""
        query = sa.select(db.heartbeats).order_by(db.heartbeats.c.id)
        if kiosk_id is not None:
            query = query.where(db.heartbeats.c.kiosk_id == kiosk_id)
        if since is not None:
            query = query.where(db.heartbeats.c.received_at >= since)
        with self.engine.connect() as conn:
            return [
                HeartbeatRow(row.id, row.kiosk_id, row.received_at, json.loads(row.snapshot))
                for row in conn.execute(query)
            ]

    def summary(self) -> Sequence[tuple[str, str, int, datetime.datetime | None]]:
        """Per enrolled kiosk: ``(kiosk_id, status, records, last heartbeat time)``."""
        records = (
            sa.select(sa.func.count()).where(db.records.c.kiosk_id == db.kiosks.c.kiosk_id).scalar_subquery()
        )
        last = (
            sa.select(sa.func.max(db.heartbeats.c.received_at))
            .where(db.heartbeats.c.kiosk_id == db.kiosks.c.kiosk_id)
            .scalar_subquery()
        )
        query = sa.select(
            db.kiosks.c.kiosk_id, db.kiosks.c.status, records, sa.type_coerce(last, db.UtcDateTime())
        ).order_by(db.kiosks.c.kiosk_id)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]
