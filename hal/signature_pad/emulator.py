"""A signature pad emulator on a pseudo-terminal, speaking the Topaz (or ISDV4) protocol.

:class:`PadEmulator` opens a pty pair with :func:`os.openpty`, keeps the master end and publishes
the slave end under a stable symlink (as udev publishes ``/dev/signature-pad``), so the real serial
driver opens it like any serial port. It then writes pen packets of scripted strokes at a realistic
rate. It can be unplugged (the master closes, the host's reads fail and pyserial's
``connection_lost`` fires; the symlink disappears as udev's would) and plugged back in (a new pty
behind the same symlink), and it can inject line noise.

It is the ``simulated`` backend of the signature pad and the test bench of the serial driver.
Run it alone to feed another program::

    python -m hal.signature_pad.emulator            # prints the port path, streams until Ctrl-C
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Iterable
from pathlib import Path

from hal.signature_pad.protocols import (
    ISDV4_QUERY,
    ISDV4_START,
    ISDV4_STOP,
    DigitiserSize,
    PenReading,
    encode_isdv4_query_reply,
    protocol_named,
)

#: One step of a script: a reading to send, ``None`` for a tick with nothing to send (pen away),
#: or raw bytes to write as they are (line noise).
ScriptItem = PenReading | bytes | None

#: Size the emulated ISDV4 digitiser reports when queried (a 4:3 tablet-PC sensor).
DEFAULT_ISDV4_SIZE = DigitiserSize(max_x=20480, max_y=15360, max_pressure=1023)

_IDLE_POLL_S = 0.02


# -- scripted handwriting ------------------------------------------------------------------------


def _loops(
    x0: float, y0: float, width: float, height: float, loops: int, rng: random.Random
) -> list[tuple[float, float]]:
    """A cursive run of slanted loops (a curtate-trochoid ``x = a t + b sin t`` with ``b > a``), in
    unit coordinates with y pointing down, the first loop taller like a capital."""
    steps = 60 * loops
    slant = 0.25 + rng.uniform(-0.05, 0.05)
    advance = width / (2 * math.pi * loops)
    phase = rng.uniform(0, math.pi)
    points = []
    for i in range(steps + 1):
        theta = 2 * math.pi * loops * i / steps
        swell = 1.0 + 0.6 * math.exp(-theta / 4) + 0.15 * math.sin(theta / 2.3 + phase)
        rise = height / 2 * swell * (1 - math.cos(theta))
        x = x0 + advance * theta + 1.7 * advance * math.sin(theta) + slant * rise
        points.append((x, y0 - rise))
    return points


def _flourish(x0: float, x1: float, y: float, depth: float) -> list[tuple[float, float]]:
    """An underline swept from right to left with a slight belly."""
    steps = 80
    return [
        (
            x1 + (x0 - x1) * i / steps,
            y + depth * math.sin(math.pi * i / steps) - 0.01 * math.sin(6 * math.pi * i / steps),
        )
        for i in range(steps + 1)
    ]


def _resample(points: list[tuple[float, float]], speed: float, rate_hz: float) -> list[tuple[float, float]]:
    """Pick points at the pen's pace: one per sample period at ``speed`` units per second."""
    length = sum(math.dist(a, b) for a, b in zip(points, points[1:], strict=False))
    count = max(3, round(length / speed * rate_hz))
    return [points[round(i * (len(points) - 1) / (count - 1))] for i in range(count)]


