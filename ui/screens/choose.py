"""Language and service: the two choices that start a session."""

from __future__ import annotations

import pygame

from kiosk.journey import Step
from ui.i18n import LANGUAGE_NAMES, LANGUAGES, N_
from ui.screens.base import Nav, Screen
from ui.widgets import Button, Label, Widget

LANGUAGE_TITLE = N_("Choose your language")
HIGH_CONTRAST_ON = N_("High contrast: on")
HIGH_CONTRAST_OFF = N_("High contrast: off")
SERVICE_TITLE = N_("What do you want to register for?")
SERVICE_HINT = N_("Touch one service.")


class LanguageScreen(Screen):
    """Two big buttons, each in its own language."""

    step = Step.LANGUAGE

    def title(self) -> str:
        return f"{self.tr.gettext_in('id', LANGUAGE_TITLE)} / {self.tr.gettext_in('en', LANGUAGE_TITLE)}"

    def nav(self) -> Nav:
        return Nav(back=True, next_label=None, cancel=False)

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m = self.kit, self.kit.metrics
        width = min(area.width, m.px(560))
        gap, contrast_height = m.px(20), m.px(56)
        # The language buttons and the contrast switch below them share the area, centred together.
        height = min(m.px(84), (area.height - contrast_height - len(LANGUAGES) * gap) // len(LANGUAGES))
        total = len(LANGUAGES) * (height + gap) + contrast_height
        y = area.centery - total // 2
        widgets: list[Widget] = []
        for code in LANGUAGES:
            rect = pygame.Rect(0, y, width, height)
            rect.centerx = area.centerx
            widgets.append(
                Button(
                    f"language.{code}",
                    rect,
                    kit,
                    LANGUAGE_NAMES[code],
                    lambda code=code: self.journey.choose_language(code),
                    style="choice",
                    align="center",
                    selected=False,
                )
            )
            y += height + gap
        # Before a language is chosen, so it speaks both; it lasts until this citizen's session ends.
        label = HIGH_CONTRAST_ON if self.view.high_contrast else HIGH_CONTRAST_OFF
        rect = pygame.Rect(0, y, width, contrast_height)
        rect.centerx = area.centerx
        widgets.append(
            Button(
                "language.contrast",
                rect,
                kit,
                f"{self.tr.gettext_in('id', label)} / {self.tr.gettext_in('en', label)}",
                lambda: self.view.set_high_contrast(not self.view.high_contrast),
                style="quiet",
                align="center",
            )
        )
        return widgets

    def _detail(self, service_id: str, description: str) -> str:
        """The button's second line: the office's notice for the service today, else its description."""
        notices = self.journey.notices_for(service_id)
        return notices[0].text(self.journey.language) if notices else description


class ServiceScreen(Screen):
    """The services as large cards with a one-line description, two per row."""

    step = Step.SERVICE

    def title(self) -> str:
        return self.tr(SERVICE_TITLE)

    def nav(self) -> Nav:
        return Nav(next_label=None)

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m = self.kit, self.kit.metrics
        lang = self.journey.language
        services = list(self.journey.catalog)
        widgets: list[Widget] = [
            Label(
                "service.hint",
                (area.x, area.y, area.width, kit.text.line_height(m.text_body)),
                kit,
                self.tr(SERVICE_HINT),
                tone="muted",
            )
        ]
        top = area.y + kit.text.line_height(m.text_body) + m.gap
        columns = 2 if len(services) > 1 else 1
        rows = (len(services) + columns - 1) // columns
        gap = m.gap + m.px(4)
        cell_w = (area.width - gap * (columns - 1)) // columns
        cell_h = min(m.px(110), (area.bottom - top - gap * (rows - 1)) // max(1, rows))
        for i, service in enumerate(services):
            row, col = divmod(i, columns)
            rect = pygame.Rect(area.x + col * (cell_w + gap), top + row * (cell_h + gap), cell_w, cell_h)
            widgets.append(
                Button(
                    f"service.{service.id}",
                    rect,
                    kit,
                    service.name.get(lang),
                    lambda sid=service.id: self.journey.choose_service(sid),
                    style="choice",
                    detail=self._detail(service.id, service.description.get(lang)),
                    selected=self.journey.service is not None and self.journey.service.id == service.id,
                )
            )
        return widgets

    def _detail(self, service_id: str, description: str) -> str:
        """The button's second line: the office's notice for the service today, else its description."""
        notices = self.journey.notices_for(service_id)
        return notices[0].text(self.journey.language) if notices else description
