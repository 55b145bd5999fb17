"""Power loss end to end: the real UPS monitor on gpiozero's MockFactory, the real journey, registration,
outbox and sync worker, and the power policy deciding when to shut down."""

from __future__ import annotations

import datetime
import socket
import sqlite3
import subprocess
import threading
from pathlib import Path

import msgspec
import pytest

from hal.events import BatteryLow, MainsLost
from hal.power import PowerMonitor, PowerReading, SimulatedFuelGauge
from kiosk.config import PowerPolicySettings, SyncSettings
from kiosk.events import RecordSaved
from kiosk.journey import RECEIPT_GUARD_S, Capabilities, Journey, Notice, Step
from kiosk.outbox import Outbox
from kiosk.power_policy import (
    RECEIPT_READ_S,
    SAVE_WAIT_MAX_S,
    Activity,
    PowerPolicy,
    PowerState,
    Refusal,
    ShutdownSequence,
    journey_activity,
)
from kiosk.records import PenPoint, SignatureCapture
from kiosk.regions import districts_of
from kiosk.registration import Registration
from kiosk.sealing import KioskIdentity, generate_server_keypair
from kiosk.services import load_services
from kiosk.sync import IngestClient, SyncWorker

MAINS_PIN = 6  # X728: HIGH = mains lost
POWER_CUT_PIN = 26
NIK = "7110040501850002"
ANSWERS = {
    "nik": NIK,
    "kk_number": "7110041203150002",
    "full_name": "Budi Paputungan",
    "change_reason": "add_member",
    "kecamatan": "71.10.03",
}
SETTINGS = PowerPolicySettings(
    backend="gpio",
    preset="x728",
    low_battery_percent=20.0,
    session_reserve_percent=10.0,
    finish_grace_s=120.0,
    shutdown_command=["systemctl", "poweroff"],
)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ShutdownWitness:
    """Stands in for ``subprocess.run`` of the shutdown command, and notes what was true when it ran."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.calls: list[list[str]] = []
        self.seen: dict[str, object] = {}

    def __call__(self, command, **kwargs) -> subprocess.CompletedProcess:
        self.calls.append(list(command))
        outbox_path = self.kiosk.outbox.path
        self.seen = {
            "sync_state": self.kiosk.sync.status().state,
            "wal_bytes": Path(f"{outbox_path}-wal").stat().st_size,
            "records_on_disk": _records_on_disk(outbox_path),
            "power_cut_pulses": self.kiosk.pulses(),
            "stopping_told": list(self.kiosk.stopping),
        }
        return subprocess.CompletedProcess(command, 0, "", "")


def _records_on_disk(path: Path) -> int:
    """Read the database file the way the next boot will: a fresh connection, read-only."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM outbox").fetchone()[0]


