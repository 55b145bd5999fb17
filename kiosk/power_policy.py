"""What the kiosk does when the power fails: keep serving on the UPS, then shut down cleanly.

:class:`PowerPolicy` is a plain object fed with the UPS events (from :mod:`hal.power`), the citizen journey's
activity and a clock; the UI's main loop drives it on the UI thread::

    policy = PowerPolicy(config.power, shutdown=ShutdownSequence(...), reading=ups.reading,
                         activity=lambda: journey_activity(journey), cancel_session=journey.cancel)
    for event in events.drain():
        policy.handle(event)              # MainsLost / MainsRestored / BatteryLow / ShutdownButtonPressed
    policy.tick()                         # every frame: starts the shutdown when it is time
    status = policy.status()              # banner, whether a new session may start, time left to finish

What it does:

- **Mains lost**: a banner (:attr:`PowerStatus.on_battery`) and the kiosk keeps serving. A new session starts
  only while the battery can cover a whole one: its charge must stay above ``low_battery_percent`` (where the
  shutdown begins) by at least ``session_reserve_percent`` (what one session uses). With an unknown charge (no
  fuel gauge) sessions go on: the battery-low event, or the HAT itself, still protects the data.
- **Battery low** (or the HAT's button): no new session; the citizen in front is told and may finish or
  cancel within ``finish_grace_s``. As soon as nobody is in a session, or the time is up and the session is
  cancelled, the shutdown sequence runs once. A record being saved is never cut short, and a receipt that
  appeared after the deadline stays up :data:`RECEIPT_READ_S` so the citizen can note its code.
- **Mains restored** before the shutdown sequence started cancels a battery-low shutdown (not one the button
  asked for). Once the sequence has started nothing cancels it: sync is already stopped.

:class:`ShutdownSequence` is the clean shutdown itself, run on its own thread so that the screen keeps saying
"shutting down": wait for a commit in flight (the registration worker), stop the sync worker, checkpoint the
outbox's WAL into the database file, tell systemd, ask the HAT to cut power after halt where it can, and run
the configured ``shutdown_command`` - each step at most once, the command exactly once. The checkpoint comes
after sync stopped on purpose: the sync worker writes too (a record marked sent), and a checkpoint taken
before its last write would not be the final one.
"""

from __future__ import annotations

import enum
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hal.events import BatteryLow, Event, MainsLost, MainsRestored, ShutdownButtonPressed

if TYPE_CHECKING:
    from hal.power import PowerReading
    from kiosk.config import PowerPolicySettings
    from kiosk.journey import Journey

log = logging.getLogger(__name__)

#: After the grace period, how long to wait for a record being saved before shutting down anyway. A commit
#: takes milliseconds; only a failing disk takes longer, and then waiting for the battery to die helps nobody.
SAVE_WAIT_MAX_S = 30.0
#: After the grace period, how long a citizen whose record was just saved may still read the receipt's code.
RECEIPT_READ_S = 30.0
#: How long the shutdown command may take to return (``systemctl poweroff`` queues a job and returns).
SHUTDOWN_COMMAND_TIMEOUT_S = 60.0
#: How long stopping the sync worker may take (an HTTP request in flight is abandoned after this).
SYNC_STOP_TIMEOUT_S = 10.0


class PowerState(enum.StrEnum):
    """Where the power policy is."""

    #: Mains power: business as usual.
    MAINS = "mains"
    #: On battery: banner, sessions while the charge covers one.
    ON_BATTERY = "on_battery"
    #: Battery low or button pressed: the citizen in front may finish; no new session.
    FINISHING = "finishing"
    #: The shutdown sequence has started; nothing cancels it.
    SHUTTING_DOWN = "shutting_down"


class Activity(enum.StrEnum):
    """What the citizen journey is doing, as far as the power policy cares."""

    #: Nobody in a session (welcome screen).
    IDLE = "idle"
    #: A citizen is in a session (any step from language to review).
    IN_SESSION = "in_session"
    #: The record is being committed: never cut this short.
    SAVING = "saving"
    #: The record is saved and the citizen reads the receipt (its code is what they leave with).
    RECEIPT = "receipt"


class Refusal(enum.StrEnum):
    """Why a new session is refused (the codes the journey's ``refusal_reason`` carries)."""

    #: On battery with too little charge for a whole session.
    BATTERY_LOW = "battery_low"
    #: The kiosk is about to shut down.
    SHUTTING_DOWN = "shutting_down"


