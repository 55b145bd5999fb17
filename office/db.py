"""The office service's tables (declared once, here), its engines, and its migrations.

Storage is SQLite by default (a file path: zero set-up) or PostgreSQL (a ``postgresql://`` URL, psycopg 3)
where several office-service processes share one database. The schema is created and changed only by the
Alembic revisions shipped in ``office/migrations`` (:func:`migrate`); these declarations are what the
queries use, and a test checks that the revisions produce exactly them.

Table contract (the counter's pages read these names; add columns, never rename):

- ``kiosks``: one row per enrolled kiosk; ``token_hash`` is the SHA-256 of its bearer token, ``status``
  ``'active'`` or ``'revoked'``.
- ``records``: one row per (kiosk, record), the sealed blob as it arrived and only non-personal lookup
  columns beside it: ``reference_code`` (the receipt's code), ``service``, ``captured_at`` and ``nik_hmac``
  (a keyed hash of the NIK, never the NIK).
- ``heartbeats``: a bounded history of each kiosk's health snapshots.
- ``registry_audit``: who enrolled, rotated or revoked which kiosk, and when.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

log = logging.getLogger(__name__)


class UtcDateTime(sa.TypeDecorator[datetime.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone, so it is stored as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime.datetime | None, dialect: Any) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone-aware one")
        value = value.astimezone(datetime.UTC)
        # SQLite stores text: without the zone, so that its text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime.datetime | None, dialect: Any) -> datetime.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value.astimezone(datetime.UTC)


kiosks = sa.Table(
    "kiosks",
    metadata,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("verify_key", sa.String(64), nullable=False),
    # The key before the last rotation: records the kiosk sealed before it was rotated still verify.
    sa.Column("previous_verify_key", sa.String(64)),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("enrolled_at", UtcDateTime(), nullable=False),
    sa.Column("rotated_at", UtcDateTime()),
    sa.Column("revoked_at", UtcDateTime()),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("kiosk_id", sa.String(64), sa.ForeignKey("kiosks.kiosk_id"), nullable=False),
    sa.Column("record_id", sa.String(36), nullable=False),
    sa.Column("reference_code", sa.String(16), nullable=False, index=True),
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("captured_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    sa.Column("nik_hmac", sa.String(64), index=True),
    sa.Column("receipt_id", sa.String(36), nullable=False),
    sa.Column("receipt", sa.Text(), nullable=False),
    sa.Column("after_revocation", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("state", sa.String(32), nullable=False, server_default="received"),
    # How it came: "http" or "usb" (a bundle import).
    sa.Column("source", sa.String(8), nullable=False),
    # The kiosk key the record's signature was checked with: a later key rotation leaves it openable.
    sa.Column("verify_key", sa.String(64), nullable=False),
    # Keyed by (kiosk, record): another kiosk posting the same id first cannot block the genuine record.
    sa.UniqueConstraint("kiosk_id", "record_id", name="uq_records_kiosk_record"),
)

heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("kiosk_id", sa.String(64), sa.ForeignKey("kiosks.kiosk_id"), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("snapshot", sa.Text(), nullable=False),
    sa.Index("ix_heartbeats_kiosk_id_id", "kiosk_id", "id"),
)

registry_audit = sa.Table(
    "registry_audit",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False, server_default=""),
)

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(target: str | Path) -> sa.URL:
    """The SQLAlchemy URL for a file path (SQLite) or a database URL (``postgresql://`` uses psycopg 3)."""
    text = str(target)
    if "://" not in text:
        return sa.URL.create("sqlite+pysqlite", database=str(Path(text).expanduser()))
    url = sa.make_url(text)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(target: str | Path, **kwargs: Any) -> Engine:
    """An engine for a SQLite file path or a database URL, set up for this service.

    SQLite: WAL, ``synchronous=FULL`` (a receipt goes out only once the record is on disk), foreign keys,
    a busy timeout, and transactions SQLAlchemy itself begins (so that a write can start with
    ``BEGIN IMMEDIATE``, see :func:`writer`).
    """
    url = database_url(target)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(url, **kwargs)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "isolation_level": None}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock at once and waits for it (busy_timeout); a deferred one
        # that reads first could fail at once with SQLITE_BUSY when it later writes.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def writer(engine: Engine) -> Engine:
    """``engine`` for write transactions (SQLite: ``BEGIN IMMEDIATE``; other backends unchanged)."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of the service."""
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not created yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply the shipped migrations up to ``revision``; returns (revision before, revision after).

    Several processes may call it at once on one PostgreSQL: the migration environment serialises them
    with an advisory lock, and the later ones find nothing left to do.
    """
    from alembic import command

    before = current_revision(engine)
    with writer(engine).begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    after = current_revision(engine)
    if after != before:
        log.info("database schema migrated from %s to %s", before or "empty", after)
    return before, after


class SchemaOutOfDate(RuntimeError):
    """The database is not at the revision this version of the service needs."""


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database is at the shipped head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the database is at revision {current or 'none (empty)'}, this service needs {head}: "
            "run `dukcapil-office migrate`"
        )


# ------------------------------------------------------------------ counter, accounts, notices (issue 12)
# The web pages' own tables (revision 0002_counter). Nothing personal: a record's content stays sealed in
# ``records``; these hold who did what to which (kiosk, record) and when.

#: Office staff: counter officers, supervisors, admins. ``password_hash`` is an argon2id hash.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("full_name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("locked_until", UtcDateTime()),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

#: Logged-in browsers: the cookie carries a random token, the table only its SHA-256.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

#: Every view of a citizen's data and every state change, by whom and when.
counter_audit = sa.Table(
    "counter_audit",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("kiosk_id", sa.String(64)),
    sa.Column("record_id", sa.String(36)),
    sa.Column("detail", sa.Text(), nullable=False, server_default=""),
    sa.Index("ix_counter_audit_record", "kiosk_id", "record_id"),
)

#: The counter's work on a record: documents ticked, the officer's comment (the state: ``records.state``).
record_checks = sa.Table(
    "record_checks",
    metadata,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(36), primary_key=True),
    # JSON list of the ticked document ids of the service's checklist.
    sa.Column("documents", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("comment", sa.Text(), nullable=False, server_default=""),
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

#: A counter service marked unavailable or limited by a supervisor, until the end of ``day`` (office time).
service_notices = sa.Table(
    "service_notices",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("text_id", sa.Text(), nullable=False),
    sa.Column("text_en", sa.Text(), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("withdrawn_at", UtcDateTime()),
)
