"""A technician's maintenance session: PIN entry with lockout, idle exit, and actions that audit themselves.

The UI's maintenance screens hold one :class:`MaintenanceSession` for the life of the process and call it from
the UI thread (the actions may run on a worker thread; the audit log is thread-safe)::

    session = MaintenanceSession.open(
        config.data_path, config.maintenance, commands=SystemCommands.from_config(config)
    )
    result = session.enter(pin_typed)          # EntryResult: ok / failed / locked (retry_after_s) / no_pin
    session.touch()                            # on every touch while in maintenance
    if session.tick():                         # every frame: True when it just left because of idleness
        show_welcome()
    with session.action(AuditAction.EXPORT) as act:   # any action: audited ok, or failed with the error
        path = export_bundle(outbox, identity, stick)
        act.detail = f"{n} records exported"
    session.sync_now(sync_worker); session.retry_dead(outbox); session.test_device("camera", camera)
    session.export_to_usb(outbox, identity, stick, progress=bar.set); session.probe_network(client)
    session.restart(); session.reboot(); session.shut_down()
    session.exit()

Every entry attempt is audited (ok, failed, locked) and so is every action. Actions outside an open session
raise :class:`NotInMaintenance`: the screens cannot be reached without the PIN, and neither can the domain.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.maintenance.audit import AuditAction, AuditLog, AuditOutcome, scrub
from kiosk.maintenance.lockout import BLOCKED_MESSAGE, PinLockout
from kiosk.maintenance.pin import PinFileError, TechnicianPin
from kiosk.maintenance.store import MaintenanceStore

if TYPE_CHECKING:
    from hal.device import Device, Health
    from kiosk.config import Config, MaintenanceSettings
    from kiosk.outbox import Outbox
    from kiosk.sealing import KioskIdentity

log = logging.getLogger(__name__)

#: How long a restart, reboot or shutdown command may take to return (systemctl queues a job and returns).
COMMAND_TIMEOUT_S = 30.0


class NotInMaintenance(PermissionError):
    """A maintenance action was asked for without an open maintenance session."""


class CommandFailed(RuntimeError):
    """A restart, reboot or shutdown command did not work; the message has its error output.

    The parts are kept apart too, so that the technician's screen can say in its own language what happened
    and quote only the system's own words (which come in the system's language, English).

    Attributes:
        program: The command's program (``systemctl``), or "" when no command is configured or the
            preparation before it failed.
        status: Its exit status; None when it could not be run at all.
        output: What it wrote (its error output, else its output), or the error that kept it from running.
    """

    def __init__(
        self, message: str, *, program: str = "", status: int | None = None, output: str = ""
    ) -> None:
        super().__init__(message)
        self.program = program
        self.status = status
        self.output = output


class EntryOutcome(enum.StrEnum):
    """How an attempt to enter maintenance mode ended."""

    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"
    #: No PIN is set (or its file is damaged): nobody can enter until `kiosk set-pin` is run.
    NO_PIN = "no_pin"
    #: Too many wrong PINs in a row: no PIN is checked until `kiosk set-pin` is run from the shell.
    BLOCKED = "blocked"


@dataclass(frozen=True)
class EntryResult:
    """The answer to :meth:`MaintenanceSession.enter`.

    Attributes:
        outcome: ok, failed, locked or no_pin.
        retry_after_s: While locked: seconds until a PIN may be tried again.
        attempts_left: After a wrong PIN: wrong PINs still allowed before the lock.
        message: Plain words for the technician (English; the UI may show its own translation instead).
    """

    outcome: EntryOutcome
    retry_after_s: float | None = None
    attempts_left: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the session is open."""
        return self.outcome is EntryOutcome.OK


Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


