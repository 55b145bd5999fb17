"""The dashboard: every device with its status and last error, the queue, the last sync, power, disk, uptime.

The figures come from :func:`kiosk.maintenance.take_snapshot`, read on a worker thread when the page opens,
after every action, whenever a device, the power or the sync worker reports a change, and every few seconds
while the page is shown. "Check every device" runs each device's self-test (audited one by one), which is
how a fault nobody has met yet (an unplugged camera between two citizens) shows up.
"""

from __future__ import annotations

import pygame

from hal.device import Health
from kiosk.devices import switched_off
from kiosk.maintenance import AuditAction, DashboardSnapshot
from kiosk.outbox import STATES
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, columns, text
from ui.maintenance.widgets import ProgressBar, StatusLine
from ui.maintenance.wording import (
    STATUS_TONE,
    ago,
    device_backend,
    device_name,
    device_status,
    duration,
    record_state,
    size,
    sync_state,
)
from ui.widgets import Button, Label, Panel, Spinner, Stack, Widget

LABEL = M_("Dashboard")
READING = M_("Reading the kiosk's state…")
DEVICES = M_("Devices")
RECORDS = M_("Records on this kiosk")
CHECK = M_("Check all")
CHECKING = M_("Checking {device}: {done} of {total} done…")
CHECK_FAILED = M_("The check stopped: {reason}")
OLDEST = M_("Oldest record waiting: {age}")
NONE_WAITING = M_("No record is waiting to be sent.")
LAST_SYNC = M_("Delivery: {state}")
LAST_SENT = M_("Last record delivered {ago}")
NEVER_SENT = M_("No record delivered since the kiosk started")
SYNC_ERROR = M_("Last problem: {error}")
NO_SYNC = M_("Automatic delivery is not running")
POWER = M_("Power")
MAINS = M_("Mains; battery {percent}")
ON_BATTERY = M_("ON BATTERY; {percent} left")
NO_UPS = M_("No UPS monitored")
UNKNOWN = M_("unknown")
STORAGE = M_("Storage")
DISK = M_("{free} free of {total}")
FIRMWARE = M_("Firmware")
RUNNING = M_("Running for")
UPTIME = M_("{app} (computer: {system})")
PROBLEMS = M_("Could not be read: {problems}")


