"""Log in, log out, switch language."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from office.accounts import LoginRefused
from office.web.i18n import LANGUAGES
from office.web.site import (
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Refusal,
    current_session,
    form_with_csrf,
    new_login_csrf,
    refusal_page,
    render,
    secure,
    site,
)


def safe_next(target: str | None, default: str = "/counter") -> str:
    """A same-site path to go back to (anything else, e.g. ``//evil.example``, becomes ``default``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def _login_form(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "error": error, "next": safe_next(request.query_params.get("next"))},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/login"
    )
    return response


async def login_page(request: Request) -> Response:
    """The login form (a logged-in visitor goes straight to the counter)."""
    if await run_in_threadpool(current_session, request) is not None:
        return RedirectResponse("/counter", status_code=303)
    return _login_form(request)


async def login(request: Request) -> Response:
    """Check the credentials (and the login form's CSRF cookie), open a session."""
    form = await request.form()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, cookie):
        return refusal_page(
            request,
            Refusal(403, "This form has expired or came from another site. Reload the page and try again."),
        )
    accounts = site(request).accounts
    try:
        user = await run_in_threadpool(
            accounts.authenticate, str(form.get("username", "")), str(form.get("password", ""))
        )
    except LoginRefused as refused:
        message = (
            "Too many wrong passwords: this account is locked for 15 minutes."
            if refused.locked
            else "Wrong user name or password."
        )
        return _login_form(request, error=message, status=403)
    session = await run_in_threadpool(accounts.open_session, user)
    response = RedirectResponse(
        safe_next(str(form.get("next", ""))), status_code=303, headers=SECURITY_HEADERS
    )
    response.set_cookie(
        SESSION_COOKIE, session.token, httponly=True, samesite="strict", secure=secure(request), path="/"
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    """End the session (a POST with the CSRF token, so no other site can log an officer out)."""
    session = await run_in_threadpool(current_session, request)
    if session is not None:
        try:
            await form_with_csrf(request, session)
        except Refusal as refusal:
            return refusal_page(request, refusal)
        await run_in_threadpool(site(request).accounts.close_session, session.token)
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def language(request: Request) -> Response:
    """Switch the pages' language (a preference cookie, no data changes) and go back."""
    chosen = request.query_params.get("to", "id")
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if chosen in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="lax", secure=secure(request), path="/"
        )
    return response
