"""Maintenance mode without a screen: PIN entry, lockout, idle exit, and the audit of every action."""

from __future__ import annotations

import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from hal.camera.disabled import DisabledCamera
from hal.settings import CameraSettings
from kiosk.config import MaintenanceSettings
from kiosk.maintenance import (
    AuditAction,
    CommandFailed,
    EntryOutcome,
    MaintenanceSession,
    MaintenanceStore,
    NotInMaintenance,
    SystemCommands,
    TechnicianPin,
)
from kiosk.maintenance.lockout import BLOCK_AFTER_FAILURES, MAX_LOCKOUT_S
from kiosk.outbox import Outbox
from kiosk.records import Consent, Record, utc_timestamp
from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record
from kiosk.sync import IngestClient

PIN = "739105"
NIK = "7110045708900001"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingRunner:
    """Stands in for subprocess.run: records each command, answers with a chosen exit status."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.commands: list[list[str]] = []
        self.returncode = returncode
        self.stderr = stderr

    def __call__(self, command, **kwargs) -> subprocess.CompletedProcess:
        assert kwargs["timeout"] > 0 and kwargs["check"] is False
        self.commands.append(list(command))
        return subprocess.CompletedProcess(command, self.returncode, "", self.stderr)


class Kiosk:
    """One kiosk's data directory with a PIN set, and a session over it (re-openable, like a restart)."""

    def __init__(self, data_dir: Path, settings: MaintenanceSettings | None = None) -> None:
        self.data_dir = data_dir
        self.settings = settings or MaintenanceSettings(
            idle_exit_s=300.0, max_pin_failures=5, lockout_initial_s=60.0
        )
        self.wall = FakeClock(1_700_000_000.0)
        self.mono = FakeClock(5_000.0)
        self.runner = RecordingRunner()
        self.before_power_off_calls = 0
        TechnicianPin.in_data_dir(data_dir).set(PIN)
        self.store: MaintenanceStore | None = None
        self.session = self.restart()

    def _prepare(self) -> None:
        self.before_power_off_calls += 1

    def restart(self) -> MaintenanceSession:
        if self.store is not None:
            self.store.close()
        self.store = MaintenanceStore.in_data_dir(self.data_dir, clock=self.wall)
        self.session = MaintenanceSession.open(
            self.data_dir,
            self.settings,
            commands=SystemCommands(
                restart=("systemctl", "restart", "--no-block", "dukcapil-kiosk.service"),
                reboot=("systemctl", "reboot"),
                shutdown=("systemctl", "poweroff"),
                runner=self.runner,
            ),
            before_power_off=self._prepare,
            clock=self.mono,
            wall_clock=self.wall,
            store=self.store,
        )
        return self.session

    def audit(self) -> list[tuple[str, str, str]]:
        """The audit log, oldest first, as (action, outcome, detail)."""
        entries = reversed(self.session.audit.recent(1000))
        return [(e.action.value, e.outcome.value, e.detail) for e in entries]

    def close(self) -> None:
        assert self.store is not None
        self.store.close()


#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


@pytest.fixture
def kiosk(tmp_path: Path):
    k = Kiosk(tmp_path / "data")
    yield k
    k.close()


# -- entering --------------------------------------------------------------------------------------------
def test_the_right_pin_enters_and_is_audited(kiosk: Kiosk) -> None:
    result = kiosk.session.enter(PIN)
    assert result.ok and result.outcome is EntryOutcome.OK
    assert kiosk.session.active
    assert kiosk.audit() == [("enter", "ok", "")]
    assert kiosk.session.audit.recent(1)[0].session == kiosk.session.session_id


def test_five_wrong_pins_lock_out_and_even_the_right_pin_is_refused_meanwhile(kiosk: Kiosk) -> None:
    session = kiosk.session
    for left in (4, 3, 2, 1):
        result = session.enter("000111")
        assert result.outcome is EntryOutcome.FAILED
        assert result.attempts_left == left
    locked = session.enter("000111")
    assert locked.outcome is EntryOutcome.LOCKED
    assert locked.retry_after_s == 60.0
    assert "1 minutes" not in locked.message and "60 seconds" in locked.message

    kiosk.wall.advance(59)
    still = session.enter(PIN)
    assert still.outcome is EntryOutcome.LOCKED
    assert still.retry_after_s == pytest.approx(1.0)
    assert not session.active

    kiosk.wall.advance(1)
    assert session.enter(PIN).ok
    assert [(a, o) for a, o, _ in kiosk.audit()] == [("enter", "failed")] * 5 + [
        ("enter", "locked"),
        ("enter", "ok"),
    ]
    assert kiosk.audit()[4][2] == "wrong PIN; locked for 60 s"


