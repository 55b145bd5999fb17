"""The office's other pages: the fleet, service notices, the audit."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kiosk.usb_export import BundleError
from office.accounts import Role, Session, User
from office.counter import Refused
from office.fleet import SILENT_AFTER, fleet
from office.ingest import import_bundle
from office.notices import Level, NoticeError
from office.web.counter_pages import page
from office.web.site import SECURITY_HEADERS, Refusal, Site, form_with_csrf, render, site, translator


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
            "service_names": {s.id: s.name.get(translator(request).language) for s in the_site.catalog},
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


MAX_BUNDLE_BYTES = 512 * 1024 * 1024


@page(Role.SUPERVISOR)
async def bundles_page(request: Request, session: Session) -> Response:
    """Upload a kiosk's USB bundle; the answer is its signed acknowledgement file to carry back."""
    return render(request, "bundles.html", {"error": None}, session=session)


def _import(the_site: Site, user: User, upload: Any, directory: Path) -> tuple[str, bytes] | Refused:
    """Import the uploaded bundle through the office's own bundle import; (ack name, ack bytes) or why not."""
    bundle = directory / "upload.bundle.tar"
    with bundle.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
        copied = out.tell()
    if not copied:
        return Refused("Choose the bundle file first.")
    try:
        result = import_bundle(the_site.store, bundle, directory)
    except (BundleError, OSError) as exc:
        the_site.accounts.audit(user, "bundle_refused", detail=str(exc)[:300])
        return Refused("This file is not a bundle this office can import: {reason}", {"reason": str(exc)})
    counts = f"{result.acknowledged} acknowledged, {result.new} new, {len(result.rejected)} rejected"
    detail = f"{result.kiosk_id}: {counts}"
    the_site.accounts.audit(user, "bundle_import", kiosk_id=result.kiosk_id, detail=detail)
    return result.ack.name, result.ack.read_bytes()


@page(Role.SUPERVISOR)
async def upload_bundle(request: Request, session: Session) -> Response:
    """Import the uploaded bundle (idempotent: the same bundle twice stores nothing new) and send the ack."""
    if int(request.headers.get("content-length") or 0) > MAX_BUNDLE_BYTES:
        raise Refusal(413, "This file is too large for a bundle.")
    form = await form_with_csrf(request, session)
    upload = form.get("bundle")
    if upload is None or isinstance(upload, str):
        error = translator(request).gettext("Choose the bundle file first.")
        return render(request, "bundles.html", {"error": error}, session=session, status=422)
    with tempfile.TemporaryDirectory(prefix="bundle-") as directory:
        outcome = await run_in_threadpool(_import, site(request), session.user, upload, Path(directory))
    if isinstance(outcome, Refused):
        error = translator(request).gettext(outcome.message).format(**outcome.values)
        return render(request, "bundles.html", {"error": error}, session=session, status=422)
    name, ack = outcome
    return Response(
        ack,
        media_type="application/json",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
