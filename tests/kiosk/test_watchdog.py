"""systemd notification and watchdog pings, over a real AF_UNIX datagram socket."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hal.events import Event, EventQueue
from kiosk.watchdog import SystemdNotifier, Watchdog, watchdog_timeout


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class NotifySocket:
    """The systemd side: a bound datagram socket that collects what the kiosk sends."""

    def __init__(self, sock: socket.socket, address: str) -> None:
        self.sock = sock
        self.address = address

    def receive(self, timeout: float = 2.0) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def drain(self) -> list[str]:
        self.sock.setblocking(False)
        messages = []
        try:
            while True:
                messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return messages
        finally:
            self.sock.setblocking(True)


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request, tmp_path: Path) -> Iterator[NotifySocket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        path = str(tmp_path / "notify")
        sock.bind(path)
        address = path
    else:
        name = f"dukcapil-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        address = "@" + name
    try:
        yield NotifySocket(sock, address)
    finally:
        sock.close()


# -- the notifier ---------------------------------------------------------------------------------
def test_notifier_delivers_assignments_in_one_datagram(notify_socket: NotifySocket) -> None:
    notifier = SystemdNotifier(notify_socket.address)
    try:
        assert notifier.enabled
        assert notifier.send("READY=1", "STATUS=serving")
        assert notify_socket.receive() == "READY=1\nSTATUS=serving"
    finally:
        notifier.close()


def test_newlines_in_a_value_cannot_inject_assignments(notify_socket: NotifySocket) -> None:
    notifier = SystemdNotifier(notify_socket.address)
    try:
        notifier.send("STATUS=camera failed\nREADY=1")
        assert notify_socket.receive() == "STATUS=camera failed READY=1"
    finally:
        notifier.close()


def test_without_notify_socket_everything_is_a_no_op() -> None:
    notifier = SystemdNotifier.from_environment({})
    assert not notifier.enabled
    assert notifier.send("READY=1") is False
    watchdog = Watchdog.from_environment({"WATCHDOG_USEC": "30000000"})
    assert not watchdog.enabled
    assert watchdog.max_wait_s is None
    assert watchdog.wait_timeout(0.5) == 0.5
    watchdog.ready("serving")
    assert watchdog.tick() is False


def test_a_relative_socket_name_is_refused_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        notifier = SystemdNotifier("relative/notify")
    assert not notifier.enabled
    assert "not an absolute path" in caplog.text


def test_a_vanished_socket_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SystemdNotifier(str(tmp_path / "gone"))
    try:
        with caplog.at_level(logging.WARNING):
            assert notifier.send("WATCHDOG=1") is False
            assert notifier.send("WATCHDOG=1") is False
        assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1
    finally:
        notifier.close()
        notifier.close()  # idempotent


# -- the watchdog timeout from the environment ----------------------------------------------------
@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
    ],
)
def test_watchdog_timeout(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_timeout(environ) == expected


def test_the_loop_wait_is_capped_at_half_the_watchdog_timeout(notify_socket: NotifySocket) -> None:
    watchdog = Watchdog.from_environment(
        {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "20000000"}
    )
    try:
        assert watchdog.timeout_s == 20.0
        assert watchdog.max_wait_s == 10.0
        assert watchdog.ping_interval_s == 5.0
        assert watchdog.wait_timeout(None) == 10.0
        assert watchdog.wait_timeout(60.0) == 10.0
        assert watchdog.wait_timeout(0.02) == 0.02
    finally:
        watchdog.close()


# -- ready, pings and status with an injected clock ------------------------------------------------
def test_ready_is_sent_once_and_pings_are_paced(notify_socket: NotifySocket) -> None:
    clock = FakeClock()
    watchdog = Watchdog(SystemdNotifier(notify_socket.address), timeout_s=20.0, clock=clock)
    try:
        watchdog.ready("serving")
        watchdog.ready("serving")
        watchdog.ready()
        assert notify_socket.drain() == ["READY=1\nSTATUS=serving"]

        clock.now += 4.9  # less than a quarter of the timeout since READY
        assert watchdog.tick() is False
        clock.now += 0.1
        assert watchdog.tick() is True
        assert watchdog.tick() is False  # the very next frame does not ping again
        clock.now += 5.0
        assert watchdog.tick() is True
        assert notify_socket.drain() == ["WATCHDOG=1", "WATCHDOG=1"]
    finally:
        watchdog.close()


def test_a_healthy_loop_never_lets_the_watchdog_expire(notify_socket: NotifySocket) -> None:
    """Ticks at most max_wait apart, with any phase: the gap between pings stays below the timeout."""
    clock = FakeClock(0.0)
    watchdog = Watchdog(SystemdNotifier(notify_socket.address), timeout_s=8.0, clock=clock)
    try:
        watchdog.ready()
        pings = [0.0]
        for step in [0.3, 4.0, 0.1, 3.9, 4.0, 4.0, 1.7, 4.0, 0.01, 4.0, 4.0]:
            assert step <= watchdog.max_wait_s
            clock.now += step
            if watchdog.tick():
                pings.append(clock.now)
        gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
        assert gaps and max(gaps) < 8.0
    finally:
        watchdog.close()


def test_status_is_sent_only_when_it_changes_and_stopping_is_announced(notify_socket: NotifySocket) -> None:
    watchdog = Watchdog(SystemdNotifier(notify_socket.address), timeout_s=None)
    try:
        watchdog.status("on battery")
        watchdog.status("on battery")
        watchdog.status("serving")
        watchdog.stopping("battery low: shutting down")
        assert notify_socket.drain() == [
            "STATUS=on battery",
            "STATUS=serving",
            "STOPPING=1\nSTATUS=battery low: shutting down",
        ]
    finally:
        watchdog.close()


def test_a_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Watchdog(SystemdNotifier(None), timeout_s=0)


# -- a main loop as the UI runs it ------------------------------------------------------------------
@dataclass(frozen=True)
class Hang(Event):
    """Makes the loop's handler block until released, like a frozen frame."""

    release: threading.Event
    entered: threading.Event