def journey_activity(journey: Journey) -> Activity:
    """The activity of a :class:`kiosk.journey.Journey` (read on the UI thread, like the journey itself)."""
    from kiosk.journey import Step

    if journey.step is Step.WELCOME:
        return Activity.IDLE
    if journey.step is Step.SAVING:
        return Activity.SAVING
    if journey.step is Step.RECEIPT:
        return Activity.RECEIPT
    return Activity.IN_SESSION


class SupportsStop(Protocol):
    """The sync worker, as the shutdown sees it."""

    def stop(self, timeout: float = ...) -> Any: ...


class SupportsClose(Protocol):
    """The registration worker: ``close`` waits for a commit in flight and takes no more."""

    def close(self) -> Any: ...


class SupportsCheckpoint(Protocol):
    """The outbox (or any WAL database), as the shutdown sees it."""

    def checkpoint(self) -> None: ...


class SupportsPowerCut(Protocol):
    """The power monitor, as the shutdown sees it."""

    def cut_power_after_halt(self) -> bool: ...


@dataclass(frozen=True)
class ShutdownReport:
    """What the shutdown sequence did.

    Attributes:
        sync_stopped: The sync worker was stopped (or there was none).
        checkpointed: Names of the databases whose WAL was checkpointed.
        power_cut_requested: The HAT was asked to cut power after halt.
        command_ran: The shutdown command was started and returned status 0.
        problems: Every step that failed, in plain words (the sequence goes on regardless).
    """

    sync_stopped: bool
    checkpointed: tuple[str, ...]
    power_cut_requested: bool
    command_ran: bool
    problems: tuple[str, ...] = ()


Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


