"""The main loop: pygame on the main thread, sleeping until something happens.

Each iteration waits in ``pygame.event.wait(timeout)`` for a touch, a window event or a *wake*
(a user event that another thread pushes, through SDL itself, when it put something on the
:class:`EventQueue` or finished background work: see :class:`Waker`), then drains the event
queue, lets the scene update, and draws a frame only when something changed or a widget animates.
A kiosk that nobody touches sleeps until the next timer (the idle warning, the attract loop)
instead of spinning.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import pygame
import pygame.freetype

from hal.events import Event, EventQueue
from kiosk.events import StopRequested
from ui.input import Pointer, PointerReader
from ui.widgets.base import Widget

if TYPE_CHECKING:
    # Only a type here: the first welcome frame (ui.first_frame) opens the display before the kiosk's state,
    # and with it the journey, is imported.
    from kiosk.state import KioskState

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class _SdlUserEvent(ctypes.Structure):
    """SDL2's ``SDL_UserEvent``, padded to the 56 bytes of the ``SDL_Event`` union."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("timestamp", ctypes.c_uint32),
        ("window_id", ctypes.c_uint32),
        ("code", ctypes.c_int32),
        ("data1", ctypes.c_void_p),
        ("data2", ctypes.c_void_p),
        ("padding", ctypes.c_uint8 * 24),
    ]


def _sdl_library() -> ctypes.CDLL | None:
    """The SDL2 library pygame runs on (the copy bundled in its wheel, else the system's)."""
    bundled = glob.glob(
        os.path.join(os.path.dirname(pygame.__file__), os.pardir, "pygame.libs", "libSDL2-2*.so*")
    )
    for path in [*bundled, ctypes.util.find_library("SDL2")]:
        if not path:
            continue
        try:
            library = ctypes.CDLL(path)
            library.SDL_PushEvent.argtypes = [ctypes.c_void_p]
            return library
        except (OSError, AttributeError):
            continue
    return None


class Waker:
    """Wakes ``pygame.event.wait`` from any thread by pushing one user event into SDL's queue.

    Why not ``pygame.event.post``: pygame 2.6 keeps Python objects for posted events that its
    event filter touches while the main thread waits in ``event.wait`` with the GIL released; a
    post from another thread then corrupts memory (the autopilot crashed within minutes). SDL's
    own ``SDL_PushEvent`` is documented thread-safe, and an event without data needs none of
    pygame's bookkeeping. Where SDL cannot be found by ctypes, ``pygame.event.post`` is the
    fallback (with a warning).
    """

    def __init__(self, event_type: int) -> None:
        self.event_type = event_type
        self._sdl = _sdl_library()
        if self._sdl is None:
            log.warning("SDL2 not found through ctypes: waking the loop with pygame.event.post")

    def __call__(self) -> bool:
        """Push the wake event; False when SDL did not take it (no display open)."""
        if self._sdl is not None:
            event = _SdlUserEvent(type=self.event_type)
            return self._sdl.SDL_PushEvent(ctypes.byref(event)) == 1
        pygame.event.post(pygame.event.Event(self.event_type))
        return True


#: Seconds after a screen change during which a new touch is ignored. A double tap on "Lanjut" must move
#: one screen, not two: the second tap lands ~100-250 ms after the first on whatever button the new screen
#: has in the same spot. Short enough that nobody reading the new screen notices.
SCREEN_SETTLE_S = 0.35


class Scene(Protocol):
    """What the main loop drives (the citizen journey, or a widget test)."""

    def root(self, size: tuple[int, int]) -> Widget:
        """The widget tree for the current state, rebuilt by the scene when its state changed."""

    def handle_event(self, event: Event) -> bool:
        """An event from a device or worker thread (drained from the event queue); True = redraw."""

    def touched(self) -> None:
        """The pointer went down somewhere (resets idle timers)."""

    def update(self, now: float) -> None:
        """Advance timers; called once per loop iteration."""

    def next_deadline(self, now: float) -> float | None:
        """When :meth:`update` next has something to do on its own (None = only on input)."""

    def key(self, event: pygame.event.Event) -> None:
        """A physical keyboard's KEYDOWN or TEXTINPUT (a desktop or a technician's keyboard)."""

    def shown(self) -> object:
        """What is on screen, by identity: a tap that began on one page never acts on the next one."""


