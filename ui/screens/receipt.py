"""Saving and the receipt: the code appears only once the record is committed; printed when possible."""

from __future__ import annotations

import logging
from concurrent.futures import Future

import pygame

from kiosk.journey import PHOTO_AT_COUNTER, Step
from kiosk.registration import build_receipt
from ui.i18n import N_
from ui.screens.base import Nav, Screen
from ui.screens.review import CONFIRM
from ui.widgets import Label, Panel, QrCode, Spinner, Stack, Widget

log = logging.getLogger(__name__)

SAVING = N_("Saving your registration…")
SAVING_WAIT = N_("Please wait a moment.")
SAVED = N_("Your registration is saved")
CODE = N_("Your reference code")
BRING = N_("Bring to the counter")
REQUIRED = N_("required")
IF_APPLICABLE = N_("if it applies to you")
PHOTO_NOTE = N_("Your photo will be taken at the counter.")
OFFLINE_NOTE = N_(
    "Saved on this kiosk. It will be sent to the registry automatically when the connection is back."
)
PRINTING = N_("Printing your receipt…")
PRINTED = N_("Please take your printed receipt.")
PRINT_FAILED = N_("The printer did not work. Please take a photo of this screen or write down the code.")
NO_PRINTER = N_("No printer right now. Please take a photo of this screen or write down the code.")
DONE = N_("Done")


class SavingScreen(Screen):
    """While the record is being committed: a calm "please wait", no buttons."""

    step = Step.SAVING

    def title(self) -> str:
        return self.tr(SAVING)

    def nav(self) -> Nav | None:
        return None

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        title_h = kit.text.line_height(m.text_title, True)
        y = area.centery - title_h * 2
        return [
            Label(
                "saving.title",
                (area.x, y, area.width, title_h),
                kit,
                tr(SAVING),
                role="title",
                align="center",
                bold=True,
            ),
            Spinner("saving.spinner", (area.x, y + title_h + m.px(16), area.width, m.px(40)), kit),
            Label(
                "saving.wait",
                (area.x, y + title_h + m.px(70), area.width, kit.text.line_height(m.text_body)),
                kit,
                tr(SAVING_WAIT),
                align="center",
                tone="muted",
            ),
        ]


