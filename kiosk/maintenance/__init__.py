"""The technician's maintenance mode, without a screen: PIN, lockout, audit log, metrics, dashboard, session.

The UI's maintenance screens are drawn on top of this package (and nothing here imports pygame), so tests
drive the whole mode directly. One SQLite file in the data directory (:mod:`kiosk.maintenance.store`) holds
the audit log, the metrics and the lockout; the PIN's scrypt hash has a file of its own
(:mod:`kiosk.maintenance.pin`).
"""

from kiosk.maintenance.audit import AuditAction, AuditEntry, AuditLog, AuditOutcome, scrub
from kiosk.maintenance.dashboard import BatteryLine, DashboardSnapshot, DeviceLine, SyncLine, take_snapshot
from kiosk.maintenance.lockout import LockoutState, PinLockout
from kiosk.maintenance.metrics import MetricPoint, Metrics, queue_and_battery
from kiosk.maintenance.pin import PinFileError, PinFormatError, TechnicianPin, check_pin_format
from kiosk.maintenance.session import (
    ActionRecord,
    CommandFailed,
    EntryOutcome,
    EntryResult,
    MaintenanceSession,
    NotInMaintenance,
    SystemCommands,
)
from kiosk.maintenance.store import MaintenanceStore, MaintenanceStoreError

__all__ = [
    "ActionRecord",
    "AuditAction",
    "AuditEntry",
    "AuditLog",
    "AuditOutcome",
    "BatteryLine",
    "CommandFailed",
    "DashboardSnapshot",
    "DeviceLine",
    "EntryOutcome",
    "EntryResult",
    "LockoutState",
    "MaintenanceSession",
    "MaintenanceStore",
    "MaintenanceStoreError",
    "MetricPoint",
    "Metrics",
    "NotInMaintenance",
    "PinFileError",
    "PinFormatError",
    "PinLockout",
    "SyncLine",
    "SystemCommands",
    "TechnicianPin",
    "check_pin_format",
    "queue_and_battery",
    "scrub",
    "take_snapshot",
]
