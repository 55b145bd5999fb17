"""No core dump of the kiosk, ever: it would hold a citizen's answers, photo and signature in plaintext.

The systemd unit sets ``LimitCORE=0``; :func:`forbid_core_dumps` makes the same true however the kiosk is
started (a technician's shell, a test rig): the soft and hard core size limits drop to zero and the process
marks itself non-dumpable with ``prctl(PR_SET_DUMPABLE, 0)``, which also keeps other processes of the same
user from attaching a debugger or reading ``/proc/<pid>/mem``. Both are one-way for the life of the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import resource
import sys

log = logging.getLogger(__name__)

#: From <linux/prctl.h>.
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def forbid_core_dumps() -> bool:
    """Forbid core dumps of this process; True when the process is now non-dumpable (Linux).

    Never raises: a platform without ``prctl`` (a developer's Mac) only loses the extra protection, which
    is logged.
    """
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError) as exc:
        log.warning("the core size limit cannot be set to 0: %s", exc)
    if not sys.platform.startswith("linux"):
        log.warning("core dumps: PR_SET_DUMPABLE exists on Linux only; the core size limit is 0")
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_DUMPABLE, 0) failed: errno %d", ctypes.get_errno())
        return False
    return libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
