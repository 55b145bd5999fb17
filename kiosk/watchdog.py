"""Telling systemd that the kiosk is alive: ``READY=1`` once, ``WATCHDOG=1`` pings, ``STATUS=`` lines.

The kiosk runs as a ``Type=notify`` unit with ``WatchdogSec=``. systemd restarts it when the pings
stop, so the pings must come from the one place whose silence means "the kiosk is stuck": the UI's
main loop. A background thread would keep pinging while the screen is frozen.

How the main loop uses it (the UI owns the loop; this module owns the protocol and the timing)::

    watchdog = Watchdog.from_environment()
    ...                                        # open devices, draw the first frame
    watchdog.ready("serving")                  # READY=1, once
    while running:
        event = wait_for_event(timeout=watchdog.wait_timeout(frame_timeout))
        handle(event)
        watchdog.tick()                        # WATCHDOG=1 when one is due
    watchdog.stopping()

``wait_timeout`` caps how long the loop may block so that a loop that is idle but healthy still
pings in time. A loop that hangs in a handler never reaches ``tick`` and systemd restarts it.

The protocol (sd_notify(3)) is a datagram of newline-separated ``KEY=value`` assignments sent to the
``AF_UNIX`` socket named by ``$NOTIFY_SOCKET``; a name starting with ``@`` is in the abstract
namespace. systemd documents it as a stable interface meant to be reimplemented without libsystemd.
It is written here instead of using the ``sdnotify`` package because that package (last released
2017) swallows every error silently, never closes its socket and knows nothing of ``WATCHDOG_USEC``
or ``WATCHDOG_PID``, which the main loop needs to pace itself.

Outside systemd (development, tests, the simulator) ``$NOTIFY_SOCKET`` is unset and every call is a
cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"


class SystemdNotifier:
    """Sends sd_notify(3) messages to systemd; a no-op when the process is not run by systemd.

    Sending never raises: a kiosk must not stop serving because its supervisor went away. The first
    failure of a run of failures is logged, so the journal shows the problem once, not every frame.

    Args:
        address: The notification socket (``$NOTIFY_SOCKET``): a filesystem path, or ``@name`` for
            the abstract namespace. None or empty disables the notifier.
    """

    def __init__(self, address: str | None) -> None:
        self._address: str | None = None
        self._socket: socket.socket | None = None
        self._failing = False
        if not address:
            return
        if address.startswith("@"):
            # Abstract namespace: the kernel name starts with a NUL byte instead of "@".
            self._address = "\0" + address[1:]
        elif address.startswith("/"):
            self._address = address
        else:
            log.warning("ignoring %s=%r: not an absolute path or @abstract name", NOTIFY_SOCKET_ENV, address)
            return
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """A notifier for ``$NOTIFY_SOCKET`` (disabled when it is not set)."""
        env = os.environ if environ is None else environ
        return cls(env.get(NOTIFY_SOCKET_ENV))

    @property
    def enabled(self) -> bool:
        """True when messages actually go to systemd."""
        return self._socket is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` assignments in one datagram; True when systemd got them.

        A newline inside a value would start a new assignment, so newlines are replaced by spaces.
        """
        if self._socket is None or self._address is None:
            return False
        message = "\n".join(a.replace("\n", " ").replace("\r", " ") for a in assignments).encode()
        try:
            self._socket.sendto(message, self._address)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot notify systemd through %s: %s", self._address.replace("\0", "@"), exc)
            self._failing = True
            return False
        if self._failing:
            log.info("notifying systemd works again")
            self._failing = False
        return True

    def close(self) -> None:
        """Close the socket; later sends are no-ops. Calling it again does nothing."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_timeout(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The unit's ``WatchdogSec=`` in seconds, or None when no watchdog watches this process.

    systemd passes ``WATCHDOG_USEC`` and ``WATCHDOG_PID``; a ``WATCHDOG_PID`` of another process
    (the variables leaked into a child) means the watchdog is not ours, as in sd_watchdog_enabled(3).
    """
    env = os.environ if environ is None else environ
    raw = env.get(WATCHDOG_USEC_ENV, "")
    if not raw:
        return None
    owner = env.get(WATCHDOG_PID_ENV, "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not a whole number of microseconds", WATCHDOG_USEC_ENV, raw)
        return None
    if usec <= 0:
        return None
    return usec / 1_000_000


