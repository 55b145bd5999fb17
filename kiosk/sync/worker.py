"""The sync worker: delivers the outbox in the background for the life of the kiosk.

:class:`SyncWorker` runs one :class:`~kiosk.sync.courier.Courier` pass after another on its own thread:
woken on enqueue (:meth:`SyncWorker.wake`), by the technician (:meth:`SyncWorker.sync_now`) and by its
timer. It sends heartbeats and purges sent records after the retention period. The UI only ever calls
:meth:`~SyncWorker.wake` and :meth:`~SyncWorker.status`, which never block on the network or the database.

Backoff, per record: a record that fails waits on its own (exponential backoff with full jitter over its own
attempts, capped, or the server's Retry-After) while the records behind it flow. When the pass stops because
the path to the server is broken (records failing in a row, a Retry-After, a middlebox's answer), the whole
queue also waits, on a backoff over the failed passes in a row. On 401/403 the queue is held and
:class:`~kiosk.events.CredentialsRejected` is posted; the records are not at fault and stay pending.

Monotonic scheduling: a Pi has no real-time clock, and its wall clock jumps (fake-hwclock at boot, NTP
later, days either way). Every wait (record backoff, queue backoff, hold, heartbeat and purge timers) is
kept in memory against a monotonic clock, never compared with the wall clock. The wall-clock
``next_attempt`` the outbox stores beside a failed record is for people (``kiosk outbox list``) and other
tools; the worker ignores it. On start (re-base) every pending record is due: a restart costs at most one
early attempt per record, and a next attempt written under a wrong clock can never delay a record.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hal.events import EventQueue
from kiosk.config import SyncSettings
from kiosk.events import CredentialsRejected, DeliveryAlert, RecordRejected, SyncStatusChanged
from kiosk.outbox import META_LAST_SYNC, Outbox, OutboxError, OutboxItem
from kiosk.storage import utc_rfc3339
from kiosk.sync.client import Delivery, IngestClient
from kiosk.sync.courier import Courier, PassResult, full_jitter_backoff

log = logging.getLogger("kiosk.sync")

#: Sent records are purged at most this often.
PURGE_INTERVAL_S = 3600.0
#: A wait with less than this left is over (a timer that wakes a hair early must not sleep again for nothing).
_SLACK_S = 0.001


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of the sync worker for the status bar and the maintenance screen.

    Attributes:
        state: ``idle``, ``sending``, ``waiting`` (records backing off), ``held`` (credentials rejected) or
            ``stopped``.
        counts: records per outbox state (as of the last refresh, made by the worker thread).
        oldest_pending_age_s: age of the oldest undelivered record, if any.
        last_error: why the last attempt failed, if it did.
        last_sent_at: when a record was last delivered (kiosk clock), if ever.
        next_attempt_at: when the worker tries next after a failure or hold (kiosk wall clock at the time of
            the snapshot plus the monotonic wait), if waiting.
        alert: the last thing a technician must look at (a middlebox answering for the service, an
            unverifiable receipt), if any since the last delivery.
    """

    state: str = "stopped"
    counts: Mapping[str, int] = field(default_factory=dict)
    oldest_pending_age_s: float | None = None
    last_error: str | None = None
    last_sent_at: float | None = None
    next_attempt_at: float | None = None
    alert: str | None = None

    @property
    def pending(self) -> int:
        """Records not yet delivered (pending + being sent)."""
        return self.counts.get("pending", 0) + self.counts.get("sending", 0)


