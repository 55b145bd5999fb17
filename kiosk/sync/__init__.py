"""Delivering the outbox to the registry's ingest server: exactly once, whatever the network does.

Split by job:

- :mod:`kiosk.sync.client`: :class:`IngestClient` speaks the ingest protocol and classifies every answer into
  a :class:`Delivery` with an :class:`Outcome`.
- :mod:`kiosk.sync.courier`: :class:`Courier`, one delivery pass (claim, send, store each outcome in one
  place) with its :class:`PassResult`; :func:`sync_once` for ``kiosk outbox sync`` and "sync now".
- :mod:`kiosk.sync.worker`: :class:`SyncWorker`, the background thread (scheduling on a monotonic clock,
  per-record backoff, wake-ups, hold, heartbeat, purge).

Everything public is re-exported here: ``from kiosk.sync import SyncWorker, IngestClient, Outcome``.
"""

from kiosk.sync.client import (
    CREDENTIAL_REJECTIONS,
    EXPECT_CONTINUE_MIN_BYTES,
    EXPECT_CONTINUE_WAIT_S,
    FOREIGN_REJECTION_BACKOFF_S,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER_S,
    PERMANENT_REJECTIONS,
    RECEIPT_ALERT,
    SLOW_LINK_BYTES_PER_S,
    Delivery,
    IngestClient,
    Outcome,
    ProbeResult,
    RequestAborted,
    parse_retry_after,
)
from kiosk.sync.courier import (
    BATCH,
    DAMAGED,
    STOP_AFTER_FAILURES,
    Courier,
    PassResult,
    SyncReport,
    full_jitter_backoff,
    sync_once,
)
from kiosk.sync.worker import PURGE_INTERVAL_S, SyncStatus, SyncWorker

__all__ = [
    "BATCH",
    "CREDENTIAL_REJECTIONS",
    "DAMAGED",
    "EXPECT_CONTINUE_MIN_BYTES",
    "EXPECT_CONTINUE_WAIT_S",
    "FOREIGN_REJECTION_BACKOFF_S",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER_S",
    "PERMANENT_REJECTIONS",
    "PURGE_INTERVAL_S",
    "RECEIPT_ALERT",
    "SLOW_LINK_BYTES_PER_S",
    "STOP_AFTER_FAILURES",
    "Courier",
    "Delivery",
    "IngestClient",
    "Outcome",
    "PassResult",
    "ProbeResult",
    "RequestAborted",
    "SyncReport",
    "SyncStatus",
    "SyncWorker",
    "full_jitter_backoff",
    "parse_retry_after",
    "sync_once",
]
