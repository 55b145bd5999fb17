"""Giving memory back: large blocks freed go back to the OS at once, not into the heap for later.

Each case runs in a fresh interpreter (the allocator's thresholds are per process and only ever move one
way). The workload is what the photo step does to a heap: large buffers (frames, JPEGs) allocated between
small long-lived objects, then freed.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap

import pytest

from kiosk import memory

_WORKLOAD = textwrap.dedent(
    """
    import json, sys
    from kiosk import memory

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "fixed":
        assert memory.hand_back_large_blocks()
    # One large block freed: glibc would now raise its mmap threshold above a megabyte.
    block = bytearray(1 << 20)
    del block
    before = rss_mb()
    kept, large = [], []
    for i in range(64):
        large.append(bytearray(1 << 20))  # written: resident
        kept.append(bytearray(2048))  # a small malloc block after it, as the rest of the program makes
    del large[:]
    print(json.dumps({"grew_mb": rss_mb() - before}))
    """
)


def _grew_after_freeing(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _WORKLOAD, mode], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)["grew_mb"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_large_blocks_freed_go_back_to_the_os():
    # Without the fixed threshold the 64 MB stay resident in the heap; with it they are returned.
    assert _grew_after_freeing("dynamic") > 48
    assert _grew_after_freeing("fixed") < 8


def test_return_free_memory_says_whether_the_c_library_can():
    assert memory.return_free_memory() is (platform.libc_ver()[0] == "glibc")