class ShutdownSequence:
    """The clean shutdown: finish saves, stop sync, checkpoint, tell systemd, power-cut pulse, command.

    Every step is attempted even when an earlier one failed: a shutdown that stops half-way on a full disk
    leaves the kiosk to die with its battery, which is worse than a shutdown with one step missing.

    Args:
        command: The configured ``shutdown_command``.
        saves: The registration worker: closing it waits for a commit in flight (the policy already waits
            for the journey to leave ``saving``; this makes "the commit is done" hold for any caller).
        sync: The sync worker to stop, if any.
        databases: Databases to checkpoint, by name (the outbox, the maintenance database).
        power: The power monitor, for the HAT's power-cut pulse (``cut_power_after_halt``), if any.
        notify_stopping: Called before the command (e.g. the systemd watchdog's ``stopping``).
        runner: ``subprocess.run``-like callable (injected by tests).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        saves: SupportsClose | None = None,
        sync: SupportsStop | None = None,
        databases: dict[str, SupportsCheckpoint] | None = None,
        power: SupportsPowerCut | None = None,
        notify_stopping: Callable[[str], object] | None = None,
        runner: Runner = subprocess.run,
    ) -> None:
        if not command:
            raise ValueError("the shutdown command is empty")
        self.command = tuple(command)
        self._saves = saves
        self._sync = sync
        self._databases = dict(databases or {})
        self._power = power
        self._notify_stopping = notify_stopping
        self._runner = runner
        self._lock = threading.Lock()
        self._report: ShutdownReport | None = None
        self.done = threading.Event()

    @property
    def report(self) -> ShutdownReport | None:
        """What the sequence did, once it has run."""
        return self._report

    def _prepare(self) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
        """Finish saves, stop sync, checkpoint every database (called once, under the lock)."""
        problems: list[str] = []
        if self._saves is not None:
            try:
                self._saves.close()
                log.info("shutdown: no record is being saved")
            except Exception as exc:  # noqa: BLE001 - report and go on: the shutdown must happen
                problems.append(f"finishing the saves failed: {exc}")
        sync_stopped = True
        if self._sync is not None:
            try:
                self._sync.stop(timeout=SYNC_STOP_TIMEOUT_S)
                log.info("shutdown: sync worker stopped")
            except Exception as exc:  # noqa: BLE001 - report and go on: the shutdown must happen
                sync_stopped = False
                problems.append(f"stopping sync failed: {exc}")
        checkpointed = []
        for name, database in self._databases.items():
            try:
                database.checkpoint()
                checkpointed.append(name)
                log.info("shutdown: %s checkpointed", name)
            except Exception as exc:  # noqa: BLE001 - the WAL is durable anyway; report and go on
                problems.append(f"checkpointing {name} failed: {exc}")
        return sync_stopped, tuple(checkpointed), tuple(problems)

    def run(self) -> ShutdownReport:
        """Run the whole sequence; only the first call does anything, later calls return its report."""
        with self._lock:
            if self._report is not None:
                return self._report
            sync_stopped, checkpointed, prepare_problems = self._prepare()
            problems = list(prepare_problems)
            if self._notify_stopping is not None:
                try:
                    self._notify_stopping("shutting down")
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"telling systemd failed: {exc}")
            power_cut = False
            if self._power is not None:
                # The X728 reads the pulse as "halt, then cut power": it waits for the Pi to halt, which the
                # command below brings about. Without the pulse the HAT would keep draining the battery.
                try:
                    power_cut = bool(self._power.cut_power_after_halt())
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"asking the UPS to cut power failed: {exc}")
            command_ran = False
            log.warning("shutdown: running %s", " ".join(self.command))
            try:
                done = self._runner(
                    list(self.command),
                    capture_output=True,
                    text=True,
                    timeout=SHUTDOWN_COMMAND_TIMEOUT_S,
                    check=False,
                )
                if done.returncode == 0:
                    command_ran = True
                else:
                    output = (done.stderr or done.stdout or "").strip() or "no output"
                    problems.append(f"{self.command[0]} failed (exit status {done.returncode}): {output}")
            except (OSError, subprocess.SubprocessError) as exc:
                problems.append(f"{self.command[0]} could not be run: {exc}")
            for problem in problems:
                log.error("shutdown: %s", problem)
            self._report = ShutdownReport(sync_stopped, checkpointed, power_cut, command_ran, tuple(problems))
        self.done.set()
        return self._report


@dataclass(frozen=True)
class PowerStatus:
    """What the UI needs to know about the power, for banners and for the journey's capabilities.

    Attributes:
        state: Where the policy is.
        on_battery: Mains power is gone (the banner).
        battery_percent: Last known charge, or None.
        sessions_allowed: A new citizen session may start.
        refusal: Why not, when sessions are refused.
        seconds_to_finish: While finishing: time left for the citizen in front; else None.
        shutdown_reason: ``"battery_low"`` or ``"button"`` once a shutdown is on its way.
        shutdown_report: The shutdown sequence's report once it has run.
    """

    state: PowerState
    on_battery: bool
    battery_percent: float | None
    sessions_allowed: bool
    refusal: Refusal | None = None
    seconds_to_finish: float | None = None
    shutdown_reason: str | None = None
    shutdown_report: ShutdownReport | None = field(default=None, repr=False)


def _start_thread(run: Callable[[], object]) -> None:
    threading.Thread(target=run, name="shutdown", daemon=True).start()


class PowerPolicy:
    """The power policy (see the module docstring). Not thread-safe: call it from the UI thread.

    Args:
        settings: The ``[power]`` settings (thresholds, grace period).
        shutdown: The clean-shutdown sequence to run.
        reading: The power monitor's ``reading`` (charge and mains state), if there is one.
        activity: What the journey is doing (see :func:`journey_activity`).
        cancel_session: Called (once) when the grace period is over and a citizen is still in a session
            (the journey's ``cancel``: their answers are wiped, nothing half-made is kept).
        clock: Monotonic seconds (injected by tests).
        start: Starts the shutdown sequence; by default on its own thread (tests may run it inline).
    """

    def __init__(
        self,
        settings: PowerPolicySettings,
        *,
        shutdown: ShutdownSequence,
        reading: Callable[[], PowerReading] | None = None,
        activity: Callable[[], Activity] = lambda: Activity.IDLE,
        cancel_session: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        start: Callable[[Callable[[], object]], object] = _start_thread,
    ) -> None:
        self.settings = settings
        self.shutdown = shutdown
        self._reading = reading
        self._activity = activity
        self._cancel_session = cancel_session
        self._clock = clock
        self._start = start
        self._state = PowerState.MAINS
        self._on_battery = False
        self._last_percent: float | None = None
        self._deadline: float | None = None
        self._reason: str | None = None
        self._receipt_since: float | None = None
        if reading is not None:
            current = reading()
            self._last_percent = current.percent
            if current.on_battery:
                self._on_battery = True
                self._state = PowerState.ON_BATTERY

    @property
    def state(self) -> PowerState:
        """Where the policy is."""
        return self._state

    # -- events ----------------------------------------------------------------------------------------
    def handle(self, event: Event) -> bool:
        """Take a power event; True when it changed the policy's state. Other events are ignored."""
        before = (self._state, self._on_battery)
        if isinstance(event, MainsLost):
            self._on_battery = True
            if self._state is PowerState.MAINS:
                self._state = PowerState.ON_BATTERY
                log.warning("mains power lost: running on battery")
        elif isinstance(event, MainsRestored):
            self._on_battery = False
            if self._state is PowerState.ON_BATTERY:
                self._state = PowerState.MAINS
                log.info("mains power is back")
            elif self._state is PowerState.FINISHING and self._reason == "battery_low":
                self._state = PowerState.MAINS
                self._deadline = self._reason = None
                log.warning("mains power is back before the shutdown: shutdown cancelled")
        elif isinstance(event, BatteryLow):
            # The monitor only reports a low battery while on battery.
            self._on_battery = True
            if event.percent is not None:
                self._last_percent = event.percent
            self._begin_finishing("battery_low", f"battery low ({_percent(event.percent)})")
        elif isinstance(event, ShutdownButtonPressed):
            self._begin_finishing("button", "the UPS button asks for a shutdown")
        return (self._state, self._on_battery) != before

    def _begin_finishing(self, reason: str, why: str) -> None:
        if self._state in (PowerState.FINISHING, PowerState.SHUTTING_DOWN):
            if self._state is PowerState.FINISHING and reason == "button":
                # The technician's button outranks the battery: mains coming back no longer cancels it.
                self._reason = "button"
            return
        self._state = PowerState.FINISHING
        self._reason = reason
        self._receipt_since = None
        self._deadline = self._clock() + self.settings.finish_grace_s
        log.warning("%s: no new session; shutting down within %.0f s", why, self.settings.finish_grace_s)

    # -- time ------------------------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> bool:
        """Start the shutdown when it is time; True when it was started by this call."""
        if self._state is not PowerState.FINISHING or self._deadline is None:
            return False
        now = self._clock() if now is None else now
        activity = self._activity()
        if activity is Activity.IDLE:
            return self._begin_shutdown("nobody is in a session")
        if now < self._deadline:
            return False
        if activity is Activity.SAVING:
            if now < self._deadline + SAVE_WAIT_MAX_S:
                return False  # never cut a commit short; it takes milliseconds
            log.error(
                "a record has been saving for %.0f s past the grace period: shutting down", SAVE_WAIT_MAX_S
            )
            return self._begin_shutdown("saving never finished")
        if activity is Activity.RECEIPT:
            # The save ran past the deadline: the citizen still gets a moment to note their receipt code.
            if self._receipt_since is None:
                self._receipt_since = now
            if now < self._receipt_since + RECEIPT_READ_S:
                return False
        if self._cancel_session is not None:
            log.warning("grace period over: cancelling the session in progress")
            self._cancel_session()
        return self._begin_shutdown("grace period over")

    def _begin_shutdown(self, why: str) -> bool:
        self._state = PowerState.SHUTTING_DOWN
        self._deadline = None
        log.warning("starting the shutdown sequence (%s)", why)
        self._start(self.shutdown.run)
        return True

    # -- what the UI shows -----------------------------------------------------------------------------
    def sessions_allowed(self) -> bool:
        """True when a new citizen session may start now."""
        return self.status().sessions_allowed

    def status(self, now: float | None = None) -> PowerStatus:
        """The power situation for banners and the journey's capabilities."""
        percent = self._last_percent
        if self._reading is not None:
            current = self._reading()
            if current.percent is not None:
                percent = self._last_percent = current.percent
        refusal: Refusal | None = None
        seconds_to_finish = None
        if self._state in (PowerState.FINISHING, PowerState.SHUTTING_DOWN):
            refusal = Refusal.SHUTTING_DOWN
            if self._state is PowerState.FINISHING and self._deadline is not None:
                now = self._clock() if now is None else now
                seconds_to_finish = max(0.0, self._deadline - now)
        elif self._on_battery and percent is not None and percent < self.session_threshold_percent:
            refusal = Refusal.BATTERY_LOW
        return PowerStatus(
            state=self._state,
            on_battery=self._on_battery,
            battery_percent=percent,
            sessions_allowed=refusal is None,
            refusal=refusal,
            seconds_to_finish=seconds_to_finish,
            shutdown_reason=self._reason if self._state is not PowerState.MAINS else None,
            shutdown_report=self.shutdown.report,
        )

    @property
    def session_threshold_percent(self) -> float:
        """On battery, the least charge with which a new session may start."""
        return self.settings.low_battery_percent + self.settings.session_reserve_percent


def _percent(value: float | None) -> str:
    return "charge unknown" if value is None else f"{value:.0f} %"
