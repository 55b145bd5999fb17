"""The technician's maintenance mode on the touchscreen.

A long press on the top-left corner of any citizen screen (:mod:`ui.maintenance.switch`) opens the PIN pad;
the right PIN opens the pages: dashboard, device tests, outbox, network probe, the 24-hour chart, logs and
restart / power. Everything a technician does goes through :class:`kiosk.maintenance.MaintenanceSession`,
which audits it. The texts have their own gettext domain (:mod:`ui.maintenance.i18n`).

Wiring (``ui/kiosk_app.py``)::

    maintenance = open_maintenance(kiosk, text=view.text, clock=clock)
    scenes = KioskScenes(view, maintenance.scene)
    app = App(scenes, ...)
    scenes.attach(app)
"""

from typing import Any

from ui.maintenance.log_lines import LogLine, RecentLogs
from ui.maintenance.mode import MaintenanceMode, open_maintenance
from ui.maintenance.switch import KioskScenes

__all__ = ["KioskScenes", "LogLine", "MaintenanceMode", "MaintenanceScene", "RecentLogs", "open_maintenance"]


def __getattr__(name: str) -> Any:
    # The scene and its pages are imported at the first long press, not with the citizens' welcome screen:
    # a tenth of the kiosk's start-up, and memory only a technician's visit needs.
    if name == "MaintenanceScene":
        from ui.maintenance.scene import MaintenanceScene

        return MaintenanceScene
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
