"""One delivery pass over the outbox: claim, send, classify, store; and :func:`sync_once` for the CLI.

:class:`Courier` posts records oldest first and stores what became of each one in ONE place
(:meth:`Courier._dispatch`, a ``match`` on the :class:`~kiosk.sync.client.Outcome`). A pass ends when
nothing claimable is left, on a credentials rejection (``hold``: the whole queue waits, the record is not at
fault), when the server asked everyone to wait (``Retry-After``, or a foreign answer that stands in front of
every record), or after :data:`STOP_AFTER_FAILURES` records in a row failed (it is the path to the server,
not the records).

No head-of-line blocking: a record that fails on its own is given its own next attempt by the caller's
``schedule`` and the pass goes on with the next one, so an oversized, malformed or server-crashing record
never holds the records behind it. Records the caller still has backing off are passed in ``exclude`` and
are not claimed.

Exactly once: a record leaves the outbox (``sent``) only on the service's signed receipt. A lost answer, a
crash or a power cut between the server's commit and ``mark_sent`` just means the record is posted again
with the same ``Idempotency-Key``, and the server answers 200 with the original receipt.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import random
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from kiosk.outbox import Outbox, OutboxItem
from kiosk.sync.client import Delivery, IngestClient, Outcome

log = logging.getLogger("kiosk.sync")

#: Records claimed ahead, and receipts stored, per outbox transaction while draining.
BATCH = 16
#: A pass stops after this many records in a row failed: then it is the network or the server, not them.
STOP_AFTER_FAILURES = 2

#: The outcome for a stored blob that no longer matches its hash: sending it would only earn a 400.
DAMAGED = Delivery(Outcome.DEAD, None, reason="the stored record is damaged (its checksum does not match)")

#: ``schedule(item, delivery)`` -> seconds until the failed record may be tried again.
Schedule = Callable[[OutboxItem, Delivery], float]


@dataclass
class PassResult:
    """What one :meth:`Courier.run` did.

    Attributes:
        sent: records delivered (signed receipt stored).
        dead: ``(record id, delivery)`` of records rejected for good (dead-lettered).
        retried: ``(record id, delivery, delay)`` of records that failed and wait ``delay`` seconds.
        held: the server rejected the kiosk's credentials; the pass stopped, the record went back untouched.
        stopped: the failure that ended the pass early (hold, Retry-After, failures in a row), if one did.
        alerts: reasons a technician must look at (unverifiable receipts, middlebox answers), in order.
    """

    sent: int = 0
    dead: list[tuple[str, Delivery]] = field(default_factory=list)
    retried: list[tuple[str, Delivery, float]] = field(default_factory=list)
    held: bool = False
    stopped: Delivery | None = None
    alerts: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        """Records that got an answer (or a failure) in this pass."""
        return self.sent + len(self.dead) + len(self.retried) + (1 if self.held else 0)

    @property
    def last_error(self) -> str | None:
        """Why the pass stopped, else why the last failed record failed, else None."""
        if self.stopped is not None:
            return self.stopped.reason
        return self.retried[-1][1].reason if self.retried else None


@dataclass(frozen=True)
class SyncReport:
    """The result of one :func:`sync_once` pass."""

    sent: int
    retried: int
    dead: int
    held: bool
    error: str | None


class Courier:
    """Posts records one after the other, oldest first, with the outbox's disk work off the wire's time.

    Every outbox change is an fsynced SQLite commit, which on an SD card can take longer than a whole request.
    So a helper thread claims records :data:`BATCH` at a time (one commit) while earlier ones are on the wire,
    and the receipts of sent records are stored :data:`BATCH` at a time (one commit). Neither commit needs to
    be individually durable for exactly-once delivery: a claim lost to a crash goes back to pending on the
    next start, a lost receipt means one re-post that the server answers 200 with the original receipt.
    When :meth:`run` returns, everything is stored and the records claimed ahead are back in the queue.

    Args:
        outbox: the kiosk's outbox.
        client: the ingest client.
        schedule: seconds until a failed record may be tried again (the caller's backoff policy).
        clock: the outbox's wall clock, for the next attempt time stored with a failed record (shown by
            ``kiosk outbox list``; the worker schedules on its own monotonic clock).
        due_only: claim only records whose stored next attempt has come (False: every pending record).
    """

    def __init__(
        self,
        outbox: Outbox,
        client: IngestClient,
        *,
        schedule: Schedule,
        clock: Callable[[], float] = time.time,
        due_only: bool = False,
    ) -> None:
        self._outbox = outbox
        self._client = client
        self._schedule = schedule
        self._clock = clock
        self._due_only = due_only
        # Receipts waiting for one batched commit, and outbox writes queued on the disk thread (per pass).
        self._receipts: list[tuple[str, str]] = []
        self._writes: collections.deque[Future[None]] = collections.deque()

    def run(
        self,
        *,
        exclude: Collection[str] = (),
        should_stop: Callable[[], bool] = lambda: False,
        on_step: Callable[[PassResult], None] | None = None,
    ) -> PassResult:
        """Deliver until nothing claimable is left or the pass must stop (see the module docstring).

        Args:
            exclude: record ids not to claim (backing off).
            should_stop: True when the caller is stopping: a request cut short then counts no attempt.
            on_step: called after each record with the result so far (progress, status).
        """
        result = PassResult()
        skip = set(exclude)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-io") as disk:
            ready: collections.deque[tuple[OutboxItem, bool]] = collections.deque()
            refill: Future[list[tuple[OutboxItem, bool]]] | None = disk.submit(self._take, frozenset(skip))
            self._receipts, self._writes = [], collections.deque()
            in_a_row = 0
            try:
                while True:
                    if not ready:
                        batch = refill.result() if refill is not None else []
                        refill = None
                        if not batch:
                            break
                        ready.extend(batch)
                    if refill is None and len(ready) <= BATCH // 2:
                        refill = disk.submit(self._take, frozenset(skip))
                    item, intact = ready.popleft()
                    delivery = self._post(item) if intact else DAMAGED
                    if should_stop() and delivery.outcome is Outcome.RETRY:
                        # Cut short by the caller's stop: not the server's fault, no attempt counted.
                        self._writes.append(disk.submit(self._outbox.release, item.record_id))
                        break
                    go_on = self._dispatch(disk, item, delivery, result)
                    in_a_row = in_a_row + 1 if delivery.outcome is Outcome.RETRY else 0
                    skip.add(item.record_id)
                    while self._writes and self._writes[0].done():
                        self._writes.popleft().result()  # a storage error surfaces here, not at the end
                    if on_step is not None:
                        on_step(result)
                    if in_a_row >= STOP_AFTER_FAILURES and result.stopped is None:
                        result.stopped = delivery
                    if not go_on or result.stopped is not None or should_stop():
                        break
            finally:
                if refill is not None:
                    ready.extend(refill.result())
                for item, _intact in ready:
                    self._outbox.release(item.record_id)
                self._outbox.mark_sent_many(self._receipts)
                for write in self._writes:
                    write.result()
        return result

    def _dispatch(
        self, disk: ThreadPoolExecutor, item: OutboxItem, delivery: Delivery, result: PassResult
    ) -> bool:
        """Store what became of one attempt and note it in ``result``; False ends the pass at once."""
        if delivery.alert:
            result.alerts.append(delivery.reason)
        match delivery.outcome:
            case Outcome.SENT:
                result.sent += 1
                self._receipts.append((item.record_id, delivery.receipt or ""))
                if len(self._receipts) >= BATCH:
                    self._writes.append(disk.submit(self._outbox.mark_sent_many, self._receipts))
                    self._receipts = []
                return True
            case Outcome.DEAD:
                log.error("record %s rejected for good: %s", item.record_id, delivery.reason)
                result.dead.append((item.record_id, delivery))
                self._writes.append(disk.submit(self._outbox.mark_dead, item.record_id, delivery.reason))
                return True
            case Outcome.HOLD:
                result.held, result.stopped = True, delivery
                self._writes.append(disk.submit(self._outbox.release, item.record_id))
                return False
            case Outcome.RETRY:
                delay = self._schedule(item, delivery)
                result.retried.append((item.record_id, delivery, delay))
                log.warning(
                    "record %s not delivered (%s); next try in %.1f s", item.record_id, delivery.reason, delay
                )
                self._writes.append(
                    disk.submit(
                        self._outbox.mark_retry, item.record_id, delivery.reason, self._clock() + delay
                    )
                )
                if delivery.retry_after is not None:
                    # The server (or whatever answers for it) asked everyone to wait, not just this record.
                    result.stopped = delivery
                return delivery.retry_after is None
        raise AssertionError(f"unhandled outcome {delivery.outcome!r}")

    def _post(self, item: OutboxItem) -> Delivery:
        try:
            return self._client.post_record(item)
        except Exception as exc:  # a bug must not strand the record in `sending`: it is tried again later
            log.exception("delivering record %s failed unexpectedly", item.record_id)
            return Delivery(
                Outcome.RETRY, None, reason=f"internal error while sending ({exc.__class__.__name__})"
            )

    def _take(self, exclude: frozenset[str]) -> list[tuple[OutboxItem, bool]]:
        """The next records, each with whether its blob still matches its hash (checked off the wire)."""
        items = self._outbox.claim_batch(BATCH, due_only=self._due_only, exclude=exclude)
        return [
            (item, item.blob is not None and hashlib.sha256(item.blob).hexdigest() == item.sha256)
            for item in items
        ]


def full_jitter_backoff(failures: int, initial: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after ``failures`` consecutive failures: uniform in [0, min(cap, initial * 2^(n-1))].

    "Full jitter" (AWS architecture blog): many kiosks coming back after the same outage do not all retry at
    the same instant.
    """
    ceiling = min(cap, initial * 2 ** min(max(failures - 1, 0), 62))
    return rng.uniform(0.0, ceiling)