def test_each_further_lockout_doubles_until_a_right_pin(kiosk: Kiosk) -> None:
    session = kiosk.session

    def five_wrong() -> float | None:
        for _ in range(5):
            result = session.enter("258013")
        return result.retry_after_s

    assert five_wrong() == 60.0
    kiosk.wall.advance(60)
    assert five_wrong() == 120.0
    kiosk.wall.advance(120)
    assert five_wrong() == 240.0
    kiosk.wall.advance(240)
    assert session.enter(PIN).ok
    session.exit()
    assert five_wrong() == 60.0  # the right PIN forgot the history


def test_the_lockout_survives_a_restart(kiosk: Kiosk) -> None:
    for _ in range(5):
        kiosk.session.enter("258013")
    session = kiosk.restart()  # power cut, kiosk boots again
    result = session.enter(PIN)
    assert result.outcome is EntryOutcome.LOCKED
    assert result.retry_after_s == pytest.approx(60.0)


def test_failures_below_the_limit_also_survive_a_restart(kiosk: Kiosk) -> None:
    for _ in range(4):
        kiosk.session.enter("258013")
    session = kiosk.restart()
    assert session.enter("258013").outcome is EntryOutcome.LOCKED


def test_a_clock_set_back_cannot_stretch_a_lockout(kiosk: Kiosk) -> None:
    for _ in range(5):
        kiosk.session.enter("258013")
    kiosk.wall.advance(-86_400)  # no RTC: the clock went back a day at boot
    result = kiosk.session.enter(PIN)
    assert result.outcome is EntryOutcome.LOCKED
    assert result.retry_after_s <= 60.0


def test_without_a_pin_nobody_enters_and_the_screen_says_how_to_set_one(kiosk: Kiosk) -> None:
    TechnicianPin.in_data_dir(kiosk.data_dir).path.unlink()
    result = kiosk.session.enter(PIN)
    assert result.outcome is EntryOutcome.NO_PIN
    assert "kiosk set-pin" in result.message
    assert not kiosk.session.active
    assert kiosk.audit() == [("enter", "failed", "no usable technician PIN")]


# -- leaving ---------------------------------------------------------------------------------------------
def test_the_session_closes_itself_when_idle(kiosk: Kiosk) -> None:
    session = kiosk.session
    session.enter(PIN)
    kiosk.mono.advance(299)
    assert session.tick() is False
    session.touch()
    kiosk.mono.advance(299)
    assert session.tick() is False
    assert session.idle_left_s() == pytest.approx(1.0)
    kiosk.mono.advance(1)
    assert session.tick() is True
    assert not session.active
    assert session.tick() is False
    assert kiosk.audit()[-1] == ("exit", "ok", "idle")


def test_an_action_counts_as_activity(kiosk: Kiosk) -> None:
    session = kiosk.session
    session.enter(PIN)
    kiosk.mono.advance(290)
    session.note(AuditAction.VIEW_DASHBOARD)
    with session.action(AuditAction.VIEW_LOGS):
        pass
    kiosk.mono.advance(290)
    assert session.tick() is False


def test_leaving_is_audited_once(kiosk: Kiosk) -> None:
    kiosk.session.enter(PIN)
    kiosk.session.exit()
    kiosk.session.exit()
    assert kiosk.audit() == [("enter", "ok", ""), ("exit", "ok", "technician")]


# -- actions ---------------------------------------------------------------------------------------------
def test_no_action_runs_without_the_pin(kiosk: Kiosk) -> None:
    ran = []
    with pytest.raises(NotInMaintenance), kiosk.session.action(AuditAction.EXPORT):
        ran.append(True)
    with pytest.raises(NotInMaintenance):
        kiosk.session.shut_down()
    assert ran == []
    assert kiosk.runner.commands == []
    assert kiosk.audit() == []


class SyncWorkerStandIn:
    def __init__(self) -> None:
        self.asked = 0

    def sync_now(self) -> None:
        self.asked += 1


