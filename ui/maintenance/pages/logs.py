"""Recent log lines (from :class:`ui.maintenance.log_lines.RecentLogs`), newest at the bottom.

The page follows new lines while it shows the newest; "Older" pages back through the ring buffer, and then
the view holds still until "Newest". Optionally only warnings and errors are shown.
"""

from __future__ import annotations

import logging

import pygame

from kiosk.maintenance import AuditAction
from ui.maintenance.i18n import M_
from ui.maintenance.log_lines import LogLine
from ui.maintenance.pages.base import Page, text
from ui.maintenance.widgets import LogView
from ui.widgets import Button, Widget, share_text_size

LABEL = M_("Logs")
OLDER = M_("Older")
NEWER = M_("Newer")
NEWEST = M_("Newest")
PROBLEMS_ONLY = M_("Warnings and errors only")
EVERYTHING = M_("Show everything")
EMPTY = M_("No log lines yet.")
NO_LOGS = M_("This kiosk keeps no log lines in memory.")

#: How often the page looks for new lines while it is shown.
LOOK_S = 1.0


class LogsPage(Page):
    """The log page (see the module docstring)."""

    key = "logs"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        #: Lines hidden below the view (0 = following the newest).
        self.back = 0
        self.problems_only = False
        self._seen = -1
        self._rows = 1
        self._next_look: float | None = None

    def enter(self) -> None:
        self.scene.audit_view(AuditAction.VIEW_LOGS)
        self._next_look = self.mode.clock()

    def leave(self) -> None:
        self._next_look = None

    def lines(self) -> list[LogLine]:
        """The kept lines, filtered."""
        logs = self.mode.logs
        if logs is None:
            return []
        lines = logs.lines()
        if self.problems_only:
            lines = [line for line in lines if logging.getLevelName(line.level) >= logging.WARNING]
        return lines

    def update(self, now: float) -> None:
        if self._next_look is None or now < self._next_look:
            return
        self._next_look = now + LOOK_S
        logs = self.mode.logs
        if logs is not None and logs.revision != self._seen and self.back == 0:
            self._seen = logs.revision
            self.changed()

    def next_deadline(self, now: float) -> float | None:
        return self._next_look

    def scroll(self, lines: int) -> None:
        """Older (+) or newer (-) by ``lines``."""
        total = len(self.lines())
        self.back = max(0, min(self.back + lines, max(0, total - self._rows)))
        self.changed()

    def newest(self) -> None:
        """Back to following the newest lines."""
        self.back = 0
        self.changed()

    def toggle_problems(self) -> None:
        """Switch between everything and warnings and errors only."""
        self.problems_only = not self.problems_only
        self.back = 0
        self.changed()

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        if self.mode.logs is None:
            return [text("logs.none", kit, area.x, area.y, area.width, tr(NO_LOGS), tone="muted")]
        buttons = pygame.Rect(area.x, area.bottom - m.touch, area.width, m.touch)
        view_rect = pygame.Rect(area.x, area.y, area.width, buttons.y - m.px(10) - area.y)
        lines = self.lines()
        shown = lines[: len(lines) - self.back] if self.back else lines
        view = LogView("logs.view", view_rect, kit, shown)
        self._rows = view.rows()
        widgets: list[Widget] = [view]
        if not lines:
            widgets.append(
                text(
                    "logs.empty",
                    kit,
                    view_rect.x + m.px(16),
                    view_rect.y + m.px(12),
                    view_rect.width - m.px(32),
                    tr(EMPTY),
                    tone="muted",
                )
            )
        gap = m.gap
        width = (buttons.width - 3 * gap) // 4
        page = max(1, self._rows - 2)
        specs = (
            ("logs.older", tr(OLDER), lambda: self.scroll(page), self.back + self._rows < len(lines)),
            ("logs.newer", tr(NEWER), lambda: self.scroll(-page), self.back > 0),
            ("logs.newest", tr(NEWEST), self.newest, self.back > 0),
            (
                "logs.filter",
                tr(EVERYTHING if self.problems_only else PROBLEMS_ONLY),
                self.toggle_problems,
                True,
            ),
        )
        row = [
            Button(
                id,
                (buttons.x + index * (width + gap), buttons.y, width, buttons.height),
                kit,
                label,
                action,
                style="secondary",
                enabled=enabled,
            )
            for index, (id, label, action, enabled) in enumerate(specs)
        ]
        share_text_size(row)
        return widgets + row
