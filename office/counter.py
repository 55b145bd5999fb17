"""The counter's work: find a pre-registration from a receipt, open it, tick documents, move it along.

::

    counter = Counter(store, accounts, catalog)
    found = counter.find("7kq2 m9xd 4ra", user)        # or a scanned receipt QR payload
    # Found(rows) / ReceiptNotReceived(claim, kiosk, last_heard) / Refused(sentence)
    view = counter.open(kiosk_id, record_id, user)      # RecordView (plaintext, RAM only); audited
    counter.tick(kiosk_id, record_id, ["kk", "akta"], user)
    counter.move(kiosk_id, record_id, State.CHECKED, user)

States (``records.state``): received -> checked | has_issues; checked -> has_issues | served | forwarded |
rejected; has_issues -> checked | rejected. "forwarded" means sent on to SIAK. Every change is one guarded
UPDATE (``WHERE state = old``) committed with its audit line, so two officers on one record cannot both move
it; every view of a record's content is audited before it is shown.

Sentences in :class:`Refused` are English source strings for the pages' catalog (``office.web.i18n``) with
``{placeholders}``; the page translates and fills them.
"""

from __future__ import annotations

import csv
import datetime
import enum
import io
import json
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from kiosk.receipt_qr import (
    ReceiptClaim,
    ReceiptQrError,
    looks_like_receipt_qr,
    parse_receipt_qr,
    verify_receipt_qr,
)
from kiosk.records import Record
from kiosk.reference import parse_reference
from kiosk.services import Service, ServiceCatalog
from office import db
from office.accounts import Accounts, User
from office.store import KioskRow, RecordRow, Store


class State(enum.StrEnum):
    """Where a pre-registration is at the counter."""

    RECEIVED = "received"
    CHECKED = "checked"
    HAS_ISSUES = "has_issues"
    SERVED = "served"
    FORWARDED = "forwarded"
    REJECTED = "rejected"


#: Each state's name on the pages (English source; the pages' catalog translates it).
STATE_NAMES: dict[str, str] = {
    State.RECEIVED: "Received",
    State.CHECKED: "Checked",
    State.HAS_ISSUES: "Has issues",
    State.SERVED: "Served",
    State.FORWARDED: "Forwarded to SIAK",
    State.REJECTED: "Rejected",
}

#: The moves the counter may make from each state.
TRANSITIONS: dict[State, tuple[State, ...]] = {
    State.RECEIVED: (State.CHECKED, State.HAS_ISSUES),
    State.CHECKED: (State.HAS_ISSUES, State.SERVED, State.FORWARDED, State.REJECTED),
    State.HAS_ISSUES: (State.CHECKED, State.REJECTED),
    State.SERVED: (),
    State.FORWARDED: (),
    State.REJECTED: (),
}


class CounterError(ValueError):
    """A counter action that cannot be done; the message is a catalog sentence (see module docstring)."""

    def __init__(self, message: str, **values: str) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values


@dataclass(frozen=True)
class Found:
    """Records the code or receipt names (usually one; two records may share a reference code)."""

    rows: tuple[RecordRow, ...]


@dataclass(frozen=True)
class ReceiptNotReceived:
    """A genuine receipt (its signature checks with the enrolled kiosk key) whose record has not arrived."""

    claim: ReceiptClaim
    kiosk: KioskRow
    #: When the kiosk last sent a heartbeat (None: never).
    last_heard: datetime.datetime | None


@dataclass(frozen=True)
class Refused:
    """Nothing to show, with the reason as a catalog sentence and its values."""

    message: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class RecordView:
    """One record opened for the counter: its row, its content (RAM only), its service and the checks."""

    row: RecordRow
    record: Record
    service: Service | None
    ticked: frozenset[str]
    comment: str

    @property
    def state(self) -> State:
        return State(self.row.state)

    def next_states(self) -> tuple[State, ...]:
        return TRANSITIONS[self.state]

    def field_lines(self, language: str) -> list[tuple[str, str]]:
        """``(label, value)`` for every field, in the service file's order, choices shown by their label;
        fields the service file does not know (an edited file) come last under their id."""
        fields = dict(self.record.fields)
        lines = []
        for spec in self.service.fields if self.service else ():
            if spec.id in fields:
                value = fields.pop(spec.id)
                labels = {option.value: option.label.get(language) for option in spec.choices()}
                lines.append((spec.label.get(language), labels.get(value, value)))
        return lines + sorted(fields.items())

    def __repr__(self) -> str:
        return f"RecordView({self.row!r})"


