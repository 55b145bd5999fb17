"""Identity and details: the fields of the service, edited one at a time with a big keyboard.

The overview shows the step's fields as cards (label, value, the problem or a hint), a page at a
time. Tapping one opens its editor: the field on top and, under it, the on-screen keyboard that
suits it (a numeric pad for NIK, KK number, phone and dates; letters for names; letters and digits
for addresses), or the list of its choices. Every key goes straight to the journey, which checks
the value as it is typed; messages about a value that is simply not finished yet (too short, date
incomplete) wait until the citizen leaves the field.
"""

from __future__ import annotations

import pygame

from kiosk.journey import Step
from kiosk.services import FieldSpec
from kiosk.validation import ValidationIssue
from ui.i18n import N_
from ui.messages import validation_message
from ui.screens.base import BACK, NEXT, Nav, Screen
from ui.widgets import Button, Container, Dialog, Keyboard, Label, ListPicker, TextField, Widget
from ui.widgets.keyboard import BACKSPACE

IDENTITY_TITLE = N_("Your identity numbers")
DETAILS_TITLE = N_("Your details")
PAGE = N_("Page {page} of {pages}")
DONE = N_("Done")
DATE_MASK = N_("DD-MM-YYYY")
TOUCH_TO_FILL = N_("Touch to fill in")
TOUCH_TO_CHOOSE = N_("Touch to choose")
CHECK_TITLE = N_("Please check")
FIX_IT = N_("Let me fix it")
IT_IS_CORRECT = N_("Yes, it is correct")

#: Codes that only say "not finished yet": not shown while the citizen is still typing the value.
_UNFINISHED = frozenset({"required", "wrong_length", "date_format", "too_short", "too_few_words"})
_DIGIT_KINDS = frozenset({"nik", "kk_number", "phone", "date"})
_CHOICE_KINDS = frozenset({"choice", "sex", "kecamatan"})
_MAX_LENGTH = {"nik": 16, "kk_number": 16, "phone": 15, "date": 8}
#: Choices up to this many are big buttons; more become a scrolling list.
_MAX_BUTTON_CHOICES = 6


def format_value(kind: str, raw: str) -> str:
    """How a value looks while typed: NIK and KK in groups of four, dates as DD-MM-YYYY."""
    if kind in ("nik", "kk_number"):
        digits = raw.replace(" ", "")
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    if kind == "date":
        digits = "".join(c for c in raw if c.isdigit())
        if len(digits) != len(raw.replace("-", "")):
            return raw  # typed elsewhere (a physical keyboard, an old value): show as it is
        parts = [digits[:2], digits[2:4], digits[4:8]]
        return "-".join(p for p in parts if p) + ("-" if len(digits) in (2, 4) else "")
    return raw


