"""The PIN pad: digits shown as dots, checked on a worker thread, locked out after too many wrong PINs.

The lockout lives in the maintenance database (:class:`kiosk.maintenance.PinLockout`), so closing and
opening the pad again, or restarting the kiosk, does not give a guesser fresh tries: the pad reads it when
it opens and, while locked, shows the time left and accepts no digits. The typed digits exist only in this
page's memory and are dropped as soon as they were checked.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future

import pygame

from kiosk.maintenance import EntryOutcome, EntryResult
from kiosk.maintenance.pin import MAX_LENGTH, MIN_LENGTH
from ui.i18n import Translator
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, columns, text
from ui.maintenance.widgets import PinDots
from ui.maintenance.wording import duration
from ui.widgets import Button, Keyboard, Panel, Spinner, Stack, Widget
from ui.widgets.keyboard import BACKSPACE

log = logging.getLogger(__name__)

LABEL = M_("Technician PIN")
PROMPT = M_("Technician PIN")
HELP = M_('Only for the kiosk\'s technician. Registering? Touch "Back to kiosk" at the top.')
ENTER = M_("Enter")
CHECKING = M_("Checking the PIN…")
WRONG = M_("Wrong PIN. {attempts} more wrong PINs lock the pad.")
WRONG_LAST = M_("Wrong PIN. One more wrong PIN locks the pad.")
LOCKED = M_("Too many wrong PINs. Try again in {time}.")
UNLOCKED = M_("You can try again now.")
NO_PIN = M_("No technician PIN is set on this kiosk. Set one from its shell with: kiosk set-pin")
BLOCKED = M_(
    "The PIN is blocked after too many wrong PINs. Set a new one from the kiosk's shell: kiosk set-pin"
)
CHECK_FAILED = M_("The PIN could not be checked: {reason}")


class PinPage(Page):
    """The PIN pad (see the module docstring)."""

    key = "pin"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.digits = ""
        self.busy = False
        #: What the page says under the dots, worded when drawn so that it follows a language switch.
        self._words: Callable[[Translator], str] | None = None
        self.tone = "normal"
        #: Seconds left in the lockout as last read, or None when not locked.
        self.locked_left: float | None = None
        #: True when no PIN is checked any more until ``kiosk set-pin`` is run from the shell.
        self.blocked = False
        self._shown_left: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def enter(self) -> None:
        self._read_lockout()

    def leave(self) -> None:
        self.digits = ""

    def _read_lockout(self) -> None:
        lockout = self.mode.session.lockout
        try:
            self.blocked = lockout.blocked()
            self.locked_left = lockout.retry_after()
        except Exception:  # noqa: BLE001 - a broken database shows when the PIN is checked
            log.exception("the PIN lockout cannot be read")
            self.blocked, self.locked_left = False, None
        if self.blocked:
            self._show_blocked()
        elif self.locked_left is not None:
            self._show_locked()

    @property
    def message(self) -> str:
        """The sentence under the dots, in the current language ("" for none)."""
        return self._words(self.tr) if self._words is not None else ""

    def _say(self, message: str, tone: str, **values: object) -> None:
        """Show the catalog ``message`` (formatted with ``values``) in ``tone``."""
        self._words = lambda tr: tr(message).format(**values) if message else ""
        self.tone = tone

    def _show_blocked(self) -> None:
        self.blocked, self.locked_left = True, None
        self._say(BLOCKED, "error")

    def _show_locked(self) -> None:
        assert self.locked_left is not None
        self._shown_left = math.ceil(self.locked_left)
        left = self._shown_left
        self._words = lambda tr: tr(LOCKED).format(time=duration(tr, left))
        self.tone = "error"

    # -- typing ---------------------------------------------------------------------------------
    @property
    def accepting(self) -> bool:
        """Whether digits may be typed now."""
        return not self.busy and not self.blocked and self.locked_left is None

    def press(self, key: str) -> None:
        """A key of the pad: a digit or :data:`BACKSPACE`."""
        if not self.accepting:
            return
        if key == BACKSPACE:
            self.digits = self.digits[:-1]
        elif key.isdigit() and len(self.digits) < MAX_LENGTH:
            self.digits += key
        self.changed()

    def submit(self) -> None:
        """Check the typed PIN on a worker thread (scrypt is deliberately slow)."""
        if not self.accepting or len(self.digits) < MIN_LENGTH:
            return
        pin, self.digits = self.digits, ""
        self.busy = True
        self._say(CHECKING, "normal")
        self.changed()
        session = self.mode.session
        scene = self.scene

        def checked(future: Future) -> None:
            # Runs even after the scene left: a PIN accepted for a pad nobody looks at must not stay open.
            if scene.closed:
                if not future.exception() and future.result().ok:
                    session.exit("left before the PIN was checked")
                return
            self._checked(future)

        scene.run(lambda: session.enter(pin), checked, after_close=True)

    def _checked(self, future: Future) -> None:
        self.busy = False
        try:
            result: EntryResult = future.result()
        except Exception as exc:  # noqa: BLE001 - the database failing: say so, keep the pad usable
            log.exception("checking the technician PIN failed")
            self._say(CHECK_FAILED, "error", reason=exc)
            self.changed()
            return
        if result.outcome is EntryOutcome.OK:
            self._say("", "normal")
            self.scene.entered_with_pin()
            return
        if result.outcome is EntryOutcome.LOCKED:
            self.locked_left = result.retry_after_s
            self._show_locked()
        elif result.outcome is EntryOutcome.BLOCKED:
            self._show_blocked()
        elif result.outcome is EntryOutcome.NO_PIN:
            self._say(NO_PIN, "error")
        else:
            left = result.attempts_left or 0
            if left == 1:
                self._say(WRONG_LAST, "warning")
            else:
                self._say(WRONG, "warning", attempts=left)
        self.changed()

    # -- time -----------------------------------------------------------------------------------
    def update(self, now: float) -> None:
        if self.locked_left is None:
            return
        self.locked_left = self.mode.session.lockout.retry_after()
        if self.locked_left is None:
            self._say(UNLOCKED, "success")
            self.changed()
        elif math.ceil(self.locked_left) != self._shown_left:
            self._show_locked()
            self.changed()

    def next_deadline(self, now: float) -> float | None:
        # The time left is shown to the second while locked.
        return now + 1.0 if self.locked_left is not None else None

    def keyboard(self, event: pygame.event.Event) -> None:
        if event.type == pygame.TEXTINPUT and event.text.isdigit():
            for char in event.text:
                self.press(char)
        elif event.type == pygame.KEYDOWN:
            if event.key == pygame.K_BACKSPACE:
                self.press(BACKSPACE)
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.submit()

    # -- widgets --------------------------------------------------------------------------------
    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        card = area.inflate(-m.px(40), -m.px(10)) if area.width > m.px(700) else area
        left, right = columns(card.inflate(-m.px(48), -m.px(40)), kit, 0.5)
        column = Stack(left.x, left.y, left.width)
        column.add(text("pin.prompt", kit, *column.slot(), tr(PROMPT), role="title", bold=True), gap=m.px(6))
        # Whoever got here by accident (a citizen leaning on the corner) is told how to get back.
        help_text = text("pin.help", kit, *column.slot(), tr(HELP), role="small", tone="muted", max_lines=3)
        column.add(help_text, gap=m.px(22))
        dots = PinDots(
            "pin.dots", column.rect(m.px(40)), kit, len(self.digits), minimum=MIN_LENGTH, maximum=MAX_LENGTH
        )
        column.add(dots, gap=m.px(18))
        enter_h = m.px(72)
        if self.busy:
            column.add(Spinner("pin.spinner", column.rect(m.px(30)), kit), gap=m.px(4))
        said = self.message
        if said:
            bold = self.tone == "error"
            room_px = left.bottom - enter_h - m.px(8) - column.y
            # The body size when the whole sentence fits, else the small one: the command at the end of
            # "... kiosk set-pin" was cut at 800 x 480.
            role = "body"
            for size in (m.text_body, m.text_small):
                line_h = kit.text.line_height(size, bold)
                if len(kit.text.wrap(said, size, left.width, bold=bold)) * line_h <= room_px:
                    break
                role = "small"
            room = max(1, room_px // line_h)
            message = text(
                "pin.message",
                kit,
                *column.slot(),
                said,
                role=role,
                tone=self.tone,
                bold=self.tone == "error",
                max_lines=room,
            )
            column.add(message)
        widgets = column.widgets
        widgets.append(
            Button(
                "pin.enter",
                (left.x, left.bottom - enter_h, left.width, enter_h),
                kit,
                tr(ENTER),
                self.submit,
                enabled=self.accepting and len(self.digits) >= MIN_LENGTH,
            )
        )
        pad_h = min(right.height, m.px(300))
        pad = Keyboard(
            "pin.pad", (right.x, right.centery - pad_h // 2, right.width, pad_h), kit, "digits", self.press
        )
        for key in pad.widgets:
            key.enabled = self.accepting
        widgets.append(pad)
        return [Panel("pin.card", card, kit), *widgets]
