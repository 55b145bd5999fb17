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
from ui.widgets import Button, Panel, Widget

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
        width = min(area.width, m.px(640))
        x = area.x
        y = area.y
        widgets: list[Widget] = []
        about = text(
            "network.about", kit, x, y, width, tr(ABOUT).format(url=self.mode.server_url or "\u2013")
        )
        widgets.append(about)
        y = about.rect.bottom + m.px(14)
        job = self.scene.job("probe")
        client = self.mode.client
        widgets.append(
            Button(
                "network.probe",
                (x, y, min(width, m.px(360)), m.px(64)),
                kit,
                tr(PROBE),
                self.probe,
                enabled=client is not None and not job.running,
            )
        )
        y += m.px(64) + m.px(16)
        if client is None:
            widgets.append(text("network.result", kit, x, y, width, tr(NO_SERVER), tone="error"))
            y = widgets[-1].rect.bottom + m.px(12)
        elif job.running:
            widgets.append(ProgressBar("network.progress", (x, y, width, m.px(38)), kit, None, tr(PROBING)))
            y += m.px(50)
        elif job.error is not None:
            widgets.append(
                text(
                    "network.result",
                    kit,
                    x,
                    y,
                    width,
                    tr(PROBE_FAILED).format(reason=job.error),
                    tone="error",
                )
            )
            y = widgets[-1].rect.bottom + m.px(12)
        elif job.result is not None:
            result = job.result
            words, tone = self.headline(result)
            pad = m.px(16)
            inner_w = width - 2 * pad
            children: list[Widget] = []
            cy = y + pad
            head = text(
                "network.result", kit, x + pad, cy, inner_w, words, role="button", tone=tone, bold=True
            )
            children.append(head)
            cy = head.rect.bottom + m.px(8)
            if result.latency_s is not None:
                latency = text(
                    "network.latency",
                    kit,
                    x + pad,
                    cy,
                    inner_w,
                    tr(LATENCY).format(ms=f"{result.latency_s * 1000:.0f}"),
                    role="small",
                )
                children.append(latency)
                cy = latency.rect.bottom + m.px(4)
            detail = text(
                "network.detail",
                kit,
                x + pad,
                cy,
                inner_w,
                tr(DETAIL).format(detail=result.message),
                role="small",
                tone="muted",
            )
            children.append(detail)
            cy = detail.rect.bottom + pad
            panel_tone = {"success": "success", "error": "error"}.get(tone, "warning")
            widgets.append(Panel("network.card", (x, y, width, cy - y), kit, children, tone=panel_tone))
            y = cy + m.px(12)
        readings = self.scene.readings
        sync = readings.snapshot.sync if readings is not None else None
        if sync is not None:
            label = text(
                "network.worker",
                kit,
                x,
                y,
                width,
                tr(WORKER).format(state=sync_state(tr, sync.state)),
                role="small",
                tone="muted",
            )
            widgets.append(label)
            if sync.last_error:
                widgets.append(
                    text(
                        "network.worker.error",
                        kit,
                        x,
                        label.rect.bottom + m.px(4),
                        width,
                        tr(WORKER_ERROR).format(error=sync.last_error),
                        role="small",
                        tone="muted",
                        max_lines=2,
                    )
                )
        return widgets
