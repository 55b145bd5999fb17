"""The office's web pages: counter, fleet, service notices, audit, accounts (issue 12).

Mounted on the office service's application::

    app = create_app(settings, extra_routes=page_routes())

Server-rendered (Jinja2, autoescaped), bundled CSS, no JavaScript needed, Bahasa Indonesia and English.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from office.web import auth_pages, counter_pages, office_pages
from office.web.site import HERE, PageSettings, Site

__all__ = ["PageSettings", "Site", "page_routes"]


async def _home(request: Request) -> Response:
    return RedirectResponse("/counter", status_code=303)


def page_routes() -> list[BaseRoute]:
    """Every page's route, for :func:`office.app.create_app`'s ``extra_routes``."""
    record = "/counter/records/{kiosk_id}/{record_id}"
    return [
        Route("/", _home, methods=["GET"]),
        Route("/login", auth_pages.login_page, methods=["GET"]),
        Route("/login", auth_pages.login, methods=["POST"]),
        Route("/logout", auth_pages.logout, methods=["POST"]),
        Route("/language", auth_pages.language, methods=["GET"]),
        Route("/counter", counter_pages.counter_home, methods=["GET"]),
        Route("/counter/find", counter_pages.find, methods=["POST"]),
        Route("/counter/search", counter_pages.search, methods=["POST"]),
        Route("/counter/export", counter_pages.export, methods=["GET"]),
        Route(record, counter_pages.record_page, methods=["GET"]),
        Route(record + "/documents", counter_pages.tick_documents, methods=["POST"]),
        Route(record + "/state", counter_pages.change_state, methods=["POST"]),
        Route("/fleet", office_pages.fleet_page, methods=["GET"]),
        Route("/notices", office_pages.notices_page, methods=["GET"]),
        Route("/notices", office_pages.post_notice, methods=["POST"]),
        Route("/notices/{notice_id}/withdraw", office_pages.withdraw_notice, methods=["POST"]),
        Route("/audit", office_pages.audit_page, methods=["GET"]),
        Route("/bundles", office_pages.bundles_page, methods=["GET"]),
        Route("/bundles", office_pages.upload_bundle, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
