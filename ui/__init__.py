"""The touchscreen: pygame screens, widgets, theme and translations.

Draws the :class:`kiosk.journey.Journey` state and feeds it touches. Nothing here talks to SQL,
serial ports or GPIO; devices reach the UI only through the objects handed over by the composition
root (``kiosk run``) and the events on :class:`hal.events.EventQueue`.
"""

import os as _os

# pygame prints a banner on import unless told not to; the kiosk's log is for the technician.
_os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


# pygame 2's __init__ always imports pygame.pkgdata, which tries setuptools' pkg_resources first (~0.1 s here,
# several times that on a Pi, and deprecated) and falls back to the files beside the package, which is where
# the kiosk's pygame keeps them. Imported here, before any screen module, so that no pygame import pays it.
from kiosk.warm_up import import_without as _import_without  # noqa: E402

_import_without("pygame", "pkg_resources")
