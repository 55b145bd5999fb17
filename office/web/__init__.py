"""The office's web pages: counter, fleet, service notices, USB bundles, audit, accounts (issue 12).

Mounted on the office service's application::

    app = create_app(settings, extra_routes=page_routes())

Server-rendered (Jinja2, autoescaped), bundled CSS, no JavaScript needed, Bahasa Indonesia and English. The
page modules are imported on the first page request, not when the service starts: kill tests and pre-forked
workers start it often, and kiosks (which never see a page) should not wait for templates to load.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["page_routes"]

STATIC = Path(__file__).parent / "static"


def _lazy(module: str, name: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that imports ``office.web.<module>`` on its first request and calls its ``name``."""

    async def endpoint(request: Request) -> Response:
        handler = getattr(importlib.import_module(f"office.web.{module}"), name)
        return await handler(request)

    endpoint.__name__ = name
    return endpoint


async def _home(request: Request) -> Response:
    return RedirectResponse("/counter", status_code=303)


def page_routes() -> list[BaseRoute]:
    """Every page's route, for :func:`office.app.create_app`'s ``extra_routes``."""
    record = "/counter/records/{kiosk_id}/{record_id}"
    pages = [
        ("/login", "GET", "auth_pages", "login_page"),
        ("/login", "POST", "auth_pages", "login"),
        ("/logout", "POST", "auth_pages", "logout"),
        ("/language", "GET", "auth_pages", "language"),
        ("/counter", "GET", "counter_pages", "counter_home"),
        ("/counter/find", "POST", "counter_pages", "find"),
        ("/counter/search", "POST", "counter_pages", "search"),
        ("/counter/export", "GET", "counter_pages", "export"),
        (record, "GET", "counter_pages", "record_page"),
        (record + "/documents", "POST", "counter_pages", "tick_documents"),
        (record + "/state", "POST", "counter_pages", "change_state"),
        ("/fleet", "GET", "office_pages", "fleet_page"),
        ("/notices", "GET", "office_pages", "notices_page"),
        ("/notices", "POST", "office_pages", "post_notice"),
        ("/notices/{notice_id}/withdraw", "POST", "office_pages", "withdraw_notice"),
        ("/audit", "GET", "office_pages", "audit_page"),
        ("/bundles", "GET", "office_pages", "bundles_page"),
        ("/bundles", "POST", "office_pages", "upload_bundle"),
    ]
    routes: list[BaseRoute] = [Route("/", _home, methods=["GET"])]
    routes += [Route(path, _lazy(module, name), methods=[method]) for path, method, module, name in pages]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return routes