def sealed_record(identity: KioskIdentity, server_public_key: str):
    record = Record.new(
        kiosk_id="KIOSK-TEST-01",
        service="ektp",
        language="id",
        fields={"nik": NIK, "name": "SITI AMINAH"},
        photo_jpeg=None,
        photo_note="taken_at_counter",
        signature=None,
        consent=Consent(given=True, text_version="2024-1", at=utc_timestamp(1_700_000_000)),
        software_version="test",
    )
    return seal_record(record, identity, server_public_key)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_action_lands_in_the_audit_log(kiosk: Kiosk, tmp_path: Path) -> None:
    session = kiosk.session
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    identity = KioskIdentity.load_or_create(tmp_path / "keys")
    public_key, _private = generate_server_keypair()
    dead = sealed_record(identity, public_key)
    outbox.enqueue(dead)
    outbox.enqueue(sealed_record(identity, public_key))
    outbox.claim_next()
    outbox.mark_dead(dead.record_id, "422: same key, other content")
    sync = SyncWorkerStandIn()
    # The camera's null object, as the kiosk has it when its backend could not be opened.
    camera = DisabledCamera(
        CameraSettings(backend="simulated"), reason="camera disconnected", backend="simulated"
    )
    client = IngestClient(f"http://127.0.0.1:{closed_port()}", "token", "KIOSK-TEST-01", timeout=2.0)
    stick = tmp_path / "usb"
    stick.mkdir()
    progress: list[tuple[int, int]] = []
    try:
        assert session.enter(PIN).ok
        session.note(AuditAction.VIEW_DASHBOARD)
        health = session.test_device("camera", camera)
        session.sync_now(sync)
        probe = session.probe_network(client)
        bundle = session.export_to_usb(outbox, identity, stick, progress=lambda d, t: progress.append((d, t)))
        retried = session.retry_dead(outbox)
        session.restart()
        session.reboot()
        session.shut_down()
    finally:
        client.close()
        outbox.close()

    assert str(health.status) == "failed"
    assert sync.asked == 1
    assert probe.reachable is False
    assert retried == 1
    assert progress[-1] == (2, 2)
    with tarfile.open(bundle) as tar:
        assert sum(name.startswith("records/") for name in tar.getnames()) == 2
    assert kiosk.runner.commands == [
        ["systemctl", "restart", "--no-block", "dukcapil-kiosk.service"],
        ["systemctl", "reboot"],
        ["systemctl", "poweroff"],
    ]
    assert kiosk.before_power_off_calls == 2  # reboot and shut down, not a restart of the app
    log = kiosk.audit()
    assert [(a, o) for a, o, _ in log] == [
        ("enter", "ok"),
        ("view_dashboard", "ok"),
        ("device_test", "ok"),
        ("sync_now", "ok"),
        ("network_probe", "ok"),
        ("export", "ok"),
        ("retry_dead", "ok"),
        ("restart", "requested"),
        ("reboot", "requested"),
        ("shutdown", "requested"),
    ]
    details = dict((a, d) for a, _, d in log)
    assert details["device_test"] == "camera: failed (camera disconnected)"
    assert details["export"] == f"2 record(s) to {bundle.name}"
    assert details["retry_dead"] == "1 record(s) back in the queue"
    assert details["network_probe"] == probe.message
    # Every line names this session.
    assert {e.session for e in kiosk.session.audit.recent(100)} == {kiosk.session.session_id}


def test_a_failing_action_is_audited_with_its_reason_and_raised(kiosk: Kiosk) -> None:
    kiosk.session.enter(PIN)
    with (
        pytest.raises(OSError, match="stick"),
        kiosk.session.action(AuditAction.EXPORT, "to /media/usb") as act,
    ):
        act.detail = "to /media/usb"
        raise OSError(28, "No space left on the stick")
    assert kiosk.audit()[-1] == ("export", "failed", "to /media/usb: [Errno 28] No space left on the stick")


def test_a_failing_system_command_is_audited_and_reported(kiosk: Kiosk) -> None:
    kiosk.runner.returncode = 1
    kiosk.runner.stderr = "Access denied"
    kiosk.session.enter(PIN)
    with pytest.raises(CommandFailed, match="Access denied"):
        kiosk.session.reboot()
    assert kiosk.audit()[-2:] == [
        ("reboot", "requested", "systemctl reboot"),
        ("reboot", "failed", "systemctl failed (exit status 1): Access denied"),
    ]


