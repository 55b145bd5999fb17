"""What every page shares: the site's services, templates, the logged-in user, CSRF, roles, languages.

The pages live on the office service's application (:func:`office.app.create_app`) and find its store at
``request.app.state.store``; :func:`site` builds the page services over it once per application
(:class:`Site`: accounts, counter, notices, templates).

Security, in one place:

- Sessions: an HttpOnly, ``SameSite=Strict`` cookie with a random token (:mod:`office.accounts` keeps only
  its hash); ``Secure`` whenever the request came over HTTPS.
- CSRF: every POST carries the session's token in a ``csrf_token`` field (synchroniser token), compared in
  constant time; the login form, before any session, uses a double-submit cookie. ``SameSite=Strict``
  alone would leave old browsers open.
- Roles: :func:`require` refuses a page to a role below the one it needs (403, a plain sentence).
- Every answer: no caching (pages hold personal data), a Content-Security-Policy allowing only this site's
  own files (the CSS) and ``data:`` images (the photo and signature), no framing, no referrer.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kiosk.services import load_services
from office.accounts import Accounts, Role, Session
from office.counter import Counter
from office.notices import Notices
from office.store import Store
from office.web.i18n import LANGUAGES, Translator

HERE = Path(__file__).parent
SESSION_COOKIE = "dk_session"
LOGIN_CSRF_COOKIE = "dk_login_csrf"
LANGUAGE_COOKIE = "dk_lang"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class Refusal(Exception):
    """A page refused: the status and a catalog sentence; rendered by :func:`refusal_page`."""

    def __init__(self, status: int, message: str, **values: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.values = values


@dataclasses.dataclass
class PageSettings:
    """The pages' own settings.

    Attributes:
        timezone: the office's zone (days in searches and exports, notices' end of day).
        services_dir: an office's edited service files (None: the shipped ones).
    """

    timezone: str = "Asia/Makassar"
    services_dir: Path | None = None


class Site:
    """The page services over one office store."""

    def __init__(self, store: Store, settings: PageSettings, accounts: Accounts | None = None) -> None:
        self.store = store
        self.settings = settings
        self.accounts = accounts or Accounts(store.engine, clock=lambda: store.now().timestamp())
        self.catalog = load_services(settings.services_dir)
        self.counter = Counter(store, self.accounts, self.catalog, settings.timezone)
        self.notices = Notices(store.engine, self.accounts, settings.timezone)
        # Imported here, on the first page, not when the service starts (it starts often: restarts, tests).
        import jinja2

        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )


def site(request: Request) -> Site:
    """The application's :class:`Site`, made on first use from ``app.state.store``."""
    state = request.app.state
    found = getattr(state, "counter_site", None)
    if found is None:
        found = Site(state.store, getattr(state, "page_settings", None) or PageSettings())
        state.counter_site = found
    return found


def translator(request: Request) -> Translator:
    """The visitor's language: the cookie, else the browser's preference, else Bahasa Indonesia."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen not in LANGUAGES:
        accept = request.headers.get("accept-language", "").lower()
        chosen = "en" if accept.startswith("en") else "id"
    return Translator(chosen)


def current_session(request: Request) -> Session | None:
    """The logged-in session, if any."""
    return site(request).accounts.session(request.cookies.get(SESSION_COOKIE))


def require(request: Request, role: Role) -> Session:
    """The session of a user allowed ``role``'s pages.

    Raises:
        Refusal: 401 when not logged in (the handler sends them to the login page), 403 for too low a role.
    """
    session = current_session(request)
    if session is None:
        raise Refusal(401, "Please log in.")
    if not session.user.role.allows(role):
        raise Refusal(
            403,
            "Your role ({role}) may not open this page: it needs {needed}.",
            role=session.user.role.value,
            needed=role.value,
        )
    return session


async def form_with_csrf(request: Request, session: Session) -> Any:
    """The POSTed form, after checking its CSRF token against the session's.

    Raises:
        Refusal: 403 when the token is missing or wrong.
    """
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
        raise Refusal(403, "This form has expired or came from another site. Reload the page and try again.")
    return form


def secure(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through the documented proxy)."""
    return request.url.scheme == "https"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: Session | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page from ``template`` with the visitor's language and the security headers."""
    tr = translator(request)
    page = (
        site(request)
        .templates.get_template(template)
        .render(
            _=tr.gettext,
            action_name=tr.action,
            device_name=tr.device,
            device_status=tr.device_status,
            alert_text=tr.alert,
            lang=tr.language,
            session=session,
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def refusal_page(request: Request, refusal: Refusal) -> Response:
    """The answer to a :class:`Refusal`: the login page for 401, else a page with the sentence."""
    if refusal.status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303, headers=SECURITY_HEADERS)
    tr = translator(request)
    return render(
        request,
        "refused.html",
        # Values that are catalog words (a role, a state) are translated too; ids and codes are not in it.
        {
            "message": tr.gettext(refusal.message).format(
                **{k: tr.gettext(v) for k, v in refusal.values.items()}
            )
        },
        session=current_session(request),
        status=refusal.status,
    )


def new_login_csrf() -> str:
    """A fresh token for the login form's double-submit cookie."""
    return secrets.token_urlsafe(32)
