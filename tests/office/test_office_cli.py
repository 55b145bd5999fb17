"""``dukcapil-office`` as a technician uses it: migrate, enrol, rotate, revoke, status, serve's check."""

from __future__ import annotations

import subprocess
import sys

import pytest

import office.cli
from office import db
from office.store import Store


def run(*args: str) -> int:
    return office.cli.main(list(args))


def test_migrate_creates_then_finds_nothing_to_do(database, capsys):
    assert run("migrate", "--db", database) == 0
    assert "database at revision 0002_counter (was empty)" in capsys.readouterr().out
    assert run("migrate", "--db", database) == 0
    assert capsys.readouterr().out.strip() == "database at revision 0002_counter"


def test_rotate_and_revoke_are_audited_with_the_actor(lab, capsys):
    db_path = str(lab.server_db)
    key = lab.identity.verify_key_b64
    assert (
        run("rotate", "--db", db_path, "--kiosk-id", lab.kiosk_id, "--verify-key", key, "--actor", "pak-budi")
        == 0
    )
    token = capsys.readouterr().out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert (
        run("revoke", "--db", db_path, "--kiosk-id", lab.kiosk_id, "--reason", "stolen", "--actor", "bu-ani")
        == 0
    )
    assert "refused from now on" in capsys.readouterr().out
    assert run("revoke", "--db", db_path, "--kiosk-id", lab.kiosk_id) == 2
    assert "already revoked" in capsys.readouterr().err
    assert (
        run("rotate", "--db", db_path, "--kiosk-id", "NOT-THERE", "--verify-key", lab.identity.verify_key_b64)
        == 2
    )
    assert "not enrolled" in capsys.readouterr().err

    with lab.store() as store:
        assert store.kiosk_for_token(token).revoked
        assert [(a.actor, a.action) for a in store.audit(lab.kiosk_id)][1:] == [
            ("pak-budi", "rotated"),
            ("bu-ani", "revoke"),
        ]
    assert run("status", "--db", db_path) == 0
    assert f"{lab.kiosk_id} (revoked): 0 records, last heartbeat never" in capsys.readouterr().out


def test_serve_without_migrate_refuses_an_old_schema(tmp_path, lab):
    empty = tmp_path / "empty.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "office", "serve", "--db", str(empty), "--key",
         str(lab.directory / "server.key"), "--port", "0", "--no-migrate"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "dukcapil-office migrate" in result.stderr
    engine = db.make_engine(empty)
    try:
        assert db.current_revision(engine) is None  # nothing was created behind the operator's back
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "command",
    ["serve", "keygen", "enroll", "rotate", "revoke", "import-bundle", "status", "migrate", "user-add"],
)
def test_every_command_is_documented(command, capsys):
    with pytest.raises(SystemExit):
        run(command, "--help")
    assert "usage: dukcapil-office " + command in capsys.readouterr().out
    assert f"dukcapil-office {command}" in office.cli.__doc__


def test_the_store_opens_a_database_url_or_path(tmp_path):
    with (
        Store.open(f"sqlite:///{tmp_path / 'url.sqlite3'}") as by_url,
        Store.open(tmp_path / "path.sqlite3") as by_path,
    ):
        assert by_url.kiosks() == by_path.kiosks() == []


@pytest.mark.parametrize(
    "target", ["{tmp}/no/such/dir/office.sqlite3", "postgresql://nobody@127.0.0.1:1/office"]
)
def test_an_unusable_database_is_one_clear_line(tmp_path, capsys, target):
    assert run("status", "--db", target.format(tmp=tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("cannot use the database ") and len(err.strip().splitlines()) == 1