def run_main_loop(watchdog: Watchdog, events: EventQueue, stop: threading.Event) -> None:
    """The shape of the UI's main loop: block for an event (capped), handle it, tick."""
    watchdog.ready("serving")
    while not stop.is_set():
        event = events.get(timeout=watchdog.wait_timeout(None))
        if isinstance(event, Hang):
            event.entered.set()
            event.release.wait(timeout=10)
        watchdog.tick()
    watchdog.stopping()


def test_main_loop_sends_ready_once_pings_while_idle_and_goes_silent_when_hung(
    notify_socket: NotifySocket, events: EventQueue
) -> None:
    # WatchdogSec=0.2 s: pings at least every 0.05 s, the loop blocks at most 0.1 s.
    watchdog = Watchdog.from_environment(
        {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())}
    )
    stop = threading.Event()
    loop = threading.Thread(target=run_main_loop, args=(watchdog, events, stop), daemon=True)
    loop.start()
    try:
        assert notify_socket.receive() == "READY=1\nSTATUS=serving"
        # Idle: no event ever arrives, yet the capped wait keeps the loop turning and pinging.
        for _ in range(3):
            assert notify_socket.receive(timeout=1.0) == "WATCHDOG=1"

        hang = Hang(release=threading.Event(), entered=threading.Event())
        events.post(hang)
        assert hang.entered.wait(timeout=2.0)
        notify_socket.drain()  # a ping may have left just before the handler blocked
        # Hung for longer than WatchdogSec: systemd would hear nothing and restart the kiosk.
        assert notify_socket.receive(timeout=0.3) is None

        hang.release.set()
        assert notify_socket.receive(timeout=1.0) == "WATCHDOG=1"
    finally:
        stop.set()
        loop.join(timeout=2.0)
        watchdog.close()
    assert not loop.is_alive()
    remaining = notify_socket.drain()
    assert remaining[-1] == "STOPPING=1"
    assert all(m in ("WATCHDOG=1", "STOPPING=1") for m in remaining)  # READY went out only once
