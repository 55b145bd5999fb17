"""The pad emulator: a pty behind a stable symlink, realistic handwriting, and a standalone mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hal.signature_pad.emulator import PadEmulator, handwritten_signature
from hal.signature_pad.protocols import ISDV4_QUERY, DigitiserSize, decode_isdv4


def strokes(readings) -> int:
    """Number of pen-down strokes."""
    return sum(
        1 for a, b in zip([None, *readings], readings, strict=False) if b.pen_down and not (a and a.pen_down)
    )


def test_the_port_is_a_pty_behind_a_symlink_that_follows_unplug_and_replug(tmp_path: Path) -> None:
    link = tmp_path / "signature-pad"
    with PadEmulator(link) as emulator:
        assert emulator.path == str(link)
        first = emulator.slave_path
        assert os.path.realpath(link) == first
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            assert os.isatty(fd)
        finally:
            os.close(fd)

        emulator.unplug()
        assert not link.exists() and not emulator.plugged and emulator.slave_path is None
        emulator.replug()
        assert os.path.realpath(link) == emulator.slave_path
    assert not os.path.lexists(link)


def test_an_emulator_without_a_link_path_cleans_up_its_temp_dir() -> None:
    emulator = PadEmulator()
    folder = Path(emulator.path).parent
    assert folder.is_dir()
    emulator.close()
    emulator.close()
    assert not folder.exists()


def test_isdv4_emulator_answers_the_size_query(tmp_path: Path) -> None:
    size = DigitiserSize(max_x=30000, max_y=20000, max_pressure=1023)
    with PadEmulator(tmp_path / "wacom", protocol="isdv4", size=size) as emulator:
        fd = os.open(emulator.path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, ISDV4_QUERY)
            reply = b""
            while len(reply) < 11:  # a blocking read: returns as soon as the emulator answers
                reply += os.read(fd, 11 - len(reply))
        finally:
            os.close(fd)
    assert decode_isdv4(reply) == ([size], b"")


@pytest.mark.parametrize(("max_x", "max_y", "max_pressure"), [(4095, 4095, None), (20480, 15360, 1023)])
def test_the_scripted_signature_looks_like_handwriting(
    max_x: int, max_y: int, max_pressure: int | None
) -> None:
    readings = handwritten_signature(max_x, max_y, rate_hz=150, seed=3, max_pressure=max_pressure)
    assert all(0 <= r.x <= max_x and 0 <= r.y <= max_y for r in readings)
    assert strokes(readings) >= 4  # two words, an underline, a dot
    assert 2.0 <= len(readings) / 150 <= 6.0  # seconds of signing at 150 samples/s
    assert readings[0].in_range and not readings[0].pen_down
    assert not readings[-1].in_range
    down = [r for r in readings if r.pen_down]
    xs, ys = [r.x for r in down], [r.y for r in down]
    assert max(xs) - min(xs) > max_x / 2 and max(ys) - min(ys) > max_y / 4  # fills the pad
    pairs = zip(readings, readings[1:], strict=False)
    steps = [abs(a.x - b.x) + abs(a.y - b.y) for a, b in pairs if a.pen_down and b.pen_down]
    assert max(steps) < (max_x + max_y) / 20  # a moving pen, not jumps
    if max_pressure is None:
        assert {r.pressure for r in readings} == {None}
    else:
        assert all(0 < r.pressure <= max_pressure for r in down)
    assert readings == handwritten_signature(max_x, max_y, rate_hz=150, seed=3, max_pressure=max_pressure)
    assert readings != handwritten_signature(max_x, max_y, rate_hz=150, seed=4, max_pressure=max_pressure)


def test_an_impossible_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_hz"):
        PadEmulator(rate_hz=0)


def test_standalone_mode_prints_the_port_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    link = tmp_path / "signature-pad"
    process = subprocess.Popen(
        [sys.executable, "-m", "hal.signature_pad.emulator", "--link", str(link), "--rate", "200"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == str(link)
        assert os.path.realpath(link).startswith("/dev/pts/")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0  # an upper bound for a loaded machine, not a timing check
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    assert not os.path.lexists(link)
