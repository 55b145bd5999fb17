"""Colours and sizes: calm and clear like a good bank ATM, with a high-contrast option.

Sizes are given for the smallest supported screen (800 x 480, a 7 inch panel at about 133 dpi)
and scaled with the screen, so the same layout works up to 1920 x 1080. The smallest touch target
is 56 px at 800 x 480, about 10.7 mm on a 7 inch panel (guidelines ask for at least ~9 mm).
"""

from __future__ import annotations

from dataclasses import dataclass

Color = tuple[int, int, int]

#: The design size every dimension below refers to.
BASE_SIZE = (800, 480)


@dataclass(frozen=True)
class Palette:
    """The colours of one theme."""

    background: Color
    surface: Color  # cards, fields, the keyboard
    surface_alt: Color  # a pressed key, a selected row
    text: Color
    text_muted: Color
    primary: Color  # the one action the citizen should take next
    primary_text: Color
    primary_pressed: Color
    secondary: Color  # other actions (back, retake)
    secondary_text: Color
    border: Color
    focus: Color
    error: Color
    error_surface: Color
    warning: Color
    warning_surface: Color
    success: Color
    success_surface: Color
    header: Color
    header_text: Color
    disabled: Color
    disabled_text: Color
    ink: Color  # signature strokes
    overlay: tuple[int, int, int, int]  # dims the screen behind a dialog


CALM = Palette(
    background=(243, 245, 248),
    surface=(255, 255, 255),
    surface_alt=(226, 234, 244),
    text=(26, 35, 48),
    text_muted=(88, 99, 115),
    primary=(11, 87, 164),
    primary_text=(255, 255, 255),
    primary_pressed=(6, 60, 116),
    secondary=(229, 233, 239),
    secondary_text=(26, 35, 48),
    border=(198, 206, 217),
    focus=(11, 87, 164),
    error=(176, 32, 32),
    error_surface=(253, 236, 236),
    warning=(138, 86, 0),
    warning_surface=(255, 244, 214),
    success=(22, 112, 60),
    success_surface=(227, 245, 233),
    header=(11, 61, 113),
    header_text=(255, 255, 255),
    disabled=(222, 226, 232),
    disabled_text=(130, 138, 150),
    ink=(16, 24, 64),
    overlay=(10, 20, 35, 150),
)

HIGH_CONTRAST = Palette(
    background=(0, 0, 0),
    surface=(0, 0, 0),
    surface_alt=(60, 60, 0),
    text=(255, 255, 255),
    text_muted=(235, 235, 235),
    primary=(255, 221, 0),
    primary_text=(0, 0, 0),
    primary_pressed=(255, 255, 255),
    secondary=(0, 0, 0),
    secondary_text=(255, 255, 255),
    border=(255, 255, 255),
    focus=(255, 221, 0),
    error=(255, 120, 120),
    error_surface=(0, 0, 0),
    warning=(255, 221, 0),
    warning_surface=(0, 0, 0),
    success=(120, 255, 160),
    success_surface=(0, 0, 0),
    header=(0, 0, 0),
    header_text=(255, 255, 255),
    disabled=(40, 40, 40),
    disabled_text=(170, 170, 170),
    ink=(255, 255, 255),
    overlay=(0, 0, 0, 200),
)


@dataclass(frozen=True)
class Metrics:
    """Pixel sizes for one screen size, scaled from the 800 x 480 design size."""

    width: int
    height: int
    scale: float

    @classmethod
    def for_size(cls, width: int, height: int) -> Metrics:
        """Metrics for a screen of ``width`` x ``height`` pixels."""
        scale = min(width / BASE_SIZE[0], height / BASE_SIZE[1])
        return cls(width, height, max(0.5, scale))

    def px(self, value: float) -> int:
        """``value`` design pixels at this screen's scale."""
        return max(1, round(value * self.scale))

    # Sizes in design pixels, named for what they are.
    @property
    def touch(self) -> int:
        """The smallest touch target (height of a button, a key, a list row)."""
        return self.px(56)

    @property
    def gap(self) -> int:
        """Space between neighbouring controls."""
        return self.px(10)

    @property
    def margin(self) -> int:
        """Space between the screen edge and the content."""
        return self.px(20)

    @property
    def radius(self) -> int:
        """Corner radius of buttons and cards."""
        return self.px(10)

    @property
    def header_height(self) -> int:
        """Height of the title band at the top of a journey screen."""
        return self.px(64)

    @property
    def status_height(self) -> int:
        """Height of the status bar at the bottom."""
        return self.px(28)

    @property
    def border(self) -> int:
        """Width of a field's outline."""
        return max(1, self.px(2))

    @property
    def touch_min(self) -> int:
        """The smallest any touch target may be in either direction (48 px at 800 x 480, ~9 mm on 7 inch)."""
        return self.px(48)

    # Type sizes (pixels).
    @property
    def text_floor(self) -> int:
        """No text on a citizen screen is smaller: 15 px at 800 x 480 (x-height ~1.2 mm on a 7 inch panel),
        scaled with the screen (19 at 1024 x 600, 25 at 1280 x 800, 34 at 1920 x 1080)."""
        return self.px(15)

    @property
    def text_small(self) -> int:
        """Notes, the status bar."""
        return self.px(16)

    @property
    def text_body(self) -> int:
        """Body text and field values."""
        return self.px(21)

    @property
    def text_button(self) -> int:
        """Button labels."""
        return self.px(22)

    @property
    def text_title(self) -> int:
        """Screen titles."""
        return self.px(28)

    @property
    def text_display(self) -> int:
        """The welcome screen's greeting and the receipt code."""
        return self.px(44)


@dataclass(frozen=True)
class Theme:
    """A palette and the metrics of the current screen."""

    palette: Palette
    metrics: Metrics
    high_contrast: bool = False

    @classmethod
    def create(cls, width: int, height: int, *, high_contrast: bool = False) -> Theme:
        """The theme for a screen of ``width`` x ``height``."""
        return cls(HIGH_CONTRAST if high_contrast else CALM, Metrics.for_size(width, height), high_contrast)
