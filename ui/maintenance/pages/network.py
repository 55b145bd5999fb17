"""The network probe: can this kiosk reach its server, and does the server accept it? In plain words.

The probe is the server's health check with this kiosk's credentials (:meth:`kiosk.sync.IngestClient.probe`),
run on a worker thread and audited with its result. The headline says what was found and what to do, in
the technician's language; the client's own sentence (which names the exact cause) is shown under it.
"""

from __future__ import annotations

from typing import Any

import pygame

from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, text
from ui.maintenance.widgets import ProgressBar
from ui.maintenance.wording import sync_state
from ui.widgets import Button, Panel, Stack, Widget

LABEL = M_("Network")
ABOUT = M_("Checks that this kiosk can reach the registry server at {url} and that the server accepts it.")
PROBE = M_("Test the connection")
PROBING = M_("Asking the server…")
GOOD = M_("The server can be reached and accepts this kiosk.")
REJECTED = M_(
    "The server can be reached, but it refuses this kiosk's credentials. Enrol the kiosk again or "
    "fix its token."
)
UNCHECKED = M_("The server can be reached; this kiosk's credentials were not checked.")
UNREACHABLE = M_(
    "The server cannot be reached. Records stay safely on this kiosk and are sent when the "
    "connection returns."
)
ANSWERED = M_("The server answered, but not as expected. Check the server address in the configuration.")
LATENCY = M_("Answer time: {ms} ms")
DETAIL = M_("Details: {detail}")
PROBE_FAILED = M_("The test could not run: {reason}")
NO_SERVER = M_("The server is not configured on this kiosk.")
WORKER = M_("Automatic delivery: {state}")
WORKER_ERROR = M_("Its last problem: {error}")


class NetworkPage(Page):
    """The network probe page (see the module docstring)."""

    key = "network"
    label = LABEL

    def probe(self) -> None:
        """Ask the server's health check (audited with the result)."""
        session, client = self.mode.session, self.mode.client
        if client is None:
            return
        self.scene.start_job(self.scene.job("probe"), lambda progress: session.probe_network(client))

    def headline(self, result: Any) -> tuple[str, str]:
        """The plain-language verdict on a :class:`kiosk.sync.ProbeResult`, and its tone."""
        tr = self.tr
        if not result.reachable:
            if result.status is not None:
                return tr(ANSWERED), "warning"
            return tr(UNREACHABLE), "error"
        if result.credentials == "accepted":
            return tr(GOOD), "success"
        if result.credentials == "rejected":
            return tr(REJECTED), "error"
        return tr(UNCHECKED), "warning"

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        column = Stack(area.x, area.y, min(area.width, m.px(640)), gap=m.px(12))
        about = tr(ABOUT).format(url=self.mode.server_url or "\u2013")
        column.add(text("network.about", kit, *column.slot(), about), gap=m.px(14))
        job = self.scene.job("probe")
        client = self.mode.client
        probe = Button(
            "network.probe",
            column.rect(m.px(64), width=min(column.width, m.px(360))),
            kit,
            tr(PROBE),
            self.probe,
            enabled=client is not None and not job.running,
        )
        column.add(probe, gap=m.px(16))
        if client is None:
            column.add(text("network.result", kit, *column.slot(), tr(NO_SERVER), tone="error"))
        elif job.running:
            column.add(ProgressBar("network.progress", column.rect(m.px(38)), kit, None, tr(PROBING)))
        elif job.error is not None:
            words = tr(PROBE_FAILED).format(reason=job.error)
            column.add(text("network.result", kit, *column.slot(), words, tone="error"))
        elif job.result is not None:
            column.add(self._result_card(column, job.result))
        self._worker_lines(column, area.bottom)
        return column.widgets

    def _result_card(self, column: Stack, result) -> Panel:
        """The probe's answer: the headline, the round trip and the detail, in a card of its tone."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        words, tone = self.headline(result)
        pad = m.px(16)
        inside = Stack(column.x + pad, column.y + pad, column.width - 2 * pad, gap=m.px(4))
        inside.add(
            text("network.result", kit, *inside.slot(), words, role="button", tone=tone, bold=True),
            gap=m.px(8),
        )
        if result.latency_s is not None:
            latency = tr(LATENCY).format(ms=f"{result.latency_s * 1000:.0f}")
            inside.add(text("network.latency", kit, *inside.slot(), latency, role="small"))
        detail = tr(DETAIL).format(detail=result.message)
        inside.add(text("network.detail", kit, *inside.slot(), detail, role="small", tone="muted"))
        height = inside.bottom + pad - column.y
        panel_tone = {"success": "success", "error": "error"}.get(tone, "warning")
        return Panel("network.card", column.rect(height), kit, inside.widgets, tone=panel_tone)

    def _worker_lines(self, column: Stack, bottom: int) -> None:
        """What the sync worker last said, under the probe's answer (its last problem cut, visibly, at
        ``bottom``, where the page ends)."""
        kit, tr = self.kit, self.tr
        readings = self.scene.readings
        sync = readings.snapshot.sync if readings is not None else None
        if sync is None:
            return
        words = tr(WORKER).format(state=sync_state(tr, sync.state))
        column.add(
            text("network.worker", kit, *column.slot(), words, role="small", tone="muted"),
            gap=self.kit.metrics.px(4),
        )
        if sync.last_error:
            error = tr(WORKER_ERROR).format(error=sync.last_error)
            room = (bottom - column.y) // kit.text.line_height(kit.metrics.text_small)
            column.add(
                text(
                    "network.worker.error",
                    kit,
                    *column.slot(),
                    error,
                    role="small",
                    tone="muted",
                    max_lines=max(1, min(3, room)),
                )
            )
