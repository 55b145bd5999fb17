"""The text cache is bounded by the pixels it holds, not only by its count, and forgets on request."""

from __future__ import annotations

from ui.text import TextRenderer, find_fonts

BLACK = (0, 0, 0)


def _held(text: TextRenderer, lines: list[str], size: int) -> list[str]:
    """The lines whose surfaces are still cached (rendering them again lays nothing out)."""
    held = []
    for line in lines:
        before = text.renders
        text.render(line, size, BLACK)
        if text.renders == before:
            held.append(line)
    return held


def test_the_cache_keeps_the_newest_lines_within_its_pixel_budget():
    lines = [f"NIK 7110 0412 8901 {n:04d}" for n in range(20)]
    sizing = TextRenderer(find_fonts())
    pixels = [sizing.render(line, 40, BLACK) for line in lines]
    text = TextRenderer(find_fonts(), max_bytes=sum(s.get_pitch() * s.get_height() for s in pixels[-5:]))
    for line in lines:
        text.render(line, 40, BLACK)
    # Only the newest five fit; the oldest went first. (Checked newest-first: re-rendering an evicted
    # line would itself push out older ones.)
    assert _held(text, list(reversed(lines)), 40) == list(reversed(lines[-5:]))


def test_the_count_bound_still_holds():
    text = TextRenderer(find_fonts(), max_entries=3)
    for n in range(6):
        text.render(f"baris {n}", 20, BLACK)
    assert _held(text, ["baris 5", "baris 4", "baris 3"], 20) == ["baris 5", "baris 4", "baris 3"]
    assert _held(text, ["baris 0"], 20) == []


def test_clear_forgets_every_line():
    text = TextRenderer(find_fonts())
    text.render("FRANSISKA LASABUDA", 24, BLACK)
    text.wrap("FRANSISKA LASABUDA", 24, 80)
    text.clear()
    assert _held(text, ["FRANSISKA LASABUDA"], 24) == []
