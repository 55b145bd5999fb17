"""``kiosk set-pin``: asked twice without echo, or piped in; checked, hashed, audited, lockout lifted."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import MaintenanceSettings
from kiosk.maintenance import (
    AuditLog,
    EntryOutcome,
    MaintenanceSession,
    MaintenanceStore,
    SystemCommands,
    TechnicianPin,
)
from kiosk.maintenance.lockout import BLOCK_AFTER_FAILURES, MAX_LOCKOUT_S


class Terminal(io.StringIO):
    """A standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    return path


#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def typed(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Make getpass answer ``answers`` in turn; returns the prompts it was shown."""
    prompts: list[str] = []
    queue = list(answers)

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        if not queue:
            raise EOFError
        return queue.pop(0)

    monkeypatch.setattr("kiosk.commands.pin.getpass.getpass", fake_getpass)
    monkeypatch.setattr("sys.stdin", Terminal())
    return prompts


def test_the_pin_is_asked_twice_and_stored_as_a_hash(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    prompts = typed(monkeypatch, "739105", "739105")
    assert main(["set-pin", "--config", str(config)]) == 0
    assert len(prompts) == 2
    pin_file = TechnicianPin.in_data_dir(tmp_path / "data")
    assert pin_file.verify("739105")
    assert "739105" not in pin_file.path.read_text()
    out = capsys.readouterr()
    assert "Technician PIN set" in out.out and "739105" not in out.out + out.err
    with MaintenanceStore.in_data_dir(tmp_path / "data") as store:
        (entry,) = AuditLog(store).recent()
    assert (entry.action, entry.outcome) == ("set_pin", "ok")


def test_two_different_pins_change_nothing(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    typed(monkeypatch, "739105", "739106")
    assert main(["set-pin", "--config", str(config)]) == 2
    assert "differ" in capsys.readouterr().err
    assert not TechnicianPin.in_data_dir(tmp_path / "data").is_set()


def test_a_weak_pin_is_refused_before_it_is_asked_again(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    prompts = typed(monkeypatch, "123456")
    assert main(["set-pin", "--config", str(config)]) == 2
    assert len(prompts) == 1
    assert "consecutive" in capsys.readouterr().err


def test_ctrl_d_at_the_prompt_changes_nothing(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    typed(monkeypatch)
    assert main(["set-pin", "--config", str(config)]) == 2
    assert "not changed" in capsys.readouterr().err
    assert not TechnicianPin.in_data_dir(tmp_path / "data").is_set()


def test_without_a_terminal_it_points_to_pin_stdin(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("739105\n"))
    assert main(["set-pin", "--config", str(config)]) == 2
    assert "--pin-stdin" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("piped", "status"), [("739105\n", 0), ("739105\r\n", 0), ("", 2), ("73 91 05\n", 2)]
)
def test_pin_from_standard_input(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piped: str, status: int
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(piped))
    assert main(["set-pin", "--config", str(config), "--pin-stdin"]) == status
    assert TechnicianPin.in_data_dir(tmp_path / "data").is_set() == (status == 0)


def test_setting_a_pin_lifts_the_lockout(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setattr("sys.stdin", io.StringIO("739105\n"))
    assert main(["set-pin", "--config", str(config), "--pin-stdin"]) == 0
    settings = MaintenanceSettings()
    commands = SystemCommands(restart=("true",), reboot=("true",), shutdown=("true",))
    with MaintenanceStore.in_data_dir(data_dir) as store:
        session = MaintenanceSession.open(data_dir, settings, commands=commands, store=store)
        for _ in range(settings.max_pin_failures):
            session.enter("000000")
        assert session.lockout.retry_after() is not None

    monkeypatch.setattr("sys.stdin", io.StringIO("802468\n"))
    assert main(["set-pin", "--config", str(config), "--pin-stdin"]) == 0
    with MaintenanceStore.in_data_dir(data_dir) as store:
        session = MaintenanceSession.open(data_dir, settings, commands=commands, store=store)
        assert session.enter("802468").ok


def test_the_command_is_listed(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "set-pin" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run into this (and chown the directory)")
def test_root_is_sent_to_the_kiosk_user_rather_than_leaving_unreadable_files(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    os.chown(data_dir, 65534, 65534)
    monkeypatch.setattr("sys.stdin", io.StringIO("739105\n"))
    assert main(["set-pin", "--config", str(config), "--pin-stdin"]) == 2
    assert "sudo -u" in capsys.readouterr().err
    assert list(data_dir.iterdir()) == []


def test_a_blocked_pin_is_recovered_by_setting_a_new_one_from_the_shell(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setattr("sys.stdin", io.StringIO("739105\n"))
    assert main(["set-pin", "--config", str(config), "--pin-stdin"]) == 0
    wall = [1_700_000_000.0]
    settings = MaintenanceSettings()
    commands = SystemCommands(restart=("true",), reboot=("true",), shutdown=("true",))
    with MaintenanceStore.in_data_dir(data_dir, clock=lambda: wall[0]) as store:
        session = MaintenanceSession.open(
            data_dir, settings, commands=commands, store=store, wall_clock=lambda: wall[0]
        )
        for _ in range(BLOCK_AFTER_FAILURES):
            session.enter("000000")
            wall[0] += MAX_LOCKOUT_S
        assert session.enter("739105").outcome is EntryOutcome.BLOCKED

    monkeypatch.setattr("sys.stdin", io.StringIO("802468\n"))
    assert main(["set-pin", "--config", str(config), "--pin-stdin"]) == 0
    with MaintenanceStore.in_data_dir(data_dir) as store:
        session = MaintenanceSession.open(data_dir, settings, commands=commands, store=store)
        assert not session.lockout.blocked()
        assert session.enter("802468").ok