class Kiosk:
    """Everything between the UPS and the outbox, wired as the composition root wires it, with a main loop
    that the test turns by hand."""

    def __init__(self, tmp_path: Path, mock_pins, events, *, battery: float = 80.0) -> None:
        self.mock_pins = mock_pins
        self.events = events
        self.clock = FakeClock(10_000.0)
        self.gauge = SimulatedFuelGauge(battery)
        self.ups = PowerMonitor(
            SETTINGS, events, pin_factory=mock_pins, i2c_bus=self.gauge, power_cut_pulse_s=0.01, poll=False
        )
        self.outbox = Outbox(tmp_path / "data" / "outbox.sqlite3")
        self.identity = KioskIdentity.load_or_create(tmp_path / "data" / "keys")
        public_key, _private = generate_server_keypair()
        self.client = IngestClient(f"http://127.0.0.1:{closed_port()}", "token", "KIOSK-TEST-01", timeout=1.0)
        self.sync = SyncWorker(self.outbox, self.client, settings=SyncSettings(backoff_initial_s=60.0))
        self.registration = Registration(
            outbox=self.outbox,
            identity=self.identity,
            server_public_key=public_key,
            kiosk_id="KIOSK-TEST-01",
            events=events,
            wake_sync=self.sync.wake,
        )
        self.journey = Journey(
            load_services(),
            districts=districts_of("71.10"),
            clock=self.clock,
            idle_warning_s=600.0,
            idle_reset_s=600.0,
            today=lambda: datetime.date(2025, 6, 1),
        )
        self.stopping: list[str] = []
        self.witness = ShutdownWitness(self)
        self.shutdown = ShutdownSequence(
            SETTINGS.shutdown_command,
            saves=self.registration,
            sync=self.sync,
            databases={"outbox": self.outbox},
            power=self.ups,
            notify_stopping=self.stopping.append,
            runner=self.witness,
        )
        self.policy = PowerPolicy(
            SETTINGS,
            shutdown=self.shutdown,
            reading=self.ups.reading,
            activity=lambda: journey_activity(self.journey),
            cancel_session=self.journey.cancel,
            clock=self.clock,
        )
        self.sync.start()

    # -- the main loop, one turn at a time ---------------------------------------------------------
    def turn(self) -> None:
        for event in self.events.drain():
            self.policy.handle(event)
            self.journey.apply_event(event)
        status = self.policy.status()
        self.journey.update_capabilities(
            Capabilities(
                on_battery=status.on_battery,
                sessions_allowed=status.sessions_allowed,
                refusal_reason=status.refusal.value if status.refusal else None,
            )
        )
        self.journey.tick()
        self.policy.tick()

    # -- the world -----------------------------------------------------------------------------------
    def lose_mains(self) -> None:
        self.mock_pins.pin(MAINS_PIN).drive_high()
        self.turn()

    def restore_mains(self) -> None:
        self.mock_pins.pin(MAINS_PIN).drive_low()
        self.turn()

    def battery_at(self, percent: float) -> None:
        self.gauge.set_percent(percent)
        self.ups.poll()
        self.turn()

    def pulses(self) -> int:
        states = [s.state for s in self.mock_pins.pin(POWER_CUT_PIN).states]
        return sum(1 for a, b in zip(states, states[1:], strict=False) if not a and b)

    # -- a citizen ------------------------------------------------------------------------------------
    def citizen_to(self, step: Step) -> None:
        journey = self.journey
        if journey.step is Step.WELCOME:
            assert journey.start(), journey.refusal
            assert journey.choose_language("id") and journey.choose_service("kk_change")
            assert journey.next()  # checklist -> identity
        while journey.step is not step:
            if journey.step in (Step.IDENTITY, Step.DETAILS):
                for spec in journey.fields_on_step():
                    if spec.id in ANSWERS:
                        journey.set_field(spec.id, ANSWERS[spec.id])
                assert journey.next(), dict(journey.issues)
            elif journey.step is Step.SIGNATURE:
                samples = (PenPoint(0.0, 10, 10, True), PenPoint(0.05, 80, 40, False))
                capture = SignatureCapture(
                    samples=samples, width=640, height=200, png=b"\x89PNG", source="touch"
                )
                assert journey.signature_done(capture)
            else:  # pragma: no cover - the walk does not know this step
                pytest.fail(f"unexpected step {journey.step}")
            self.turn()

    def citizen_confirms(self) -> None:
        assert self.journey.set_consent(True)
        request = self.journey.confirm()
        assert request is not None and self.journey.step is Step.SAVING
        self.pending_save = self.registration.submit(request)

    def save_completes(self) -> RecordSaved:
        outcome = self.pending_save.result(timeout=10)
        assert isinstance(outcome, RecordSaved), outcome
        self.turn()
        return outcome

    def close(self) -> None:
        self.sync.stop(timeout=5)
        self.registration.close()
        self.client.close()
        self.outbox.close()
        self.ups.close()


@pytest.fixture
def kiosk(tmp_path: Path, mock_pins, events):
    k = Kiosk(tmp_path, mock_pins, events)
    yield k
    k.close()


