"""The last few hundred log lines, kept in memory for the maintenance screen's log page.

:class:`RecentLogs` is a :class:`logging.Handler` with a bounded ring buffer (``collections.deque``): it
never touches the disk and forgets the oldest line first, so it costs a fixed amount of memory however long
the kiosk runs. The firmware logs no personal data; as a second line of defence every line is passed
through :func:`kiosk.maintenance.audit.scrub` (long numbers such as a NIK become ``[number]``, control
characters go) before it is kept; record ids (random UUIDs) are left whole.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from dataclasses import dataclass

from kiosk.maintenance.audit import scrub

#: Lines kept by default.
DEFAULT_CAPACITY = 500

# Record ids are random UUIDs, not personal data, and a technician needs them whole to find a record with
# `kiosk outbox list`; scrub() would take their longer runs of digits for numbers.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def scrub_line(message: str) -> str:
    """``message`` made safe to keep (see :func:`kiosk.maintenance.audit.scrub`), record ids left whole."""
    ids: list[str] = []

    def hold(match: re.Match[str]) -> str:
        ids.append(match[0])
        return f"\u27e6{len(ids) - 1}\u27e7"

    clean = scrub(_UUID.sub(hold, message))
    return re.sub(r"\u27e6(\d+)\u27e7", lambda match: ids[int(match[1])], clean)


@dataclass(frozen=True)
class LogLine:
    """One kept log line.

    Attributes:
        at: Seconds since the epoch (the record's own time).
        level: ``DEBUG`` .. ``CRITICAL``.
        logger: The logger's name (``kiosk.sync``).
        message: The scrubbed message on one line, with the exception's type when there was one.
    """

    at: float
    level: str
    logger: str
    message: str


class RecentLogs(logging.Handler):
    """Keeps the newest ``capacity`` log records as :class:`LogLine` (thread-safe).

    Args:
        capacity: Lines kept.
        level: Lowest level kept.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, level: int = logging.INFO) -> None:
        super().__init__(level)
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._lines: collections.deque[LogLine] = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()
        self.revision = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Keep ``record`` (called by :mod:`logging` on whatever thread logged)."""
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[0] is not None:
                # Only the exception's type: a traceback's frames may quote values, and the full text is in
                # the journal for whoever has a shell.
                message = f"{message} [{record.exc_info[0].__name__}]"
            # scrub() also folds a multi-line message onto one line.
            line = LogLine(record.created, record.levelname, record.name, scrub_line(message))
        except Exception:  # noqa: BLE001 - logging must never raise into the code that logged
            self.handleError(record)
            return
        with self._guard:
            self._lines.append(line)
            self.revision += 1

    def lines(self, limit: int | None = None) -> list[LogLine]:
        """The kept lines, oldest first (the newest ``limit`` when given)."""
        with self._guard:
            lines = list(self._lines)
        return lines[-limit:] if limit else lines

    def install(self, logger: logging.Logger | None = None) -> RecentLogs:
        """Attach to ``logger`` (default: the root logger) and return self."""
        (logger or logging.getLogger()).addHandler(self)
        return self

    def uninstall(self, logger: logging.Logger | None = None) -> None:
        """Detach from ``logger`` (default: the root logger)."""
        (logger or logging.getLogger()).removeHandler(self)
