"""Which USB sticks are plugged in and mounted, for the outbox page's "export to USB stick".

A stick counts when a filesystem is mounted under one of the places Linux's automounters use for
removable media: ``/media/<user>/<label>`` (udisks2, usbmount, the Pi desktop) and ``/run/media/<user>/``
(other distributions). The mount table is the kernel's own (``/proc/self/mounts``), so a folder that merely
exists under ``/media`` but has nothing mounted on it is never offered: a bundle written there would land
on the SD card, not on the stick.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

#: Mount points under these folders are removable media.
MEDIA_ROOTS = (Path("/media"), Path("/run/media"))
MOUNTS = Path("/proc/self/mounts")

# The mount table escapes space, tab, newline and backslash in paths as three octal digits.
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda match: chr(int(match[1], 8)), field)


def mounted_sticks(mounts: Path = MOUNTS, roots: Sequence[Path] = MEDIA_ROOTS) -> list[Path]:
    """Writable mount points of removable media, sorted by path (empty when the table cannot be read)."""
    try:
        table = mounts.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found: set[Path] = set()
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = Path(_unescape(fields[1]))
        options = fields[3].split(",")
        if "ro" in options or not any(root in point.parents for root in roots):
            continue
        if os.access(point, os.W_OK):
            found.add(point)
    return sorted(found)