def open_display(size: tuple[int, int], *, fullscreen: bool, title: str = "Dukcapil Kiosk") -> pygame.Surface:
    """Open the display: fullscreen with a hidden cursor on the kiosk, a window on a desktop.

    Under ``SDL_VIDEODRIVER=dummy`` (tests, the screenshot autopilot) this is an off-screen
    surface of ``size``. Only the display and font modules are initialised: the kiosk has no
    sound, and initialising the mixer on a Pi without a sound card only logs ALSA noise.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    pygame.display.init()
    pygame.freetype.init()
    pygame.display.set_caption(title)
    driver = pygame.display.get_driver()
    if fullscreen and driver != "dummy":
        # (0, 0) asks for the panel's own resolution; kmsdrm has no windows anyway.
        width, height = size if all(size) else (0, 0)
        surface = pygame.display.set_mode((width, height), pygame.FULLSCREEN)
        pygame.mouse.set_visible(False)
    else:
        surface = pygame.display.set_mode(size if all(size) else (1280, 800))
    # Keyboard text input only matters for a technician's keyboard; the citizen uses the screen.
    pygame.key.set_repeat(400, 40)
    log.info("display %s: %dx%d", driver, *surface.get_size())
    return surface


def show(root: Widget, now: float) -> None:
    """Draw the widget tree ``root`` over the whole display and show it: one frame.

    The main loop draws every frame with it, and the first welcome frame (:mod:`ui.first_frame`) too.
    """
    surface = pygame.display.get_surface()
    surface.fill(root.kit.palette.background)
    root.draw(surface, now)
    pygame.display.flip()


class App:
    """Runs a :class:`Scene` on the display.

    Args:
        scene: What to show and whom to tell about touches.
        events: The queue device and worker threads post to; drained every iteration.
        clock: Monotonic seconds; tests inject a fake one and drive :meth:`step` themselves.
        heartbeat: Called at least every ``max_sleep_s`` (the systemd watchdog ping), so a hung
            loop gets the kiosk restarted.
        max_sleep_s: Longest sleep without a reason, bounding the heartbeat interval.
        quit_on_close: Whether closing the window ends the loop (a desktop); the kiosk ignores it.
        state: The kiosk's :class:`~kiosk.state.KioskState`: fed every event before the scene sees it and
            ticked every iteration, whatever scene is on screen (so a low battery or SIGTERM stops the kiosk
            while maintenance is open too); the loop ends when it asks to stop. None for a bare scene (tests
            of widgets), which then stops on :class:`~kiosk.events.StopRequested` itself.
    """

    def __init__(
        self,
        scene: Scene,
        events: EventQueue,
        *,
        clock: Clock = time.monotonic,
        heartbeat: Callable[[], Any] | None = None,
        max_sleep_s: float = 5.0,
        quit_on_close: bool = True,
        state: KioskState | None = None,
    ) -> None:
        self.scene = scene
        self.state = state
        self.events = events
        self.clock = clock
        self.heartbeat = heartbeat
        self.max_sleep_s = max_sleep_s
        self.quit_on_close = quit_on_close
        self.running = False
        self.frames = 0
        self.last_frame_s = 0.0
        self.frame_listeners: list[Callable[[float], Any]] = []
        self._wake_type = pygame.event.custom_type()
        self._push_wake = Waker(self._wake_type)
        self._wake_pending = threading.Event()
        self._done: queue.SimpleQueue[tuple[Future, Callable[[Future], Any]]] = queue.SimpleQueue()
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ui-work")
        self._pointer = PointerReader(self._window_size)
        self._captured: Widget | None = None
        self._down_page: object = None
        self._shown: object = None
        #: Until when new touches are ignored because the screen just changed (:data:`SCREEN_SETTLE_S`).
        self.settles_at = 0.0
        self._root: Widget | None = None
        self._dirty = True
        self._next_animation: float | None = None
        events.add_waker(self.wake)

    # -- thread-safe entry points ---------------------------------------------------------------
    def wake(self) -> None:
        """Wake the main loop from another thread; cheap and safe to call often."""
        if self._wake_pending.is_set():
            return  # one wake event in flight is enough: the loop drains everything at once
        self._wake_pending.set()
        try:
            pushed = self._push_wake()
        except pygame.error:
            pushed = False
        if not pushed:
            # The display is not open (yet, or any more): nothing is sleeping in event.wait.
            self._wake_pending.clear()

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Future], Any]) -> Future:
        """Run ``work()`` on a worker thread, then ``done(future)`` on the main thread.

        For slow work that must never run inside a frame: a JPEG capture, a commit, printing.
        """
        future = self._workers.submit(work)

        def finished(f: Future) -> None:
            self._done.put((f, done))
            self.wake()

        future.add_done_callback(finished)
        return future

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        """Loop until :meth:`stop` or a window close (desktop only)."""
        self.running = True
        try:
            # First a pass without waiting: what came before the loop listened (a device's health, a SIGTERM
            # while the kiosk was being built behind its first frame) woke nothing, and must not wait for
            # the first timeout.
            self.step(0.0)
            while self.running:
                self.step(self._timeout())
        finally:
            self.close()

    def stop(self) -> None:
        """Let :meth:`run` return after the current iteration (call from the main thread or a waker)."""
        self.running = False
        self.wake()

    def close(self) -> None:
        """Stop the worker threads and forget the waker."""
        self.events.remove_waker(self.wake)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _timeout(self) -> float:
        now = self.clock()
        deadlines = [d for d in (self._next_animation, self.scene.next_deadline(now)) if d is not None]
        wait = min(deadlines) - now if deadlines else self.max_sleep_s
        return max(0.0, min(wait, self.max_sleep_s))

    def step(self, timeout: float = 0.0) -> None:
        """One iteration: wait up to ``timeout`` seconds for input, handle everything, draw if needed."""
        if timeout > 0:
            first = pygame.event.wait(max(1, int(timeout * 1000)))
            pending = [first] if first.type != pygame.NOEVENT else []
            pending += pygame.event.get()
        else:
            pending = pygame.event.get()
        for event in pending:
            self._handle_pygame(event)
        for event in self.events.drain():
            self._handle_event(event)
        while True:
            try:
                future, done = self._done.get_nowait()
            except queue.Empty:
                break
            done(future)
            self._dirty = True
        now = self.clock()
        if self.state is not None:
            self.state.tick()
            if self.state.stop_requested:
                # SIGTERM/SIGINT: leave the loop in fullscreen too; the caller runs the shutdown sequence.
                self.running = False
        self.scene.update(now)
        if self.heartbeat is not None:
            self.heartbeat()
        self.draw_if_needed(now)

    def _handle_event(self, event: Event) -> None:
        """One event from the queue: the kiosk's state first, then the scene."""
        if self.state is not None:
            if self.state.apply(event):
                self._dirty = True
        elif isinstance(event, StopRequested):
            self.running = False
        if isinstance(event, StopRequested):
            return
        # Most events change nothing visible (pen samples away from the signature step, say):
        # only those the scene says changed something cost a frame.
        if self.scene.handle_event(event):
            self._dirty = True

    def _handle_pygame(self, event: pygame.event.Event) -> None:
        if event.type == self._wake_type:
            self._wake_pending.clear()
            return
        if event.type == pygame.QUIT:
            if self.quit_on_close:
                self.running = False
            return
        if event.type in (pygame.WINDOWEXPOSED, pygame.WINDOWSIZECHANGED, pygame.VIDEOEXPOSE):
            self._dirty = True
            return
        if event.type in (pygame.KEYDOWN, pygame.TEXTINPUT):
            self.scene.key(event)
            self._dirty = True
            return
        pointer = self._pointer.read(event)
        if pointer is not None:
            self.dispatch(pointer)

    def dispatch(self, pointer: Pointer) -> None:
        """Deliver one pointer event to the widget under it (or the one that captured it)."""
        now = self.clock()
        self._dirty = True
        root = self._current_root()
        if pointer.kind == "down":
            self.scene.touched()
            root = self._current_root()  # touching may have cleared an overlay
            self._down_page = self.scene.shown()
            if now < self.settles_at:
                self._captured = None  # the screen changed a moment ago: this is a tap meant for the old one
                return
            target = root.hit(pointer.pos)
            self._captured = target
            if target is not None:
                target.pointer_down(pointer.pos, now)
            return
        target = self._captured
        if target is None:
            return
        if pointer.kind == "move":
            target.pointer_move(pointer.pos, now)
        elif pointer.kind == "up":
            self._captured = None
            target.pointer_up(pointer.pos, now)
        else:
            self._captured = None
            target.pointer_cancel()

    # -- drawing --------------------------------------------------------------------------------
    def _window_size(self) -> tuple[int, int]:
        surface = pygame.display.get_surface()
        return surface.get_size() if surface is not None else (1, 1)

    def _current_root(self) -> Widget:
        root = self.scene.root(self._window_size())
        shown = self.scene.shown()
        if shown != self._shown:
            if self._shown is not None:
                self.settles_at = self.clock() + SCREEN_SETTLE_S
            self._shown = shown
        if root is not self._root:
            self._root = root
            self._dirty = True
            if self._captured is not None:
                # The scene rebuilt its widgets while a finger was down: follow the same widget by id,
                # but only on the same page. A finger that went down before the screen changed (the second
                # tap of a double tap on "Lanjut") must not press whatever sits there on the new screen.
                old = self._captured
                same_page = self.scene.shown() == self._down_page
                self._captured = next(
                    (w for w in root.walk() if same_page and w.id == old.id and type(w) is type(old)),
                    None,
                )
                if self._captured is None:
                    old.pointer_cancel()
                    self._pointer.reset()
        return root

    def draw_if_needed(self, now: float) -> bool:
        """Draw a frame when something changed or an animation is due; True when one was drawn."""
        self._current_root()  # a rebuilt tree marks the frame dirty
        due = self._next_animation is not None and now >= self._next_animation
        if not (self._dirty or due):
            return False
        self.draw(now)
        return True

    def draw(self, now: float | None = None) -> None:
        """Draw the whole scene and show it."""
        now = self.clock() if now is None else now
        started = time.perf_counter()
        root = self._current_root()
        show(root, now)
        self.last_frame_s = time.perf_counter() - started
        self.frames += 1
        self._dirty = False
        self._next_animation = root.next_frame(now)
        for listener in self.frame_listeners:
            listener(self.last_frame_s)

    def invalidate(self) -> None:
        """Draw a new frame at the next iteration."""
        self._dirty = True