class Watchdog:
    """The main loop's side of systemd supervision: ready once, then periodic pings from ``tick``.

    Timing, with ``T`` = ``WatchdogSec``: the loop may block at most ``T/2`` between ticks
    (:attr:`max_wait_s`), and ``tick`` pings when at least ``T/4`` passed since the last ping
    (:attr:`ping_interval_s`). The worst case is then a ping ``T/4 + T/2 = 3T/4`` after the previous
    one, leaving a quarter of ``T`` for a slow frame, while a loop at 30 frames a second sends a
    handful of datagrams per ``T`` instead of one per frame.

    Args:
        notifier: Where the messages go.
        timeout_s: ``WatchdogSec`` in seconds, or None when no watchdog is configured (then the
            loop may block as long as it likes and ``tick`` never pings).
        clock: Monotonic clock in seconds, injectable for tests.
    """

    def __init__(
        self,
        notifier: SystemdNotifier,
        *,
        timeout_s: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"watchdog timeout must be positive, got {timeout_s}")
        self._notifier = notifier
        self._clock = clock
        self._timeout_s = timeout_s if notifier.enabled else None
        self._last_ping: float | None = None
        self._ready = False
        self._status: str | None = None

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> Watchdog:
        """The watchdog systemd set up for this process (inert outside systemd)."""
        return cls(
            SystemdNotifier.from_environment(environ), timeout_s=watchdog_timeout(environ), clock=clock
        )

    @property
    def enabled(self) -> bool:
        """True when systemd expects pings from this process."""
        return self._timeout_s is not None

    @property
    def timeout_s(self) -> float | None:
        """``WatchdogSec`` in seconds, or None without a watchdog."""
        return self._timeout_s

    @property
    def max_wait_s(self) -> float | None:
        """The longest the main loop may block between two ticks (None: no limit)."""
        return None if self._timeout_s is None else self._timeout_s / 2

    @property
    def ping_interval_s(self) -> float | None:
        """The least time between two pings (None: never pings)."""
        return None if self._timeout_s is None else self._timeout_s / 4

    def wait_timeout(self, wanted: float | None) -> float | None:
        """The timeout the loop should pass to its blocking wait: ``wanted`` capped at :attr:`max_wait_s`.

        ``wanted`` None means "until an event comes"; with a watchdog that becomes the cap.
        """
        cap = self.max_wait_s
        if cap is None:
            return wanted
        return cap if wanted is None else min(wanted, cap)

    def ready(self, status: str | None = None) -> None:
        """Tell systemd that start-up is complete (``READY=1``), the first time only.

        Later calls only update the status line. Call it once the first frame is on the screen, so
        that ``systemctl start`` returns when a citizen can actually use the kiosk.
        """
        if self._ready:
            if status is not None:
                self.status(status)
            return
        assignments = ["READY=1"]
        if status is not None:
            assignments.append(f"STATUS={status}")
            self._status = status
        self._notifier.send(*assignments)
        self._ready = True
        self._last_ping = self._clock()

    def tick(self, now: float | None = None) -> bool:
        """Ping systemd when a ping is due; True when one was sent. Call once per loop iteration.

        Args:
            now: The current time on the watchdog's ``clock`` (read from it when None).
        """
        if self._timeout_s is None:
            return False
        now = self._clock() if now is None else now
        interval = self._timeout_s / 4
        if self._last_ping is not None and now - self._last_ping < interval:
            return False
        self._last_ping = now
        return self._notifier.send("WATCHDOG=1")

    def status(self, text: str) -> None:
        """Show ``text`` in ``systemctl status`` (sent only when it changed). Never personal data."""
        if text == self._status:
            return
        self._status = text
        self._notifier.send(f"STATUS={text}")

    def stopping(self, status: str | None = None) -> None:
        """Tell systemd the kiosk is shutting down on purpose (``STOPPING=1``)."""
        assignments = ["STOPPING=1"]
        if status is not None:
            assignments.append(f"STATUS={status}")
        self._notifier.send(*assignments)

    def close(self) -> None:
        """Release the notification socket."""
        self._notifier.close()
