"""The status bar's words: :class:`kiosk.state.StatusView` turned into items in the citizen's language.

What the kiosk knows (device health, power, network, queue) and what follows from it (capabilities, whether
a new session may start) is decided in :mod:`kiosk.state`; this module only words and colours it.
"""

from __future__ import annotations

from kiosk.status_view import Network, StatusView
from ui.i18n import N_, Translator
from ui.widgets.status_bar import StatusItem

_ONLINE = N_("Online")
_OFFLINE = N_("Offline: saved here, sent later")
_NETWORK_UNKNOWN = N_("Connecting…")
_MAINS = N_("Mains power")
_BATTERY = N_("On battery")
_BATTERY_PERCENT = N_("On battery {percent}%")
_WAITING_NONE = N_("All registrations sent")
_WAITING = N_("{count} waiting to be sent")


def status_items(view: StatusView, tr: Translator) -> list[StatusItem]:
    """The status bar's items in the current language."""
    items = [_network_item(view.network, tr)]
    if view.on_battery:
        percent = view.battery_percent
        text = tr(_BATTERY_PERCENT).format(percent=round(percent)) if percent is not None else tr(_BATTERY)
        items.append(StatusItem("power", text, "error" if view.sessions_refused else "warning"))
    else:
        items.append(StatusItem("power", tr(_MAINS), "ok"))
    if view.pending:
        items.append(StatusItem("queue", tr(_WAITING).format(count=view.pending), "muted"))
    else:
        items.append(StatusItem("queue", tr(_WAITING_NONE), "ok"))
    return items


def starting_status_items(tr: Translator) -> list[StatusItem]:
    """The status bar of the first welcome frame, drawn before the kiosk is built: only what is known.

    The network is not probed yet, and neither the UPS nor the outbox has been read: their items would have
    to guess ("mains power", "all registrations sent"), so they appear with the kiosk, a moment later.
    """
    return [_network_item(Network.UNKNOWN, tr)]


def _network_item(network: Network, tr: Translator) -> StatusItem:
    if network is Network.UNKNOWN:
        return StatusItem("network", tr(_NETWORK_UNKNOWN), "muted")
    if network is Network.ONLINE:
        return StatusItem("network", tr(_ONLINE), "ok")
    return StatusItem("network", tr(_OFFLINE), "warning")