def sync_once(
    outbox: Outbox,
    client: IngestClient,
    progress: Callable[[int, int], None] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> SyncReport:
    """Try every pending record now, oldest first, until the queue is worked through or the server stops us.

    Used by ``kiosk outbox sync`` and the maintenance screen's "sync now". Records the worker is backing
    off are tried too. A record that fails is put back (with the server's Retry-After as its next attempt, if
    any) and the pass goes on with the next one; it stops on a credentials rejection (the record goes back
    untouched and the report says ``held``), on a Retry-After, or after records failed in a row.

    Args:
        outbox: the kiosk's outbox.
        client: the ingest client.
        progress: called as ``progress(done, total)`` after each record delivered or dead-lettered
            (``total`` = pending at the start).
        clock: the outbox's clock, for the next attempt time of a record that failed.
    """
    total = outbox.counts()["pending"]
    reported = 0

    def step(result: PassResult) -> None:
        nonlocal reported
        finished = result.sent + len(result.dead)
        if progress is not None and finished > reported:
            reported = finished
            progress(finished, max(total, finished))

    courier = Courier(
        outbox, client, schedule=lambda _item, delivery: delivery.retry_after or 0.0, clock=clock
    )
    result = courier.run(on_step=step)
    error = result.last_error if (result.stopped or result.retried) else None
    return SyncReport(result.sent, len(result.retried), len(result.dead), result.held, error)
