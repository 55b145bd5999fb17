"""The last 24 hours: records waiting, records rejected and battery charge, from the metrics table.

The samples (:meth:`kiosk.maintenance.Metrics.last_24h`) are read on a worker thread when the page opens
and every minute while it is shown; "waiting" is pending plus being sent, the same count the citizen's status
bar shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future

import pygame

from kiosk.maintenance import AuditAction, MetricPoint
from kiosk.maintenance.metrics import BATTERY_PERCENT, DAY_S, QUEUE_PREFIX
from ui.maintenance.chart import ChartSeries, LineChart
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, text
from ui.maintenance.wording import clock_time
from ui.widgets import Label, Spinner, Widget

LABEL = M_("24 hours")
ABOUT = M_(
    "Records waiting to be sent and battery charge over the last 24 hours, one sample every {minutes} "
    "minutes. Gaps are times the kiosk was off."
)
WAITING = M_("Waiting to be sent")
REJECTED = M_("Rejected")
BATTERY = M_("Battery %")
RECORDS = M_("Records")
EMPTY = M_("No samples yet: the first appears a few minutes after the kiosk starts.")
READING = M_("Reading the samples…")
NOT_READ = M_("The samples cannot be read: {reason}")
NO_METRICS = M_("This kiosk keeps no samples.")

#: Seconds between two readings of the samples while the page is shown.
REREAD_S = 60.0


def summed(
    series: Mapping[str, Sequence[MetricPoint]], names: Sequence[str]
) -> tuple[tuple[float, float], ...]:
    """The sum of several series sampled together (same times), as (time, value) points."""
    totals: dict[float, float] = {}
    for name in names:
        for point in series.get(name, ()):
            totals[point.at] = totals.get(point.at, 0.0) + point.value
    return tuple(sorted(totals.items()))


class HistoryPage(Page):
    """The 24-hour chart (see the module docstring)."""

    key = "history"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.samples: dict[str, list[MetricPoint]] | None = None
        self.read_at: float | None = None
        self.problem = ""
        self._next_read: float | None = None

    def enter(self) -> None:
        self.scene.audit_view(AuditAction.VIEW_DASHBOARD, "24-hour chart")
        self.read()

    def leave(self) -> None:
        self._next_read = None

    def read(self) -> None:
        """Read the last 24 hours of samples on a worker thread."""
        metrics = self.mode.metrics
        if metrics is None:
            return
        now = self.mode.wall_clock()
        self._next_read = self.mode.clock() + REREAD_S
        self.scene.run(lambda: metrics.last_24h(now), lambda future: self._read_done(future, now))

    def _read_done(self, future: Future, now: float) -> None:
        try:
            self.samples = future.result()
            self.problem = ""
        except Exception as exc:  # noqa: BLE001 - shown on the page
            self.problem = str(exc)
        self.read_at = now
        self.changed()

    def update(self, now: float) -> None:
        if self._next_read is not None and now >= self._next_read:
            self.read()

    def next_deadline(self, now: float) -> float | None:
        return self._next_read

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        metrics = self.mode.metrics
        if metrics is None:
            return [text("history.none", kit, area.x, area.y, area.width, tr(NO_METRICS), tone="muted")]
        about = text(
            "history.about",
            kit,
            area.x,
            area.y,
            area.width,
            tr(ABOUT).format(minutes=f"{metrics.interval_s / 60:g}"),
            role="small",
            tone="muted",
            max_lines=2,
        )
        widgets: list[Widget] = [about]
        top = about.rect.bottom + m.px(10)
        if self.problem:
            widgets.append(
                text(
                    "history.error",
                    kit,
                    area.x,
                    top,
                    area.width,
                    tr(NOT_READ).format(reason=self.problem),
                    tone="error",
                )
            )
            return widgets
        if self.samples is None or self.read_at is None:
            widgets.append(
                Label(
                    "history.reading",
                    (area.x, top + m.px(40), area.width, m.px(40)),
                    kit,
                    tr(READING),
                    role="title",
                    align="center",
                )
            )
            widgets.append(Spinner("history.spinner", (area.x, top + m.px(90), area.width, m.px(40)), kit))
            return widgets
        samples = self.samples
        series = [
            ChartSeries(
                tr(WAITING),
                summed(samples, [QUEUE_PREFIX + "pending", QUEUE_PREFIX + "sending"]),
                "left",
                "primary",
            ),
            ChartSeries(tr(REJECTED), summed(samples, [QUEUE_PREFIX + "dead"]), "left", "error"),
            ChartSeries(
                tr(BATTERY),
                tuple((p.at, p.value) for p in samples.get(BATTERY_PERCENT, ())),
                "right",
                "success",
            ),
        ]
        widgets.append(
            LineChart(
                "history.chart",
                (area.x, top, area.width, area.bottom - top),
                kit,
                series,
                start=self.read_at - DAY_S,
                end=self.read_at,
                left_title=tr(RECORDS),
                right_title=tr(BATTERY),
                tick_label=clock_time,
                gap_s=metrics.interval_s * 2.5,
                empty_text=tr(EMPTY),
            )
        )
        return widgets