class ReceiptScreen(Screen):
    """The receipt: reference code, QR code, what to bring, and what happens next."""

    step = Step.RECEIPT

    def __init__(self, view) -> None:
        super().__init__(view)
        self.print_state = "none"  # none, printing, printed, failed
        self._guard_over = False

    def enter(self) -> None:
        receipt = self.journey.receipt
        printer = self.view.devices.printer
        if receipt is None or not self.view.state.works("printer"):
            return
        paper = build_receipt(receipt, self.journey.language, self.tr.gettext)
        self.print_state = "printing"
        try:
            self.view.run_in_background(lambda: printer.print_receipt(paper), self._printed)
        except RuntimeError:
            self.print_state = "failed"

    def _printed(self, future: Future) -> None:
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - the printer's own health says why; the screen says what to do
            log.warning("printing the receipt failed: %s", exc)
            self.print_state = "failed"
        else:
            self.print_state = "printed"
        self.changed()

    def title(self) -> str:
        return self.tr(SAVED)

    def nav(self) -> Nav:
        # "Done" stays greyed for the journey's guard time, so the second tap of a double tap on "Save"
        # cannot end the session before the citizen has seen the code.
        return Nav(
            back=False,
            cancel=False,
            next_label=DONE,
            next_enabled=self.journey.can_finish(),
            on_next=self.journey.finish,
            next_width_of=CONFIRM,
        )

    def update(self, now: float) -> None:
        if not self._guard_over and self.journey.can_finish():
            self._guard_over = True
            self.changed()

    def next_deadline(self, now: float) -> float | None:
        return None if self._guard_over else self.journey.finish_allowed_at()

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        receipt = self.journey.receipt
        if receipt is None:
            return []
        lang = self.journey.language
        left_w = min(area.width * 45 // 100, m.px(360))
        left = pygame.Rect(area.x, area.y, left_w, area.height)
        right = pygame.Rect(left.right + m.px(16), area.y, area.right - left.right - m.px(16), area.height)
        widgets: list[Widget] = []
        # The code and its QR code, on a card of their own.
        pad = m.px(14)
        # Only the code and the QR code on it: the QR code gets all the height left, so that a counter's
        # scanner reads it off the screen (at least 3 px per module, with its quiet zone).
        column = Stack(left.x + pad, left.y + pad, left.width - 2 * pad)
        small_h = kit.text.line_height(m.text_small)
        column.add(
            Label(
                "receipt.code_label",
                column.rect(small_h),
                kit,
                tr(CODE),
                role="small",
                tone="muted",
                align="center",
            ),
            gap=m.px(2),
        )
        code_h = kit.text.line_height(m.text_display, True)
        column.add(
            Label(
                "receipt.code",
                column.rect(code_h),
                kit,
                receipt.reference,
                role="display",
                align="center",
                bold=True,
                shrink=True,
            ),
            gap=m.px(6),
        )
        qr_size = min(left.width - 2 * pad, left.bottom - pad - column.y)
        if qr_size > m.px(60):
            qr = pygame.Rect(left.centerx - qr_size // 2, column.y, qr_size, qr_size)
            column.add(QrCode("receipt.qr", qr, kit, receipt.qr_payload or receipt.reference))
        widgets.append(Panel("receipt.card", left, kit, column.widgets))
        # The service, then what to bring and what happens next.
        widgets.append(
            Label(
                "receipt.service",
                (right.x, right.y, right.width, small_h),
                kit,
                receipt.service.name.get(lang),
                role="small",
                tone="muted",
                bold=True,
            )
        )
        right = pygame.Rect(right.x, right.y + small_h, right.width, right.height - small_h)
        widgets.extend(self._checklist(right, receipt, lang))
        return widgets

    def _checklist(self, area: pygame.Rect, receipt, lang: str) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        widgets: list[Widget] = []
        notes: list[tuple[str, str, str]] = []
        if self.print_state == "printing":
            notes.append(("print", tr(PRINTING), "normal"))
        elif self.print_state == "printed":
            notes.append(("print", tr(PRINTED), "success"))
        elif self.print_state == "failed":
            notes.append(("print", tr(PRINT_FAILED), "error"))
        else:
            notes.append(("print", tr(NO_PRINTER), "warning"))
        if receipt.photo_note == PHOTO_AT_COUNTER:
            notes.append(("photo", tr(PHOTO_NOTE), "warning"))
        if receipt.offline:
            notes.append(("offline", tr(OFFLINE_NOTE), "normal"))
        bottom = area.bottom
        for key, text, tone in reversed(notes):
            label = Label(
                f"receipt.note.{key}",
                (area.x + m.px(12), 0, area.width - m.px(24), 1),
                kit,
                text,
                role="small",
                bold=True,
            )
            height = label.content_height() + m.px(10)
            label.rect = pygame.Rect(
                area.x + m.px(12), bottom - height + m.px(5), area.width - m.px(24), height - m.px(10)
            )
            panel_tone = {"normal": "normal", "success": "success", "error": "error", "warning": "warning"}[
                tone
            ]
            widgets.append(
                Panel(
                    f"receipt.note_panel.{key}",
                    (area.x, bottom - height, area.width, height),
                    kit,
                    [label],
                    tone=panel_tone,
                )
            )
            bottom -= height + m.px(6)
        title_h = kit.text.line_height(m.text_body, True)
        widgets.append(
            Label("receipt.bring", (area.x, area.y, area.width, title_h), kit, tr(BRING), bold=True)
        )
        y = area.y + title_h + m.px(2)
        line_h = kit.text.line_height(m.text_small)
        for item in receipt.documents:
            tag = tr(REQUIRED) if item.required else tr(IF_APPLICABLE)
            text = f"\u2022 {item.label.get(lang)} ({tag})"
            label = Label(
                f"receipt.doc.{item.id}",
                (area.x, y, area.width, 1),
                kit,
                text,
                role="small",
                tone="normal" if item.required else "muted",
            )
            height = label.content_height()
            if y + height > bottom - m.px(4):
                break
            label.rect.height = height
            widgets.append(label)
            y += height + m.px(2)
        del line_h
        return widgets
