"""The counter: one field for the code or scanned receipt, the record page, search, the daily export."""

from __future__ import annotations

import base64
import datetime
import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kiosk.sealing import SealError
from kiosk.services import ServiceCatalog
from office.accounts import Role, Session
from office.counter import STATE_NAMES, CounterError, Found, ReceiptNotReceived, Refused, State
from office.web.site import (
    SECURITY_HEADERS,
    Refusal,
    form_with_csrf,
    refusal_page,
    render,
    require,
    site,
    translator,
)

Handler = Callable[[Request, Session], Awaitable[Response]]


def page(role: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A handler for users of at least ``role``; refusals and counter errors become plain pages."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                session = await run_in_threadpool(require, request, role)
                return await handler(request, session)
            except Refusal as refusal:
                return refusal_page(request, refusal)
            except CounterError as error:
                return refusal_page(request, Refusal(409, error.message, **error.values))

        return endpoint

    return wrap


def record_url(kiosk_id: str, record_id: str) -> str:
    return f"/counter/records/{quote(kiosk_id, safe='')}/{quote(record_id, safe='')}"


def _day(text: object) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(text)) if text else None
    except ValueError:
        raise Refusal(400, "{text} is not a date (YYYY-MM-DD).", text=str(text)[:20]) from None


def _service_name(catalog: ServiceCatalog, language: str, service_id: str) -> str:
    service = catalog.get(service_id)
    return service.name.get(language) if service else service_id


def _home(request: Request, session: Session, status: int = 200, **context: object) -> Response:
    the_site = site(request)
    today = the_site.counter.today()
    rows = context.pop("rows", None)
    if rows is None:
        rows = the_site.counter.search(session.user, day=today)
        context.setdefault("listing", "today")
    return render(
        request,
        "counter.html",
        {
            "rows": rows,
            "today": today.isoformat(),
            "kiosks": [k.kiosk_id for k in the_site.store.kiosks()],
            "states": STATE_NAMES,
            "notices": the_site.notices.active(),
            "zone": the_site.counter.zone,
            "record_url": record_url,
            "service_name": functools.partial(_service_name, the_site.catalog, translator(request).language),
            "result": None,
            "listing": "search",
            "query": {},
            **context,
        },
        session=session,
        status=status,
    )


@page(Role.OFFICER)
async def counter_home(request: Request, session: Session) -> Response:
    """The counter's page: the field, today's pre-registrations, the search form."""
    return await run_in_threadpool(_home, request, session)


@page(Role.OFFICER)
async def find(request: Request, session: Session) -> Response:
    """Typed code or scanned receipt + Enter: open the record, or say what the receipt proves."""
    form = await form_with_csrf(request, session)
    counter = site(request).counter
    result = await run_in_threadpool(counter.find, str(form.get("code", ""))[:1000], session.user)
    if isinstance(result, Found) and len(result.rows) == 1:
        row = result.rows[0]
        return RedirectResponse(
            record_url(row.kiosk_id, row.record_id), status_code=303, headers=SECURITY_HEADERS
        )
    tr = translator(request)
    if isinstance(result, Refused):
        context = {"result": "refused", "message": tr.gettext(result.message).format(**result.values)}
        return await run_in_threadpool(_home, request, session, 422, **context)
    if isinstance(result, ReceiptNotReceived):
        context = {"result": "offline", "message": offline_sentence(result, counter.zone, tr.gettext)}
        return await run_in_threadpool(_home, request, session, 200, **context)
    return await run_in_threadpool(_home, request, session, 200, rows=list(result.rows), result="several")


def offline_sentence(result: ReceiptNotReceived, zone: datetime.tzinfo, _: Callable[[str], str]) -> str:
    """ "Captured at BMT-MODAYAG-01 at 09:12, not received yet: the kiosk is offline since 08:40." """
    claim = result.claim
    captured = claim.captured_at_utc.astimezone(zone)
    values = {
        "kiosk": claim.kiosk_id,
        "time": captured.strftime("%H:%M"),
        "date": captured.strftime("%d-%m-%Y"),
        "code": claim.reference,
    }
    head = _("Genuine receipt {code}: captured at {kiosk} on {date} at {time}, not received yet").format(
        **values
    )
    if result.kiosk.revoked:
        return head + ": " + _("the kiosk has been revoked.")
    if result.last_heard is None:
        return head + ": " + _("the kiosk has never been heard from.")
    last = result.last_heard.astimezone(zone)
    since = last.strftime("%H:%M") if last.date() == captured.date() else last.strftime("%d-%m-%Y %H:%M")
    if result.last_heard < claim.captured_at_utc:
        return head + ": " + _("the kiosk is offline since {since}.").format(since=since)
    return (
        head
        + ": "
        + _("the kiosk was last heard at {since}; the record should arrive soon.").format(since=since)
    )


