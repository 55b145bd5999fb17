"""The signature: live strokes from the signature pad, or a finger on the screen when no pad works."""

from __future__ import annotations

import pygame

from hal.events import Event, PenSample
from kiosk.devices import switched_off
from kiosk.journey import Step
from ui.i18n import N_
from ui.screens.base import Nav, Screen
from ui.signature import Ink
from ui.widgets import Button, Label, SignatureCanvas, Widget

TITLE = N_("Your signature")
ON_PAD = N_("Sign on the signature pad with its pen. Your signature appears here.")
ON_SCREEN = N_("Sign with your finger inside the box.")
PAD_LOST = N_("The signature pad stopped working. Please sign again with your finger inside the box.")
SIGN_HERE = N_("Sign here")
CLEAR = N_("Clear")
ACCEPT = N_("Use this signature")

#: Coordinate space of a finger signature (any aspect works; this one matches the canvas roughly).
_TOUCH_SPACE = (1500, 600)


class SignatureScreen(Screen):
    """The signature step."""

    step = Step.SIGNATURE

    def __init__(self, view) -> None:
        super().__init__(view)
        self.ink = self._new_ink()
        self.pad_lost = False
        self._canvas_cache: dict = {}

    def _new_ink(self) -> Ink:
        pad = self.view.devices.signature_pad
        if self.journey.signature_source == "pad" and not switched_off(pad):
            pad.expect_signature()
            return Ink("pad", int(pad.max_x) + 1, int(pad.max_y) + 1, self.view.clock)
        return Ink("touch", *_TOUCH_SPACE, self.view.clock)

    # -- events ---------------------------------------------------------------------------------
    def on_event(self, event: Event) -> bool:
        if isinstance(event, PenSample) and self.ink.source == "pad":
            had_ink = self.ink.has_ink
            if event.pen_down or self.ink.samples:
                self.ink.add(event.x, event.y, event.pen_down, t=event.t or None, pressure=event.pressure)
            self.view.journey.touch()  # signing on the pad is activity, though the screen is not touched
            if self.ink.has_ink != had_ink:
                self.changed()  # "Use this signature" and "Clear" become available
            return True  # new strokes only need a redraw
        return False

    def update(self, now: float) -> None:
        if self.ink.source == "pad" and self.journey.signature_source == "touch":
            # The pad failed mid-signature: start over on the touchscreen, and say why.
            self.ink = Ink("touch", *_TOUCH_SPACE, self.view.clock)
            self._canvas_cache.clear()
            self.pad_lost = True
            self.changed()

    # -- actions --------------------------------------------------------------------------------
    def clear(self) -> None:
        """Start the signature again."""
        self.ink.clear()
        self._canvas_cache.clear()
        if self.ink.source == "pad":
            self.view.devices.signature_pad.expect_signature()
        self.changed()

    def accept(self) -> None:
        """Give the signature to the journey."""
        if self.ink.has_ink:
            self.journey.signature_done(self.ink.capture())

    def leave(self) -> None:
        # The strokes are a signature: drop them with the screen.
        self.ink.clear()
        self._canvas_cache.clear()

    # -- Screen ---------------------------------------------------------------------------------
    def title(self) -> str:
        return self.tr(TITLE)

    def nav(self) -> Nav:
        return Nav(next_label=ACCEPT, next_enabled=self.ink.has_ink, on_next=self.accept)

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        touch = self.ink.source == "touch"
        text = tr(PAD_LOST) if self.pad_lost else tr(ON_SCREEN if touch else ON_PAD)
        line_h = kit.text.line_height(m.text_body)
        clear_w = m.px(150)
        label = Label(
            "signature.instructions",
            (area.x, area.y, area.width - clear_w - m.gap, line_h * 2),
            kit,
            text,
            tone="error" if self.pad_lost else "normal",
            valign="middle",
        )
        widgets: list[Widget] = [label]
        widgets.append(
            Button(
                "signature.clear",
                (area.right - clear_w, area.y + (line_h * 2 - m.touch) // 2, clear_w, m.touch),
                kit,
                tr(CLEAR),
                self.clear,
                style="secondary",
                enabled=bool(self.ink.samples),
            )
        )
        top = area.y + line_h * 2 + m.gap
        canvas = pygame.Rect(area.x, top, area.width, area.bottom - top)
        widget = SignatureCanvas(
            "signature.canvas",
            canvas,
            kit,
            self.ink,
            touch=touch,
            prompt=tr(SIGN_HERE),
            cache=self._canvas_cache,
            on_stroke=self.changed,
        )
        widgets.append(widget)
        return widgets
