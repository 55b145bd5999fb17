"""Office staff accounts: roles, argon2 passwords, lockout, browser sessions, and the counter's audit log.

::

    accounts = Accounts(engine)
    accounts.create_user("siti", "Siti Mokodompit", Role.OFFICER, "a long passphrase")
    user = accounts.authenticate("siti", "a long passphrase")    # LoginRefused (locked, wrong, disabled)
    session = accounts.open_session(user)                          # session.token goes in the cookie
    accounts.session(session.token)                                # the Session back, None when expired
    accounts.audit(user, "view_record", kiosk_id=..., record_id=...)

Roles rank: a supervisor may do all an officer may, an admin all a supervisor may (:meth:`Role.allows`).
Passwords are argon2id hashes (argon2-cffi's defaults, rehashed on login when the parameters change). After
:data:`MAX_FAILURES` wrong passwords in a row an account is locked for :data:`LOCKOUT`; the refusal for an
unknown user, a wrong password and a locked account reads the same, so it tells an attacker nothing.

Sessions: the cookie carries 32 random bytes; the table holds only their SHA-256 (a copied database opens no
session) with the session's CSRF token and its expiry (:data:`SESSION_LIFETIME`, sliding is not needed for
an office day). Every view of a citizen's data and every state change goes to ``counter_audit``.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import argon2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from office import db

#: Wrong passwords in a row before the account is locked.
MAX_FAILURES = 5
LOCKOUT = datetime.timedelta(minutes=15)
SESSION_LIFETIME = datetime.timedelta(hours=10)
MIN_PASSWORD_LENGTH = 10
_USERNAME_MAX = 64


class Role(enum.StrEnum):
    """What a member of staff may do; each role includes the ones before it."""

    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


class AccountError(ValueError):
    """An account that cannot be created or changed as asked; the message says why."""


class LoginRefused(Exception):
    """Wrong user name or password, a locked or a disabled account; ``locked`` says which for the log."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


@dataclass(frozen=True)
class User:
    """A member of staff."""

    id: int
    username: str
    full_name: str
    role: Role


@dataclass(frozen=True, repr=False)
class Session:
    """A logged-in browser: the raw token (only in the cookie) and the CSRF token its forms carry."""

    token: str
    csrf_token: str
    user: User
    expires_at: datetime.datetime

    def __repr__(self) -> str:
        return f"Session(user={self.user.username!r}, expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the counter's audit."""

    id: int
    at: datetime.datetime
    username: str
    action: str
    kiosk_id: str | None
    record_id: str | None
    detail: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _user(row: sa.Row) -> User:
    return User(row.id, row.username, row.full_name, Role(row.role))


