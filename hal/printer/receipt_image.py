"""A receipt drawn as the thermal printer would print it: a 1-bit image as wide as the paper.

Text is drawn in a monospaced font on the printer's 12 x 24 dot character grid and scaled the way
the printer scales it (double width and height are the same glyphs stretched); the QR code is
made with segno. The simulated printer saves this image as a PNG.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from hal.printer.escpos_job import qr_module_dots
from hal.printer.receipt import CELL_HEIGHT, CELL_WIDTH, Layout, PrintLine

#: Monospaced fonts from Debian's fonts-* packages, best first; Pillow's own font otherwise.
_FONT_CANDIDATES = {
    False: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansMono-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    ),
}
#: A font size whose monospaced advance fits the 12-dot cell (DejaVu Sans Mono: 0.6 em).
_FONT_SIZE = 19
_TOP_MARGIN = 16
#: Paper fed past the last line before the cut, as python-escpos's cut() feeds.
_FEED_BEFORE_CUT = 6 * CELL_HEIGHT


@cache
def _font(bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_CANDIDATES[bold]:
        if Path(path).is_file():
            return ImageFont.truetype(path, _FONT_SIZE)
    return ImageFont.load_default(size=_FONT_SIZE)


def render_receipt_image(layout: Layout, paper_width_dots: int) -> Image.Image:
    """Draw ``layout`` on paper ``paper_width_dots`` wide and return a 1-bit image."""
    strips = [_text_strip(line, paper_width_dots) for line in layout.head]
    if layout.qr_data is not None:
        strips.append(_qr_strip(layout.qr_data, paper_width_dots))
    strips.extend(_text_strip(line, paper_width_dots) for line in layout.tail)
    height = _TOP_MARGIN + sum(strip.height for strip in strips) + _FEED_BEFORE_CUT
    paper = Image.new("L", (paper_width_dots, height), 255)
    y = _TOP_MARGIN
    for strip in strips:
        paper.paste(strip, (0, y))
        y += strip.height
    # Thermal dots are either burnt or not.
    return paper.point(lambda value: 255 if value >= 128 else 0).convert("1")


def _text_strip(line: PrintLine, paper_width_dots: int) -> Image.Image:
    style = line.style
    cells = len(line.text)
    # Draw at normal size on the character grid, then stretch like the printer does.
    glyphs = Image.new("L", (max(1, cells * CELL_WIDTH), CELL_HEIGHT), 255)
    draw = ImageDraw.Draw(glyphs)
    font = _font(style.bold)
    for index, char in enumerate(line.text):
        draw.text(
            (index * CELL_WIDTH + CELL_WIDTH / 2, CELL_HEIGHT / 2), char, font=font, fill=0, anchor="mm"
        )
    if style.width_scale != 1 or style.height_scale != 1:
        glyphs = glyphs.resize(
            (glyphs.width * style.width_scale, glyphs.height * style.height_scale), Image.Resampling.NEAREST
        )
    strip = Image.new("L", (paper_width_dots, glyphs.height), 255)
    x = (paper_width_dots - glyphs.width) // 2 if style.align == "center" else 0
    strip.paste(glyphs.crop((0, 0, min(glyphs.width, paper_width_dots), glyphs.height)), (max(0, x), 0))
    return strip


def _qr_strip(data: str, paper_width_dots: int) -> Image.Image:
    buffer = io.BytesIO()
    # Four modules of quiet zone, as the QR standard asks, so that phones find the code.
    segno.make(data, error="m", micro=False).save(
        buffer, kind="png", scale=qr_module_dots(data, paper_width_dots), border=4
    )
    buffer.seek(0)
    code = Image.open(buffer).convert("L")
    strip = Image.new("L", (paper_width_dots, code.height), 255)
    strip.paste(code, ((paper_width_dots - code.width) // 2, 0))
    return strip
