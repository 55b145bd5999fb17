"""Maintenance mode on the screen: the PIN pad, then the technician's pages, until the technician leaves.

:class:`MaintenanceScene` is a :class:`~ui.app.Scene`, made fresh each time the hidden corner is held (see
:mod:`ui.maintenance.switch`). It starts at the PIN pad; the right PIN (checked on a worker thread, scrypt
takes a while) wipes whatever citizen session was open behind it and shows the dashboard. Every entry
attempt and every action goes through :class:`kiosk.maintenance.MaintenanceSession`, which writes the audit
log. The scene leaves by itself when the technician stops touching it (the session's idle exit, or
:data:`PIN_IDLE_S` on the PIN pad), or through "Back to kiosk".

Slow work (the PIN check, a self-test, the sync, the export, reading the dashboard's figures) runs on the
app's worker threads; its progress and results come back as events and callbacks on the main thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pygame

from hal.events import BatteryLow, DeviceHealthChanged, Event, MainsLost, MainsRestored
from kiosk import __version__
from kiosk.events import RecordRejected, RecordSaved, SyncStatusChanged
from kiosk.maintenance import AuditAction, DashboardSnapshot, NotInMaintenance, take_snapshot
from kiosk.outbox import DEAD, OutboxItem
from ui.frame import FramedScene
from ui.i18n import LANGUAGE_NAMES, LANGUAGES
from ui.maintenance.i18n import M_, MaintenanceTranslator
from ui.maintenance.jobs import Job, JobProgress
from ui.maintenance.pages import PAGES
from ui.maintenance.pages.base import Page
from ui.maintenance.wording import duration
from ui.theme import Theme
from ui.widgets import Button, Kit, Label, StatusBar, Widget, share_text_size
from ui.widgets.status_bar import StatusItem

if TYPE_CHECKING:
    from ui.maintenance.mode import MaintenanceMode

log = logging.getLogger(__name__)

#: Seconds the PIN pad waits for a touch before it gives the screen back to citizens.
PIN_IDLE_S = 30.0
#: In the last this many seconds before the idle exit, the status bar counts down.
COUNTDOWN_S = 30.0
#: Seconds between two readings of the dashboard's figures while a page that shows them is open.
REFRESH_S = 10.0
#: Rejected records read for the outbox page (they are few; the CLI lists them all).
DEAD_SHOWN = 200

TITLE = M_("Maintenance")
LEAVE = M_("Back to kiosk")
SESSION = M_("Session {session}")
IDLE_NOTE = M_("Closes by itself after {time} without a touch")
IDLE_COUNTDOWN = M_("No touch: closing in {seconds} s")

#: Events after which the dashboard's figures are read again.
_STATE_EVENTS = (
    DeviceHealthChanged,
    SyncStatusChanged,
    MainsLost,
    MainsRestored,
    BatteryLow,
    RecordSaved,
    RecordRejected,
)


@dataclass(frozen=True)
class Readings:
    """What the dashboard and the outbox page show, read together on a worker thread."""

    snapshot: DashboardSnapshot
    dead: tuple[OutboxItem, ...]
    dead_error: str = ""


class MaintenanceScene(FramedScene):
    """The maintenance scene (see the module docstring).

    Args:
        mode: What maintenance works with.
        leave: Called (on the main thread) when the scene is done; the citizen's screen comes back.
    """

    frame_id = "maintenance"

    def __init__(self, mode: MaintenanceMode, leave: Callable[[], None]) -> None:
        self.mode = mode
        self._on_leave = leave
        self.translator = MaintenanceTranslator(mode.language)
        self.kit = Kit(Theme.create(800, 480, high_contrast=mode.high_contrast), mode.text, self.translator)
        self.version = 0
        self.closed = False
        self.entered = False
        self.last_touch = mode.clock()
        self.readings: Readings | None = None
        self.jobs: dict[str, Job] = {}
        self.pages: dict[str, Page] = {cls.key: cls(self) for cls in PAGES}
        self.page_key = "pin"
        self._size: tuple[int, int] | None = None
        self._tree: Widget | None = None
        self._tree_key: tuple | None = None
        self._background: Callable[[Callable[[], Any], Callable[[Future], Any]], Future] | None = None
        self._refreshing = False
        self._refresh_again = False
        self._next_refresh: float | None = None
        self.page.enter()

    # -- wiring -----------------------------------------------------------------------------------
    def attach(self, app: Any) -> None:
        """Use ``app``'s worker threads for slow work."""
        self._background = app.run_in_background

    def run(
        self, work: Callable[[], Any], done: Callable[[Future], Any], *, after_close: bool = False
    ) -> None:
        """Run ``work`` off the UI thread, then ``done(future)`` on it.

        ``done`` is skipped once the scene left, unless ``after_close`` (work whose result must be dealt
        with whatever happened meanwhile). Without an app (a page tried on its own) the work runs at once.
        """

        def finished(future: Future) -> None:
            if after_close or not self.closed:
                done(future)

        if self._background is not None:
            self._background(work, finished)
            return
        future: Future = Future()
        try:
            future.set_result(work())
        except Exception as exc:  # noqa: BLE001 - handed to ``done`` exactly as a worker thread would
            future.set_exception(exc)
        finished(future)

    def post(self, event: Event) -> None:
        """Put ``event`` on the main loop's queue (from any thread)."""
        if self.mode.events is not None:
            self.mode.events.post(event)

    def job(self, name: str) -> Job:
        """The job called ``name`` (made on first use)."""
        return self.jobs.setdefault(name, Job(name))

    def start_job(
        self,
        job: Job,
        work: Callable[[Callable[..., None]], Any],
        done: Callable[[Job], None] | None = None,
        *,
        total: int | None = None,
        item: str = "",
    ) -> None:
        """Run ``work(progress)`` on a worker thread; ``progress(done, total, item="")`` may be called from
        there. ``total`` and ``item``, when known, are shown at once, before the worker reports."""
        if job.running:
            return
        job.started(total, item)
        self.changed()

        def progress(count: int, total: int, item: str = "") -> None:
            self.post(JobProgress(job=job.name, done=count, total=total, item=item))

        def finished(future: Future) -> None:
            try:
                job.finished(future.result())
            except NotInMaintenance:
                job.finished()  # the session closed meanwhile; there is nobody to tell
            except Exception as exc:  # noqa: BLE001 - the page shows the reason; the session audited it
                log.warning("maintenance %s failed: %s", job.name, exc)
                job.finished(error=exc)
            if done is not None:
                done(job)
            self.refresh()
            self.changed()

        self.run(lambda: work(progress), finished)

    def audit_view(self, action: AuditAction, detail: str = "") -> None:
        """Audit that a page was looked at.

        Written here, on the UI thread, unlike the actions: one small insert when a page opens keeps the
        audit log in the order things were seen, and the line cannot be lost to a session closing before a
        worker thread got to it. A database that cannot be written is logged; the page still opens.
        """
        try:
            self.mode.session.note(action, detail)
        except NotInMaintenance:
            pass  # the PIN pad: nothing to audit before the PIN
        except Exception:  # noqa: BLE001 - the technician must still see what is wrong
            log.exception("the audit log cannot be written")

    # -- pages and state ----------------------------------------------------------------------------
    @property
    def page(self) -> Page:
        """The page shown."""
        return self.pages[self.page_key]

    def shown(self) -> object:
        """Scene protocol: the page shown, by identity."""
        return self.page

    def changed(self) -> None:
        """Something shown changed: rebuild the widgets."""
        self.version += 1

    def show(self, key: str) -> None:
        """Switch to the page ``key`` (only once the PIN was accepted)."""
        if key == self.page_key or key not in self.pages or (key != "pin" and not self.entered):
            return
        self._leave_page()
        self.page_key = key
        self.page.enter()
        self.changed()

    def _leave_page(self) -> None:
        try:
            self.page.leave()
        except Exception:  # leaving a page must never keep the technician (or the citizens) stuck
            log.exception("leaving the maintenance %s page failed", self.page_key)

    def entered_with_pin(self) -> None:
        """The PIN was accepted: wipe the citizen session behind the pad and show the dashboard."""
        self.entered = True
        if self.mode.wipe_citizen is not None:
            try:
                self.mode.wipe_citizen()
            except Exception:  # the technician must still get in
                log.exception("wiping the citizen session failed")
        self.refresh()
        self.show("dashboard")

    def refresh(self) -> None:
        """Read the dashboard's figures again (on a worker thread; one reading at a time)."""
        if not self.entered or self.closed:
            return
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self._next_refresh = self.mode.clock() + REFRESH_S
        self.run(self._read, self._read_done)

    def _read(self) -> Readings:
        mode = self.mode
        snapshot = take_snapshot(
            devices=mode.devices,
            outbox=mode.outbox,
            sync=mode.sync,
            power=mode.devices.power,
            data_dir=mode.data_dir,
            started_at=mode.started_at,
            clock=mode.clock,
            wall_clock=mode.wall_clock,
        )
        dead: tuple[OutboxItem, ...] = ()
        problem = ""
        if mode.outbox is not None:
            try:
                dead = tuple(mode.outbox.items(DEAD, limit=DEAD_SHOWN))
            except Exception as exc:  # noqa: BLE001 - shown on the page; the snapshot lists it too
                problem = str(exc)
        return Readings(snapshot, dead, problem)

    def _read_done(self, future: Future) -> None:
        self._refreshing = False
        try:
            self.readings = future.result()
        except Exception:  # take_snapshot reports broken parts itself; this is a bug, not a finding
            log.exception("reading the dashboard's figures failed")
        self.changed()
        if self._refresh_again:
            self._refresh_again = False
            self.refresh()

    # -- leaving ------------------------------------------------------------------------------------
    def leave(self, reason: str = "technician") -> None:
        """Close the session (audited with ``reason``) and give the screen back to the citizens."""
        if self.closed:
            return
        self._leave_page()
        self.closed = True
        try:
            self.mode.session.exit(reason)
        except Exception:  # the audit database failing must not trap the kiosk in maintenance
            log.exception("closing the maintenance session failed")
        self._on_leave()

    # -- Scene --------------------------------------------------------------------------------------
    def root(self, size: tuple[int, int]) -> Widget:
        """The frame (header, tabs, status bar) around the current page."""
        if size != self._size:
            self._size = size
            self.kit = Kit(
                Theme.create(*size, high_contrast=self.mode.high_contrast), self.mode.text, self.translator
            )
        key = (id(self.kit), self.version, self.translator.language, self._countdown())
        if key != self._tree_key or self._tree is None:
            self._tree = self._build(size)
            self._tree_key = key
        return self._tree

    def handle_event(self, event: Event) -> bool:
        """Job progress, state changes for the dashboard, and whatever the page listens to."""
        if self.closed:
            return False
        if isinstance(event, JobProgress):
            job = self.jobs.get(event.job)
            if job is not None and job.progressed(event.done, event.total, event.item):
                self.mode.session.touch()  # a technician watching a long export is not idle
                self.changed()
                return True
            return False
        if isinstance(event, _STATE_EVENTS):
            self.refresh()
        return self.page.on_event(event)

    def touched(self) -> None:
        """Any touch restarts the idle timers."""
        self.last_touch = self.mode.clock()
        self.mode.session.touch()

    def update(self, now: float) -> None:
        """The idle exits, the page's timers and the periodic reading of the figures."""
        if self.closed:
            return
        if self.entered:
            if self.mode.session.tick() or not self.mode.session.active:
                # The session closed itself (and audited why); the screen goes back to the citizens.
                self.leave("idle")
                return
        elif not self.pages["pin"].busy and now - self.last_touch >= PIN_IDLE_S:
            self.leave("PIN pad left idle")
            return
        self.page.update(now)
        if (
            self.entered
            and self._next_refresh is not None
            and now >= self._next_refresh
            and self.page.key in ("dashboard", "outbox")
        ):
            self.refresh()

    def next_deadline(self, now: float) -> float | None:
        """The idle exit (second by second in its last half minute), the page's and the next reading."""
        deadlines = [self.page.next_deadline(now)]
        if self.entered:
            left = self.mode.session.idle_left_s()
            if left is not None:
                deadlines.append(now + left if left > COUNTDOWN_S else now + min(1.0, left))
            if self.page.key in ("dashboard", "outbox"):
                deadlines.append(self._next_refresh)
        else:
            deadlines.append(self.last_touch + PIN_IDLE_S)
        found = [d for d in deadlines if d is not None]
        return min(found) if found else None

    def key(self, event: pygame.event.Event) -> None:
        """A technician's keyboard: handed to the page (the PIN pad takes digits)."""
        self.touched()
        self.page.keyboard(event)

    # -- drawing ------------------------------------------------------------------------------------
    def _countdown(self) -> int | None:
        if not self.entered:
            return None
        left = self.mode.session.idle_left_s()
        return math.ceil(left) if left is not None and left <= COUNTDOWN_S else None

    def _build(self, size: tuple[int, int]) -> Widget:
        return self._build_frame(size, self.kit)

    # -- the frame's parts (FramedScene) -----------------------------------------------------------
    def _frame_header_id(self) -> str:
        return "m.header"

    def _frame_header(self, band: pygame.Rect) -> list[Widget]:
        kit = self.kit
        m, tr = kit.metrics, self.translator
        button_h = m.touch_min
        button_y = band.y + (band.height - button_h) // 2
        leave_w = m.px(190)
        leave = pygame.Rect(band.right - m.margin - leave_w, button_y, leave_w, button_h)
        other = next(code for code in LANGUAGES if code != tr.language)
        lang_w = m.px(190)
        lang = pygame.Rect(leave.x - m.gap - lang_w, button_y, lang_w, button_h)
        title = tr(TITLE) if self.page_key == "pin" else f"{tr(TITLE)} \u00b7 {tr(self.page.label)}"
        row = [
            Button("m.leave", leave, kit, tr(LEAVE), lambda: self.leave("technician"), style="secondary"),
            Button(
                "m.language",
                lang,
                kit,
                LANGUAGE_NAMES[other],
                lambda: self._set_language(other),
                style="secondary",
                bold=False,
            ),
        ]
        share_text_size(row)
        return [
            *row,
            Label(
                "m.title",
                (m.margin, band.y, lang.x - 2 * m.margin, band.height),
                kit,
                title,
                role="title",
                tone="inverse",
                valign="middle",
                bold=True,
                shrink=True,
            ),
        ]

    def _frame_between(self, area: pygame.Rect) -> tuple[list[Widget], pygame.Rect]:
        m = self.kit.metrics
        widgets: list[Widget] = []
        top = area.y + m.gap
        if self.entered:
            tabs = pygame.Rect(m.margin, top, area.width - 2 * m.margin, m.touch)
            self._tabs(widgets, tabs)
            top = tabs.bottom + m.px(14)
        return widgets, pygame.Rect(m.margin, top, area.width - 2 * m.margin, area.bottom - m.px(14) - top)

    def _frame_content(self, area: pygame.Rect) -> list[Widget]:
        return list(self.page.build(area))

    def _frame_status(self, rect: pygame.Rect) -> Widget:
        right = f"{self.mode.kiosk_id} \u00b7 v{__version__}"
        return StatusBar("m.status", rect, self.kit, self._status_items(), right=right)

    def _frame_overlays(self, area: pygame.Rect) -> list[Widget]:
        overlay = self.page.overlay(area)
        return [overlay] if overlay is not None else []

    def _tabs(self, into: list[Widget], area: pygame.Rect) -> None:
        kit, m, tr = self.kit, self.kit.metrics, self.translator
        pages = [page for page in self.pages.values() if page.key != "pin"]
        gap = m.px(6)
        width = (area.width - gap * (len(pages) - 1)) / len(pages)
        row: list[Button] = []
        for index, page in enumerate(pages):
            x = round(area.x + index * (width + gap))
            row.append(
                Button(
                    f"m.tab.{page.key}",
                    (x, area.y, round(width), area.height),
                    kit,
                    tr(page.label),
                    lambda key=page.key: self.show(key),
                    style="choice",
                    align="center",
                    selected=page.key == self.page_key,
                    bold=False,
                )
            )
        share_text_size(row)
        into.extend(row)

    def _status_items(self) -> list[StatusItem]:
        tr = self.translator
        session = self.mode.session
        if not self.entered or session.session_id is None:
            return []
        items = [StatusItem("session", tr(SESSION).format(session=session.session_id), "muted")]
        countdown = self._countdown()
        if countdown is not None:
            items.append(StatusItem("idle", tr(IDLE_COUNTDOWN).format(seconds=countdown), "warning"))
        else:
            items.append(
                StatusItem("idle", tr(IDLE_NOTE).format(time=duration(tr, session.idle_exit_s)), "muted")
            )
        return items

    def _set_language(self, language: str) -> None:
        self.translator.set_language(language)
        self.changed()