class FormScreen(Screen):
    """The identity or details step."""

    def __init__(self, view) -> None:
        super().__init__(view)
        self.page = 0
        self.editing: str | None = None
        self.confirming = False
        self.picker_offsets: dict[str, int] = {}

    # -- helpers ----------------------------------------------------------------------------------
    def fields(self) -> tuple[FieldSpec, ...]:
        """The fields of this step."""
        return self.journey.fields_on_step()

    def spec(self, field_id: str) -> FieldSpec | None:
        """The field called ``field_id`` on this step."""
        return next((f for f in self.fields() if f.id == field_id), None)

    def message(self, spec: FieldSpec) -> tuple[str, str]:
        """The message under a field and its tone (``error`` / ``warning``), or ('', 'error')."""
        issues: tuple[ValidationIssue, ...] = self.journey.issues_for(spec.id)
        if spec.id == self.editing:
            issues = tuple(i for i in issues if i.code not in _UNFINISHED)
        if not issues:
            return "", "error"
        issue = issues[0]
        return validation_message(self.tr, issue.code, issue.params), issue.severity

    def _rows(self, area: pygame.Rect) -> tuple[int, int]:
        """Fields per page as (columns, rows)."""
        m = self.kit.metrics
        columns = 2 if len(self.fields()) > 2 else 1
        field_h = TextField.height_for(self.kit) + m.gap
        rows = max(1, (area.height - self.kit.text.line_height(m.text_small)) // field_h)
        return columns, rows

    def _pages(self, area: pygame.Rect) -> list[tuple[FieldSpec, ...]]:
        columns, rows = self._rows(area)
        per_page = columns * rows
        fields = self.fields()
        return [fields[i : i + per_page] for i in range(0, len(fields), per_page)] or [()]

    # -- actions ----------------------------------------------------------------------------------
    def open_editor(self, field_id: str) -> None:
        """Show the editor of ``field_id``."""
        self.editing = field_id
        self.confirming = False
        self.journey.touch()
        self.changed()

    def close_editor(self) -> None:
        """Back to the overview (the value stays; its problems now show in full)."""
        self.editing = None
        self.changed()

    def type_key(self, key: str) -> None:
        """A key of the on-screen (or a physical) keyboard for the field being edited."""
        spec = self.spec(self.editing) if self.editing else None
        if spec is None:
            return
        value = self.journey.fields.get(spec.id, "")
        if spec.kind == "date":
            value = "".join(c for c in value if c.isdigit())
        if key == BACKSPACE:
            value = value[:-1]
        else:
            if spec.kind in _DIGIT_KINDS and not key.isdigit():
                return
            limit = _MAX_LENGTH.get(spec.kind) or spec.max_length or 120
            if len(value) >= limit:
                return
            value += key
        if spec.kind == "date":
            value = format_value("date", value).rstrip("-")
        self.journey.set_field(spec.id, value)

    def pick(self, field_id: str, value: str) -> None:
        """A choice was tapped: store it and close the editor."""
        self.journey.set_field(field_id, value)
        self.close_editor()

    def go_next(self) -> None:
        """Next page, or leave the step (asking to confirm warnings first)."""
        pages = self._pages(self._content_area())
        if self.page < len(pages) - 1:
            # A page is checked before it is turned: an empty required field on page 1 is shown on page 1.
            if self.journey.check_page([spec.id for spec in pages[self.page]]):
                self.page += 1
            self.changed()
            return
        if self.journey.next():
            return
        if self.journey.pending_warnings and not self._has_errors():
            self.confirming = True
        else:
            self._show_first_problem(pages)
        self.changed()

    def page_shown(self) -> int:
        return self.page

    def go_back(self) -> None:
        """Previous page, or the previous step."""
        if self.page > 0:
            self.page -= 1
            self.changed()
        else:
            self.journey.back()

    def confirm(self) -> None:
        """The citizen says the warned-about values are right."""
        self.confirming = False
        self.changed()
        self.journey.confirm_warnings()

    def fix(self) -> None:
        """Close the confirmation and open the first warned-about field."""
        self.confirming = False
        pending = list(self.journey.pending_warnings)
        if pending:
            self._show_page_of(pending[0])
            self.open_editor(pending[0])
        self.changed()

    def _has_errors(self) -> bool:
        return any(i.severity == "error" for f in self.fields() for i in self.journey.issues_for(f.id))

    def _show_first_problem(self, pages) -> None:
        for index, page in enumerate(pages):
            if any(self.journey.issues_for(spec.id) for spec in page):
                self.page = index
                return

    def _show_page_of(self, field_id: str) -> None:
        for index, page in enumerate(self._pages(self._content_area())):
            if any(spec.id == field_id for spec in page):
                self.page = index

    def _content_area(self) -> pygame.Rect:
        m = self.kit.metrics
        top = m.header_height + m.gap
        bottom = m.height - m.status_height - m.gap - m.touch - m.gap
        return pygame.Rect(m.margin, top, m.width - 2 * m.margin, bottom - top)

    # -- Screen -----------------------------------------------------------------------------------
    def title(self) -> str:
        if self.editing:
            spec = self.spec(self.editing)
            if spec is not None:
                return spec.label.get(self.journey.language)
        return self.tr(IDENTITY_TITLE if self.step is Step.IDENTITY else DETAILS_TITLE)

    def nav(self) -> Nav | None:
        if self.editing:
            return None
        return Nav(on_next=self.go_next, on_back=self.go_back, next_label=NEXT)

    def build(self, area: pygame.Rect) -> list[Widget]:
        if self.editing and self.spec(self.editing) is None:
            self.editing = None
        if self.editing:
            return self._build_editor(area)
        return self._build_overview(area)

    def _build_overview(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        lang = self.journey.language
        pages = self._pages(area)
        self.page = min(self.page, len(pages) - 1)
        columns, _rows = self._rows(area)
        gap = m.px(16)
        width = (area.width - gap * (columns - 1)) // columns if columns > 1 else min(area.width, m.px(560))
        x0 = area.x if columns > 1 else area.centerx - width // 2
        field_h = TextField.height_for(kit)
        widgets: list[Widget] = []
        for i, spec in enumerate(pages[self.page]):
            row, col = divmod(i, columns)
            rect = pygame.Rect(x0 + col * (width + gap), area.y + row * (field_h + m.gap), width, field_h)
            message, tone = self.message(spec)
            choice = spec.kind in _CHOICE_KINDS
            value = (
                self.journey.display_value(spec.id)
                if choice
                else format_value(spec.kind, self.journey.fields.get(spec.id, ""))
            )
            widgets.append(
                TextField(
                    spec.id,
                    rect,
                    kit,
                    spec.label.get(lang),
                    value,
                    placeholder=tr(TOUCH_TO_CHOOSE if choice else TOUCH_TO_FILL),
                    message=message,
                    message_tone=tone,
                    hint=spec.hint.get(lang) if spec.hint else "",
                    on_tap=lambda fid=spec.id: self.open_editor(fid),
                )
            )
        if len(pages) > 1:
            text = tr(PAGE).format(page=self.page + 1, pages=len(pages))
            line_h = kit.text.line_height(m.text_small)
            widgets.append(
                Label(
                    "form.page",
                    (area.x, area.bottom - line_h, area.width, line_h),
                    kit,
                    text,
                    role="small",
                    tone="muted",
                    align="right",
                )
            )
        return widgets

    def _choice_editor(self, spec: FieldSpec, area: pygame.Rect, done_w: int) -> list[Widget]:
        """A choice's editor: the hint, "Kembali" and the list of options."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        hint_h = kit.text.line_height(m.text_body)
        hint = spec.hint.get(self.journey.language) if spec.hint else tr(TOUCH_TO_CHOOSE)
        top = area.y + max(hint_h, m.touch) + m.gap
        return [
            Label(
                "editor.hint", (area.x, area.y, area.width - done_w - m.gap, hint_h), kit, hint, tone="muted"
            ),
            Button(
                "editor.done",
                (area.right - done_w, area.y, done_w, m.touch),
                kit,
                "\u2039  " + tr(BACK),
                self.close_editor,
                style="secondary",
            ),
            self._choices(spec, pygame.Rect(area.x, top, area.width, area.bottom - top)),
        ]

    def _build_editor(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        spec = self.spec(self.editing)
        assert spec is not None
        lang = self.journey.language
        # The editor takes the navigation bar's room too: a keyboard needs every pixel on 800 x 480.
        bottom = m.height - m.status_height - m.gap
        area = pygame.Rect(area.x, area.y, area.width, bottom - area.y)
        widgets: list[Widget] = []
        done_w = m.px(170)
        message, tone = self.message(spec)
        if spec.kind in _CHOICE_KINDS:
            return self._choice_editor(spec, area, done_w)
        hint = spec.hint.get(lang) if spec.hint else ""
        # Only the message lines shown: at 800 x 480 the keys need every pixel to be 48 px tall.
        shown = (
            kit.text.wrap(message or hint, m.text_small, area.width - done_w - m.gap)
            if message or hint
            else ()
        )
        field_h = TextField.height_for(kit, min(2, len(shown)))
        field_rect = pygame.Rect(area.x, area.y, area.width - done_w - m.gap, field_h)
        raw = self.journey.fields.get(spec.id, "")
        widgets.append(
            TextField(
                spec.id,
                field_rect,
                kit,
                spec.label.get(lang),
                format_value(spec.kind, raw),
                message=message,
                message_tone=tone,
                focused=True,
                hint=hint,
                mask=tr(DATE_MASK) if spec.kind == "date" else "",
            )
        )
        box = widgets[-1].box()
        widgets.append(
            Button(
                "editor.done",
                (area.right - done_w, box.y, done_w, box.height),
                kit,
                tr(DONE),
                self.close_editor,
            )
        )
        top = field_rect.bottom + m.gap
        layout = (
            "digits"
            if spec.kind in _DIGIT_KINDS
            else ("letters" if spec.kind == "name" else "letters_digits")
        )
        keys = pygame.Rect(area.x, top, area.width, area.bottom - top)
        if layout == "digits":
            keys = pygame.Rect(area.x, top, min(area.width, m.px(420)), area.bottom - top)
            keys.centerx = area.centerx
        widgets.append(Keyboard("keyboard", keys, kit, layout, self.type_key))
        return widgets

    def _choices(self, spec: FieldSpec, area: pygame.Rect) -> Widget:
        kit, m = self.kit, self.kit.metrics
        options = self.journey.options_for(spec.id)
        selected = self.journey.fields.get(spec.id) or None
        if len(options) > _MAX_BUTTON_CHOICES:
            picker = ListPicker(
                spec.id,
                area,
                kit,
                options,
                selected,
                lambda value, fid=spec.id: self.pick(fid, value),
                offset=self.picker_offsets.get(spec.id),
                on_scroll=lambda offset, fid=spec.id: self.picker_offsets.__setitem__(fid, offset),
            )
            return picker
        group = Container(f"{spec.id}.choices", area, kit)
        columns = 2 if len(options) > 2 else len(options)
        rows = (len(options) + columns - 1) // columns
        gap = m.gap
        cell_w = (area.width - gap * (columns - 1)) // columns
        cell_h = min(m.px(76), (area.height - gap * (rows - 1)) // max(1, rows))
        for i, (value, label) in enumerate(options):
            row, col = divmod(i, columns)
            rect = pygame.Rect(area.x + col * (cell_w + gap), area.y + row * (cell_h + gap), cell_w, cell_h)
            group.add(
                Button(
                    f"{spec.id}.option.{value}",
                    rect,
                    kit,
                    label,
                    lambda v=value, fid=spec.id: self.pick(fid, v),
                    style="choice",
                    selected=value == selected,
                    align="center",
                )
            )
        return group

    def overlay(self, area: pygame.Rect) -> Widget | None:
        if not self.confirming:
            return None
        tr = self.tr
        lang = self.journey.language
        lines = []
        for field_id, issues in self.journey.pending_warnings.items():
            spec = self.spec(field_id)
            label = spec.label.get(lang) if spec else field_id
            for issue in issues:
                lines.append(f"{label}: {validation_message(tr, issue.code, issue.params)}")
        if not lines:
            self.confirming = False
            return None
        return Dialog(
            "confirm",
            area,
            self.kit,
            tr(CHECK_TITLE),
            "\n".join(lines),
            [("fix", tr(FIX_IT), self.fix, "secondary"), ("yes", tr(IT_IS_CORRECT), self.confirm, "primary")],
            tone="warning",
        )

    def key(self, event: pygame.event.Event) -> None:
        if not self.editing:
            return
        if event.type == pygame.TEXTINPUT:
            spec = self.spec(self.editing)
            for char in event.text:
                self.type_key(char.upper() if spec is not None and spec.kind == "name" else char)
        elif event.type == pygame.KEYDOWN:
            if event.key == pygame.K_BACKSPACE:
                self.type_key(BACKSPACE)
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_ESCAPE):
                self.close_editor()


class IdentityScreen(FormScreen):
    """NIK and KK number."""

    step = Step.IDENTITY


class DetailsScreen(FormScreen):
    """Name, birth, address and the rest of the service's details."""

    step = Step.DETAILS