def handwritten_signature(
    max_x: int,
    max_y: int,
    *,
    rate_hz: float = 150.0,
    seed: int = 0,
    max_pressure: int | None = None,
) -> list[PenReading]:
    """A plausible handwritten signature, as the pad would report it sample by sample.

    Two cursive words of loops, an underline flourish and a dot, each a pen-down stroke; the pen
    hovers in range between strokes and leaves at the end. ``seed`` varies the proportions as a
    person's signature varies from one time to the next.

    Args:
        max_x: Largest X of the protocol; the signature fills the pad with a margin.
        max_y: Largest Y of the protocol.
        rate_hz: Samples per second the pad reports.
        seed: Makes the signature reproducible.
        max_pressure: Largest pressure for pads that report one; None for none.
    """
    rng = random.Random(seed)
    scale = rng.uniform(0.9, 1.05)
    baseline = 0.55 + rng.uniform(-0.04, 0.04)
    first = _loops(0.10, baseline, 0.34 * scale, 0.30 * scale, 4, rng)
    second = _loops(0.50, baseline, 0.30 * scale, 0.18 * scale, 5, rng)
    underline = _flourish(0.08, 0.86, baseline + 0.16, 0.05 + rng.uniform(0, 0.03))
    dot = [(0.62 + rng.uniform(-0.02, 0.02), baseline - 0.30)] * 4
    speed = 1.8 + rng.uniform(-0.2, 0.2)  # pad widths per second
    strokes = [_resample(stroke, speed, rate_hz) for stroke in (first, second, underline)] + [dot]

    # A hand trembles slowly, not sample by sample: a smooth wobble, different every time.
    wobble = [(rng.uniform(0.5, 2.0), rng.uniform(0, 2 * math.pi)) for _ in range(3)]

    def to_pad(u: float, v: float) -> tuple[int, int]:
        du = sum(0.002 * math.sin(f * 9 * u + p) for f, p in wobble)
        dv = sum(0.002 * math.cos(f * 7 * u + p) for f, p in wobble)
        x = min(max(0.05 + 0.9 * (u + du), 0.0), 1.0)
        y = min(max(0.05 + 0.9 * (v + dv), 0.0), 1.0)
        return round(x * max_x), round(y * max_y)

    readings: list[PenReading] = []
    hover_pressure = 0 if max_pressure is not None else None
    previous: tuple[float, float] | None = None
    for stroke in strokes:
        start = stroke[0]
        hover_from = previous or (start[0] - 0.05, start[1] + 0.05)
        hover_samples = max(2, round(0.12 * rate_hz))
        for i in range(hover_samples):
            u = hover_from[0] + (start[0] - hover_from[0]) * i / hover_samples
            v = hover_from[1] + (start[1] - hover_from[1]) * i / hover_samples
            readings.append(PenReading(*to_pad(u, v), pen_down=False, in_range=True, pressure=hover_pressure))
        for i, (u, v) in enumerate(stroke):
            pressure = None
            if max_pressure is not None:
                pressure = round(
                    max_pressure * (0.3 + 0.45 * math.sin(math.pi * i / max(1, len(stroke) - 1)))
                )
            readings.append(PenReading(*to_pad(u, v), pen_down=True, in_range=True, pressure=pressure))
        previous = stroke[-1]
    last = readings[-1]
    readings.append(PenReading(last.x, last.y, pen_down=False, in_range=False, pressure=hover_pressure))
    return readings


def tap_readings(max_x: int, max_y: int, max_pressure: int | None = None) -> list[PenReading]:
    """A short touch in the middle of the pad: pen arrives, touches, lifts, leaves."""
    x, y = max_x // 2, max_y // 2
    idle = 0 if max_pressure is not None else None
    press = max_pressure // 2 if max_pressure is not None else None
    return [
        PenReading(x, y, pen_down=False, in_range=True, pressure=idle),
        PenReading(x, y, pen_down=True, in_range=True, pressure=press),
        PenReading(x + 1, y, pen_down=True, in_range=True, pressure=press),
        PenReading(x + 1, y, pen_down=False, in_range=True, pressure=idle),
        PenReading(x + 1, y, pen_down=False, in_range=False, pressure=idle),
    ]


# -- the emulator --------------------------------------------------------------------------------