class DashboardPage(Page):
    """The dashboard (see the module docstring)."""

    key = "dashboard"
    label = LABEL

    def enter(self) -> None:
        self.scene.audit_view(AuditAction.VIEW_DASHBOARD)
        self.scene.refresh()

    def check_all(self) -> None:
        """Run every device's self-test, one after the other, on a worker thread."""
        session = self.mode.session
        devices = [(name, device) for name, device in self.mode.devices if not switched_off(device)]

        def work(progress) -> list[tuple[str, Health | None]]:
            results: list[tuple[str, Health | None]] = []
            for index, (name, device) in enumerate(devices):
                progress(index, len(devices), name)  # which device, before its test (a camera takes seconds)
                try:
                    results.append((name, session.test_device(name, device)))
                except Exception:  # noqa: BLE001 - audited as failed by the session; the others still run
                    results.append((name, None))
            progress(len(devices), len(devices))
            return results

        first = devices[0][0] if devices else ""
        self.scene.start_job(self.scene.job("check"), work, total=len(devices), item=first)

    # -- widgets --------------------------------------------------------------------------------
    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        readings = self.scene.readings
        if readings is None:
            return [
                Label(
                    "dash.reading",
                    (area.x, area.y + m.px(40), area.width, m.px(40)),
                    kit,
                    tr(READING),
                    role="title",
                    align="center",
                ),
                Spinner("dash.spinner", (area.x, area.y + m.px(90), area.width, m.px(40)), kit),
            ]
        snapshot = readings.snapshot
        # Power, storage, firmware and uptime in a strip along the bottom (as tall as its values need:
        # they wrap, never shrink); devices and records above it.
        strip = self._kiosk(area, snapshot)
        left, right = columns(
            pygame.Rect(area.x, area.y, area.width, strip.rect.y - m.px(12) - area.y), kit, 0.5
        )
        widgets: list[Widget] = []
        widgets += self._devices(left, snapshot)
        widgets += self._records(right, snapshot)
        widgets.append(strip)
        return widgets

    def _devices(self, area: pygame.Rect, snapshot: DashboardSnapshot) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        pad = m.px(14)
        inner = area.inflate(-2 * pad, -2 * pad)
        job = self.scene.job("check")
        check_w = min(m.px(250), inner.width // 2)
        check = pygame.Rect(inner.right - check_w, inner.y, check_w, m.touch)
        children: list[Widget] = [
            Label(
                "dash.devices.title",
                (inner.x, inner.y, inner.width - check_w - m.gap, m.touch),
                kit,
                tr(DEVICES),
                role="button",
                bold=True,
                valign="middle",
            ),
        ]
        if job.running:
            # The progress takes the button's place: one check at a time, and the rows keep their room.
            device = device_name(tr, job.item) if job.item else "\u2026"
            caption = tr(CHECKING).format(device=device, done=job.done, total=job.total or 0)
            # The caption takes the title's place too: it names the device, which needs the room.
            children = []
            bar = pygame.Rect(inner.x, inner.y, inner.width, m.touch)
            children.append(ProgressBar("dash.check.progress", bar, kit, job.fraction, caption))
        else:
            children.append(Button("dash.check", check, kit, tr(CHECK), self.check_all, style="secondary"))
        column = Stack(inner.x, inner.y + m.touch + m.px(10), inner.width, gap=m.px(6))
        if job.error is not None:
            words = tr(CHECK_FAILED).format(reason=job.error)
            column.add(
                text("dash.check.result", kit, *column.slot(), words, role="small", tone="error", max_lines=2)
            )
        children += column.widgets
        y = column.y
        bottom = inner.bottom
        if snapshot.problems:
            problems = text(
                "dash.problems",
                kit,
                inner.x,
                0,
                inner.width,
                tr(PROBLEMS).format(problems="; ".join(snapshot.problems)),
                role="small",
                tone="error",
                max_lines=2,
            )
            problems.rect.bottom = bottom
            children.append(problems)
            bottom = problems.rect.top - m.px(6)
        # Each device takes the room it needs: its name, and its backend and last error below when they do
        # not fit beside it.
        rows = self._device_rows(inner.width, snapshot, backends=True)
        if sum(row.wanted_height() for row in rows) > bottom - y:
            # No room for every backend on a line of its own: the devices page shows them.
            rows = self._device_rows(inner.width, snapshot, backends=False)
        wanted = [row.wanted_height() for row in rows]
        if sum(wanted) > bottom - y:
            # Still too tall: every name line, then detail lines for as many as the room allows (the
            # others show their detail after the status, cut visibly; the devices page shows it whole).
            name_h, small_h = kit.text.line_height(m.text_body, True), kit.text.line_height(m.text_small)
            left = bottom - y - name_h * len(rows)
            heights = []
            for need in wanted:
                extra = max(0, min(need - name_h, left)) // small_h * small_h
                left -= extra
                heights.append(name_h + extra)
            wanted = heights
        spare = max(0, bottom - y - sum(wanted))
        gap = min(m.px(16), spare // max(1, len(wanted)))
        for row, height in zip(rows, wanted, strict=True):
            row.rect = pygame.Rect(inner.x, y, inner.width, height)
            children.append(row)
            y += height + gap
        return [Panel("dash.devices", area, kit, children)]

    def _device_rows(self, width: int, snapshot: DashboardSnapshot, *, backends: bool) -> list[StatusLine]:
        """A status line per device (placed by the caller), with its backend when ``backends``."""
        kit, tr = self.kit, self.tr
        return [
            StatusLine(
                f"dash.device.{line.name}",
                (0, 0, width, 1),
                kit,
                device_name(tr, line.name),
                device_status(tr, line.status),
                line.detail,
                tone=STATUS_TONE.get(line.status, "muted"),
                note=device_backend(tr, line.backend) if backends else "",
            )
            for line in snapshot.devices
        ]

    def _records(self, area: pygame.Rect, snapshot: DashboardSnapshot) -> list[Widget]:
        """The queue: a tile per record state, then the oldest waiting record and the last sync."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        pad = m.px(14)
        inner = area.inflate(-2 * pad, -2 * pad)
        column = Stack(inner.x, inner.y, inner.width, gap=m.px(4))
        title = text("dash.records.title", kit, *column.slot(), tr(RECORDS), role="button", bold=True)
        column.add(title, gap=m.px(8))
        tile_h = kit.text.line_height(m.text_title, True) + kit.text.line_height(m.text_small) + m.px(6)
        for tile in self._record_tiles(column.rect(tile_h), snapshot):
            column.add(tile, gap=0)
        column.space(m.px(10))
        line_h = kit.text.line_height(m.text_small)
        for id, words, tone in self._queue_lines(snapshot):
            room = (inner.bottom - column.y) // line_h
            if room < 1:
                break  # the most important lines come first
            column.add(text(id, kit, *column.slot(), words, role="small", tone=tone, max_lines=min(2, room)))
        return [Panel("dash.records", area, kit, column.widgets)]

    def _record_tiles(self, row: pygame.Rect, snapshot: DashboardSnapshot) -> list[Widget]:
        """One tile per outbox state, side by side in ``row``: the count over the state's name."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        gap = m.px(6)
        tile_w = (row.width - gap * (len(STATES) - 1)) // len(STATES)
        tiles: list[Widget] = []
        for index, state in enumerate(STATES):
            count = snapshot.records.get(state)
            tone = "error" if state == "dead" and count else "normal"
            x, y = row.x + index * (tile_w + gap), row.y
            count_h = kit.text.line_height(m.text_title, True)
            tile = [
                Label(
                    f"dash.records.{state}",
                    (x + m.px(4), y + m.px(2), tile_w - m.px(8), count_h),
                    kit,
                    "\u2013" if count is None else str(count),
                    role="title",
                    bold=True,
                    tone="error" if tone == "error" else "normal",
                    align="center",
                    shrink=True,
                ),
                Label(
                    f"dash.records.{state}.label",
                    (x, y + m.px(2) + count_h, tile_w, kit.text.line_height(m.text_small)),
                    kit,
                    record_state(tr, state),
                    role="small",
                    tone="muted",
                    align="center",
                    shrink=True,
                ),
            ]
            tone_ = "error" if tone == "error" else "flat"
            tiles.append(
                Panel(f"dash.records.{state}.tile", (x, y, tile_w, row.height), kit, tile, tone=tone_)
            )
        return tiles

    def _queue_lines(self, snapshot: DashboardSnapshot) -> list[tuple[str, str, str]]:
        """(id, words, tone) of the lines under the tiles, the most important first."""
        tr = self.tr
        lines = []
        if snapshot.oldest_pending_age_s is not None:
            lines.append(
                (
                    "dash.oldest",
                    tr(OLDEST).format(age=duration(tr, snapshot.oldest_pending_age_s)),
                    "warning" if snapshot.oldest_pending_age_s > 3600 else "normal",
                )
            )
        else:
            lines.append(("dash.oldest", tr(NONE_WAITING), "normal"))
        sync = snapshot.sync
        if sync is None:
            lines.append(("dash.sync", tr(NO_SYNC), "warning"))
            return lines
        tone = "normal" if sync.state in ("idle", "sending") else "warning"
        lines.append(("dash.sync", tr(LAST_SYNC).format(state=sync_state(tr, sync.state)), tone))
        if sync.last_error:
            lines.append(("dash.sync.error", tr(SYNC_ERROR).format(error=sync.last_error), "error"))
        if sync.last_sent_at is not None:
            ago_text = ago(tr, sync.last_sent_at, snapshot.taken_at)
            lines.append(("dash.sync.sent", tr(LAST_SENT).format(ago=ago_text), "muted"))
        else:
            lines.append(("dash.sync.sent", tr(NEVER_SENT), "muted"))
        return lines

    def _kiosk(self, area: pygame.Rect, snapshot: DashboardSnapshot) -> Panel:
        """Power, storage, firmware and uptime side by side, in a panel along the bottom of ``area``."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        battery = snapshot.battery
        if battery is None:
            power, power_tone = tr(NO_UPS), "muted"
        else:
            percent = f"{battery.percent:.0f}%" if battery.percent is not None else tr(UNKNOWN)
            power = tr(ON_BATTERY if battery.on_battery else MAINS).format(percent=percent)
            power_tone = "warning" if battery.on_battery else "normal"
        if snapshot.disk_free_bytes is not None and snapshot.disk_total_bytes:
            disk = tr(DISK).format(
                free=size(tr, snapshot.disk_free_bytes), total=size(tr, snapshot.disk_total_bytes)
            )
            disk_tone = "error" if snapshot.disk_free_bytes < snapshot.disk_total_bytes * 0.05 else "normal"
        else:
            disk, disk_tone = tr(UNKNOWN), "warning"
        uptime = duration(tr, snapshot.app_uptime_s)
        if snapshot.system_uptime_s is not None:
            uptime = tr(UPTIME).format(app=uptime, system=duration(tr, snapshot.system_uptime_s))
        items = (
            ("dash.battery", tr(POWER), power, power_tone),
            ("dash.disk", tr(STORAGE), disk, disk_tone),
            ("dash.version", tr(FIRMWARE), snapshot.version, "normal"),
            ("dash.uptime", tr(RUNNING), uptime, "normal"),
        )
        pad_x, pad_y, gap = m.px(16), m.px(10), m.px(12)
        inner_w = area.width - 2 * pad_x
        small_h = kit.text.line_height(m.text_small)
        # Each item as wide as its words, the spare shared out. Short of room, each keeps its title's width
        # and the rest goes in proportion to what the values still want (they wrap).
        titles = [kit.text.width(title, m.text_small) + gap for _, title, _, _ in items]
        natural = [
            max(title_w, kit.text.width(value, m.text_small, True) + gap)
            for title_w, (_, _, value, _) in zip(titles, items, strict=True)
        ]
        spare = inner_w - sum(natural)
        if spare >= 0:
            widths = [need + spare // len(items) for need in natural]
        else:
            want = [need - title_w for need, title_w in zip(natural, titles, strict=True)]
            extra = max(0, inner_w - sum(titles))
            widths = [
                title_w + extra * w // max(1, sum(want)) for title_w, w in zip(titles, want, strict=True)
            ]
        children: list[Widget] = []
        x, bottom = area.x + pad_x, 0
        for (id, title, value, tone), share in zip(items, widths, strict=True):
            width = share - gap
            children.append(
                Label(
                    f"{id}.title", (x, 0, width, small_h), kit, title, role="small", tone="muted", shrink=True
                )
            )
            shown = text(id, kit, x, small_h, width, value, role="small", tone=tone, bold=True)
            children.append(shown)
            bottom = max(bottom, shown.rect.bottom)
            x += share
        height = bottom + 2 * pad_y
        top = area.bottom - height
        for child in children:
            child.rect.y += top + pad_y
        return Panel("dash.kiosk", (area.x, top, area.width, height), kit, children)
