"""The maintenance pages, in the order of their tabs (the PIN pad first, without a tab)."""

from ui.maintenance.pages.dashboard import DashboardPage
from ui.maintenance.pages.devices import DevicesPage
from ui.maintenance.pages.history import HistoryPage
from ui.maintenance.pages.logs import LogsPage
from ui.maintenance.pages.network import NetworkPage
from ui.maintenance.pages.outbox import OutboxPage
from ui.maintenance.pages.pin import PinPage
from ui.maintenance.pages.power import PowerPage

PAGES = (PinPage, DashboardPage, DevicesPage, OutboxPage, NetworkPage, HistoryPage, LogsPage, PowerPage)

__all__ = ["PAGES"]
