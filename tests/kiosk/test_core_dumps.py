"""No core dump of the kiosk: LimitCORE=0 in the unit, and the process marks itself non-dumpable at start."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_READ_BACK = textwrap.dedent(
    """
    import ctypes, ctypes.util, resource
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    before = libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
    {call}
    print(before, libc.prctl(3, 0, 0, 0, 0), *resource.getrlimit(resource.RLIMIT_CORE))
    """
)


def _run(call: str) -> list[int]:
    # A child of its own: the flag is one-way for the life of a process, so the test runner keeps its own.
    result = subprocess.run(
        [sys.executable, "-c", _READ_BACK.format(call=call)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    return [int(value) for value in result.stdout.split()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_kiosk_process_becomes_non_dumpable_with_no_core_size() -> None:
    before, after, soft, hard = _run(
        "from kiosk.core_dumps import forbid_core_dumps; assert forbid_core_dumps()"
    )
    assert before == 1, "a fresh process is dumpable (else the test proves nothing)"
    assert (after, soft, hard) == (0, 0, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_kiosk_run_forbids_core_dumps_before_it_reads_the_config() -> None:
    # The config path does not exist: `kiosk run` fails on it, after the first thing it does.
    call = "from kiosk.cli import main\nassert main(['run', '--config', '/nonexistent/kiosk.toml']) == 2"
    _before, after, soft, hard = _run(call)
    assert (after, soft, hard) == (0, 0, 0)


def test_the_systemd_unit_allows_no_core_file() -> None:
    unit = (ROOT / "scripts" / "systemd" / "dukcapil-kiosk.service").read_text(encoding="utf-8")
    lines = [line.strip() for line in unit.splitlines()]
    assert "LimitCORE=0" in lines
    assert "WatchdogSignal=SIGABRT" in lines  # the reason it matters: SIGABRT would dump core