# -- mains lost mid-journey ------------------------------------------------------------------------------
def test_mains_lost_mid_journey_shows_the_banner_and_the_citizen_finishes(kiosk: Kiosk) -> None:
    kiosk.citizen_to(Step.DETAILS)
    kiosk.lose_mains()

    status = kiosk.policy.status()
    assert status.state is PowerState.ON_BATTERY and status.on_battery
    assert status.sessions_allowed  # 80 % covers a session
    assert Notice.ON_BATTERY in kiosk.journey.notices  # the banner
    assert kiosk.journey.step is Step.DETAILS  # nothing interrupted

    kiosk.citizen_to(Step.REVIEW)
    kiosk.citizen_confirms()
    kiosk.turn()
    saved = kiosk.save_completes()
    assert kiosk.journey.step is Step.RECEIPT
    assert kiosk.journey.receipt.record_id == saved.record_id
    assert kiosk.outbox.get(saved.record_id) is not None  # the record is saved, sealed
    kiosk.clock.advance(RECEIPT_GUARD_S)  # the receipt's guard against a double tap on "Save"
    assert kiosk.journey.finish()
    kiosk.turn()
    assert kiosk.witness.calls == []  # on battery, but no reason to shut down


def test_on_battery_no_new_session_starts_when_the_charge_cannot_cover_one(kiosk: Kiosk) -> None:
    kiosk.lose_mains()
    kiosk.battery_at(31.0)
    assert kiosk.policy.status().sessions_allowed  # 31 % >= 20 % (shutdown) + 10 % (one session)
    kiosk.battery_at(29.0)
    status = kiosk.policy.status()
    assert not status.sessions_allowed and status.refusal is Refusal.BATTERY_LOW
    assert not kiosk.journey.start()
    assert kiosk.journey.refusal == "battery_low"
    assert kiosk.witness.calls == []  # not low enough to shut down

    kiosk.restore_mains()  # charging again: sessions are back even at 29 %
    assert kiosk.policy.status().sessions_allowed
    assert kiosk.journey.start()


# -- battery low -----------------------------------------------------------------------------------------
def test_battery_low_lets_the_citizen_finish_then_shuts_down_once_after_commit_and_checkpoint(
    kiosk: Kiosk, tmp_path: Path
) -> None:
    kiosk.lose_mains()
    kiosk.citizen_to(Step.REVIEW)
    kiosk.battery_at(15.0)

    status = kiosk.policy.status()
    assert status.state is PowerState.FINISHING
    assert status.seconds_to_finish == 120.0  # the citizen in front is told how long they have
    assert not status.sessions_allowed and status.refusal is Refusal.SHUTTING_DOWN
    assert Notice.SESSIONS_PAUSED in kiosk.journey.notices
    assert kiosk.journey.step is Step.REVIEW  # not thrown out

    kiosk.citizen_confirms()
    kiosk.clock.advance(121)  # the grace period ends while the record is being saved...
    kiosk.policy.tick()
    assert kiosk.witness.calls == []  # ...and a commit is never cut short
    saved = kiosk.save_completes()
    assert kiosk.journey.step is Step.RECEIPT
    kiosk.clock.advance(RECEIPT_GUARD_S)
    assert kiosk.journey.finish()
    kiosk.turn()

    assert kiosk.policy.state is PowerState.SHUTTING_DOWN
    assert kiosk.shutdown.done.wait(timeout=20)
    assert kiosk.witness.calls == [["systemctl", "poweroff"]]
    seen = kiosk.witness.seen
    assert seen["sync_state"] == "stopped"
    assert seen["wal_bytes"] == 0  # checkpointed into the database file before the command
    assert seen["records_on_disk"] == 1
    assert seen["power_cut_pulses"] == 1  # the X728 was asked to cut power after halt
    assert seen["stopping_told"] == ["shutting down"]
    report = kiosk.policy.status().shutdown_report
    assert report is not None and report.command_ran and report.problems == ()
    assert report.checkpointed == ("outbox",) and report.sync_stopped and report.power_cut_requested

    # Exactly once: more events, ticks and calls change nothing.
    kiosk.battery_at(10.0)
    kiosk.mock_pins.pin(5).drive_high()  # the HAT's button line
    kiosk.mock_pins.pin(5).drive_low()
    kiosk.restore_mains()  # too late: the sequence has started
    kiosk.clock.advance(1000)
    kiosk.turn()
    assert kiosk.shutdown.run() is report
    assert kiosk.witness.calls == [["systemctl", "poweroff"]]
    assert kiosk.pulses() == 1

    # Nothing lost: the next boot finds the record, intact.
    kiosk.close()
    with Outbox(tmp_path / "data" / "outbox.sqlite3") as reopened:
        item = reopened.get(saved.record_id)
        assert item is not None and item.state == "pending"
        assert reopened.integrity_check() == "ok"


