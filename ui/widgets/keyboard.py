"""The on-screen keyboard: letters for names and addresses, a numeric pad for NIK, KK and dates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pygame

from ui.i18n import N_
from ui.widgets.base import Container, Kit
from ui.widgets.button import Button

Layout = Literal["letters", "letters_digits", "digits"]

#: Key value sent for the delete key.
BACKSPACE = "\b"

#: Punctuation keys: key name (in widget ids) -> character. Names in Indonesia carry apostrophes,
#: hyphens, periods and commas ("Drs. Ni'matul"); addresses need the slash ("RT 02/RW 03").
PUNCTUATION = {"apostrophe": "'", "hyphen": "-", "period": ".", "comma": ",", "slash": "/"}

_LETTER_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
_DIGIT_ROW = "1234567890"
_PAD_ROWS = ("123", "456", "789")
_SPACE = N_("Space")
_DELETE = N_("Delete")


def key_name(char: str) -> str:
    """The name a character's key has in widget ids: ``A``, ``7``, ``space``, ``hyphen``."""
    if char == " ":
        return "space"
    if char == BACKSPACE:
        return "backspace"
    for name, value in PUNCTUATION.items():
        if value == char:
            return name
    return char.upper()


class Keyboard(Container):
    """A keyboard whose keys are buttons with ids ``<id>.key.<name>``.

    Args:
        id: Stable id (``"keyboard"``).
        rect: The area the keys fill.
        kit: Theme, text, translator.
        layout: ``letters``, ``letters_digits`` (letters with a row of digits) or ``digits``.
        on_key: Called with the typed character, or :data:`BACKSPACE`.
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        layout: Layout,
        on_key: Callable[[str], None],
    ) -> None:
        super().__init__(id, rect, kit)
        self.layout = layout
        self.on_key = on_key
        if layout == "digits":
            self._build_pad()
        else:
            self._build_letters(with_digits=layout == "letters_digits")

    def _key(self, name: str, value: str, rect: pygame.Rect, label: str | None = None, style="key") -> None:
        self.add(
            Button(
                f"{self.id}.key.{name}",
                rect,
                self.kit,
                label if label is not None else value,
                lambda: self.on_key(value),
                style=style,
                bold=False,
            )
        )

    def _build_letters(self, *, with_digits: bool) -> None:
        tr = self.kit.tr
        rows: list[list[tuple[str, str, float]]] = []  # (name, value, width in key units)
        if with_digits:
            rows.append([(d, d, 1.0) for d in _DIGIT_ROW])
        rows.append([(c, c, 1.0) for c in _LETTER_ROWS[0]])
        rows.append([(c, c, 1.0) for c in _LETTER_ROWS[1]] + [("apostrophe", "'", 1.0)])
        rows.append(
            [(c, c, 1.0) for c in _LETTER_ROWS[2]] + [(n, PUNCTUATION[n], 1.0) for n in ("hyphen", "period")]
        )
        last = [("comma", ",", 1.0), ("space", " ", 5.0)]
        if with_digits:
            last.append(("slash", "/", 1.0))
        last.append(("backspace", BACKSPACE, 2.5))
        rows.append(last)
        gap = max(2, self.kit.metrics.px(5))
        row_h = (self.rect.height - gap * (len(rows) - 1)) // len(rows)
        units = 10.0
        key_w = (self.rect.width - gap * (units - 1)) / units
        y = self.rect.y
        for row in rows:
            width = sum(w for _, _, w in row) * key_w + gap * (sum(w for _, _, w in row) - 1)
            x = self.rect.centerx - width / 2
            for name, value, w in row:
                kw = w * key_w + gap * (w - 1)
                rect = pygame.Rect(round(x), y, round(kw), row_h)
                label = {"space": tr(_SPACE), "backspace": tr(_DELETE)}.get(name)
                style = "secondary" if name == "backspace" else "key"
                self._key(name, value, rect, label, style)
                x += kw + gap
            y += row_h + gap

    def _build_pad(self) -> None:
        tr = self.kit.tr
        gap = max(2, self.kit.metrics.px(6))
        rows = [*_PAD_ROWS, None]
        row_h = (self.rect.height - gap * 3) // 4
        # A numeric pad wider than ~3 big keys is harder to use, so it keeps a phone-like shape.
        key_w = min((self.rect.width - 2 * gap) // 3, int(row_h * 2.4))
        x0 = self.rect.centerx - (3 * key_w + 2 * gap) // 2
        y = self.rect.y
        for row in rows:
            if row is None:
                self._key("0", "0", pygame.Rect(x0 + key_w + gap, y, key_w, row_h))
                rect = pygame.Rect(x0 + 2 * (key_w + gap), y, key_w, row_h)
                self._key("backspace", BACKSPACE, rect, tr(_DELETE), "secondary")
                break
            for i, char in enumerate(row):
                self._key(char, char, pygame.Rect(x0 + i * (key_w + gap), y, key_w, row_h))
            y += row_h + gap