@page(Role.OFFICER)
async def record_page(request: Request, session: Session) -> Response:
    """One pre-registration: service, fields, photo, signature, checklist with ticks, state buttons, audit."""
    kiosk_id, record_id = request.path_params["kiosk_id"], request.path_params["record_id"]
    the_site = site(request)
    try:
        view = await run_in_threadpool(the_site.counter.open, kiosk_id, record_id, session.user)
    except SealError:
        raise Refusal(500, "This record cannot be opened with this office's key.") from None
    audit = await run_in_threadpool(the_site.accounts.audit_entries, kiosk_id=kiosk_id, record_id=record_id)
    record = view.record
    signature = record.signature
    return render(
        request,
        "record.html",
        {
            "view": view,
            "row": view.row,
            "record": record,
            "service": view.service,
            "photo": base64.b64encode(record.photo_jpeg).decode() if record.photo_jpeg else None,
            "signature": base64.b64encode(signature.png).decode() if signature else None,
            "audit": audit,
            "zone": the_site.counter.zone,
            "states": STATE_NAMES,
            "url": record_url(kiosk_id, record_id),
            "notice": request.query_params.get("done"),
        },
        session=session,
    )


@page(Role.OFFICER)
async def tick_documents(request: Request, session: Session) -> Response:
    """Save the ticked documents."""
    kiosk_id, record_id = request.path_params["kiosk_id"], request.path_params["record_id"]
    form = await form_with_csrf(request, session)
    chosen = [str(value) for value in form.getlist("document")]
    await run_in_threadpool(site(request).counter.tick, kiosk_id, record_id, chosen, session.user)
    return RedirectResponse(record_url(kiosk_id, record_id) + "?done=documents", status_code=303)


@page(Role.OFFICER)
async def change_state(request: Request, session: Session) -> Response:
    """Move the record to the state of the button pressed (with the comment)."""
    kiosk_id, record_id = request.path_params["kiosk_id"], request.path_params["record_id"]
    form = await form_with_csrf(request, session)
    new = State(str(form.get("state"))) if str(form.get("state")) in State.__members__.values() else None
    if new is None:
        raise Refusal(400, "Unknown state: {state}.", state=str(form.get("state"))[:32])
    comment = str(form.get("comment", ""))
    await run_in_threadpool(site(request).counter.move, kiosk_id, record_id, new, session.user, comment)
    return RedirectResponse(record_url(kiosk_id, record_id) + "?done=state", status_code=303)


@page(Role.OFFICER)
async def search(request: Request, session: Session) -> Response:
    """Search by NIK (through the keyed hash), day, kiosk and state (a POST: a NIK never lands in a URL)."""
    form = await form_with_csrf(request, session)
    nik = "".join(str(form.get("nik", "")).split())[:32]
    day = _day(form.get("day"))
    kiosk_id = str(form.get("kiosk", ""))[:64]
    state = str(form.get("state", ""))
    if state and state not in State.__members__.values():
        raise Refusal(400, "Unknown state: {state}.", state=state[:32])
    if nik and not (nik.isdigit() and len(nik) == 16):
        raise Refusal(400, "A NIK has 16 digits.")
    counter = site(request).counter
    rows = await run_in_threadpool(
        functools.partial(
            counter.search, session.user, nik=nik or None, day=day, kiosk_id=kiosk_id, state=state
        )
    )
    query = {"day": day.isoformat() if day else "", "kiosk": kiosk_id, "state": state, "nik_used": bool(nik)}
    return await run_in_threadpool(_home, request, session, 200, rows=rows, query=query, listing="search")


@page(Role.OFFICER)
async def export(request: Request, session: Session) -> Response:
    """The day's records as CSV or JSON for entry into SIAK (opened in RAM, sent, never written here)."""
    day = _day(request.query_params.get("day")) or site(request).counter.today()
    kind = request.query_params.get("format", "csv")
    if kind not in ("csv", "json"):
        raise Refusal(400, "Export as csv or json.")
    csv_text, json_text = await run_in_threadpool(site(request).counter.export, day, session.user)
    body, media = (csv_text, "text/csv; charset=utf-8") if kind == "csv" else (json_text, "application/json")
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="dukcapil-{day.isoformat()}.{kind}"',
    }
    return Response(body, media_type=media, headers=headers)