class Accounts:
    """Users, sessions and the audit, in the office database.

    Args:
        engine: the office database (migrated to at least ``0002_counter``).
        clock: seconds since the epoch (tests inject one).
        hasher: argon2 parameters (tests may pass cheaper ones).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        hasher: argon2.PasswordHasher | None = None,
    ) -> None:
        self.engine = engine
        self._writer = db.writer(engine)
        self._clock = clock
        self._hasher = hasher or argon2.PasswordHasher()
        # Verified against when the user name is unknown, so that case takes as long as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def now(self) -> datetime.datetime:
        """The clock as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self._clock(), tz=datetime.UTC)

    # -- users -----------------------------------------------------------------------------------------

    def create_user(self, username: str, full_name: str, role: Role | str, password: str) -> User:
        """A new account.

        Raises:
            AccountError: the user name is taken or malformed, the role unknown, the password too short.
        """
        username = username.strip().lower()
        if not username or len(username) > _USERNAME_MAX or not username.replace(".", "").isalnum():
            raise AccountError("a user name is 1 to 64 letters, digits or dots")
        try:
            role = Role(role)
        except ValueError:
            raise AccountError(f"role must be one of {', '.join(Role)}") from None
        self._check_password(password)
        values = dict(
            username=username,
            full_name=full_name.strip() or username,
            role=role.value,
            password_hash=self._hasher.hash(password),
            created_at=self.now(),
        )
        try:
            with self._writer.begin() as conn:
                user_id = conn.execute(db.users.insert().values(values)).inserted_primary_key[0]
                self.audit_in(conn, "cli", "create_user", detail=f"{username} ({role.value})")
        except sa.exc.IntegrityError:
            raise AccountError(f"the user name {username!r} is taken") from None
        return User(user_id, username, values["full_name"], role)

    def set_password(self, username: str, password: str) -> None:
        """Replace a password and unlock the account (an admin's reset).

        Raises:
            AccountError: no such user, or the password is too short.
        """
        self._check_password(password)
        with self._writer.begin() as conn:
            done = conn.execute(
                db.users.update()
                .where(db.users.c.username == username.strip().lower())
                .values(password_hash=self._hasher.hash(password), failed_logins=0, locked_until=None)
            ).rowcount
            if not done:
                raise AccountError(f"no user {username!r}")
            self.audit_in(conn, "cli", "set_password", detail=username)

    def users(self) -> list[User]:
        """Every account, by user name."""
        with self.engine.connect() as conn:
            return [_user(row) for row in conn.execute(sa.select(db.users).order_by(db.users.c.username))]

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")

    # -- login -----------------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> User:
        """The user these credentials belong to; every failure is counted and audited.

        Raises:
            LoginRefused: unknown user, wrong password, locked or disabled account (one message for all).
        """
        name = username.strip().lower()[:_USERNAME_MAX]
        now = self.now()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.users).where(db.users.c.username == name)).first()
        if row is None:
            self._verify(self._dummy_hash, password)
            self._record_failure(name, None, now)
            raise LoginRefused("wrong user name or password")
        if row.locked_until is not None and row.locked_until > now:
            self._record_failure(name, None, now, detail="locked")
            raise LoginRefused("wrong user name or password", locked=True)
        if not self._verify(row.password_hash, password) or row.disabled:
            self._record_failure(name, row.id, now)
            raise LoginRefused("wrong user name or password")
        with self._writer.begin() as conn:
            values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
            if self._hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = self._hasher.hash(password)
            conn.execute(db.users.update().where(db.users.c.id == row.id).values(values))
            self.audit_in(conn, name, "login")
        return _user(row)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False

    def _record_failure(
        self, name: str, user_id: int | None, now: datetime.datetime, detail: str = ""
    ) -> None:
        users = db.users
        with self._writer.begin() as conn:
            if user_id is not None:
                # One transaction: the increment locks the row, so two browsers guessing at once both count.
                conn.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(failed_logins=users.c.failed_logins + 1)
                )
                failures = conn.execute(
                    sa.select(users.c.failed_logins).where(users.c.id == user_id)
                ).scalar_one()
                if failures >= MAX_FAILURES:
                    conn.execute(
                        users.update()
                        .where(users.c.id == user_id)
                        .values(failed_logins=0, locked_until=now + LOCKOUT)
                    )
                    detail = f"locked until {(now + LOCKOUT).isoformat(timespec='seconds')}"
            self.audit_in(conn, name or "?", "login_failed", detail=detail)

    # -- sessions --------------------------------------------------------------------------------------

    def open_session(self, user: User) -> Session:
        """A new session for ``user``; its token goes in the cookie, never in the database."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.now()
        expires = now + SESSION_LIFETIME
        with self._writer.begin() as conn:
            conn.execute(db.web_sessions.delete().where(db.web_sessions.c.expires_at < now))
            conn.execute(
                db.web_sessions.insert().values(
                    token_hash=_token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return Session(token, csrf, user, expires)

    def session(self, token: str | None) -> Session | None:
        """The live session for a cookie's token (None: no token, unknown, expired, or the user disabled)."""
        if not token:
            return None
        query = (
            sa.select(db.web_sessions, db.users)
            .join(db.users, db.users.c.id == db.web_sessions.c.user_id)
            .where(db.web_sessions.c.token_hash == _token_hash(token))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.expires_at <= self.now() or row.disabled:
            return None
        return Session(token, row.csrf_token, _user(row), row.expires_at)

    def close_session(self, token: str) -> None:
        """Log out: the token opens nothing any more."""
        with self._writer.begin() as conn:
            conn.execute(db.web_sessions.delete().where(db.web_sessions.c.token_hash == _token_hash(token)))

    # -- audit -----------------------------------------------------------------------------------------

    def audit(
        self,
        user: User | str,
        action: str,
        *,
        kiosk_id: str | None = None,
        record_id: str | None = None,
        detail: str = "",
    ) -> None:
        """Write one audit line (its own transaction)."""
        with self._writer.begin() as conn:
            self.audit_in(conn, user, action, kiosk_id=kiosk_id, record_id=record_id, detail=detail)

    def audit_in(
        self,
        conn: sa.Connection,
        user: User | str,
        action: str,
        *,
        kiosk_id: str | None = None,
        record_id: str | None = None,
        detail: str = "",
    ) -> None:
        """One audit line inside the caller's transaction: a change and its audit commit together."""
        conn.execute(
            db.counter_audit.insert().values(
                at=self.now(),
                username=user.username if isinstance(user, User) else user,
                action=action,
                kiosk_id=kiosk_id,
                record_id=record_id,
                detail=detail,
            )
        )

    def audit_entries(
        self, *, kiosk_id: str | None = None, record_id: str | None = None, limit: int = 200
    ) -> list[AuditEntry]:
        """The newest audit lines first, of one record when given."""
        table = db.counter_audit
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        if record_id is not None:
            query = query.where(table.c.record_id == record_id)
        if kiosk_id is not None:
            query = query.where(table.c.kiosk_id == kiosk_id)
        with self.engine.connect() as conn:
            return [
                AuditEntry(r.id, r.at, r.username, r.action, r.kiosk_id, r.record_id, r.detail)
                for r in conn.execute(query)
            ]
