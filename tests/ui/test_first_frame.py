"""``kiosk run``'s two phases: the welcome screen before the kiosk is built, the kiosk taking it over after.

The first frame (:mod:`ui.first_frame`) is the real welcome screen: the journey view's welcome frame, drawn
once the kiosk is built, shows the same pixels everywhere but in the status bar (which then says what the
kiosk knows: power, queue). A tap made on the first frame, while the kiosk is still being built, waits in
SDL's queue and starts the session as soon as the journey view runs.
"""

from __future__ import annotations

import threading

import pygame
import pytest

from hal.events import EventQueue
from kiosk.assembly import build_kiosk
from kiosk.commands.run import simulator_config
from kiosk.config import Config, KioskSettings, ServerSettings, UiSettings
from kiosk.events import StopRequested
from kiosk.steps import Step
from kiosk.watchdog import SystemdNotifier, Watchdog
from ui.app import App
from ui.first_frame import FirstFrame, WelcomeBeforeStart, show_first_frame
from ui.kiosk_app import make_view, run_kiosk
from ui.pilot import post_finger
from ui.widgets import Widget


@pytest.fixture
def config(tmp_path) -> Config:
    """A simulated kiosk in a window of the 7-inch panel's size."""
    return simulator_config(
        Config(
            kiosk=KioskSettings(id="FIRST-FRAME-01", data_dir=str(tmp_path / "kiosk"), language="en"),
            server=ServerSettings(url="http://127.0.0.1:9/", lab=True),
            ui=UiSettings(fullscreen=False, size=(800, 480)),
        )
    )


@pytest.fixture
def first_frame(config):
    frame = show_first_frame(config)
    yield frame
    if pygame.display.get_init():  # run_kiosk closes the display when it returns
        pygame.event.clear()
    frame.close()


def _find(root: Widget, widget_id: str) -> Widget:
    found = [w for w in root.walk() if w.id == widget_id]
    assert len(found) == 1, f"{widget_id!r}: {found}"
    return found[0]


def _post_tap(pos: tuple[int, int]) -> None:
    """A finger down and up at ``pos``, as SDL queues a touch (with its synthetic mouse twins)."""
    for kind in (pygame.FINGERDOWN, pygame.FINGERUP):
        post_finger(kind, pos, finger=7)


def _inert_watchdog() -> Watchdog:
    return Watchdog(SystemdNotifier(None), timeout_s=None)


def test_the_first_frame_is_the_welcome_screen_the_journey_view_draws_later(config, first_frame):
    first = pygame.display.get_surface().copy()
    root = first_frame.root(first.get_size())
    status = _find(root, "status")
    # Only what is known before the kiosk is built: the network is not probed yet; no guess about the
    # power or the queue.
    assert [item.key for item in status.items] == ["network"]
    assert "FIRST-FRAME-01" in status.texts()

    kiosk = build_kiosk(config, EventQueue())
    try:
        view = make_view(kiosk, text=first_frame.text)
        App(view, kiosk.events, state=kiosk.state).draw()
        later = pygame.display.get_surface()
        later_root = view.root(later.get_size())
        assert kiosk.journey.step is Step.WELCOME
        assert kiosk.journey.notices == ()  # every simulated device works: the same welcome screen
        # No visible jump: every pixel above the status bar is the same; the status bar now says more.
        above = pygame.Rect(0, 0, later.get_width(), status.rect.y)
        assert _find(later_root, "status").rect == status.rect
        assert pygame.image.tobytes(first.subsurface(above), "RGB") == pygame.image.tobytes(
            later.subsurface(above), "RGB"
        )
        assert [item.key for item in _find(later_root, "status").items] == ["network", "power", "queue"]
        # The same widgets, ids and texts (the first frame's are the welcome screen's own).
        ids = [w.id for w in root.walk() if w.id != "status"]
        assert ids == [w.id for w in later_root.walk() if w.id != "status"]
        assert "Welcome" in _find(root, "welcome.greeting").texts()
    finally:
        kiosk.close()


def test_a_tap_on_the_first_frame_starts_the_session_once_the_kiosk_is_built(config, first_frame):
    start = _find(first_frame.root(pygame.display.get_surface().get_size()), "welcome.start")
    _post_tap(start.rect.center)  # while phase 2 has not begun: nothing reads SDL's queue

    kiosk = build_kiosk(config, EventQueue())  # phase 2
    try:
        assert kiosk.journey.step is Step.WELCOME
        # Stop after the loop's first pass: it hands out SDL's queue before the kiosk's own events.
        kiosk.events.post(StopRequested(reason="test: one pass"))
        status = run_kiosk(kiosk, first_frame=first_frame, watchdog=_inert_watchdog())
        assert status == 0
        assert kiosk.journey.step is Step.LANGUAGE  # the tap was not lost: the session started
    finally:
        kiosk.close()


def test_a_language_tap_on_the_first_frame_switches_the_language_once_the_kiosk_is_built(config, first_frame):
    root = first_frame.root(pygame.display.get_surface().get_size())
    assert "Bahasa Indonesia" in _find(root, "welcome.language").texts()  # configured: English
    _post_tap(_find(root, "welcome.language").rect.center)

    kiosk = build_kiosk(config, EventQueue())
    try:
        kiosk.events.post(StopRequested(reason="test: one pass"))
        assert run_kiosk(kiosk, first_frame=first_frame, watchdog=_inert_watchdog()) == 0
        assert kiosk.journey.language == "id"
        assert kiosk.journey.step is Step.WELCOME
    finally:
        kiosk.close()