@dataclass(frozen=True)
class SystemCommands:
    """The commands behind restart, reboot and shut down, and how they are run.

    Attributes:
        restart: Restarts the kiosk app (systemd brings it back).
        reboot: Reboots the Pi.
        shutdown: Powers the Pi off.
        runner: ``subprocess.run``-like callable (injected by tests).
    """

    restart: Sequence[str]
    reboot: Sequence[str]
    shutdown: Sequence[str]
    runner: Runner = subprocess.run

    @classmethod
    def from_config(cls, config: Config, runner: Runner = subprocess.run) -> SystemCommands:
        """The commands named in the config (``[maintenance]`` and ``[power] shutdown_command``)."""
        return cls(
            restart=tuple(config.maintenance.restart_command),
            reboot=tuple(config.maintenance.reboot_command),
            shutdown=tuple(config.power.shutdown_command),
            runner=runner,
        )

    def run(self, command: Sequence[str]) -> None:
        """Run ``command``; raise :class:`CommandFailed` with its error output when it fails."""
        if not command:
            raise CommandFailed("no command is configured for this action")
        try:
            done = self.runner(
                list(command), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise CommandFailed(
                f"{command[0]} could not be run: {exc}", program=command[0], output=str(exc)
            ) from None
        if done.returncode != 0:
            output = (done.stderr or done.stdout or "").strip()
            raise CommandFailed(
                f"{command[0]} failed (exit status {done.returncode}): {output or 'no output'}",
                program=command[0],
                status=done.returncode,
                output=output,
            )


class SupportsSyncNow(Protocol):
    """The sync worker, as maintenance sees it."""

    def sync_now(self) -> None: ...


class SupportsProbe(Protocol):
    """The ingest client, as maintenance sees it (``probe`` returns a :class:`kiosk.sync.ProbeResult`)."""

    def probe(self) -> Any: ...


class SupportsRetryDead(Protocol):
    """The outbox, as maintenance sees it."""

    def retry_dead(self, record_ids: Sequence[str] | None = None) -> int: ...


@dataclass
class ActionRecord:
    """Handed to the body of :meth:`MaintenanceSession.action`; set ``detail`` to say what was done."""

    action: AuditAction
    detail: str = ""
    result: Any = field(default=None, repr=False)


class MaintenanceSession:
    """The technician's maintenance mode (see the module docstring).

    Args:
        pin: The technician PIN file.
        lockout: The PIN lockout.
        audit: The audit log.
        idle_exit_s: Seconds without a touch after which the session closes by itself.
        commands: Restart, reboot and shutdown commands.
        before_power_off: Called before the reboot and shutdown commands run, e.g. the outbox's
            ``checkpoint``. (systemd then stops the kiosk with SIGTERM, whose handling stops sync and closes
            the outbox; nothing here is undone if the command fails and the kiosk keeps serving.)
        clock: Monotonic seconds, for the idle exit (injected by tests).
    """

    def __init__(
        self,
        *,
        pin: TechnicianPin,
        lockout: PinLockout,
        audit: AuditLog,
        idle_exit_s: float,
        commands: SystemCommands,
        before_power_off: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pin = pin
        self.lockout = lockout
        self.audit = audit
        self.idle_exit_s = idle_exit_s
        self.commands = commands
        self.before_power_off = before_power_off
        self._clock = clock
        self._session_id: str | None = None
        self._last_touch = 0.0

    @classmethod
    def open(
        cls,
        data_dir: Path,
        settings: MaintenanceSettings,
        *,
        commands: SystemCommands,
        before_power_off: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        store: MaintenanceStore | None = None,
    ) -> MaintenanceSession:
        """A session over the kiosk's data directory (its PIN file and maintenance database)."""
        store = store or MaintenanceStore.in_data_dir(data_dir, clock=wall_clock)
        return cls(
            pin=TechnicianPin.in_data_dir(data_dir),
            lockout=PinLockout(
                store,
                max_failures=settings.max_pin_failures,
                initial_s=settings.lockout_initial_s,
                clock=wall_clock,
            ),
            audit=AuditLog(store, clock=wall_clock),
            idle_exit_s=settings.idle_exit_s,
            commands=commands,
            before_power_off=before_power_off,
            clock=clock,
        )

    # -- entering and leaving ------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while a technician is in maintenance mode."""
        return self._session_id is not None

    @property
    def session_id(self) -> str | None:
        """The open session's id (as written in the audit log), or None."""
        return self._session_id

    def enter(self, pin: str) -> EntryResult:
        """Try to enter maintenance mode with ``pin``; the attempt is audited whatever its outcome.

        While locked, the PIN is not even checked. Anything typed counts as an attempt (a wrong PIN is wrong
        whatever its shape), so garbage cannot be used to probe without spending tries.
        """
        if self.lockout.blocked():
            self.audit.record(AuditAction.ENTER, AuditOutcome.LOCKED, "PIN blocked until kiosk set-pin")
            return EntryResult(EntryOutcome.BLOCKED, message=BLOCKED_MESSAGE)
        retry_after = self.lockout.retry_after()
        if retry_after is not None:
            self.audit.record(AuditAction.ENTER, AuditOutcome.LOCKED, f"locked for {retry_after:.0f} s more")
            return EntryResult(
                EntryOutcome.LOCKED,
                retry_after_s=retry_after,
                message=f"Too many wrong PINs. Try again in {_duration(retry_after)}.",
            )
        try:
            right = self.pin.verify(pin)
        except PinFileError as exc:
            self.audit.record(AuditAction.ENTER, AuditOutcome.FAILED, "no usable technician PIN")
            return EntryResult(EntryOutcome.NO_PIN, message=str(exc))
        if not right:
            locked_for = self.lockout.record_failure()
            if self.lockout.blocked():
                self.audit.record(AuditAction.ENTER, AuditOutcome.FAILED, "wrong PIN; PIN blocked")
                log.warning("technician PIN blocked after too many wrong PINs: run kiosk set-pin to recover")
                return EntryResult(EntryOutcome.BLOCKED, message=BLOCKED_MESSAGE)
            if locked_for is not None:
                self.audit.record(
                    AuditAction.ENTER, AuditOutcome.FAILED, f"wrong PIN; locked for {locked_for:.0f} s"
                )
                return EntryResult(
                    EntryOutcome.LOCKED,
                    retry_after_s=locked_for,
                    message=f"Too many wrong PINs. Try again in {_duration(locked_for)}.",
                )
            left = self.lockout.attempts_left()
            self.audit.record(AuditAction.ENTER, AuditOutcome.FAILED, f"wrong PIN; {left} tries left")
            return EntryResult(EntryOutcome.FAILED, attempts_left=left, message="Wrong PIN.")
        self.lockout.record_success()
        self._session_id = secrets.token_hex(4)
        self._last_touch = self._clock()
        self.audit.record(AuditAction.ENTER, AuditOutcome.OK, session=self._session_id)
        log.info("maintenance mode entered (session %s)", self._session_id)
        return EntryResult(EntryOutcome.OK, message="Maintenance mode.")

    def touch(self) -> None:
        """The technician touched the screen: restart the idle timer."""
        if self.active:
            self._last_touch = self._clock()

    def idle_left_s(self) -> float | None:
        """Seconds before the session closes by itself, or None when not in maintenance."""
        if not self.active:
            return None
        return max(0.0, self.idle_exit_s - (self._clock() - self._last_touch))

    def tick(self) -> bool:
        """Close the session when it has been idle for ``idle_exit_s``; True when it just closed."""
        left = self.idle_left_s()
        if left is None or left > 0:
            return False
        self.exit(reason="idle")
        return True

    def exit(self, reason: str = "technician") -> None:
        """Leave maintenance mode (audited). Does nothing when not in maintenance."""
        if self._session_id is None:
            return
        session, self._session_id = self._session_id, None
        self.audit.record(AuditAction.EXIT, AuditOutcome.OK, reason, session=session)
        log.info("maintenance mode left (session %s, %s)", session, reason)

    # -- actions ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def action(self, action: AuditAction | str, detail: str = "") -> Iterator[ActionRecord]:
        """Run the body as maintenance action ``action`` and audit how it ended.

        The body may set ``record.detail``. An exception is audited as failed with its message (scrubbed)
        and raised again. Counts as activity for the idle timer.

        Raises:
            NotInMaintenance: No session is open (nothing runs, and the attempt is not an action).
        """
        session = self._require_session()
        record = ActionRecord(AuditAction(action), detail)
        self._last_touch = self._clock()
        try:
            yield record
        except BaseException as exc:
            self.audit.record(
                record.action, AuditOutcome.FAILED, _failure(record.detail, exc), session=session
            )
            raise
        self.audit.record(record.action, AuditOutcome.OK, record.detail, session=session)
        self._last_touch = self._clock()

    def note(self, action: AuditAction | str, detail: str = "") -> None:
        """Audit something the technician looked at (dashboard, logs) that has no outcome of its own."""
        session = self._require_session()
        self.audit.record(action, AuditOutcome.OK, detail, session=session)

    def sync_now(self, sync: SupportsSyncNow) -> None:
        """Make the sync worker forget its backoff and try every pending record at once."""
        with self.action(AuditAction.SYNC_NOW, "delivery of every pending record asked"):
            sync.sync_now()

    def probe_network(self, client: SupportsProbe) -> Any:
        """Ask the server's health check; returns the :class:`kiosk.sync.ProbeResult` (audited with its
        plain-language message)."""
        with self.action(AuditAction.NETWORK_PROBE) as act:
            result = client.probe()
            act.detail = str(getattr(result, "message", result))
        return result

    def export_to_usb(
        self,
        outbox: Outbox,
        identity: KioskIdentity,
        directory: Path,
        *,
        kiosk_id: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Write the undelivered records (still sealed) to a bundle on the USB stick at ``directory``.

        Nothing leaves the outbox (see :mod:`kiosk.usb_export`); the audit line names the bundle file and the
        number of records. ``kiosk_id`` names the kiosk in the bundle even when no record is left to carry.
        """
        from kiosk.usb_export import export_bundle

        total = 0

        def counted(done: int, of: int) -> None:
            nonlocal total
            total = of
            if progress is not None:
                progress(done, of)

        with self.action(AuditAction.EXPORT) as act:
            path = export_bundle(outbox, identity, Path(directory), kiosk_id=kiosk_id, progress=counted)
            act.detail = f"{total} record(s) to {path.name}"
        return path

    def retry_dead(self, outbox: SupportsRetryDead, record_ids: Sequence[str] | None = None) -> int:
        """Put dead records (all, or the given ones) back in the queue; returns how many."""
        with self.action(AuditAction.RETRY_DEAD) as act:
            count = outbox.retry_dead(list(record_ids) if record_ids is not None else None)
            act.detail = f"{count} record(s) back in the queue"
        return count

    def test_device(self, name: str, device: Device) -> Health:
        """Run a device's self-test; the audit line names the device and the health it reported."""
        with self.action(AuditAction.DEVICE_TEST, name) as act:
            health = device.self_test()
            act.detail = f"{name}: {health.status}" + (f" ({health.detail})" if health.detail else "")
        return health

    def restart(self) -> None:
        """Restart the kiosk app through the configured command.

        Raises:
            CommandFailed: The command did not work (audited as failed).
        """
        self._run_system_command(AuditAction.RESTART, self.commands.restart, prepare=False)

    def reboot(self) -> None:
        """Reboot the Pi, after the clean-shutdown preparation.

        Raises:
            CommandFailed: The command did not work (audited as failed).
        """
        self._run_system_command(AuditAction.REBOOT, self.commands.reboot, prepare=True)

    def shut_down(self) -> None:
        """Power the Pi off, after the clean-shutdown preparation.

        Raises:
            CommandFailed: The command did not work (audited as failed).
        """
        self._run_system_command(AuditAction.SHUTDOWN, self.commands.shutdown, prepare=True)

    def _run_system_command(self, action: AuditAction, command: Sequence[str], *, prepare: bool) -> None:
        session = self._require_session()
        # Audited before it runs: once it works, this process may never get to write another line.
        self.audit.record(action, AuditOutcome.REQUESTED, " ".join(command), session=session)
        try:
            if prepare and self.before_power_off is not None:
                self.before_power_off()
            self.commands.run(command)
        except Exception as exc:
            self.audit.record(action, AuditOutcome.FAILED, _failure("", exc), session=session)
            if isinstance(exc, CommandFailed):
                raise
            raise CommandFailed(str(exc)) from exc

    def _require_session(self) -> str:
        if self._session_id is None:
            raise NotInMaintenance("maintenance actions need the technician PIN first")
        return self._session_id


def _failure(detail: str, exc: BaseException) -> str:
    reason = str(exc) or type(exc).__name__
    return scrub(f"{detail}: {reason}" if detail else reason)


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 120:
        return f"{seconds} seconds"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{round(minutes / 60)} hours"
