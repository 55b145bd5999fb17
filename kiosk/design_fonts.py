"""The typeface the screens are designed in, and whether this system has it.

The layouts (line breaks, button widths, the text-size floor) are measured in Noto Sans. Another font
still works, but lines break elsewhere, so ``kiosk selftest`` warns when Noto Sans is missing instead of
letting the kiosk fall back silently.
"""

from __future__ import annotations

from pathlib import Path

#: Noto Sans regular and bold, where Debian's ``fonts-noto-core`` puts them (the installer brings it).
DESIGN_FONT_REGULAR = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
DESIGN_FONT_BOLD = Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf")
DESIGN_FONT_PACKAGE = "fonts-noto-core"


def design_font_warning(
    configured: str = "", files: tuple[Path, ...] = (DESIGN_FONT_REGULAR, DESIGN_FONT_BOLD)
) -> str:
    """One line saying the design font is missing, or ``""`` when it is there.

    Args:
        configured: ``[ui] font`` from the config; a technician's explicit choice is not warned about.
        files: The design font's files (tests point them elsewhere).
    """
    if configured:
        return ""
    missing = [path for path in files if not path.is_file()]
    if not missing:
        return ""
    paths = ", ".join(str(p) for p in missing)
    return (
        f"the design font Noto Sans is missing ({paths}): the screens fall back to another font and "
        f"lines break differently; install it with: sudo apt-get install {DESIGN_FONT_PACKAGE}"
    )
