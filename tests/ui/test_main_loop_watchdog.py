"""The real main loop feeds systemd's watchdog: READY once, pings while idle, silence when it hangs.

The loop (:class:`ui.app.App`) runs on the test's main thread, as pygame requires; an observer thread
listens on a real AF_UNIX datagram socket standing in for systemd's ``NOTIFY_SOCKET``, makes the loop
hang through an event, and stops it at the end.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pygame

from hal.events import Event, EventQueue
from kiosk.watchdog import Watchdog
from ui.app import App
from ui.widgets.base import Kit, Widget

WATCHDOG_USEC = 200_000  # WatchdogSec=0.2 s: pings every 0.05 s, the loop never sleeps more than 0.1 s


@dataclass(frozen=True)
class Hang(Event):
    """Makes the scene block inside the loop until ``release`` is set."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class IdleScene:
    """A scene with nothing to do: the loop sleeps in ``event.wait`` until the watchdog's cap."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit

    def root(self, size: tuple[int, int]) -> Widget:
        return Widget("idle", pygame.Rect((0, 0), size), self.kit)

    def handle_event(self, event: Event) -> bool:
        if isinstance(event, Hang):
            event.entered.set()
            event.release.wait(timeout=10)
        return False

    def touched(self) -> None:
        pass

    def update(self, now: float) -> None:
        pass

    def next_deadline(self, now: float) -> float | None:
        return None

    def key(self, event: pygame.event.Event) -> None:
        pass

    def shown(self) -> object:
        return self


class Systemd:
    """The receiving end of ``NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.address = str(path)

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def drain(self) -> list[str]:
        messages = []
        while (message := self.receive(0.001)) is not None:
            messages.append(message)
        return messages


def test_the_main_loop_sends_ready_once_pings_while_idle_and_stops_pinging_when_hung(
    tmp_path: Path, kit: Kit
) -> None:
    systemd = Systemd(tmp_path / "notify")
    watchdog = Watchdog.from_environment(
        {
            "NOTIFY_SOCKET": systemd.address,
            "WATCHDOG_USEC": str(WATCHDOG_USEC),
            "WATCHDOG_PID": str(os.getpid()),
        }
    )
    events = EventQueue()
    app = App(IdleScene(kit), events, heartbeat=watchdog.tick, max_sleep_s=watchdog.wait_timeout(5.0))
    seen: dict[str, object] = {}

    def observe() -> None:
        try:
            seen["ready"] = systemd.receive(timeout=5)
            seen["idle_pings"] = [systemd.receive(timeout=1) for _ in range(3)]
            hang = Hang()
            events.post(hang)
            seen["hung"] = hang.entered.wait(timeout=5)
            systemd.drain()  # a ping may have left just before the scene blocked
            seen["while_hung"] = systemd.receive(timeout=0.3)  # longer than WatchdogSec
            hang.release.set()
            seen["after_release"] = systemd.receive(timeout=1)
        finally:
            events.post(Event())  # wake the loop so it sees the stop
            app.running = False

    observer = threading.Thread(target=observe)
    observer.start()
    watchdog.ready("serving")
    app.run()  # returns once the observer has stopped it
    observer.join(timeout=5)
    watchdog.close()

    assert seen["ready"] == "READY=1\nSTATUS=serving"
    assert seen["idle_pings"] == ["WATCHDOG=1"] * 3
    assert seen["hung"] is True
    assert seen["while_hung"] is None, "a hung loop must not ping: systemd has to restart it"
    assert seen["after_release"] == "WATCHDOG=1"
    assert "READY=1" not in "".join(systemd.drain())
