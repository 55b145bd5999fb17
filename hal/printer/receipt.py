"""What a receipt says and how it is laid out on thermal paper, shared by every printer backend.

A receipt carries no personal data: no NIK, no KK number, no name. It says which service the
citizen registered for, the reference code to quote at the counter and a QR code of it. As a last
line of defence :class:`Receipt` refuses any text with 16 digits in a row (grouped or not), the shape
of a NIK or KK number.

The layout works in character cells of the printer's Font A, 12 x 24 dots: 32 columns on 58 mm
paper (384 dots), 48 on 80 mm paper (576 dots). The ESC/POS job and the simulated printer's image
are both drawn from the same :class:`Layout`, so the simulated PNG shows what the paper would.
"""

from __future__ import annotations

import enum
import re
import textwrap
import unicodedata
from dataclasses import dataclass

from anyascii import anyascii

#: Width and height of one Font A character cell, in dots.
CELL_WIDTH = 12
CELL_HEIGHT = 24

#: Longest QR payload accepted: enough for a URL with a record id, small enough to stay scannable
#: at 3 dots per module on 58 mm paper.
MAX_QR_CHARS = 300

#: 16 digits in a row, or in groups split by single spaces, dots or dashes ("7110 0112 0390 0001").
_PERSONAL_NUMBER = re.compile(r"\d(?:[ .-]?\d){15}")


class Style(enum.Enum):
    """How a line is printed: size multipliers, weight and alignment."""

    TITLE = (2, 2, True, "center")
    REFERENCE = (1, 2, True, "center")
    BODY = (1, 1, False, "left")
    FOOTER = (1, 1, False, "center")

    @property
    def width_scale(self) -> int:
        """Horizontal size multiplier (ESC/POS double width = 2)."""
        return self.value[0]

    @property
    def height_scale(self) -> int:
        """Vertical size multiplier (ESC/POS double height = 2)."""
        return self.value[1]

    @property
    def bold(self) -> bool:
        """Emphasised (bold) text."""
        return self.value[2]

    @property
    def align(self) -> str:
        """``"left"`` or ``"center"``."""
        return self.value[3]


@dataclass(frozen=True)
class Receipt:
    """What to print. No personal data goes on it (no NIK, no name).

    Attributes:
        title: The heading, e.g. the service name.
        reference: The code the citizen quotes at the counter.
        lines: Body lines (empty strings leave a blank line).
        qr_data: What the QR code encodes (usually the reference or a URL with it); None = no QR.
        footer: Small print at the bottom.

    Raises:
        TypeError: A field has the wrong type.
        ValueError: An empty title or reference, a 16-digit number anywhere, or QR data too long.
    """

    title: str
    reference: str
    lines: tuple[str, ...]
    qr_data: str | None
    footer: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("lines", "footer"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(item, str) for item in value):
                raise TypeError(f"receipt {name} must be a sequence of strings")
            # A list is accepted and kept as a tuple so that the receipt stays immutable.
            object.__setattr__(self, name, tuple(value))
        for name in ("title", "reference"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"receipt {name} must be a string")
            if not value.strip():
                raise ValueError(f"receipt {name} is empty")
        if self.qr_data is not None:
            if not isinstance(self.qr_data, str):
                raise TypeError("receipt qr_data must be a string or None")
            if not self.qr_data:
                raise ValueError("receipt qr_data is empty (use None for no QR code)")
            if len(self.qr_data) > MAX_QR_CHARS:
                raise ValueError(
                    f"receipt qr_data is too long for a receipt QR code (at most {MAX_QR_CHARS})"
                )
        for text in (self.title, self.reference, *self.lines, *self.footer, self.qr_data or ""):
            if _PERSONAL_NUMBER.search(text):
                raise ValueError("a receipt must not carry a 16-digit number (NIK or KK number)")


@dataclass(frozen=True)
class PrintLine:
    """One printed line: text already folded to what the printer can print, and its style."""

    text: str
    style: Style


@dataclass(frozen=True)
class Layout:
    """A receipt laid out for one paper width: lines above the QR code, the QR data, lines below."""

    columns: int
    head: tuple[PrintLine, ...]
    qr_data: str | None
    tail: tuple[PrintLine, ...]


def printable(text: str) -> str:
    """Fold ``text`` to printable ASCII, which every ESC/POS printer prints in its default code page.

    Indonesian needs nothing beyond ASCII; names of places may carry accents and translations may
    carry typographic quotes or dashes, which are transliterated (``"é"`` -> ``"e"``,
    ``"–"`` -> ``"-"``). Control characters are dropped: they would be printer commands.
    """
    folded = anyascii(unicodedata.normalize("NFC", text))
    return "".join(ch for ch in folded if " " <= ch <= "~" or ch == "\t").replace("\t", " ")


def columns_for(paper_width_dots: int) -> int:
    """Characters per line of Font A on paper ``paper_width_dots`` wide."""
    return paper_width_dots // CELL_WIDTH


def layout_receipt(receipt: Receipt, paper_width_dots: int) -> Layout:
    """Wrap and style every part of ``receipt`` for paper ``paper_width_dots`` wide."""
    columns = columns_for(paper_width_dots)
    blank = PrintLine("", Style.BODY)
    head = [
        *_wrap(receipt.title, Style.TITLE, columns),
        blank,
        *_wrap(receipt.reference, Style.REFERENCE, columns),
        blank,
    ]
    for line in receipt.lines:
        head.extend(_wrap(line, Style.BODY, columns))
    tail = []
    for line in receipt.footer:
        tail.extend(_wrap(line, Style.FOOTER, columns))
    return Layout(columns, tuple(head), receipt.qr_data, tuple(tail))


def _wrap(text: str, style: Style, columns: int) -> list[PrintLine]:
    width = columns // style.width_scale
    folded = printable(text)
    if not folded.strip():
        return [PrintLine("", style)]
    return [
        PrintLine(part, style)
        for part in textwrap.wrap(folded, width, break_long_words=True, break_on_hyphens=False)
    ]