def test_a_missing_command_binary_is_a_clear_failure(kiosk: Kiosk) -> None:
    def missing(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", command[0])

    kiosk.session.commands = SystemCommands(restart=("nosuchctl",), reboot=(), shutdown=(), runner=missing)
    kiosk.session.enter(PIN)
    with pytest.raises(CommandFailed, match="nosuchctl could not be run"):
        kiosk.session.restart()
    with pytest.raises(CommandFailed, match="no command is configured"):
        kiosk.session.reboot()


def test_no_personal_data_reaches_the_audit_log_even_from_error_messages(kiosk: Kiosk) -> None:
    kiosk.session.enter(PIN)
    with pytest.raises(ValueError), kiosk.session.action(AuditAction.DEVICE_TEST, "printer"):
        raise ValueError(f"printer choked on receipt for {NIK} born 170890, phone 081234567890")
    kiosk.session.exit()
    detail = kiosk.audit()[-2][2]
    assert NIK not in detail and "170890" not in detail and "081234567890" not in detail
    assert detail == "printer: printer choked on receipt for [number] born [number], phone [number]"
    kiosk.store.checkpoint()
    raw = b"".join(p.read_bytes() for p in kiosk.data_dir.iterdir() if p.is_file())
    assert NIK.encode() not in raw and PIN.encode() not in raw


def test_an_export_of_an_empty_queue_still_names_the_kiosk(kiosk: Kiosk, tmp_path: Path) -> None:
    from kiosk.usb_export import read_bundle

    identity = KioskIdentity.load_or_create(tmp_path / "keys")
    stick = tmp_path / "usb"
    stick.mkdir()
    kiosk.session.enter(PIN)
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        bundle = kiosk.session.export_to_usb(outbox, identity, stick, kiosk_id="BMT-MODAYAG-01")
    assert read_bundle(bundle, identity.verify_key_b64).kiosk_id == "BMT-MODAYAG-01"
    assert kiosk.audit()[-1] == ("export", "ok", f"0 record(s) to {bundle.name}")


# -- the hard block (issue 10 item 11) ---------------------------------------------------------------------
def test_twenty_wrong_pins_in_a_row_block_the_pin_for_good_whatever_the_wait(kiosk: Kiosk) -> None:
    session = kiosk.session
    outcomes = []
    for _ in range(BLOCK_AFTER_FAILURES):
        outcomes.append(session.enter("258013").outcome)
        kiosk.wall.advance(MAX_LOCKOUT_S)  # every lockout waited out: only the count of wrong PINs matters
    assert outcomes.count(EntryOutcome.BLOCKED) == 1 and outcomes[-1] is EntryOutcome.BLOCKED
    assert EntryOutcome.LOCKED in outcomes  # the lockouts still came first
    kiosk.wall.advance(365 * 86_400.0)
    blocked = session.enter(PIN)  # even the right PIN: nothing is checked any more
    assert blocked.outcome is EntryOutcome.BLOCKED and not session.active
    assert "kiosk set-pin" in blocked.message
    assert kiosk.restart().enter(PIN).outcome is EntryOutcome.BLOCKED  # a restart changes nothing
    assert kiosk.audit()[-2:] == [
        ("enter", "locked", "PIN blocked until kiosk set-pin"),
        ("enter", "locked", "PIN blocked until kiosk set-pin"),
    ]


def test_a_right_pin_before_the_twentieth_wrong_one_starts_the_count_again(kiosk: Kiosk) -> None:
    session = kiosk.session
    for _ in range(BLOCK_AFTER_FAILURES - 1):
        session.enter("258013")
        kiosk.wall.advance(MAX_LOCKOUT_S)
    assert session.lockout.heartbeat()["failed_attempts"] == BLOCK_AFTER_FAILURES - 1
    assert session.enter(PIN).ok
    session.exit()
    assert session.lockout.heartbeat() == {
        "failed_attempts": 0,
        "lockouts": 0,
        "locked_for_s": None,
        "blocked": False,
    }


def test_failed_attempts_and_the_lockout_are_in_the_heartbeat(kiosk: Kiosk) -> None:
    session = kiosk.session
    for _ in range(5):
        session.enter("258013")
    beat = session.lockout.heartbeat()
    assert beat == {
        "failed_attempts": 5,
        "lockouts": 1,
        "locked_for_s": pytest.approx(60.0),
        "blocked": False,
    }
    assert "258013" not in repr(beat) and PIN not in repr(beat)
