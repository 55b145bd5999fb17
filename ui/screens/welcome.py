"""Welcome: the attract loop, in both languages, with honest notices about what does not work."""

from __future__ import annotations

import pygame

from kiosk.steps import Step
from ui.i18n import LANGUAGE_NAMES, LANGUAGES, N_
from ui.messages import notice_message, refusal_message
from ui.screens.base import Screen
from ui.widgets import Button, Label, Panel, Stack, Widget

KIOSK_NAME = N_("Dukcapil self-service kiosk")
GREETING = N_("Welcome")
START = N_("Touch the screen to start")
#: The attract loop: one sentence at a time, a new one every few seconds.
SLIDES = (
    N_("Pre-register here for your e-KTP, family card, birth or death certificate."),
    N_("We tell you exactly which documents to bring, so one visit to the counter is enough."),
    N_("Your data is encrypted on this kiosk and sent safely to the civil registry."),
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
        m = self.kit.metrics
        # A touch anywhere starts: the whole screen is a (borderless) button under everything else.
        full = pygame.Rect(0, 0, m.width, m.height - m.status_height)
        widgets: list[Widget] = [
            Button("welcome.anywhere", full, self.kit, "", self.journey.start, style="quiet")
        ]
        band = pygame.Rect(0, 0, m.width, m.header_height)
        widgets += self._band(band)
        column = Stack(m.margin * 2, band.bottom + m.px(26), m.width - 4 * m.margin)
        notices = self._notice_texts()
        self._greeting(column, show_slide=not notices)
        rest = pygame.Rect(column.x, column.y, column.width, m.height - m.status_height - column.y - m.gap)
        return widgets + column.widgets + self._notices(rest, notices)

    def _band(self, band: pygame.Rect) -> list[Widget]:
        """The top band: the kiosk's name and the other language."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        journey = self.journey
        other_language = next(code for code in LANGUAGES if code != journey.language)
        lang_w = m.px(190)
        return [
            _Band("welcome.band", band, kit),
            Label(
                "welcome.kiosk",
                band.inflate(-2 * m.margin, 0),
                kit,
                tr(KIOSK_NAME),
                role="title",
                tone="inverse",
                valign="middle",
                bold=True,
            ),
            Button(
                "welcome.language",
                (
                    band.right - m.margin - lang_w,
                    band.y + (band.height - m.touch_min) // 2,
                    lang_w,
                    m.touch_min,
                ),
                kit,
                LANGUAGE_NAMES[other_language],
                lambda: journey.set_language(other_language),
                style="secondary",
                bold=False,
            ),
        ]

    def _greeting(self, column: Stack, *, show_slide: bool) -> None:
        """The greeting in both languages, the attract loop's sentence (unless a notice shows), start."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        other_language = next(code for code in LANGUAGES if code != self.journey.language)
        greeting_h = kit.text.line_height(m.text_display, True)
        column.add(
            Label(
                "welcome.greeting",
                column.rect(greeting_h),
                kit,
                tr(GREETING),
                role="display",
                align="center",
                bold=True,
            ),
            gap=m.px(4),
        )
        column.add(
            Label(
                "welcome.greeting_other",
                column.rect(kit.text.line_height(m.text_title)),
                kit,
                tr.gettext_in(other_language, GREETING),
                role="title",
                tone="muted",
                align="center",
            ),
            gap=m.px(18),
        )
        if show_slide:
            slide_h = kit.text.line_height(m.text_body) * 2 + m.px(4)
            slide = pygame.Rect(column.x + m.px(40), column.y, column.width - m.px(80), slide_h)
            column.add(
                Label("welcome.slide", slide, kit, tr(SLIDES[self.slide]), role="body", align="center"),
                gap=m.px(12),
            )
        start = column.rect(m.px(72), width=min(m.px(520), column.width))
        start.centerx = m.width // 2
        column.add(Button("welcome.start", start, kit, tr(START), self.journey.start), gap=m.px(14))

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
