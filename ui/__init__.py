"""The touchscreen: pygame screens, widgets, theme and translations.

Draws the :class:`kiosk.journey.Journey` state and feeds it touches. Nothing here talks to SQL,
serial ports or GPIO; devices reach the UI only through the objects handed over by the composition
root (``kiosk run``) and the events on :class:`hal.events.EventQueue`.
"""

import os as _os

# pygame prints a banner on import unless told not to; the kiosk's log is for the technician.
_os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
