"""The touchscreen: pygame screens, widgets, theme and translations.

Draws the :class:`kiosk.journey.Journey` state and feeds it touches. Nothing here talks to SQL,
serial ports or GPIO; devices reach the UI only through the objects handed over by the composition
root (``kiosk run``) and the events on :class:`hal.events.EventQueue`.
"""