def test_when_the_grace_period_runs_out_the_unfinished_session_is_wiped_and_the_kiosk_shuts_down(
    kiosk: Kiosk,
) -> None:
    kiosk.lose_mains()
    kiosk.citizen_to(Step.DETAILS)
    kiosk.battery_at(18.0)
    kiosk.clock.advance(119)
    kiosk.turn()
    assert kiosk.policy.status().seconds_to_finish == pytest.approx(1.0)
    assert kiosk.witness.calls == []
    kiosk.clock.advance(1)
    kiosk.turn()
    assert kiosk.journey.step is Step.WELCOME and kiosk.journey.fields == {}
    assert kiosk.shutdown.done.wait(timeout=20)
    assert kiosk.witness.calls == [["systemctl", "poweroff"]]
    assert kiosk.outbox.counts()["pending"] == 0  # nothing half-made was stored


def test_battery_low_with_nobody_in_front_shuts_down_at_once(kiosk: Kiosk) -> None:
    kiosk.lose_mains()
    kiosk.battery_at(19.0)
    assert kiosk.policy.state is PowerState.SHUTTING_DOWN
    assert kiosk.shutdown.done.wait(timeout=20)
    assert len(kiosk.witness.calls) == 1


def test_mains_back_before_the_deadline_cancels_the_shutdown(kiosk: Kiosk) -> None:
    kiosk.lose_mains()
    kiosk.citizen_to(Step.DETAILS)
    kiosk.battery_at(15.0)
    assert kiosk.policy.state is PowerState.FINISHING
    kiosk.clock.advance(60)
    kiosk.restore_mains()
    status = kiosk.policy.status()
    assert status.state is PowerState.MAINS and status.sessions_allowed and status.seconds_to_finish is None
    kiosk.clock.advance(1000)
    kiosk.turn()
    assert kiosk.journey.step is Step.DETAILS
    assert kiosk.witness.calls == []
    assert not kiosk.shutdown.done.is_set()


def test_the_ups_button_shuts_down_even_if_mains_comes_back(kiosk: Kiosk) -> None:
    kiosk.citizen_to(Step.DETAILS)
    kiosk.mock_pins.pin(5).drive_high()
    kiosk.mock_pins.pin(5).drive_low()
    kiosk.turn()
    status = kiosk.policy.status()
    assert status.state is PowerState.FINISHING and status.shutdown_reason == "button"
    kiosk.lose_mains()
    kiosk.restore_mains()
    assert kiosk.policy.state is PowerState.FINISHING
    assert kiosk.journey.cancel()
    kiosk.turn()
    assert kiosk.shutdown.done.wait(timeout=20)
    assert len(kiosk.witness.calls) == 1


def test_a_policy_started_while_on_battery_knows_it(tmp_path: Path, mock_pins, events) -> None:
    kiosk = Kiosk(tmp_path, mock_pins, events, battery=25.0)
    try:
        mock_pins.pin(MAINS_PIN).drive_high()  # the monitor sees it; the app (re)starts its policy now
        policy = PowerPolicy(SETTINGS, shutdown=kiosk.shutdown, reading=kiosk.ups.reading, clock=kiosk.clock)
        status = policy.status()
        assert status.on_battery and status.state is PowerState.ON_BATTERY
        assert status.refusal is Refusal.BATTERY_LOW
        assert [policy.handle(e) for e in events.drain()] == [False]  # the MainsLost it then drains
    finally:
        kiosk.close()


