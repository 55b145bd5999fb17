"""A receipt as one ESC/POS print job, and the printer's answers to status queries.

The job is composed with python-escpos's ``Dummy`` printer (the library's own way of preparing a
job for later), so that the bytes are built and tested without a port and reach the printer in one
write. The status queries are the real-time ``DLE EOT n`` commands, which printers answer even
while busy or offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from escpos.constants import (
    QR_ECLEVEL_M,
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_STATUS,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)

from hal.printer.receipt import Layout, PrintLine, Style

if TYPE_CHECKING:
    from escpos.printer import Dummy

#: ``DLE EOT 2``: why the printer is offline (python-escpos names only n = 1 and n = 4).
RT_STATUS_OFFLINE_CAUSE = RT_STATUS + b"\x02"

# Bits of the DLE EOT 2 answer.
_COVER_OPEN = 0x04
_PAPER_END_STOP = 0x20
_ERROR = 0x40

#: Size of a QR module in dots: big enough to scan off thermal paper, small enough to fit.
_QR_MODULE_MIN, _QR_MODULE_MAX = 3, 8


def qr_module_dots(data: str, paper_width_dots: int) -> int:
    """Choose the QR module size so that the code spans at most 60 % of the paper."""
    import segno  # at the first receipt: segno pulls in xml.sax and urllib (~70 ms) for its writers

    modules = segno.make(data, error="m", micro=False).symbol_size(border=0)[0]
    return max(_QR_MODULE_MIN, min(_QR_MODULE_MAX, int(paper_width_dots * 0.6) // modules))


def escpos_job(layout: Layout, paper_width_dots: int, profile: str = "default") -> bytes:
    """Return the ESC/POS bytes that print ``layout`` and cut the paper.

    Args:
        layout: The laid-out receipt (already folded to printable ASCII).
        paper_width_dots: Paper width, for the QR code's size.
        profile: python-escpos printer profile; it decides native QR versus a raster image and
            which cut the printer has.
    """
    # python-escpos's printer module loads every printer profile (~0.5 s), so at the first job, not at import.
    from escpos.printer import Dummy

    job = Dummy(profile=profile)
    job.hw("INIT")  # ESC @: forget whatever the previous job left set
    style = None
    for line in layout.head:
        style = _line(job, line, style)
    if layout.qr_data is not None:
        native = job.profile.supports("qrCode")
        job.set(align="center", normal_textsize=True, bold=False)
        job.qr(
            layout.qr_data,
            ec=QR_ECLEVEL_M,
            size=qr_module_dots(layout.qr_data, paper_width_dots),
            native=native,
        )
        if native:
            job.ln()
        style = None
    for line in layout.tail:
        style = _line(job, line, style)
    job.cut()
    return job.output


def _line(job: Dummy, line: PrintLine, previous: Style | None) -> Style:
    """Print one line, sending the style commands only when the style changes."""
    style = line.style
    if style is not previous:
        if style.width_scale == style.height_scale == 1:
            job.set(align=style.align, bold=style.bold, normal_textsize=True)
        else:
            job.set(
                align=style.align,
                bold=style.bold,
                double_width=style.width_scale == 2,
                double_height=style.height_scale == 2,
            )
    job.textln(line.text)
    return style


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself; None where it did not answer."""

    online: bool | None
    paper: Literal["ok", "low", "out"] | None = None
    offline_reason: str = ""

    @property
    def answered(self) -> bool:
        """True when the printer answered at all."""
        return self.online is not None


def decode_online(answer: bytes) -> bool | None:
    """Decode the answer to ``DLE EOT 1``; None when there was none."""
    if not answer:
        return None
    return not answer[0] & RT_MASK_ONLINE


def decode_paper(answer: bytes) -> Literal["ok", "low", "out"] | None:
    """Decode the answer to ``DLE EOT 4`` (paper roll sensor); None when there was none."""
    if not answer:
        return None
    if answer[0] & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
        return "out"
    if answer[0] & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER:
        return "low"
    return "ok"


def decode_offline_cause(answer: bytes) -> str:
    """Decode the answer to ``DLE EOT 2`` into a plain reason."""
    if not answer:
        return "the printer is offline"
    if answer[0] & _PAPER_END_STOP:
        return "the printer is out of paper"
    if answer[0] & _COVER_OPEN:
        return "the printer's cover is open"
    if answer[0] & _ERROR:
        return "the printer reports an error (paper jam or cutter): open it and check"
    return "the printer is offline"


__all__ = [
    "RT_STATUS_OFFLINE_CAUSE",
    "RT_STATUS_ONLINE",
    "RT_STATUS_PAPER",
    "PrinterStatus",
    "decode_offline_cause",
    "decode_online",
    "decode_paper",
    "escpos_job",
    "qr_module_dots",
]