class SyncWorker:
    """Delivers the outbox in the background (see the module docstring).

    Args:
        outbox: the kiosk's outbox (thread-safe).
        client: the ingest client.
        settings: backoff, poll, heartbeat and retention settings (``[sync]``).
        events: where to post :class:`~kiosk.events.SyncStatusChanged`,
            :class:`~kiosk.events.CredentialsRejected`, :class:`~kiosk.events.RecordRejected` and
            :class:`~kiosk.events.DeliveryAlert`; None = nowhere.
        clock: seconds since the epoch (the outbox's clock): for status times and stored next attempts only.
        rng: randomness for the backoff jitter; tests inject a seeded one.
        heartbeat: returns the health snapshot to send (devices, battery ...); called on the worker's thread,
            so it must be thread-safe and quick. None = no heartbeats.
        monotonic: the clock every wait is scheduled on (never jumps); tests inject a fake one and call
            :meth:`wake`.
        on_heartbeat_answer: given the office's answer to each heartbeat it stored (the service notices in
            force, :meth:`kiosk.service_notices.ServiceNotices.update`); called on the worker's thread.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: IngestClient,
        *,
        settings: SyncSettings,
        events: EventQueue | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        heartbeat: Callable[[], Mapping[str, Any]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_heartbeat_answer: Callable[[Mapping[str, Any]], object] | None = None,
    ) -> None:
        self._outbox = outbox
        self._on_heartbeat_answer = on_heartbeat_answer
        self._client = client
        self._settings = settings
        self._events = events
        self._clock = clock
        self._mono = monotonic
        self._rng = rng or random.Random()
        self._heartbeat = heartbeat
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = SyncStatus()
        # Scheduling state, all on the monotonic clock (module docstring).
        self._due: dict[str, float] = {}
        self._failed_passes = 0
        self._blocked_until = float("-inf")
        self._held = False
        self._try_all = False
        self._next_heartbeat = float("-inf")
        self._next_purge = float("-inf")
        self._published = float("-inf")
        self._last_error: str | None = None
        self._last_alert: str | None = None
        self._last_sent_at: float | None = None

    # -- control (any thread) --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (once)."""
        if self._thread is not None:
            raise RuntimeError("the sync worker is already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread: a request in flight is cut short and its record stays pending. Idempotent."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + timeout
        # Abort again until the thread is out: a request may start between the flag and the first abort.
        while thread.is_alive() and (left := deadline - time.monotonic()) > 0:
            self._client.abort()
            thread.join(min(left, 0.05))
        if thread.is_alive():
            log.warning("the sync worker did not stop within %.1f s", timeout)

    def wake(self) -> None:
        """Look at the queue now (a record was enqueued); running backoffs and a hold are respected."""
        self._wake.set()

    def sync_now(self) -> None:
        """The technician asked: end every backoff and the hold wait, and try every pending record now."""
        with self._lock:
            self._blocked_until = float("-inf")
            self._failed_passes = 0
            self._try_all = True
        self._wake.set()

    def status(self) -> SyncStatus:
        """The latest snapshot (made by the worker thread; this never touches the network or the disk)."""
        with self._lock:
            return self._status

    # -- the thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        self._publish("idle")
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                wait = self._pass()
            except OutboxError as exc:
                # Storage trouble is the technician's (the status says it); the worker keeps trying slowly.
                log.error("sync: %s", exc)
                self._last_error = str(exc)
                self._publish("waiting" if self._due else "idle")
                wait = self._settings.poll_interval_s
            # The worker thread must outlive any bug; the records stay safe in the outbox meanwhile.
            except Exception as exc:
                log.exception("sync pass failed")
                self._last_error = f"internal error ({exc.__class__.__name__}); see the log"
                wait = self._settings.poll_interval_s
            self._wake.wait(max(0.0, min(wait, self._settings.poll_interval_s)))
        self._publish("stopped")

    def _pass(self) -> float:
        """One look at the queue; returns how long (monotonic seconds) to sleep unless woken."""
        now = self._mono()
        with self._lock:
            blocked_until, try_all = self._blocked_until, self._try_all
            self._try_all = False
        if try_all:
            self._due.clear()
        if now >= self._next_purge:
            self._next_purge = now + PURGE_INTERVAL_S
            self._outbox.purge_sent(self._settings.retention_days * 86400.0)
        # Rows a crashed `kiosk outbox sync` left in `sending` (never rows of a live process).
        self._outbox.recover_interrupted()
        if now + _SLACK_S < blocked_until:
            self._publish("held" if self._held else "waiting", blocked_until)
            return blocked_until - now
        self._send_heartbeat(now)
        self._due = {record_id: due for record_id, due in self._due.items() if due > now + _SLACK_S}
        self._published = time.monotonic()
        self._publish("sending")
        courier = Courier(self._outbox, self._client, schedule=self._schedule, clock=self._clock)
        result = courier.run(
            exclude=self._due.keys(), should_stop=self._stopping.is_set, on_step=self._on_step
        )
        return self._after(result)

    def _schedule(self, item: OutboxItem, delivery: Delivery) -> float:
        """A failed record's own wait: the server's Retry-After, else backoff over its own attempts."""
        if delivery.retry_after is not None:
            delay = delivery.retry_after
        else:
            settings = self._settings
            delay = full_jitter_backoff(
                item.attempts + 1, settings.backoff_initial_s, settings.backoff_max_s, self._rng
            )
        self._due[item.record_id] = self._mono() + delay
        return delay

    def _on_step(self, result: PassResult) -> None:
        """After each record: a fresh status at most once a second while a long queue drains."""
        if result.sent:
            self._last_sent_at = self._clock()
        if time.monotonic() - self._published > 1.0:
            self._published = time.monotonic()
            self._publish("sending")

    def _after(self, result: PassResult) -> float:
        """Take in a finished pass: events, hold or queue backoff, the status; returns the wait."""
        now = self._mono()
        for record_id, delivery in result.dead:
            self._post(RecordRejected(record_id=record_id, status=delivery.status, reason=delivery.reason))
        if result.sent:
            with self._lock:
                self._failed_passes, self._held = 0, False
            self._last_error = self._last_alert = None
        if result.alerts and result.alerts[-1] != self._last_alert:
            self._last_alert = result.alerts[-1]
            log.error("sync alert: %s", self._last_alert)
            self._post(DeliveryAlert(reason=self._last_alert))
        if result.last_error is not None:
            self._last_error = result.last_error
        self._remember(result)
        if result.stopped is not None:
            self._block(result, now)
        with self._lock:
            blocked_until = self._blocked_until
        if now + _SLACK_S < blocked_until:
            self._publish("held" if self._held else "waiting", blocked_until)
            return blocked_until - now
        if self._due and self._outbox.counts()["pending"]:
            due = min(self._due.values())
            self._publish("waiting", due)
            return due - now
        self._due.clear()
        self._publish("idle")
        return self._settings.poll_interval_s

    def _block(self, result: PassResult, now: float) -> None:
        """The pass stopped on the path to the server: the whole queue waits (held on 401/403)."""
        stopped = result.stopped
        assert stopped is not None
        if result.held:
            log.error("sync held: %s", stopped.reason)
            with self._lock:
                newly_held, self._held = not self._held, True
                self._blocked_until = now + self._settings.poll_interval_s
            if newly_held:
                self._post(CredentialsRejected(status=stopped.status or 0, reason=stopped.reason))
            return
        with self._lock:
            self._failed_passes += 1
            if stopped.retry_after is not None:
                delay = stopped.retry_after
            else:
                settings = self._settings
                delay = full_jitter_backoff(
                    self._failed_passes, settings.backoff_initial_s, settings.backoff_max_s, self._rng
                )
            self._blocked_until = now + delay

    def _remember(self, result: PassResult) -> None:
        """Note this pass's result in the outbox (``kiosk outbox status`` shows it), if it tried anything."""
        if not result.tried:
            return
        summary = {
            "at": utc_rfc3339(self._clock()),
            "sent": result.sent,
            "retried": len(result.retried),
            "dead": len(result.dead),
            "held": result.held,
            "error": result.last_error if (result.stopped or result.retried) else None,
            "by": "worker",
        }
        self._outbox.set_meta(META_LAST_SYNC, json.dumps(summary))

    def _send_heartbeat(self, now: float) -> None:
        if self._heartbeat is None or now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self._settings.heartbeat_interval_s
        try:
            snapshot = dict(self._heartbeat())
        except Exception:  # a broken snapshot must not stop deliveries
            log.exception("the heartbeat snapshot failed")
            return
        room = self._outbox.room()
        snapshot["outbox"] = {
            "counts": self._outbox.counts(),
            "oldest_pending_age_s": self._outbox.oldest_pending_age(),
            # The office sees a kiosk that turns citizens away for lack of room before anyone complains.
            "accepts_new_session": room.accepts_new_session,
            "full_reason": room.reason or None,
            "used_bytes": room.used_bytes,
            "limit_bytes": room.limit_bytes,
            "free_bytes": room.free_bytes,
        }
        answer = self._client.heartbeat(snapshot)
        if answer is not None and self._on_heartbeat_answer is not None:
            try:
                self._on_heartbeat_answer(answer)
            except Exception:  # the office's answer must never stop deliveries
                log.exception("the office's heartbeat answer could not be taken")

    def _publish(self, state: str, next_due: float | None = None) -> None:
        """Refresh the status snapshot (worker thread only); post it when something a person sees changed.

        Args:
            state: the worker's state.
            next_due: when (monotonic) the worker tries next, when waiting or held.
        """
        try:
            counts = self._outbox.counts()
            oldest = self._outbox.oldest_pending_age()
        except OutboxError as exc:
            counts, oldest = dict(self._status.counts), self._status.oldest_pending_age_s
            self._last_error = str(exc)
        next_at = None if next_due is None else self._clock() + (next_due - self._mono())
        status = SyncStatus(
            state=state,
            counts=counts,
            oldest_pending_age_s=oldest,
            last_error=self._last_error,
            last_sent_at=self._last_sent_at,
            next_attempt_at=next_at,
            alert=self._last_alert,
        )
        with self._lock:
            previous, self._status = self._status, status
        seen = (status.state, status.pending, status.counts.get("dead", 0), status.last_error)
        before = (previous.state, previous.pending, previous.counts.get("dead", 0), previous.last_error)
        if seen != before:
            self._post(
                SyncStatusChanged(
                    state=state,
                    pending=status.pending,
                    dead=status.counts.get("dead", 0),
                    detail=status.last_error or "",
                )
            )

    def _post(self, event: Any) -> None:
        if self._events is not None:
            self._events.post(event)