class PadEmulator:
    """A serial signature pad on a pty, behind a stable symlink.

    Args:
        link_path: Where to publish the port; default ``<new temp dir>/signature-pad``, removed on
            :meth:`close`.
        protocol: ``topaz`` (streams as soon as it is plugged in) or ``isdv4`` (streams after the
            host sends ``'1'``, stops on ``'0'``, answers ``'*'`` with its size).
        rate_hz: Samples per second while the pen moves (Topaz pads report about 100-200).
        autoplay: Sign again and again, with ``pause_s`` between signatures (the simulator's mode).
        pause_s: Time with the pen away between autoplayed signatures.
        noise: Add short bursts of line noise to autoplayed signatures.
        plugged: Start plugged in; ``False`` starts unplugged (no port until :meth:`replug`).
        seed: Seed of the signature variations and the noise.
        size: The ISDV4 digitiser's size (its answer to ``'*'``).
    """

    def __init__(
        self,
        link_path: str | os.PathLike[str] | None = None,
        *,
        protocol: str = "topaz",
        rate_hz: float = 150.0,
        autoplay: bool = False,
        pause_s: float = 2.0,
        noise: bool = False,
        plugged: bool = True,
        seed: int = 0,
        size: DigitiserSize = DEFAULT_ISDV4_SIZE,
    ) -> None:
        if not 1 <= rate_hz <= 1000:
            raise ValueError(f"rate_hz must be 1..1000, not {rate_hz}")
        self.protocol = protocol_named(protocol)
        self.size = size
        if self.protocol.max_pressure is None:
            self.max_x, self.max_y, self.max_pressure = self.protocol.max_x, self.protocol.max_y, None
        else:
            self.max_x, self.max_y, self.max_pressure = size.max_x, size.max_y, size.max_pressure
        self.rate_hz = rate_hz
        self.autoplay = autoplay
        self.pause_s = pause_s
        self.noise = noise
        self._rng = random.Random(seed)
        self._seed = seed
        self._own_dir: str | None = None
        if link_path is None:
            self._own_dir = tempfile.mkdtemp(prefix="signature-pad-")
            link_path = os.path.join(self._own_dir, "signature-pad")
        self._link = Path(link_path)
        self._lock = threading.Lock()
        self._queue: collections.deque[ScriptItem] = collections.deque()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path: str | None = None
        self._streaming = False
        self._closed = False
        self._closing = threading.Event()
        self._wake = threading.Event()
        #: Bytes the host sent to the pad, in order (the ISDV4 commands).
        self.received = bytearray()
        #: Packets written to the port so far.
        self.packets_sent = 0
        #: Bytes dropped because nobody read the port and its buffer was full.
        self.dropped_bytes = 0
        if plugged:
            try:
                self.replug()
            except OSError:
                self._cleanup_dir()
                raise
        self._thread = threading.Thread(target=self._run, name="signature-pad-emulator", daemon=True)
        self._thread.start()

    # -- the port ---------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The stable port path (a symlink to the current pty), present only while plugged in."""
        return str(self._link)

    @property
    def slave_path(self) -> str | None:
        """The current ``/dev/pts/N`` behind the symlink, or None while unplugged."""
        return self._slave_path

    @property
    def plugged(self) -> bool:
        """True while the pad is plugged in."""
        return self._master is not None

    def unplug(self) -> None:
        """Pull the cable: close the pty (the host's reads fail) and remove the symlink."""
        with self._lock:
            self._unplug()

    def replug(self) -> None:
        """Plug the pad (back) in: a new pty, published under the same symlink."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the pad emulator is closed")
            self._unplug()
            master, slave = os.openpty()
            # Raw from the start: a cooked pty would echo the packets back and act on control bytes.
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            self._slave_path = os.ttyname(slave)
            # ISDV4 digitisers power up silent and wait for '1'; Topaz pads stream at once.
            self._streaming = self.protocol.name == "topaz"
            staging = self._link.with_name(self._link.name + ".new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(self._slave_path)
            os.replace(staging, self._link)

    def _unplug(self) -> None:
        self._link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = self._slave_path = None
        self._streaming = False
        self._queue.clear()  # pen movements while unplugged are lost, as on the real pad

    # -- what the pen does ------------------------------------------------------------------------
    def play(self, items: Iterable[ScriptItem]) -> None:
        """Queue readings (or pauses, or raw bytes) to be sent at ``rate_hz``, after what is queued."""
        with self._lock:
            self._queue.extend(items)
        self._wake.set()

    def write_now(self, items: Iterable[ScriptItem]) -> None:
        """Send readings (or raw bytes) at once, between two paced packets.

        Unlike :meth:`play` this ignores whether an ISDV4 pad was started: it is the test hook.
        """
        with self._lock:
            for item in items:
                self._send(item)

    def tap(self) -> None:
        """Touch the pad once with the pen, at once (what a technician does to test it)."""
        self.write_now(tap_readings(self.max_x, self.max_y, self.max_pressure))

    def inject_garbage(self, count: int) -> None:
        """Write ``count`` random bytes at once, as line noise would."""
        self.write_now([self._rng.randbytes(count)])

    def signature(self, seed: int | None = None) -> list[PenReading]:
        """A scripted signature in this pad's coordinates (see :func:`handwritten_signature`)."""
        return handwritten_signature(
            self.max_x,
            self.max_y,
            rate_hz=self.rate_hz,
            seed=self._seed if seed is None else seed,
            max_pressure=self.max_pressure,
        )

    # -- the pad's own thread ---------------------------------------------------------------------
    def _run(self) -> None:
        interval = 1.0 / self.rate_hz
        next_tick = time.monotonic()
        while not self._closing.is_set():
            with self._lock:
                self._serve_commands()
                busy = self._tick()
            if busy:
                next_tick += interval
                delay = next_tick - time.monotonic()
                if delay < -1.0:  # fell far behind (a stalled machine): resume the pace, no burst
                    next_tick, delay = time.monotonic(), 0.0
                self._closing.wait(max(delay, 0.0))
            else:
                self._wake.wait(_IDLE_POLL_S)
                self._wake.clear()
                next_tick = time.monotonic()

    def _tick(self) -> bool:
        """Send the next queued item; False when there is nothing to do."""
        if self._master is None or not self._streaming:
            return False
        if not self._queue and self.autoplay:
            self._queue.extend(self._next_autoplay())
        if not self._queue:
            return False
        self._send(self._queue.popleft())
        return True

    def _next_autoplay(self) -> list[ScriptItem]:
        self._seed += 1
        items: list[ScriptItem] = list(self.signature(self._seed))
        if self.noise:
            burst = self._rng.randbytes(self._rng.randint(3, 12))
            items.insert(self._rng.randrange(len(items)), burst)
        items.extend([None] * round(self.pause_s * self.rate_hz))
        return items

    def _send(self, item: ScriptItem) -> None:
        if item is None:
            return
        if isinstance(item, PenReading):
            self.packets_sent += 1
            self._write(self.protocol.encode(item))
        else:
            self._write(bytes(item))

    def _write(self, data: bytes) -> None:
        if self._master is None:
            self.dropped_bytes += len(data)
            return
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0  # nobody reads and the buffer is full: a UART would drop it too
        self.dropped_bytes += len(data) - written

    def _serve_commands(self) -> None:
        """Read what the host sent; an ISDV4 pad obeys start, stop and query."""
        if self._master is None:
            return
        while True:
            try:
                data = os.read(self._master, 256)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.received.extend(data)
            if self.protocol.name != "isdv4":
                continue
            for byte in data:
                command = bytes((byte,))
                if command == ISDV4_START:
                    self._streaming = True
                elif command == ISDV4_STOP:
                    self._streaming = False
                elif command == ISDV4_QUERY:
                    self._write(encode_isdv4_query_reply(self.size))

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop streaming, close the pty and remove the symlink (and the temp dir it made)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout=5)
        with self._lock:
            self._unplug()
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def __enter__(self) -> PadEmulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until Ctrl-C, printing the port path to open."""
    parser = argparse.ArgumentParser(
        prog="python -m hal.signature_pad.emulator",
        description="Emulate a serial signature pad on a pty and sign on it again and again.",
    )
    parser.add_argument("--link", help="symlink to publish the port at (default: in a new temp dir)")
    parser.add_argument("--protocol", choices=["topaz", "isdv4"], default="topaz")
    parser.add_argument("--rate", type=float, default=150.0, help="samples per second (default 150)")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between signatures (default 2)")
    parser.add_argument("--noise", action="store_true", help="add bursts of line noise")
    args = parser.parse_args(argv)
    try:
        emulator = PadEmulator(
            args.link,
            protocol=args.protocol,
            rate_hz=args.rate,
            autoplay=True,
            pause_s=args.pause,
            noise=args.noise,
        )
    except (OSError, ValueError) as exc:
        print(f"cannot start the pad emulator: {exc}", file=sys.stderr)
        return 1
    # Ctrl-C may land anywhere after the emulator started, even inside print(): catch it around all.
    try:
        print(emulator.path, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
