"""A total-queue checker in the style of Jepsen's: what was enqueued against what the server holds.

Operations are identified by an id the enqueuer chose (not the record uuid, so a kiosk that re-created a
record under a new uuid would be caught as a duplicate). The enqueuer reports each operation twice:

- *attempted* just before it calls ``enqueue`` (the citizen pressed "confirm");
- *acknowledged* once ``enqueue`` returned (the receipt may be shown: the kiosk promised delivery).

At the end, after a clean drain, ``delivered`` lists the operation id of every record at the server (one
entry per stored record). The verdict:

- **lost**: acknowledged but never delivered (the kiosk broke its promise);
- **unexpected**: delivered but never attempted (where did that come from?);
- **duplicated**: delivered more than once;
- **recovered**: attempted, not acknowledged (the enqueuer died mid-enqueue), yet delivered: allowed, the
  commit happened before the crash.

Valid when nothing is lost, unexpected or duplicated.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueVerdict:
    """The checker's result; :attr:`valid` is what a test asserts, :meth:`summary` what it prints."""

    attempted: int
    acknowledged: int
    delivered: int
    lost: frozenset[str]
    unexpected: frozenset[str]
    duplicated: dict[str, int]
    recovered: frozenset[str]

    @property
    def valid(self) -> bool:
        return not (self.lost or self.unexpected or self.duplicated)

    def summary(self) -> str:
        """One paragraph, with up to five examples of each problem."""

        def some(ids: Iterable[str]) -> str:
            ids = sorted(ids)
            return ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")

        lines = [
            f"{'valid' if self.valid else 'INVALID'}: {self.attempted} attempted, {self.acknowledged} "
            f"acknowledged, {self.delivered} delivered, {len(self.recovered)} recovered",
        ]
        if self.lost:
            lines.append(f"lost ({len(self.lost)}): {some(self.lost)}")
        if self.unexpected:
            lines.append(f"unexpected ({len(self.unexpected)}): {some(self.unexpected)}")
        if self.duplicated:
            examples = some(f"{op} x{n}" for op, n in self.duplicated.items())
            lines.append(f"duplicated ({len(self.duplicated)}): {examples}")
        return "\n".join(lines)


def check_total_queue(
    attempted: Iterable[str], acknowledged: Iterable[str], delivered: Iterable[str]
) -> QueueVerdict:
    """Compare what the enqueuer attempted and was acknowledged with what was delivered (a multiset)."""
    attempted_set = set(attempted)
    acknowledged_set = set(acknowledged)
    # An acknowledged operation was necessarily attempted, even if that report was lost.
    attempted_set |= acknowledged_set
    counts = collections.Counter(delivered)
    delivered_set = set(counts)
    return QueueVerdict(
        attempted=len(attempted_set),
        acknowledged=len(acknowledged_set),
        delivered=sum(counts.values()),
        lost=frozenset(acknowledged_set - delivered_set),
        unexpected=frozenset(delivered_set - attempted_set),
        duplicated={op: n for op, n in counts.items() if n > 1},
        recovered=frozenset((delivered_set & attempted_set) - acknowledged_set),
    )
