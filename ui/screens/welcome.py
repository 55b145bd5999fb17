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
        widgets.append(
            Label(
                "welcome.kiosk",
                band.inflate(-2 * m.margin, 0),
                kit,
                tr(KIOSK_NAME),
                role="title",
                tone="inverse",
                valign="middle",
                bold=True,
            )
        )
        lang_w = m.px(190)
        widgets.append(
            Button(
                "welcome.language",
                (band.right - m.margin - lang_w, band.y + m.px(10), lang_w, band.height - m.px(20)),
                kit,
                LANGUAGE_NAMES[other_language],
                lambda: journey.set_language(other_language),
                style="secondary",
                bold=False,
            )
        )
        y = band.bottom + m.px(26)
        inner = pygame.Rect(m.margin * 2, y, m.width - 4 * m.margin, 0)
        greeting_h = kit.text.line_height(m.text_display, True)
        widgets.append(
            Label(
                "welcome.greeting",
                (inner.x, y, inner.width, greeting_h),
                kit,
                tr(GREETING),
                role="display",
                align="center",
                bold=True,
            )
        )
        y += greeting_h + m.px(4)
        other_greeting = tr.gettext_in(other_language, GREETING)
        widgets.append(
            Label(
                "welcome.greeting_other",
                (inner.x, y, inner.width, kit.text.line_height(m.text_title)),
                kit,
                other_greeting,
                role="title",
                tone="muted",
                align="center",
            )
        )
        y += kit.text.line_height(m.text_title) + m.px(18)
        notices = self._notice_texts()
        if not notices:
            # The attract loop; when something must be announced, that takes its place.
            slide_h = kit.text.line_height(m.text_body) * 2 + m.px(4)
            widgets.append(
                Label(
                    "welcome.slide",
                    (inner.x + m.px(40), y, inner.width - m.px(80), slide_h),
                    kit,
                    tr(SLIDES[self.slide]),
                    role="body",
                    align="center",
                )
            )
            y += slide_h + m.px(12)
        start_w = min(m.px(520), inner.width)
        start_h = m.px(72)
        start = pygame.Rect(0, y, start_w, start_h)
        start.centerx = m.width // 2
        widgets.append(Button("welcome.start", start, kit, tr(START), journey.start))
        y = start.bottom + m.px(14)
        area = pygame.Rect(inner.x, y, inner.width, m.height - m.status_height - y - m.gap)
        widgets.extend(self._notices(area, notices))
        return widgets

    def _notice_texts(self) -> list[tuple[str, str]]:
        tr = self.tr
        journey = self.journey
        texts: list[tuple[str, str]] = []
        if journey.refusal:
            texts.append(("refusal", refusal_message(tr, journey.refusal)))
        elif journey.last_reset == "idle":
            texts.append(("reset", tr(IDLE_RESET)))
        texts += [
            (str(code), notice_message(tr, code))
            for code in journey.notices
            if not (journey.refusal and code == "sessions_paused")
        ]
        return texts

    def _notices(self, area: pygame.Rect, texts: list[tuple[str, str]]) -> list[Widget]:
        """The notices as tinted cards; three or more go in two columns so that all of them fit."""
        kit, m = self.kit, self.kit.metrics
        widgets: list[Widget] = []
        columns = 2 if len(texts) > 2 else 1
        gap = m.px(6)
        width = (area.width - gap * (columns - 1)) // columns
        pad = m.px(10)
        y = area.y
        for row_start in range(0, len(texts), columns):
            row = texts[row_start : row_start + columns]
            labels = []
            for key, text in row:
                label = Label(
                    f"welcome.notice.{key}",
                    (0, 0, width - 2 * pad, 1),
                    kit,
                    text,
                    role="small",
                    tone="error" if key == "refusal" else "normal",
                    bold=key == "refusal",
                )
                labels.append((key, label))
            height = max(label.content_height() for _, label in labels) + 2 * m.px(5)
            if y + height > area.bottom:
                height = area.bottom - y  # the last row gets what is left; its text is cut, not hidden
                if height < kit.text.line_height(m.text_small) + 2 * m.px(5):
                    break
            for column, (key, label) in enumerate(labels):
                x = area.x + column * (width + gap)
                label.rect = pygame.Rect(x + pad, y + m.px(5), width - 2 * pad, height - 2 * m.px(5))
                tone = "error" if key == "refusal" else ("normal" if key == "reset" else "warning")
                widgets.append(
                    Panel(f"welcome.notice_panel.{key}", (x, y, width, height), kit, [label], tone=tone)
                )
            y += height + gap
        return widgets


class _Band(Widget):
    def draw(self, surface: pygame.Surface, now: float) -> None:
        pygame.draw.rect(surface, self.kit.palette.header, self.rect)
