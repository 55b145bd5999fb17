"""Service notices: a supervisor tells every kiosk that a counter service is down or limited today.

::

    notices = Notices(engine, accounts)
    notices.post("ektp", Level.UNAVAILABLE, "Perekaman e-KTP: alat rusak hari ini",
                 "e-KTP recording: the recorder is broken today", user)
    notices.active()                  # what the pages list
    notices.for_kiosks()              # what the heartbeat answer carries (JSON-ready)

A notice expires by itself at the end of the office's day (its time zone), or earlier when withdrawn. Kiosks
learn about notices in the answer to their heartbeat (``{"received_at": ..., "notices": [...]}``); the kiosk
side keeps them with :mod:`kiosk.service_notices`.
"""

from __future__ import annotations

import datetime
import enum
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from office import db

if TYPE_CHECKING:  # the heartbeat handler imports this module: keep its start-up light
    from office.accounts import Accounts, User

MAX_TEXT = 200


class Level(enum.StrEnum):
    """How badly a counter service is affected."""

    UNAVAILABLE = "unavailable"
    LIMITED = "limited"


class NoticeError(ValueError):
    """A notice that cannot be posted (unknown level, empty or too long text); the message says which."""


@dataclass(frozen=True)
class Notice:
    """One service notice."""

    id: int
    service: str
    level: Level
    text_id: str
    text_en: str
    created_by: str
    created_at: datetime.datetime
    expires_at: datetime.datetime

    def as_json(self) -> dict[str, Any]:
        """The notice as the heartbeat answer carries it."""
        return {
            "id": self.id,
            "service": self.service,
            "level": self.level.value,
            "text": {"id": self.text_id, "en": self.text_en},
            "expires_at": self.expires_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        }


class Notices:
    """Service notices in the office database.

    Args:
        engine: the office database.
        accounts: the audit (and the clock).
        timezone: the office's time zone: a notice ends at midnight there.
    """

    def __init__(self, engine: Engine, accounts: Accounts, timezone: str = "Asia/Makassar") -> None:
        self.engine = engine
        self.accounts = accounts
        self.zone = zoneinfo.ZoneInfo(timezone)

    def end_of_day(self) -> datetime.datetime:
        """The coming midnight in the office's zone, as UTC."""
        local = self.accounts.now().astimezone(self.zone)
        midnight = datetime.datetime.combine(
            local.date() + datetime.timedelta(days=1), datetime.time(), self.zone
        )
        return midnight.astimezone(datetime.UTC)

    def post(self, service: str, level: Level | str, text_id: str, text_en: str, user: User) -> Notice:
        """A new notice until the end of today; audited.

        Raises:
            NoticeError: unknown level, no text in either language, or a text over 200 characters.
        """
        try:
            level = Level(level)
        except ValueError:
            raise NoticeError("Choose unavailable or limited.") from None
        text_id, text_en = " ".join(text_id.split()), " ".join(text_en.split())
        if not text_id and not text_en:
            raise NoticeError("Write the notice in at least one language.")
        if len(text_id) > MAX_TEXT or len(text_en) > MAX_TEXT:
            raise NoticeError("A notice has at most 200 characters per language.")
        values = dict(
            service=service,
            level=level.value,
            text_id=text_id or text_en,
            text_en=text_en or text_id,
            created_by=user.username,
            created_at=self.accounts.now(),
            expires_at=self.end_of_day(),
        )
        with db.writer(self.engine).begin() as conn:
            notice_id = conn.execute(db.service_notices.insert().values(values)).inserted_primary_key[0]
            self.accounts.audit_in(
                conn, user, "notice", detail=f"{service} {level.value}: {values['text_id']}"
            )
        return _notice({"id": notice_id, **values})

    def withdraw(self, notice_id: int, user: User) -> bool:
        """End a notice now; False when it was not active."""
        table = db.service_notices
        now = self.accounts.now()
        with db.writer(self.engine).begin() as conn:
            done = conn.execute(
                table.update()
                .where(table.c.id == notice_id, table.c.withdrawn_at.is_(None), table.c.expires_at > now)
                .values(withdrawn_at=now)
            ).rowcount
            if done:
                self.accounts.audit_in(conn, user, "notice_withdrawn", detail=str(notice_id))
        return bool(done)

    def active(self) -> list[Notice]:
        """The notices in force now, newest first."""
        return active_notices(self.engine, self.accounts.now())

    def for_kiosks(self) -> list[dict[str, Any]]:
        """The notices in force, as the heartbeat answer's ``notices`` list."""
        return notices_for_kiosks(self.engine, self.accounts.now())


def active_notices(engine: Engine, now: datetime.datetime) -> list[Notice]:
    """The notices in force at ``now``, newest first."""
    table = db.service_notices
    query = (
        sa.select(table)
        .where(table.c.withdrawn_at.is_(None), table.c.expires_at > now)
        .order_by(table.c.id.desc())
    )
    with engine.connect() as conn:
        return [_notice(row._mapping) for row in conn.execute(query)]


def notices_for_kiosks(engine: Engine, now: datetime.datetime) -> list[dict[str, Any]]:
    """The notices in force at ``now`` as the heartbeat answer's ``notices`` list (office.app uses it)."""
    return [notice.as_json() for notice in active_notices(engine, now)]


def _notice(values: Any) -> Notice:
    return Notice(
        values["id"],
        values["service"],
        Level(values["level"]),
        values["text_id"],
        values["text_en"],
        values["created_by"],
        values["created_at"],
        values["expires_at"],
    )