class Counter:
    """The counter's actions over the office store, each audited through ``accounts``.

    Args:
        store: the office store (opens records with the server key).
        accounts: where the audit goes.
        catalog: the services (document checklists), e.g. :func:`kiosk.services.load_services`.
        timezone: the office's time zone: "day" in searches and exports means this zone's calendar day.
    """

    def __init__(
        self, store: Store, accounts: Accounts, catalog: ServiceCatalog, timezone: str = "Asia/Makassar"
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.catalog = catalog
        self.zone = zoneinfo.ZoneInfo(timezone)

    # -- finding -----------------------------------------------------------------------------------------

    def find(self, text: str, user: User) -> Found | ReceiptNotReceived | Refused:
        """What a typed reference code or a scanned receipt payload leads to (no content is opened)."""
        text = (text or "").strip()
        if not text:
            return Refused("Type the reference code or scan the receipt.")
        if looks_like_receipt_qr(text):
            return self._find_receipt(text, user)
        code = parse_reference(text)
        if code is None:
            return Refused(
                "{text} is not a reference code: a code has 11 letters and digits, like 7KQ2-M9XD-4RA.",
                {"text": text[:40]},
            )
        rows = self.store.find_by_reference(code)
        if not rows:
            return Refused(
                "No record with the code {code} has arrived. Scan the receipt's QR code to check it offline.",
                {"code": code},
            )
        return Found(tuple(rows))

    def _find_receipt(self, text: str, user: User) -> Found | ReceiptNotReceived | Refused:
        try:
            claim = parse_receipt_qr(text)
        except ReceiptQrError:
            return Refused("This QR code is not a receipt from a Dukcapil kiosk, or it is damaged.")
        kiosk = self.store.kiosk(claim.kiosk_id)
        if kiosk is None:
            self.accounts.audit(user, "forged_receipt", kiosk_id=claim.kiosk_id, detail="unknown kiosk")
            return Refused(
                "Refused: this receipt names kiosk {kiosk}, which is not enrolled at this office. "
                "It may be forged.",
                {"kiosk": claim.kiosk_id},
            )
        try:
            verify_receipt_qr(claim, kiosk.verify_key)
        except ReceiptQrError:
            self.accounts.audit(
                user, "forged_receipt", kiosk_id=claim.kiosk_id, record_id=claim.record_id, detail="signature"
            )
            return Refused(
                "Refused: this receipt was not signed by kiosk {kiosk}. It is forged or was altered.",
                {"kiosk": claim.kiosk_id},
            )
        row = self.store.find(claim.record_id, claim.kiosk_id)
        if row is None:
            beats = self.store.heartbeats(
                claim.kiosk_id, since=self.store.now() - datetime.timedelta(days=30)
            )
            return ReceiptNotReceived(claim, kiosk, max((b.received_at for b in beats), default=None))
        if row.body_sha256 != claim.body_sha256:
            self.accounts.audit(
                user, "forged_receipt", kiosk_id=row.kiosk_id, record_id=row.record_id, detail="body hash"
            )
            return Refused(
                "Refused: this receipt does not match what kiosk {kiosk} delivered. Ask a supervisor.",
                {"kiosk": claim.kiosk_id},
            )
        return Found((row,))

    # -- one record --------------------------------------------------------------------------------------

    def row(self, kiosk_id: str, record_id: str) -> RecordRow:
        """The stored row (sealed); CounterError when there is none."""
        row = self.store.find(record_id, kiosk_id)
        if row is None:
            raise CounterError(
                "There is no record {record} from kiosk {kiosk}.", record=record_id, kiosk=kiosk_id
            )
        return row

    def open(self, kiosk_id: str, record_id: str, user: User) -> RecordView:
        """The record's content for the counter's page; the view is audited before the record is opened."""
        row = self.row(kiosk_id, record_id)
        self.accounts.audit(user, "view_record", kiosk_id=kiosk_id, record_id=record_id)
        record = self.store.open_record(row)
        ticked, comment = self._checks(kiosk_id, record_id)
        return RecordView(row, record, self.catalog.get(row.service), ticked, comment)

    def _checks(self, kiosk_id: str, record_id: str) -> tuple[frozenset[str], str]:
        table = db.record_checks
        with self.store.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.c.documents, table.c.comment).where(
                    table.c.kiosk_id == kiosk_id, table.c.record_id == record_id
                )
            ).first()
        if row is None:
            return frozenset(), ""
        return frozenset(json.loads(row.documents)), row.comment

    def tick(self, kiosk_id: str, record_id: str, documents: Iterable[str], user: User) -> frozenset[str]:
        """Set which checklist documents the citizen brought; unknown ids are refused."""
        row = self.row(kiosk_id, record_id)
        service = self.catalog.get(row.service)
        known = {item.id for item in service.documents} if service else set()
        chosen = frozenset(documents)
        if unknown := chosen - known:
            raise CounterError("Unknown document: {document}.", document=", ".join(sorted(unknown)))
        if State(row.state) in (State.SERVED, State.FORWARDED, State.REJECTED):
            raise CounterError(
                "This record is closed ({state}); nothing can change any more.", state=row.state
            )
        _, comment = self._checks(kiosk_id, record_id)
        with db.writer(self.store.engine).begin() as conn:
            self._save_checks(conn, kiosk_id, record_id, sorted(chosen), comment, user)
            self.accounts.audit_in(
                conn,
                user,
                "documents",
                kiosk_id=kiosk_id,
                record_id=record_id,
                detail=",".join(sorted(chosen)),
            )
        return chosen

    def _save_checks(
        self,
        conn: sa.Connection,
        kiosk_id: str,
        record_id: str,
        documents: Sequence[str],
        comment: str,
        user: User,
    ) -> None:
        table = db.record_checks
        values = dict(
            documents=json.dumps(list(documents)),
            comment=comment,
            updated_by=user.username,
            updated_at=self.accounts.now(),
        )
        done = conn.execute(
            table.update().where(table.c.kiosk_id == kiosk_id, table.c.record_id == record_id).values(values)
        ).rowcount
        if not done:
            conn.execute(table.insert().values(kiosk_id=kiosk_id, record_id=record_id, **values))

    def move(self, kiosk_id: str, record_id: str, new: State | str, user: User, comment: str = "") -> State:
        """Move the record to ``new`` (audited with the comment); "has issues" needs a comment.

        Raises:
            CounterError: not a move allowed from the current state, a missing comment, or someone else
                moved the record meanwhile.
        """
        row = self.row(kiosk_id, record_id)
        old = State(row.state)
        try:
            new = State(new)
        except ValueError:
            raise CounterError("Unknown state: {state}.", state=str(new)[:32]) from None
        if new not in TRANSITIONS[old]:
            raise CounterError("A record that is {old} cannot become {new}.", old=old.value, new=new.value)
        comment = comment.strip()[:2000]
        if new in (State.HAS_ISSUES, State.REJECTED) and not comment:
            raise CounterError("Write what is wrong in the comment.")
        ticked, old_comment = self._checks(kiosk_id, record_id)
        with db.writer(self.store.engine).begin() as conn:
            moved = conn.execute(
                db.records.update()
                .where(
                    db.records.c.kiosk_id == kiosk_id,
                    db.records.c.record_id == record_id,
                    db.records.c.state == old.value,
                )
                .values(state=new.value)
            ).rowcount
            if not moved:
                raise CounterError("Someone else changed this record meanwhile: reload the page.")
            self._save_checks(conn, kiosk_id, record_id, sorted(ticked), comment or old_comment, user)
            detail = f"{old.value} -> {new.value}" + (f": {comment}" if comment else "")
            self.accounts.audit_in(conn, user, "state", kiosk_id=kiosk_id, record_id=record_id, detail=detail)
        return new

    # -- lists, search, export ---------------------------------------------------------------------------

    def day_bounds(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        """The office day's start and end as UTC datetimes."""
        start = datetime.datetime.combine(day, datetime.time(), tzinfo=self.zone)
        return start.astimezone(datetime.UTC), (start + datetime.timedelta(days=1)).astimezone(datetime.UTC)

    def today(self) -> datetime.date:
        """Today in the office's time zone."""
        return self.store.now().astimezone(self.zone).date()

    def search(
        self,
        user: User,
        *,
        nik: str | None = None,
        day: datetime.date | None = None,
        kiosk_id: str | None = None,
        state: str | None = None,
        limit: int = 500,
    ) -> list[RecordRow]:
        """Records matching every criterion given (NIK through the keyed hash; audited, without the NIK)."""
        table = db.records
        conditions = []
        if nik:
            conditions.append(
                table.c.nik_hmac == self.store.keys.nik_hmac(nik) if self.store.keys else sa.false()
            )
            self.accounts.audit(user, "search_nik", detail="by NIK")
        if day is not None:
            start, end = self.day_bounds(day)
            conditions += [table.c.captured_at >= start, table.c.captured_at < end]
        if state:
            conditions.append(table.c.state == state)
        where = sa.and_(*conditions) if conditions else None
        return self.store.record_rows(where=where, kiosk_id=kiosk_id or None, limit=limit)

    def export(self, day: datetime.date, user: User) -> tuple[str, str]:
        """The day's records for entry into SIAK, as (CSV, JSON) text; opened in RAM only, audited."""
        rows = self.search(user, day=day, limit=100_000)
        self.accounts.audit(user, "export", detail=f"{day.isoformat()}: {len(rows)} records")
        entries = []
        for row in rows:
            record = self.store.open_record(row)
            entries.append(
                {
                    "reference": row.reference_code,
                    "kiosk_id": row.kiosk_id,
                    "record_id": row.record_id,
                    "service": row.service,
                    "state": row.state,
                    "captured_at": row.captured_at.astimezone(self.zone).isoformat(timespec="seconds"),
                    "fields": dict(record.fields),
                    "photo": "yes" if record.photo_jpeg else (record.photo_note or "no"),
                }
            )
        field_names = sorted({name for entry in entries for name in entry["fields"]})
        out = io.StringIO()
        writer = csv.writer(out)
        head = ["reference", "kiosk_id", "record_id", "service", "state", "captured_at", "photo"]
        writer.writerow(head + field_names)
        for entry in entries:
            values = [entry[name] for name in head] + [entry["fields"].get(name, "") for name in field_names]
            writer.writerow([_cell(value) for value in values])
        return out.getvalue(), json.dumps(
            {"day": day.isoformat(), "records": entries}, ensure_ascii=False, indent=1
        )


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a typed ``=``, ``+``, ``-`` or ``@`` would start a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
