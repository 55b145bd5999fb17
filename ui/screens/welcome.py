"""Welcome: the attract loop, in both languages, with honest notices about what does not work."""

from __future__ import annotations

import pygame

from kiosk.journey import Step
from ui.i18n import LANGUAGE_NAMES, LANGUAGES, N_
from ui.messages import notice_message, refusal_message
from ui.screens.base import Screen
from ui.widgets import Button, Label, Panel, Widget

KIOSK_NAME = N_("Dukcapil self-service kiosk")
GREETING = N_("Welcome")
START = N_("Touch the screen to start")
#: The attract loop: one sentence at a time, a new one every few seconds.
SLIDES = (
    N_("Pre-register here for your e-KTP, family card, birth or death certificate."),
    N_("We tell you exactly which documents to bring, so one visit to the counter is enough."),
    N_("Your data is sealed on this kiosk and sent safely to the civil registry."),
)
IDLE_RESET = N_("The previous session was closed and erased for privacy.")

#: Seconds each attract slide stays.
SLIDE_SECONDS = 8.0


class WelcomeScreen(Screen):
    """The screen a passer-by sees; a touch anywhere starts a session."""

    step = Step.WELCOME
    header = False

    def __init__(self, view) -> None:
        super().__init__(view)
        self.slide = 0
        self._next_slide = view.clock() + SLIDE_SECONDS

    def nav(self):
        return None

    def update(self, now: float) -> None:
        if now >= self._next_slide:
            self.slide = (self.slide + 1) % len(SLIDES)
            self._next_slide = now + SLIDE_SECONDS
            self.changed()

    def next_deadline(self, now: float) -> float | None:
        return self._next_slide

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        journey = self.journey
        other_language = next(code for code in LANGUAGES if code != journey.language)
        widgets: list[Widget] = []
        # A touch anywhere starts: the whole screen is a (borderless) button under everything else.
        full = pygame.Rect(0, 0, m.width, m.height - m.status_height)
        widgets.append(Button("welcome.anywhere", full, kit, "", journey.start, style="quiet"))
        band = pygame.Rect(0, 0, m.width, m.header_height)
        widgets.append(_Band("welcome.band", band, kit))
        widgets.append(Label("welcome.kiosk", band.inflate(-2 * m.margin, 0), kit, tr(KIOSK_NAME), role="title",
                             tone="inverse", valign="middle", bold=True))
        lang_w = m.px(170)
        widgets.append(Button("welcome.language", (band.right - m.margin - lang_w, band.y + m.px(10), lang_w,
                                                   band.height - m.px(20)), kit, LANGUAGE_NAMES[other_language],
                              lambda: journey.set_language(other_language), style="secondary", bold=False))
        y = band.bottom + m.px(26)
        inner = pygame.Rect(m.margin * 2, y, m.width - 4 * m.margin, 0)
        greeting_h = kit.text.line_height(m.text_display, True)
        widgets.append(Label("welcome.greeting", (inner.x, y, inner.width, greeting_h), kit, tr(GREETING),
                             role="display", align="center", bold=True))
        y += greeting_h + m.px(4)
        other_greeting = tr.gettext_in(other_language, GREETING)
        widgets.append(Label("welcome.greeting_other", (inner.x, y, inner.width, kit.text.line_height(m.text_title)),
                             kit, other_greeting, role="title", tone="muted", align="center"))
        y += kit.text.line_height(m.text_title) + m.px(18)
        slide_h = kit.text.line_height(m.text_body) * 2 + m.px(4)
        widgets.append(Label("welcome.slide", (inner.x + m.px(40), y, inner.width - m.px(80), slide_h), kit,
                             tr(SLIDES[self.slide]), role="body", align="center"))
        y += slide_h + m.px(12)
        start_w = min(m.px(520), inner.width)
        start_h = m.px(72)
        start = pygame.Rect(0, y, start_w, start_h)
        start.centerx = m.width // 2
        widgets.append(Button("welcome.start", start, kit, tr(START), journey.start))
        y = start.bottom + m.px(14)
        widgets.extend(self._notices(pygame.Rect(inner.x, y, inner.width, m.height - m.status_height - y - m.gap)))
        return widgets

    def _notices(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        journey = self.journey
        texts: list[tuple[str, str]] = []
        if journey.refusal:
            texts.append(("refusal", refusal_message(tr, journey.refusal)))
        elif journey.last_reset == "idle":
            texts.append(("reset", tr(IDLE_RESET)))
        texts += [(str(code), notice_message(tr, code)) for code in journey.notices
                  if not (journey.refusal and code == "sessions_paused")]
        widgets: list[Widget] = []
        line_h = kit.text.line_height(m.text_small, True)
        y = area.y
        for key, text in texts:
            label = Label(f"welcome.notice.{key}", (area.x + m.px(14), 0, area.width - m.px(28), 1), kit, text,
                          role="small", tone="error" if key == "refusal" else "normal", bold=key == "refusal")
            height = max(line_h, label.content_height()) + m.px(12)
            if y + height > area.bottom:
                break
            label.rect = pygame.Rect(area.x + m.px(14), y + m.px(6), area.width - m.px(28), height - m.px(12))
            tone = "error" if key == "refusal" else ("normal" if key == "reset" else "warning")
            widgets.append(Panel(f"welcome.notice_panel.{key}", (area.x, y, area.width, height), kit, [label],
                                 tone=tone))
            y += height + m.px(6)
        return widgets


class _Band(Widget):
    def draw(self, surface: pygame.Surface, now: float) -> None:
        pygame.draw.rect(surface, self.kit.palette.header, self.rect)