def test_the_first_frame_follows_the_configured_language_and_theme(config, first_frame):
    frame = FirstFrame(
        language="xx", text=first_frame.text, kiosk_id="K", high_contrast=True
    )  # unknown: the journey's own fallback
    assert frame.journey.language == "id"
    root = frame.root((1280, 800))
    assert frame.kit.theme.high_contrast
    assert "Selamat datang" in _find(root, "welcome.greeting").texts()
    english = FirstFrame(language="en", text=first_frame.text)
    assert "Welcome" in _find(english.root((1280, 800)), "welcome.greeting").texts()


def test_the_first_frame_handles_no_touch_itself():
    before = WelcomeBeforeStart("id")
    with pytest.raises(RuntimeError, match="handles no touch"):
        before.start()
    with pytest.raises(RuntimeError, match="handles no touch"):
        before.set_language("en")


def test_a_kiosk_that_cannot_be_built_closes_the_first_frame_and_fails_as_before(tmp_path, monkeypatch):
    # kiosk run's own path: the builder's error propagates unchanged (the same message and exit status as
    # before the first frame came first), and the display the first frame opened is closed.
    from kiosk.cli import build_parser

    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n\n[server]\nurl = "http://127.0.0.1:9/"\nlab = true\n'
    )
    shown = []
    real_show = __import__("ui.first_frame", fromlist=["show_first_frame"]).show_first_frame

    def show(*args, **kwargs):
        shown.append(pygame.display.get_init())
        frame = real_show(*args, **kwargs)
        shown.append(pygame.display.get_init())
        return frame

    def broken(*args, **kwargs):
        raise OSError("outbox: disk I/O error")

    monkeypatch.setattr("ui.first_frame.show_first_frame", show)
    monkeypatch.setattr("kiosk.assembly.build_kiosk", broken)
    args = build_parser().parse_args(["run", "--simulate", "--windowed", "--config", str(path)])
    with pytest.raises(OSError, match="disk I/O error"):
        args.func(args)
    assert shown[-1] is True  # the first frame was up when the kiosk was being built
    assert not pygame.display.get_init()


def test_what_came_while_the_kiosk_was_built_is_handled_without_waiting(config, first_frame, monkeypatch):
    # A SIGTERM (or a device's health) posted before the loop listened woke nothing: the loop's first pass
    # must handle it, before it ever sleeps in SDL's wait (up to the attract loop's next slide, seconds).
    events = EventQueue()
    events.post(StopRequested(reason="SIGTERM received while building"))
    kiosk = build_kiosk(config, events)
    waits = []
    real_wait = pygame.event.wait

    def wait(*args):
        waits.append(args)
        return real_wait(*args)

    monkeypatch.setattr(pygame.event, "wait", wait)
    try:
        view = make_view(kiosk, text=first_frame.text)
        App(view, kiosk.events, state=kiosk.state).run()
        assert kiosk.state.stop_reason == "SIGTERM received while building"
        assert waits == []
    finally:
        kiosk.close()


def test_a_kiosk_stopped_during_its_warm_up_lets_it_finish_before_it_closes(config, first_frame, monkeypatch):
    # Told to stop at once (a power cut at boot): the warm-up thread may still be importing. Its end must come
    # before the kiosk closes its devices and the interpreter ends (a daemon thread inside a C extension's
    # import at interpreter exit can abort the process).
    release = threading.Event()
    finished = threading.Event()

    def slow_warm_up(*args, **kwargs) -> threading.Thread:
        def run() -> None:
            release.wait(30)
            finished.set()

        thread = threading.Thread(target=run, name="warm-up", daemon=True)
        thread.start()
        return thread

    monkeypatch.setattr("ui.kiosk_app.start_warm_up", slow_warm_up)
    kiosk = build_kiosk(config, EventQueue())
    try:
        kiosk.events.post(StopRequested(reason="test: stop at once"))
        # The warm-up is released only once run_kiosk is stopping: it has to wait for it, not find it done.
        watchdog = _inert_watchdog()
        stopping = watchdog.stopping

        def stopping_then_release(status: str) -> None:
            stopping(status)
            assert not finished.is_set()
            release.set()

        monkeypatch.setattr(watchdog, "stopping", stopping_then_release)
        assert run_kiosk(kiosk, first_frame=first_frame, watchdog=watchdog) == 0
        assert finished.is_set()  # run_kiosk returned only after the warm-up ended
    finally:
        release.set()
        kiosk.close()


def test_a_warm_up_that_does_not_end_delays_the_stop_only_by_its_grace(caplog):
    from ui.kiosk_app import let_warm_up_finish

    stuck = threading.Event()
    thread = threading.Thread(target=stuck.wait, name="warm-up", daemon=True)
    thread.start()
    try:
        let_warm_up_finish(thread, grace_s=0.01)
        assert thread.is_alive()
        assert "still running after" in caplog.text
    finally:
        stuck.set()
        thread.join()
