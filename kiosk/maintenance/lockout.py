"""The PIN lockout: after too many wrong PINs, no PIN is even checked for a while, longer each time.

After ``max_failures`` wrong PINs in a row, entry is locked for ``initial_s``; each further lockout before a
right PIN doubles the delay (capped at :data:`MAX_LOCKOUT_S`). A right PIN clears everything. The state lives
in the maintenance database, so pulling the plug does not give a guesser a fresh set of tries.

After :data:`BLOCK_AFTER_FAILURES` wrong PINs in a row (across lockouts) the PIN is *blocked*: no PIN is
checked any more, however long one waits, until someone with the kiosk's shell sets a new one with
``kiosk set-pin`` (the documented recovery, which clears the block). A guesser at the touchscreen or with a
USB keyboard thus gets 20 tries in all, not about 1,870 a year.

Times are wall-clock seconds because they must survive a restart. A Pi without a real-time clock may boot
with its clock behind and jump forward when it reaches a time server: a lock then ends early, never late,
because the time left is never taken as more than the lock's own length.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.maintenance.store import MaintenanceStore

#: The longest a lockout lasts, however many there were (a technician must be able to get in within a day).
MAX_LOCKOUT_S = 24 * 3600.0

#: Wrong PINs in a row after which the PIN is blocked until ``kiosk set-pin`` is run from the shell.
BLOCK_AFTER_FAILURES = 20

#: What a technician reads when the PIN is blocked.
BLOCKED_MESSAGE = (
    f"The PIN is blocked after {BLOCK_AFTER_FAILURES} wrong PINs in a row. "
    "Set a new one from the kiosk's shell: kiosk set-pin"
)


@dataclass(frozen=True)
class LockoutState:
    """The persisted lockout state.

    Attributes:
        failures: Wrong PINs since the last right one or the last lockout.
        lockouts: Lockouts since the last right PIN (each doubles the next one).
        locked_until: Wall-clock time the current lock ends (0 when not locked).
        locked_for: Length of the current (or last) lock in seconds.
        consecutive: Wrong PINs in a row since the last right one, across lockouts.
    """

    failures: int = 0
    lockouts: int = 0
    locked_until: float = 0.0
    locked_for: float = 0.0
    consecutive: int = 0

    @property
    def blocked(self) -> bool:
        """True once the PIN is blocked until ``kiosk set-pin`` (see the module docstring)."""
        return self.consecutive >= BLOCK_AFTER_FAILURES


class PinLockout:
    """Counts wrong PINs and says when entry is locked.

    Args:
        store: The maintenance database.
        max_failures: Wrong PINs in a row that lock entry.
        initial_s: Length of the first lock; each following one doubles it.
        clock: Seconds since the epoch (injected by tests).
    """

    def __init__(
        self,
        store: MaintenanceStore,
        *,
        max_failures: int,
        initial_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_failures < 1 or initial_s <= 0:
            raise ValueError("max_failures must be at least 1 and initial_s positive")
        self._store = store
        self.max_failures = max_failures
        self.initial_s = initial_s
        self._clock = clock

    def state(self) -> LockoutState:
        """The state as stored."""
        with self._store.use("reading the PIN lockout") as db:
            rows = list(db["pin_lockout"].rows_where("id = 1"))
        if not rows:
            return LockoutState()
        row = rows[0]
        return LockoutState(
            row["failures"], row["lockouts"], row["locked_until"], row["locked_for"], row["consecutive"]
        )

    def blocked(self) -> bool:
        """True when no PIN is checked any more until ``kiosk set-pin`` is run from the shell."""
        return self.state().blocked

    def heartbeat(self) -> dict[str, int | float | bool | None]:
        """Failed attempts and the lockout for the heartbeat's health snapshot (no PIN, no digits)."""
        state = self.state()
        return {
            "failed_attempts": state.consecutive,
            "lockouts": state.lockouts,
            "locked_for_s": self.retry_after(),
            "blocked": state.blocked,
        }

    def retry_after(self, now: float | None = None) -> float | None:
        """Seconds until a PIN may be tried again, or None when entry is not locked."""
        now = self._clock() if now is None else now
        state = self.state()
        left = min(state.locked_until - now, state.locked_for)
        return left if left > 0 else None

    def attempts_left(self) -> int:
        """Wrong PINs still allowed before the next lock (or the block, whichever comes first)."""
        state = self.state()
        return max(0, min(self.max_failures - state.failures, BLOCK_AFTER_FAILURES - state.consecutive))

    def record_failure(self, now: float | None = None) -> float | None:
        """Count a wrong PIN; returns the length of the lock it started, or None."""
        now = self._clock() if now is None else now
        with self._store.use("writing the PIN lockout") as db, db.atomic():
            state = self.state()
            failures = state.failures + 1
            lockouts, locked_until, locked_for = state.lockouts, state.locked_until, state.locked_for
            consecutive = state.consecutive + 1
            started = None
            if consecutive >= BLOCK_AFTER_FAILURES:
                failures = 0
            elif failures >= self.max_failures:
                lockouts += 1
                locked_for = min(self.initial_s * 2 ** min(lockouts - 1, 32), MAX_LOCKOUT_S)
                locked_until = now + locked_for
                failures = 0
                started = locked_for
            self._write(db, LockoutState(failures, lockouts, locked_until, locked_for, consecutive))
        return started

    def record_success(self) -> None:
        """A right PIN: forget every failure and lockout."""
        with self._store.use("writing the PIN lockout") as db:
            self._write(db, LockoutState())

    def reset(self) -> None:
        """Clear the lockout (a new PIN was set by someone with access to the kiosk's shell)."""
        self.record_success()

    @staticmethod
    def _write(db, state: LockoutState) -> None:
        db["pin_lockout"].upsert(
            {
                "id": 1,
                "failures": state.failures,
                "lockouts": state.lockouts,
                "locked_until": state.locked_until,
                "locked_for": state.locked_for,
                "consecutive": state.consecutive,
            },
            pk="id",
        )
