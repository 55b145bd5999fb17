"""The office's other pages: the fleet, service notices, the audit."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from office.accounts import Role, Session
from office.fleet import SILENT_AFTER, fleet
from office.notices import Level, NoticeError
from office.web.counter_pages import page
from office.web.site import Refusal, form_with_csrf, render, site, translator


@page(Role.OFFICER)
async def fleet_page(request: Request, session: Session) -> Response:
    """Every kiosk: last heartbeat, devices, queue, power, version, PIN attempts, 7-day chart; alerts."""
    the_site = site(request)
    kiosks = await run_in_threadpool(fleet, the_site.store, SILENT_AFTER, the_site.counter.zone)
    alerts = [alert for kiosk in kiosks for alert in kiosk.alerts]
    alerts.sort(key=lambda alert: alert.severity != "critical")
    return render(
        request,
        "fleet.html",
        {"kiosks": kiosks, "alerts": alerts, "zone": the_site.counter.zone, "now": the_site.store.now()},
        session=session,
    )


def _notices_page(
    request: Request, session: Session, error: str | None = None, status: int = 200
) -> Response:
    the_site = site(request)
    return render(
        request,
        "notices.html",
        {
            "notices": the_site.notices.active(),
            "services": list(the_site.catalog),
            "levels": [level.value for level in Level],
            "zone": the_site.counter.zone,
            "error": error,
            "may_post": session.user.role.allows(Role.SUPERVISOR),
        },
        session=session,
        status=status,
    )


@page(Role.OFFICER)
async def notices_page(request: Request, session: Session) -> Response:
    """The notices in force (every officer sees them; supervisors post and withdraw)."""
    return await run_in_threadpool(_notices_page, request, session)


@page(Role.SUPERVISOR)
async def post_notice(request: Request, session: Session) -> Response:
    """A supervisor marks a counter service unavailable or limited until the end of the day."""
    form = await form_with_csrf(request, session)
    the_site = site(request)
    service = str(form.get("service", ""))
    if service not in the_site.catalog:
        raise Refusal(400, "Unknown service: {service}.", service=service[:64])
    try:
        await run_in_threadpool(
            the_site.notices.post,
            service,
            str(form.get("level", "")),
            str(form.get("text_id", "")),
            str(form.get("text_en", "")),
            session.user,
        )
    except NoticeError as error:
        message = translator(request).gettext(str(error))
        return await run_in_threadpool(_notices_page, request, session, message, 422)
    return RedirectResponse("/notices", status_code=303)


@page(Role.SUPERVISOR)
async def withdraw_notice(request: Request, session: Session) -> Response:
    """End a notice before the end of the day."""
    await form_with_csrf(request, session)
    try:
        notice_id = int(request.path_params["notice_id"])
    except ValueError:
        raise Refusal(404, "There is no such notice.") from None
    await run_in_threadpool(site(request).notices.withdraw, notice_id, session.user)
    return RedirectResponse("/notices", status_code=303)


@page(Role.SUPERVISOR)
async def audit_page(request: Request, session: Session) -> Response:
    """The newest audit lines: who viewed or changed which record, logins, exports, notices."""
    the_site = site(request)
    entries = await run_in_threadpool(the_site.accounts.audit_entries, limit=500)
    return render(request, "audit.html", {"entries": entries, "zone": the_site.counter.zone}, session=session)
