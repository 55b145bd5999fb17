"""Accounts: argon2 hashes, one refusal for every wrong login, lockout, sessions, roles, the audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from office import db
from office.accounts import LOCKOUT, MAX_FAILURES, SESSION_LIFETIME, AccountError, LoginRefused, Role


def test_password_is_stored_as_an_argon2id_hash_only(desk):
    with desk.store.engine.connect() as conn:
        stored = conn.execute(sa.select(db.users.c.password_hash)).scalars().all()
    assert len(stored) == 2 and all(h.startswith("$argon2id$") for h in stored)
    assert not any(PASSWORD in h for h in stored)
    assert desk.accounts.authenticate("  SITI ", PASSWORD) == desk.officer


@pytest.mark.parametrize(
    "username, full_name, role, password, sentence",
    [
        ("siti", "Another Siti", "officer", PASSWORD, "taken"),
        ("a b", "Spaces", "officer", PASSWORD, "letters, digits or dots"),
        ("rina", "Rina", "janitor", PASSWORD, "role must be one of"),
        ("rina", "Rina", "officer", "short", "at least 10"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(desk, username, full_name, role, password, sentence):
    with pytest.raises(AccountError, match=sentence):
        desk.accounts.create_user(username, full_name, role, password)


def test_unknown_user_and_wrong_password_read_the_same(desk):
    with pytest.raises(LoginRefused) as unknown:
        desk.accounts.authenticate("nobody", PASSWORD)
    with pytest.raises(LoginRefused) as wrong:
        desk.accounts.authenticate("siti", "not the password")
    assert str(unknown.value) == str(wrong.value) == "wrong user name or password"
    actions = [(e.username, e.action) for e in desk.accounts.audit_entries()]
    assert actions[:2] == [("siti", "login_failed"), ("nobody", "login_failed")]


def test_lockout_after_repeated_failures_then_unlocked_by_time(desk):
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            desk.accounts.authenticate("siti", "guess guess")
    # Locked now: even the right password is refused until the lockout is over.
    with pytest.raises(LoginRefused) as refused:
        desk.accounts.authenticate("siti", PASSWORD)
    assert refused.value.locked
    assert "locked until" in desk.accounts.audit_entries()[1].detail
    desk.clock.advance(LOCKOUT.total_seconds() - 1)
    with pytest.raises(LoginRefused):
        desk.accounts.authenticate("siti", PASSWORD)
    desk.clock.advance(2)
    assert desk.accounts.authenticate("siti", PASSWORD) == desk.officer


def test_a_good_login_resets_the_failure_count(desk):
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(LoginRefused):
            desk.accounts.authenticate("siti", "guess guess")
    desk.accounts.authenticate("siti", PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(LoginRefused):
            desk.accounts.authenticate("siti", "guess guess")
    assert desk.accounts.authenticate("siti", PASSWORD) == desk.officer


def test_sessions_keep_only_a_hash_and_expire(desk):
    session = desk.accounts.open_session(desk.officer)
    with desk.store.engine.connect() as conn:
        stored = conn.execute(sa.select(db.web_sessions)).one()
    assert session.token not in stored.token_hash and len(stored.token_hash) == 64
    assert desk.accounts.session(session.token).user == desk.officer
    assert desk.accounts.session(session.token).csrf_token == session.csrf_token
    assert desk.accounts.session("forged") is None and desk.accounts.session(None) is None
    desk.clock.advance(SESSION_LIFETIME.total_seconds())
    assert desk.accounts.session(session.token) is None


def test_logout_ends_the_session(desk):
    session = desk.accounts.open_session(desk.officer)
    desk.accounts.close_session(session.token)
    assert desk.accounts.session(session.token) is None


def test_a_reset_password_unlocks(desk):
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginRefused):
            desk.accounts.authenticate("siti", "guess guess")
    desk.accounts.set_password("siti", "a brand new passphrase")
    assert desk.accounts.authenticate("siti", "a brand new passphrase") == desk.officer
    with pytest.raises(AccountError, match="no user"):
        desk.accounts.set_password("nobody", "a brand new passphrase")


def test_roles_rank():
    assert Role.ADMIN.allows(Role.SUPERVISOR) and Role.SUPERVISOR.allows(Role.OFFICER)
    assert not Role.OFFICER.allows(Role.SUPERVISOR) and not Role.SUPERVISOR.allows(Role.ADMIN)


def test_user_add_command(tmp_path, monkeypatch, capsys):
    import io

    import office.cli

    database = str(tmp_path / "office.sqlite3")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    args = [
        "user-add",
        "--db",
        database,
        "--username",
        "Admin",
        "--full-name",
        "Kepala Dinas",
        "--role",
        "admin",
    ]
    assert office.cli.main([*args, "--password-stdin"]) == 0
    assert "user admin (admin) added" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert office.cli.main([*args[:4], "other", "--role", "officer", "--password-stdin"]) == 2
    assert "at least 10" in capsys.readouterr().err
    engine = db.make_engine(database)
    try:
        from office.accounts import Accounts

        assert Accounts(engine).authenticate("admin", PASSWORD).role is Role.ADMIN
    finally:
        engine.dispose()


def test_the_simulator_first_officer_is_made_once_and_can_log_in(tmp_path):
    from office.web.commands import first_officer

    database = tmp_path / "office.sqlite3"
    username, password = first_officer(database, tmp_path / "officer-password")
    assert first_officer(database, tmp_path / "officer-password") == (username, password)
    assert (tmp_path / "officer-password").stat().st_mode & 0o777 == 0o600
    (tmp_path / "officer-password").unlink()  # lost: a new password, the same account
    again = first_officer(database, tmp_path / "officer-password")
    assert again[0] == username and again[1] != password
    engine = db.make_engine(database)
    try:
        from office.accounts import Accounts

        assert Accounts(engine).authenticate(username, again[1]).role is Role.OFFICER
    finally:
        engine.dispose()


def test_the_cli_roles_are_the_account_roles():
    from office.web.commands import ROLES

    assert tuple(role.value for role in Role) == ROLES
