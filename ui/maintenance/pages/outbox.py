"""The outbox: send the queue now, export it to a USB stick, and the records the server rejected.

"Send now" is one pass of :func:`kiosk.sync.sync_once` over the queue (oldest first, records the worker is
backing off included) with a progress bar; it runs beside the sync worker safely, since a record is claimed
by exactly one sender. "Export" writes every undelivered record, still sealed, into a signed bundle on the
stick (:func:`kiosk.usb_export.export_bundle`); nothing leaves the outbox. Rejected ("dead") records are
listed with the server's reason and can be put back in the queue one by one or all together. Every one of
these is a maintenance action, audited by the session.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pygame

from kiosk.maintenance import AuditAction
from kiosk.outbox import DEAD, META_LAST_SYNC, PENDING, SENDING, STATES, OutboxItem
from ui.maintenance.i18n import M_
from ui.maintenance.jobs import Job
from ui.maintenance.pages.base import Page, columns, text
from ui.maintenance.widgets import ProgressBar
from ui.maintenance.wording import ago, record_state
from ui.widgets import Button, Label, Panel, Stack, Widget

LABEL = M_("Outbox")
COUNTS = M_("{state}: {count}")
SEND = M_("Send the queue now")
SENDING_PROGRESS = M_("Sent {done} of {total}…")
SEND_STARTING = M_("Connecting to the server…")
SENT_ALL = M_("Done: {sent} sent, {dead} rejected.")
SENT_STOPPED = M_("Stopped after {sent} sent: {error}")
SEND_FAILED = M_("Sending failed: {reason}")
NOTHING_TO_SEND = M_("Nothing is waiting to be sent.")
NO_SERVER = M_("The server is not configured on this kiosk, so nothing can be sent from here.")
EXPORT = M_("Export to USB stick {name}")
NO_STICK = M_("No USB stick found. Plug one in and wait a few seconds.")
LOOK_AGAIN = M_("Look for USB sticks again")
EXPORTING = M_("Written {done} of {total}…")
EXPORT_STARTING = M_("Preparing the bundle…")
#: What to do first, the bundle's (long) file name last: where the card is short, only the name is cut.
EXPORTED = M_(
    "Exported. Take the stick to the office; the records stay here until the server confirms them. "
    "File: {file}"
)
EXPORT_FAILED = M_("The export failed: {reason}")
NOTHING_TO_EXPORT = M_("Nothing to export: every record was delivered.")
NO_KEY = M_("The kiosk's key cannot be read, so no bundle can be signed.")
REJECTED = M_("Rejected records")
NO_REJECTED = M_("No record was rejected.")
RETRY_ALL = M_("Retry all")
RETRY = M_("Retry")
RETRIED = M_("Put back in the queue: {count}")
RETRY_FAILED = M_("The records could not be put back: {reason}")
RECORD_LINE = M_("Record {record} \u00b7 {ago} \u00b7 attempts: {attempts}")
NO_REASON = M_("no reason given")
OLDER = M_("Older")
NEWER = M_("Newer")
NOT_READ = M_("The outbox cannot be read: {reason}")
ABOUT_EXPORT = M_(
    "Export copies the undelivered records, still sealed, to the stick. Nothing is deleted here."
)


class OutboxPage(Page):
    """The outbox page (see the module docstring)."""

    key = "outbox"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.sticks: list[Path] = []
        self.first_dead = 0
        self.notice = ""

    def enter(self) -> None:
        self.scene.audit_view(AuditAction.VIEW_DASHBOARD, "outbox")
        self.scene.refresh()
        self.look_for_sticks()

    def look_for_sticks(self) -> None:
        """List the mounted USB sticks again."""
        self.sticks = list(self.mode.usb_sticks())
        self.changed()

    # -- actions --------------------------------------------------------------------------------
    def send_now(self) -> None:
        """One pass over the queue, with progress (audited as "sync now")."""
        from kiosk.sync import sync_once

        mode = self.mode
        session, outbox, client = mode.session, mode.outbox, mode.client
        if client is None or outbox is None:
            return

        def work(progress) -> Any:
            with session.action(AuditAction.SYNC_NOW) as act:
                report = sync_once(outbox, client, progress, clock=mode.wall_clock)
                act.detail = f"{report.sent} sent, {report.dead} rejected" + (
                    f"; stopped: {report.error}" if report.error else ""
                )
            outbox.set_meta(
                META_LAST_SYNC,
                json.dumps(
                    {
                        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mode.wall_clock())),
                        "sent": report.sent,
                        "retried": report.retried,
                        "dead": report.dead,
                        "held": report.held,
                        "error": report.error,
                        "by": "maintenance",
                    }
                ),
            )
            if mode.sync is not None:
                mode.sync.wake()  # the worker's own view of the queue follows at once
            return report

        self.scene.start_job(self.scene.job("sync"), work)

    def export(self, stick: Path) -> None:
        """Write the undelivered records to a bundle on ``stick`` (audited as "export")."""
        mode = self.mode
        session, outbox, identity = mode.session, mode.outbox, mode.identity
        if outbox is None or identity is None:
            return
        self.scene.start_job(
            self.scene.job("export"),
            lambda progress: session.export_to_usb(
                outbox, identity, stick, kiosk_id=mode.kiosk_id, progress=progress
            ),
        )

    def retry(self, record_id: str | None) -> None:
        """Put one rejected record (or all, with None) back in the queue (audited)."""
        mode = self.mode
        session, outbox = mode.session, mode.outbox
        if outbox is None:
            return
        ids = None if record_id is None else [record_id]

        def work(progress) -> int:
            count = session.retry_dead(outbox, ids)
            if mode.sync is not None:
                mode.sync.wake()
            return count

        self.scene.start_job(self.scene.job("retry"), work)

    def page_dead(self, step: int) -> None:
        """Show older (+) or newer (-) rejected records."""
        self.first_dead = max(0, self.first_dead + step)
        self.changed()

    # -- widgets --------------------------------------------------------------------------------
    def build(self, area: pygame.Rect) -> list[Widget]:
        left, right = columns(area, self.kit, 0.5)
        return self._queue(left) + self._rejected(right)

    def _counts(self) -> dict[str, int]:
        readings = self.scene.readings
        return dict(readings.snapshot.records) if readings is not None else {}

    def _queue(self, area: pygame.Rect) -> list[Widget]:
        """The counts per state, "send now" with its progress, and the USB export with its progress."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        pad = m.px(14)
        inner = area.inflate(-2 * pad, -2 * pad)
        counts = self._counts()
        summary = " \u00b7 ".join(
            tr(COUNTS).format(state=record_state(tr, state), count=counts.get(state, "\u2013"))
            for state in STATES
        )
        # Buttons at the touch minimum and tight gaps: at 800 x 480 the card has room for little more.
        column = Stack(inner.x, inner.y, inner.width, gap=m.px(6))
        # Wrapped, not shrunk: four states in Indonesian do not fit one line at 800 x 480.
        counts_line = text("outbox.counts", kit, *column.slot(), summary, role="small", tone="muted")
        column.add(counts_line, gap=m.px(10))
        self._send_section(column, counts)
        column.space(m.px(6))
        self._export_section(column, counts, inner.bottom)
        return [Panel("outbox.queue", area, kit, column.widgets)]

    def _send_section(self, column: Stack, counts: dict[str, int]) -> None:
        """ "Send now" and what the last sending did."""
        waiting = counts.get(PENDING, 0) + counts.get(SENDING, 0)
        job = self.scene.job("sync")
        can_send = self.mode.client is not None and self.mode.outbox is not None
        send = Button(
            "outbox.send",
            column.rect(self.kit.metrics.touch_min),
            self.kit,
            self.tr(SEND),
            self.send_now,
            enabled=can_send and not job.running and (waiting > 0 or not counts),
        )
        column.add(send)
        self._job_line(column, job, self._send_text(job, can_send, waiting, counts))

    def _export_section(self, column: Stack, counts: dict[str, int], bottom: int) -> None:
        """The USB export: what it does, the sticks to export to (or why not), and its progress (its
        result cut, visibly, at ``bottom``)."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        undelivered = counts.get(PENDING, 0) + counts.get(SENDING, 0) + counts.get(DEAD, 0)
        job = self.scene.job("export")
        if job.state == "idle":
            # Once an export ran, its result says the same, and needs the room.
            column.add(
                text("outbox.export.about", kit, *column.slot(), tr(ABOUT_EXPORT), role="small", tone="muted")
            )
        if self.mode.identity is None:
            column.add(
                text("outbox.export.nokey", kit, *column.slot(), tr(NO_KEY), tone="error", role="small")
            )
        elif not self.sticks:
            column.add(
                text("outbox.export.nostick", kit, *column.slot(), tr(NO_STICK), role="small", tone="muted")
            )
            look = Button(
                "outbox.sticks",
                column.rect(m.touch_min),
                kit,
                tr(LOOK_AGAIN),
                self.look_for_sticks,
                style="secondary",
            )
            column.add(look)
        else:
            for index, stick in enumerate(self.sticks[:2]):
                export = Button(
                    f"outbox.export.{index}",
                    column.rect(m.touch_min),
                    kit,
                    tr(EXPORT).format(name=stick.name),
                    lambda stick=stick: self.export(stick),
                    enabled=not job.running and (undelivered > 0 or not counts),
                )
                column.add(export)
        nothing_left = counts and undelivered == 0 and job.state == "idle"
        if nothing_left and self.mode.identity is not None and self.sticks:
            words = tr(NOTHING_TO_EXPORT)
            column.add(
                text("outbox.export.result", kit, *column.slot(), words, role="small", tone="muted"),
                gap=m.px(4),
            )
        else:
            self._job_line(column, job, self._export_text(job), bottom)

    def _job_line(self, column: Stack, job: Job, words: tuple[str, str], bottom: int | None = None) -> None:
        """A progress bar while ``job`` runs, else its result in words (nothing when there is none), cut
        visibly at ``bottom`` (the card's end) when given."""
        kit, m = self.kit, self.kit.metrics
        caption, tone = words
        line_h = kit.text.line_height(m.text_small)
        if job.running:
            bar = ProgressBar(
                f"outbox.{job.name}.progress", column.rect(m.px(38)), kit, job.fraction, caption
            )
            column.add(bar, gap=m.px(4))
        elif caption:
            label = text(
                f"outbox.{job.name}.result",
                kit,
                *column.slot(),
                caption,
                role="small",
                tone=tone,
                max_lines=3 if bottom is None else max(1, min(4, (bottom - column.y) // line_h)),
            )
            column.add(label, gap=m.px(4))

    def _send_text(self, job: Job, can_send: bool, waiting: int, counts: dict) -> tuple[str, str]:
        tr = self.tr
        if job.running:
            if not job.total:
                return tr(SEND_STARTING), "normal"
            return tr(SENDING_PROGRESS).format(done=job.done, total=job.total), "normal"
        if job.error is not None:
            return tr(SEND_FAILED).format(reason=job.error), "error"
        report = job.result
        if report is not None:
            if report.error:
                return tr(SENT_STOPPED).format(sent=report.sent, error=report.error), "warning"
            return tr(SENT_ALL).format(sent=report.sent, dead=report.dead), "success"
        if not can_send:
            return tr(NO_SERVER), "muted"
        if counts and not waiting:
            return tr(NOTHING_TO_SEND), "muted"
        return "", "normal"

    def _export_text(self, job: Job) -> tuple[str, str]:
        tr = self.tr
        if job.running:
            if not job.total:
                return tr(EXPORT_STARTING), "normal"
            return tr(EXPORTING).format(done=job.done, total=job.total), "normal"
        if job.error is not None:
            return tr(EXPORT_FAILED).format(reason=job.error), "error"
        if job.result is not None:
            return tr(EXPORTED).format(file=Path(job.result).name), "success"
        return "", "normal"

    def _rejected(self, area: pygame.Rect) -> list[Widget]:
        """The records the server refused for good, a page of them at a time, each with "retry"."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        pad = m.px(14)
        inner = area.inflate(-2 * pad, -2 * pad)
        readings = self.scene.readings
        dead: tuple[OutboxItem, ...] = readings.dead if readings is not None else ()
        job = self.scene.job("retry")
        column = Stack(inner.x, inner.y, inner.width, gap=m.px(8))
        header = self._rejected_header(column.rect(m.touch), bool(dead) and not job.running)
        column.widgets += header
        column.space(m.touch + m.px(10))
        if job.state != "idle" and not job.running:
            words, tone = (
                (tr(RETRY_FAILED).format(reason=job.error), "error")
                if job.error is not None
                else (tr(RETRIED).format(count=job.result or 0), "success")
            )
            column.add(text("outbox.retry.result", kit, *column.slot(), words, role="small", tone=tone))
        if readings is not None and readings.dead_error:
            words = tr(NOT_READ).format(reason=readings.dead_error)
            column.add(text("outbox.rejected.error", kit, *column.slot(), words, tone="error", role="small"))
        elif not dead:
            column.add(text("outbox.rejected.none", kit, *column.slot(), tr(NO_REJECTED), tone="muted"))
        else:
            column.widgets += self._dead_page(inner, column.y, dead, job.running)
        return [Panel("outbox.rejected", area, kit, column.widgets)]

    def _rejected_header(self, row: pygame.Rect, can_retry: bool) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        retry_w = min(m.px(170), row.width // 2)
        return [
            Label(
                "outbox.rejected.title",
                (row.x, row.y, row.width - retry_w - m.gap, row.height),
                kit,
                tr(REJECTED),
                role="button",
                bold=True,
                valign="middle",
                shrink=True,
            ),
            Button(
                "outbox.retry_all",
                (row.right - retry_w, row.y, retry_w, row.height),
                kit,
                tr(RETRY_ALL),
                lambda: self.retry(None),
                style="secondary",
                enabled=can_retry,
            ),
        ]

    def _dead_page(
        self, inner: pygame.Rect, y: int, dead: tuple[OutboxItem, ...], busy: bool
    ) -> list[Widget]:
        """As many refused records as fit from ``y`` down, and the pager when they do not all fit."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        row_h = 2 * m.px(10) + 3 * kit.text.line_height(m.text_small) + m.px(2)
        pager_h = m.touch
        step = row_h + m.px(8)
        fits = max(1, (inner.bottom - y + m.px(8)) // step)
        if len(dead) > fits:  # the pager takes the last row's place
            fits = max(1, (inner.bottom - y - pager_h) // step)
        self.first_dead = min(self.first_dead, max(0, len(dead) - fits))
        now = self.mode.wall_clock()
        rows = Stack(inner.x, y, inner.width, gap=m.px(8))
        widgets: list[Widget] = []
        for item in dead[self.first_dead : self.first_dead + fits]:
            widgets += self._dead_row(item, rows.rect(row_h), now, busy)
            rows.space(step)
        if len(dead) <= fits:
            return widgets
        half = (inner.width - m.gap) // 2
        pager = (
            ("outbox.rejected.newer", inner.x, NEWER, -fits, self.first_dead > 0),
            ("outbox.rejected.older", inner.right - half, OLDER, fits, self.first_dead + fits < len(dead)),
        )
        for id, x, label, delta, enabled in pager:
            widgets.append(
                Button(
                    id,
                    (x, inner.bottom - pager_h, half, pager_h),
                    kit,
                    tr(label),
                    lambda delta=delta: self.page_dead(delta),
                    style="secondary",
                    enabled=enabled,
                )
            )
        return widgets

    def _dead_row(self, item: OutboxItem, rect: pygame.Rect, now: float, busy: bool) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        retry_w = m.px(110)
        pad = m.px(10)
        inner = pygame.Rect(rect.x + pad, rect.y + pad, rect.width - retry_w - 3 * pad, rect.height - 2 * pad)
        line_h = kit.text.line_height(m.text_small)
        # The record id is a random UUID, not personal data; its first block is enough to find it in the CLI.
        line = tr(RECORD_LINE).format(
            record=item.record_id[:8], ago=ago(tr, item.created, now), attempts=item.attempts
        )
        children: list[Widget] = [
            Label(
                f"outbox.dead.{item.record_id}",
                (inner.x, inner.y, inner.width, line_h),
                kit,
                line,
                role="small",
                tone="muted",
                shrink=True,
            ),
            text(
                f"outbox.dead.{item.record_id}.reason",
                kit,
                inner.x,
                inner.y + line_h + m.px(2),
                inner.width,
                item.last_error or tr(NO_REASON),
                role="small",
                tone="error",
                max_lines=2,
            ),
            Button(
                f"outbox.retry.{item.record_id}",
                (rect.right - retry_w - pad, rect.centery - m.touch // 2, retry_w, m.touch),
                kit,
                tr(RETRY),
                lambda: self.retry(item.record_id),
                style="secondary",
                enabled=not busy,
            ),
        ]
        return [Panel(f"outbox.dead.{item.record_id}.row", rect, kit, children, tone="flat")]
