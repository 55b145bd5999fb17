"""Review and consent: everything entered, the photo and the signature, and the tick that confirms."""

from __future__ import annotations

import logging
from concurrent.futures import Future

import pygame

from kiosk.events import RecordSaveFailed
from kiosk.journey import PHOTO_AT_COUNTER, Step
from ui.i18n import N_
from ui.messages import save_error_message
from ui.pictures import decode, to_surface
from ui.screens.base import Nav, Screen
from ui.widgets import Button, Checkbox, Label, Panel, Picture, Widget, share_text_size

log = logging.getLogger(__name__)

TITLE = N_("Check your answers")
CONSENT = N_(
    "I confirm that these answers are true and I agree that they are sent to the civil registry "
    "(Dukcapil) for this service."
)
CONFIRM = N_("Confirm and save")
CHANGE_IDENTITY = N_("Change numbers")
CHANGE_DETAILS = N_("Change details")
CHANGE_PHOTO = N_("Retake photo")
CHANGE_SIGNATURE = N_("Sign again")
PHOTO_LATER = N_("Photo at the counter")
NO_SIGNATURE = N_("No signature needed")
EMPTY = N_("(not filled in)")
MORE = N_("More")
PAGE = N_("Page {page} of {pages}")


class ReviewScreen(Screen):
    """The review step."""

    step = Step.REVIEW

    def __init__(self, view) -> None:
        super().__init__(view)
        self.page = 0
        self._pages = 1
        self.photo: pygame.Surface | None = None
        self.signature: pygame.Surface | None = None

    def enter(self) -> None:
        photo = self.journey.photo_jpeg
        signature = self.journey.signature
        if photo is None and signature is None:
            return

        def work():
            # JPEG/PNG decoding is slow work: off the UI thread.
            return decode(photo) if photo else None, decode(signature.png) if signature else None

        try:
            self.view.run_in_background(work, self._decoded)
        except RuntimeError:
            face, ink = work()
            self.photo, self.signature = to_surface(face), to_surface(ink)

    def _decoded(self, future: Future) -> None:
        if self.view.screen is not self:
            return
        try:
            face, ink = future.result()
            self.photo, self.signature = to_surface(face), to_surface(ink)
        except Exception:  # noqa: BLE001 - a thumbnail that does not decode is only not shown
            log.warning("could not decode the review thumbnails")
        self.changed()

    def leave(self) -> None:
        self.photo = None
        self.signature = None

    def confirm(self) -> None:
        """Commit: the journey moves to saving and the registration worker stores the record."""
        request = self.journey.confirm()
        if request is None:
            return
        registration = self.view.registration
        try:
            if registration is None:
                raise LookupError("no registration service")
            registration.submit(request)
        except Exception as exc:  # noqa: BLE001 - never leave the citizen on "saving" for ever
            log.error("the registration could not be submitted: %s", type(exc).__name__)
            reason = "not_configured" if isinstance(exc, LookupError) else "storage_error"
            self.journey.apply_event(RecordSaveFailed(reason=reason, detail=type(exc).__name__))

    def page_shown(self) -> int:
        return self.page

    def title(self) -> str:
        return self.tr(TITLE)

    def nav(self) -> Nav:
        return Nav(next_label=CONFIRM, next_enabled=self.journey.consent, on_next=self.confirm)

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        journey = self.journey
        widgets: list[Widget] = []
        if journey.save_error is not None:
            text = save_error_message(tr, journey.save_error.reason)
            label = Label(
                "review.save_error",
                (area.x + m.px(12), 0, area.width - m.px(24), 1),
                kit,
                text,
                role="small",
                tone="error",
                bold=True,
            )
            height = label.content_height() + m.px(12)
            label.rect = pygame.Rect(
                area.x + m.px(12), area.y + m.px(6), area.width - m.px(24), height - m.px(12)
            )
            widgets.append(
                Panel("review.error_panel", (area.x, area.y, area.width, height), kit, [label], tone="error")
            )
            area = pygame.Rect(area.x, area.y + height + m.gap, area.width, area.height - height - m.gap)
        side_w = min(m.px(250), area.width // 3)
        left = pygame.Rect(area.x, area.y, area.width - side_w - m.px(16), area.height)
        side = pygame.Rect(left.right + m.px(16), area.y, side_w, area.height)
        widgets.extend(self._answers(left))
        widgets.extend(self._side(side))
        return widgets

    def _answers(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        journey = self.journey
        edit_h = m.touch
        list_area = pygame.Rect(area.x, area.y, area.width, area.height - edit_h - m.gap)
        pages = self._paged_answers(list_area)
        more_h = m.touch_min + m.px(8)
        if len(pages) > 1:
            # Paging sits in its own strip at the foot of the answers, never over an answer, and leaves
            # the edit buttons room for their labels.
            pages = self._paged_answers(list_area, bottom_room=more_h)
        self.page = min(self.page, len(pages) - 1)
        self._pages = len(pages)
        cells: list[Widget] = [cell for answer in pages[self.page] for cell in answer]
        if len(pages) > 1:
            more_w = min(m.px(200), list_area.width // 2)
            cells.append(
                Button(
                    "review.more",
                    (list_area.right - m.px(8) - more_w, list_area.bottom - more_h, more_w, m.touch_min),
                    kit,
                    f"{tr(MORE)} {self.page + 1}/{len(pages)}\u00a0\u00a0\u203a",
                    self._next_page,
                    style="secondary",
                    bold=False,
                )
            )
        widgets: list[Widget] = [Panel("review.answers", list_area, kit, cells)]
        edits = [("identity", tr(CHANGE_IDENTITY)), ("details", tr(CHANGE_DETAILS))]
        service = journey.service
        if journey.photo_jpeg is not None:
            edits.append(("photo", tr(CHANGE_PHOTO)))
        if service is not None and service.signature:
            edits.append(("signature", tr(CHANGE_SIGNATURE)))
        gap = m.px(8)
        width = (area.width - gap * (len(edits) - 1)) // len(edits)
        y = area.bottom - edit_h
        row = [
            Button(
                f"review.edit.{step}",
                (area.x + i * (width + gap), y, width, edit_h),
                kit,
                label,
                lambda s=step: journey.edit(s),
                style="secondary",
                bold=False,
            )
            for i, (step, label) in enumerate(edits)
        ]
        share_text_size(row)  # "Tanda tangan ulang" on two lines, at the size of its neighbours
        return widgets + row

    def _paged_answers(self, area: pygame.Rect, bottom_room: int = 0) -> list[list[tuple[Label, Label]]]:
        """Every answer as a label over its value, flowed down two columns, page after page.

        A long value (an address, a long name) wraps onto more lines at the body size, then the small
        size: it never shrinks onto one unreadable line (issue 13) and never below the text floor.
        """
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        columns, col_gap = 2, m.px(24)
        col_w = (area.width - m.px(24) - col_gap * (columns - 1)) // columns
        top, bottom = area.y + m.px(8), area.bottom - m.px(8) - bottom_room
        pages: list[list[tuple[Label, Label]]] = [[]]
        col, y = 0, top
        for item in self.journey.review_items():
            label = Label(
                f"review.{item.field.id}.label", (0, 0, col_w, 1), kit, item.label, role="small", tone="muted"
            )
            value = Label(
                f"review.{item.field.id}",
                (0, 0, col_w, 1),
                kit,
                item.value or tr(EMPTY),
                role="body",
                bold=True,
                tone="normal" if item.value else "muted",
            )
            if len(value.lines()) > 2:
                value.role = "small"
            height = label.content_height() + value.content_height()
            if y + height > bottom and y > top:
                col, y = col + 1, top
                if col == columns:
                    pages.append([])
                    col = 0
            x = area.x + m.px(12) + col * (col_w + col_gap)
            label.rect = pygame.Rect(x, y, col_w, label.content_height())
            value.rect = pygame.Rect(x, label.rect.bottom, col_w, value.content_height())
            pages[-1].append((label, value))
            y = value.rect.bottom + m.px(6)
        return pages

    def _next_page(self) -> None:
        self.page = (self.page + 1) % max(1, self._pages)
        self.changed()

    def _side(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        journey = self.journey
        # Room for the consent read whole at the small size (the checkbox shrinks it no lower than the floor).
        text_w = area.width - m.px(14 + 34 + 14 + 12)
        lines = kit.text.wrap(tr(CONSENT), m.text_small, text_w, bold=True)
        consent_h = max(m.px(130), m.touch, len(lines) * kit.text.line_height(m.text_small, True) + m.px(8))
        consent_h = min(consent_h, area.height * 3 // 5)
        pictures = pygame.Rect(area.x, area.y, area.width, area.height - consent_h - m.gap)
        widgets: list[Widget] = []
        service = journey.service
        photo_wanted = service is not None and service.photo
        half = (pictures.height - m.gap) // 2
        if photo_wanted:
            caption = tr(PHOTO_LATER) if journey.photo_note == PHOTO_AT_COUNTER else ""
            widgets.append(
                Picture("review.photo", (area.x, area.y, area.width, half), kit, self.photo, caption=caption)
            )
            sig_rect = pygame.Rect(area.x, area.y + half + m.gap, area.width, pictures.height - half - m.gap)
        else:
            sig_rect = pictures
        caption = "" if journey.signature is not None else tr(NO_SIGNATURE)
        widgets.append(
            Picture("review.signature", sig_rect, kit, self.signature, caption=caption, crop_ink=True)
        )
        widgets.append(
            Checkbox(
                "review.consent",
                (area.x, area.bottom - consent_h, area.width, consent_h),
                kit,
                tr(CONSENT),
                journey.consent,
                journey.set_consent,
            )
        )
        return widgets
