"""The ingest tables: kiosks, records (sealed), heartbeats, registry audit.

Revision ID: 0001_ingest
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from office.db import UtcDateTime

revision = "0001_ingest"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def upgrade() -> None:
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("verify_key", sa.String(64), nullable=False),
        sa.Column("previous_verify_key", sa.String(64)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("enrolled_at", UtcDateTime(), nullable=False),
        sa.Column("rotated_at", UtcDateTime()),
        sa.Column("revoked_at", UtcDateTime()),
    )
    op.create_table(
        "records",
        _id(),
        sa.Column("kiosk_id", sa.String(64), sa.ForeignKey("kiosks.kiosk_id"), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("reference_code", sa.String(16), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("captured_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("nik_hmac", sa.String(64)),
        sa.Column("receipt_id", sa.String(36), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("after_revocation", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(32), nullable=False, server_default="received"),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("verify_key", sa.String(64), nullable=False),
        sa.UniqueConstraint("kiosk_id", "record_id", name="uq_records_kiosk_record"),
    )
    op.create_index("ix_records_reference_code", "records", ["reference_code"])
    op.create_index("ix_records_nik_hmac", "records", ["nik_hmac"])
    op.create_table(
        "heartbeats",
        _id(),
        sa.Column("kiosk_id", sa.String(64), sa.ForeignKey("kiosks.kiosk_id"), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
    )
    op.create_index("ix_heartbeats_kiosk_id_id", "heartbeats", ["kiosk_id", "id"])
    op.create_table(
        "registry_audit",
        _id(),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_registry_audit_kiosk_id", "registry_audit", ["kiosk_id"])


def downgrade() -> None:
    op.drop_table("registry_audit")
    op.drop_table("heartbeats")
    op.drop_table("records")
    op.drop_table("kiosks")
