"""Hardware layer: one small interface per device, a real backend and a simulated one.

The hal package knows nothing of the kiosk domain or the UI. Devices report their state through
:meth:`hal.device.Device.health` and deliver what happens on their own threads (pen samples, mains
lost, ...) as typed events on one thread-safe :class:`hal.events.EventQueue`.
"""
