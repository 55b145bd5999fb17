"""The document checklist: exactly what to bring, so the citizen comes back once."""

from __future__ import annotations

import pygame

from kiosk.journey import Step
from ui.i18n import N_
from ui.messages import notice_message
from ui.screens.base import Nav, Screen
from ui.widgets import Label, Panel, Widget

TITLE = N_("What to bring: {service}")
INTRO = N_("Bring these documents to the counter. You can continue now and bring them later.")
REQUIRED = N_("Required")
IF_APPLICABLE = N_("If it applies to you")
UNDERSTOOD = N_("I understand")


class ChecklistScreen(Screen):
    """The service's documents in two columns, each with "required" or "if it applies to you"."""

    step = Step.CHECKLIST

    def title(self) -> str:
        service = self.journey.service
        return self.tr(TITLE).format(service=service.name.get(self.journey.language) if service else "")

    def nav(self) -> Nav:
        return Nav(next_label=UNDERSTOOD)

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        lang = self.journey.language
        service = self.journey.service
        if service is None:
            return []
        widgets: list[Widget] = []
        intro_h = kit.text.line_height(m.text_body)
        widgets.append(
            Label(
                "checklist.intro",
                (area.x, area.y, area.width, intro_h),
                kit,
                tr(INTRO),
                tone="muted",
                role="small",
            )
        )
        y = area.y + intro_h + m.px(4)
        notices = [notice_message(tr, code) for code in self.journey.notices]
        notice_h = 0
        if notices:
            text = "\n".join(notices)
            label = Label(
                "checklist.notices", (area.x + m.px(12), 0, area.width - m.px(24), 1), kit, text, role="small"
            )
            notice_h = label.content_height() + m.px(12)
            label.rect = pygame.Rect(
                area.x + m.px(12),
                area.bottom - notice_h + m.px(6),
                area.width - m.px(24),
                notice_h - m.px(12),
            )
            widgets.append(
                Panel(
                    "checklist.notice_panel",
                    (area.x, area.bottom - notice_h, area.width, notice_h),
                    kit,
                    [label],
                    tone="warning",
                )
            )
            notice_h += m.gap
        documents = service.documents
        columns = 2 if len(documents) > 2 else 1
        rows = (len(documents) + columns - 1) // columns
        gap = m.gap
        cell_w = (area.width - gap * (columns - 1)) // columns
        room = area.bottom - notice_h - y - gap * (rows - 1)
        # Each row as tall as its longest card needs (a note must be read whole), the spare room shared.
        needed = [
            max(
                _needed_height(kit, item, lang, tr, cell_w)
                for item in documents[r * columns : (r + 1) * columns]
            )
            for r in range(rows)
        ]
        spare = max(0, room - sum(needed)) // max(1, rows)
        top = y
        for row in range(rows):
            cell_h = needed[row] + spare
            for col, item in enumerate(documents[row * columns : (row + 1) * columns]):
                cell = pygame.Rect(area.x + col * (cell_w + gap), top, cell_w, cell_h)
                widgets.append(_document(kit, item, lang, tr, cell))
            top += cell_h + gap
        return widgets


def _needed_height(kit, item, lang, tr, width: int) -> int:
    """Height a document's card needs for its tag, name and note, whole."""
    m = kit.metrics
    inner_w = width - 2 * m.px(10)
    line_h = kit.text.line_height(m.text_small, True)
    lines = 1 + len(kit.text.wrap(item.label.get(lang), m.text_small, inner_w, bold=True))
    if item.note:
        lines += len(kit.text.wrap(item.note.get(lang), m.text_small, inner_w))
    return lines * line_h + 2 * m.px(10)


def _document(kit, item, lang, tr, cell: pygame.Rect) -> Widget:
    m = kit.metrics
    pad = m.px(10)
    inner = cell.inflate(-2 * pad, -2 * pad)
    tag = tr(REQUIRED) if item.required else tr(IF_APPLICABLE)
    line_h = kit.text.line_height(m.text_small, True)
    widgets: list[Widget] = [
        Label(
            f"checklist.{item.id}.tag",
            (inner.x, inner.y, inner.width, line_h),
            kit,
            tag,
            role="small",
            tone="primary" if item.required else "muted",
            bold=True,
        ),
    ]
    room = max(1, (inner.height - line_h) // line_h)
    label_lines = kit.text.wrap(item.label.get(lang), m.text_small, inner.width, bold=True)
    used = min(len(label_lines), room)
    widgets.append(
        Label(
            f"checklist.{item.id}",
            (inner.x, inner.y + line_h, inner.width, used * line_h),
            kit,
            item.label.get(lang),
            role="small",
            bold=True,
        )
    )
    if item.note and room - used > 0:
        y = inner.y + line_h + used * line_h
        widgets.append(
            Label(
                f"checklist.{item.id}.note",
                (inner.x, y, inner.width, (room - used) * line_h),
                kit,
                item.note.get(lang),
                role="small",
                tone="muted",
            )
        )
    return Panel(f"checklist.{item.id}.card", cell, kit, widgets)