def test_a_receipt_shown_after_the_deadline_stays_up_briefly(kiosk: Kiosk) -> None:
    kiosk.lose_mains()
    kiosk.citizen_to(Step.REVIEW)
    kiosk.battery_at(15.0)
    kiosk.citizen_confirms()
    kiosk.clock.advance(125)
    kiosk.save_completes()
    assert kiosk.journey.step is Step.RECEIPT
    kiosk.clock.advance(RECEIPT_READ_S - 1)
    kiosk.turn()
    assert kiosk.witness.calls == [] and kiosk.journey.step is Step.RECEIPT
    kiosk.clock.advance(1)
    kiosk.turn()
    assert kiosk.journey.step is Step.WELCOME
    assert kiosk.shutdown.done.wait(timeout=20)
    assert kiosk.witness.seen["records_on_disk"] == 1


# -- the policy and the sequence on their own --------------------------------------------------------
class Steps:
    """Records the order of the shutdown steps; any of them can be made to fail."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.order: list[str] = []
        self.fail = fail or set()
        self.lock = threading.Lock()

    def _step(self, name: str) -> None:
        with self.lock:
            self.order.append(name)
        if name in self.fail:
            raise OSError(5, f"{name} broke")

    def close(self) -> None:
        self._step("saves")

    def stop(self, timeout: float = 5.0) -> None:
        self._step("sync")

    def checkpoint(self) -> None:
        self._step("checkpoint")

    def cut_power_after_halt(self) -> bool:
        self._step("power_cut")
        return True

    def run(self, command, **kwargs) -> subprocess.CompletedProcess:
        self._step("command")
        return subprocess.CompletedProcess(command, 0, "", "")


def sequence_with(steps: Steps) -> ShutdownSequence:
    return ShutdownSequence(
        ["systemctl", "poweroff"],
        saves=steps,
        sync=steps,
        databases={"outbox": steps},
        power=steps,
        notify_stopping=lambda status: steps._step("notify"),
        runner=steps.run,
    )


def test_the_sequence_runs_every_step_in_order_once() -> None:
    steps = Steps()
    sequence = sequence_with(steps)
    first = sequence.run()
    assert sequence.run() is first
    assert steps.order == ["saves", "sync", "checkpoint", "notify", "power_cut", "command"]


def test_a_failing_step_does_not_stop_the_shutdown() -> None:
    steps = Steps(fail={"sync", "checkpoint", "power_cut"})
    report = sequence_with(steps).run()
    assert steps.order[-1] == "command" and report.command_ran
    assert not report.sync_stopped and report.checkpointed == () and not report.power_cut_requested
    assert len(report.problems) == 3


def test_a_failing_shutdown_command_is_reported_not_retried() -> None:
    calls = []

    def denied(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "Interactive authentication required.")

    sequence = ShutdownSequence(["systemctl", "poweroff"], runner=denied)
    report = sequence.run()
    sequence.run()
    assert not report.command_ran
    assert report.problems == ("systemctl failed (exit status 1): Interactive authentication required.",)
    assert len(calls) == 1


def test_an_empty_shutdown_command_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        ShutdownSequence([])


def test_a_save_that_never_ends_does_not_keep_the_kiosk_up_forever() -> None:
    clock = FakeClock(0.0)
    steps = Steps()
    started = []
    policy = PowerPolicy(
        SETTINGS,
        shutdown=sequence_with(steps),
        activity=lambda: Activity.SAVING,
        clock=clock,
        start=lambda run: started.append(run()),
    )
    policy.handle(BatteryLow(percent=10.0, volts=3.4))
    clock.advance(SETTINGS.finish_grace_s + SAVE_WAIT_MAX_S - 1)
    assert policy.tick() is False
    clock.advance(1)
    assert policy.tick() is True
    assert len(started) == 1 and steps.order[-1] == "command"


def test_without_a_fuel_gauge_sessions_go_on_during_a_power_cut() -> None:
    policy = PowerPolicy(
        SETTINGS,
        shutdown=sequence_with(Steps()),
        reading=lambda: PowerReading(on_battery=True, percent=None, volts=None),
    )
    policy.handle(MainsLost())
    status = policy.status()
    assert status.on_battery and status.sessions_allowed and status.battery_percent is None


def test_settings_decide_the_session_threshold() -> None:
    stricter = msgspec.structs.replace(SETTINGS, session_reserve_percent=25.0)
    policy = PowerPolicy(stricter, shutdown=sequence_with(Steps()))
    assert policy.session_threshold_percent == 45.0
