"""Wire protocols of serial signature pads: pure decoders and the matching encoders.

Two protocols are spoken:

* **Topaz-style**, 19200 8N1, 5-byte packets. ``B0`` has bit 7 set (the sync bit; no other byte has
  it), bit 6 = pen in proximity, bit 0 = pen down. ``B1`` = X bits 6..0, ``B2`` = X bits 11..7 in
  bits 4..0, ``B3`` = Y bits 6..0, ``B4`` = Y bits 11..7. 12-bit coordinates, no pressure.
* **Wacom ISDV4 / W8001**, 9-byte pen packets whose lead byte has bit 7 set, ``0x20`` = in range,
  ``0x01`` = tip down; 16-bit X and Y and 10-bit pressure spread over the packet (see
  :func:`decode_isdv4`). The host sends ``'1'`` to start streaming, ``'0'`` to stop and ``'*'`` to
  query the digitiser's size, which it answers with an 11-byte control packet (lead byte with
  ``0x40`` set) laid out like a pen packet but carrying the maxima.

A decoder is a pure function ``bytes -> (reports, unconsumed tail)``: it never raises, drops
whatever does not form a valid packet and resynchronises on the next byte with bit 7 set, so a
burst of line noise costs at most the packet it hit. Feeding the tail back in front of the next
chunk (which :class:`StreamDecoder` does) gives exactly the result of decoding the whole stream at
once, wherever the chunks were split.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

SYNC_BIT = 0x80


class PenReading(NamedTuple):
    """One pen report as the pad sent it (no timestamp: the decoder is pure).

    Attributes:
        x: Horizontal position in the protocol's units.
        y: Vertical position in the protocol's units.
        pen_down: True while the tip touches the pad.
        in_range: True while the pen is in proximity.
        pressure: Tip pressure for protocols that have one, else None.
    """

    x: int
    y: int
    pen_down: bool
    in_range: bool = True
    pressure: int | None = None


class DigitiserSize(NamedTuple):
    """An ISDV4 digitiser's answer to the ``'*'`` query: its coordinate and pressure maxima."""

    max_x: int
    max_y: int
    max_pressure: int


Report = PenReading | DigitiserSize


def _next_sync(data: bytes, start: int) -> int:
    """Index of the first byte at or after ``start`` with the sync bit set, else -1."""
    for index in range(start, len(data)):
        if data[index] & SYNC_BIT:
            return index
    return -1


# -- Topaz ----------------------------------------------------------------------------------------

TOPAZ_PACKET_SIZE = 5
TOPAZ_MAX = 4095
_TOPAZ_PROXIMITY = 0x40
_TOPAZ_PEN_DOWN = 0x01
#: Bits 6..5 of the high coordinate bytes: a 12-bit value leaves them clear.
_TOPAZ_HIGH_UNUSED = 0x60


def encode_topaz(reading: PenReading) -> bytes:
    """Encode one reading as a Topaz packet.

    Raises:
        ValueError: A coordinate is outside 0..4095 (the protocol has 12 bits).
    """
    for name, value in (("x", reading.x), ("y", reading.y)):
        if not 0 <= value <= TOPAZ_MAX:
            raise ValueError(f"Topaz {name} must be 0..{TOPAZ_MAX}, not {value}")
    status = (
        SYNC_BIT
        | (_TOPAZ_PROXIMITY if reading.in_range else 0)
        | (_TOPAZ_PEN_DOWN if reading.pen_down else 0)
    )
    return bytes((status, reading.x & 0x7F, reading.x >> 7, reading.y & 0x7F, reading.y >> 7))


def decode_topaz(buffer: bytes | bytearray | memoryview) -> tuple[list[PenReading], bytes]:
    """Decode every complete Topaz packet in ``buffer``.

    Bytes before a sync byte are dropped; a packet cut short by another sync byte is dropped and
    decoding resumes at that byte; a packet whose high coordinate bytes use bits 6..5 (a value above
    12 bits, which the pad cannot send) is dropped whole. The Y byte gets the same check as the X
    byte: the layout is symmetric, and a corrupted Y is as wrong as a corrupted X.

    Returns:
        The readings in order, and the unconsumed tail: empty, or the start of an incomplete packet
        (a sync byte and up to three bytes without one), to be put in front of the next chunk.
    """
    data = bytes(buffer)
    readings: list[PenReading] = []
    position = 0
    while (start := _next_sync(data, position)) >= 0:
        end = start + TOPAZ_PACKET_SIZE
        interruption = _next_sync(data[start + 1 : end], 0)
        if interruption >= 0:
            position = start + 1 + interruption
            continue
        if end > len(data):
            return readings, data[start:]
        status, x_low, x_high, y_low, y_high = data[start:end]
        position = end
        if (x_high | y_high) & _TOPAZ_HIGH_UNUSED:
            continue
        readings.append(
            PenReading(
                x=x_low | x_high << 7,
                y=y_low | y_high << 7,
                pen_down=bool(status & _TOPAZ_PEN_DOWN),
                in_range=bool(status & _TOPAZ_PROXIMITY),
            )
        )
    return readings, b""


# -- Wacom ISDV4 / W8001 ---------------------------------------------------------------------------

ISDV4_PACKET_SIZE = 9
ISDV4_QUERY_REPLY_SIZE = 11
ISDV4_MAX_COORDINATE = 0xFFFF
ISDV4_MAX_PRESSURE = 0x3FF
ISDV4_START = b"1"
ISDV4_STOP = b"0"
ISDV4_QUERY = b"*"
#: Smallest digitiser axis believed in a size reply: every ISDV4 / W8001 panel reports thousands of units.
ISDV4_MIN_PLAUSIBLE_AXIS = 1024
#: Largest aspect ratio believed (panels are between 4:3 and 16:9; noise rarely lands this close).
ISDV4_MAX_PLAUSIBLE_ASPECT = 4.0
_ISDV4_IN_RANGE = 0x20
_ISDV4_TIP = 0x01
#: Lead byte of a control packet (the query reply), 11 bytes long.
_ISDV4_CONTROL = 0x40
#: Lead byte of a finger-touch packet (5, 7 or 13 bytes depending on the sensor): not a pen.
_ISDV4_TOUCH = 0x10


def _isdv4_body(x: int, y: int, pressure: int) -> bytes:
    """Bytes 1..8 of a pen packet or a query reply (tilt bytes 7 and 8 left at zero)."""
    return bytes(
        (
            (x >> 9) & 0x7F,
            (x >> 2) & 0x7F,
            (y >> 9) & 0x7F,
            (y >> 2) & 0x7F,
            pressure & 0x7F,
            (x & 0x03) << 5 | (y & 0x03) << 3 | (pressure >> 7) & 0x07,
            0,
            0,
        )
    )


def _isdv4_fields(packet: bytes) -> tuple[int, int, int]:
    """X, Y and pressure of a pen packet or query reply (the layout of Linux's wacom_w8001)."""
    x = (packet[1] & 0x7F) << 9 | (packet[2] & 0x7F) << 2 | (packet[6] & 0x60) >> 5
    y = (packet[3] & 0x7F) << 9 | (packet[4] & 0x7F) << 2 | (packet[6] & 0x18) >> 3
    pressure = (packet[5] & 0x7F) | (packet[6] & 0x07) << 7
    return x, y, pressure


def _check_isdv4_range(x: int, y: int, pressure: int) -> None:
    for name, value, top in (
        ("x", x, ISDV4_MAX_COORDINATE),
        ("y", y, ISDV4_MAX_COORDINATE),
        ("pressure", pressure, ISDV4_MAX_PRESSURE),
    ):
        if not 0 <= value <= top:
            raise ValueError(f"ISDV4 {name} must be 0..{top}, not {value}")


def encode_isdv4(reading: PenReading) -> bytes:
    """Encode one reading as a 9-byte ISDV4 pen packet (no pressure encodes as 0).

    Raises:
        ValueError: A coordinate is outside 0..65535 or the pressure outside 0..1023.
    """
    pressure = reading.pressure or 0
    _check_isdv4_range(reading.x, reading.y, pressure)
    lead = SYNC_BIT | (_ISDV4_IN_RANGE if reading.in_range else 0) | (_ISDV4_TIP if reading.pen_down else 0)
    return bytes((lead,)) + _isdv4_body(reading.x, reading.y, pressure)


def encode_isdv4_query_reply(size: DigitiserSize) -> bytes:
    """Encode a digitiser's answer to ``'*'``: an 11-byte control packet carrying its maxima."""
    _check_isdv4_range(size.max_x, size.max_y, size.max_pressure)
    return (
        bytes((SYNC_BIT | _ISDV4_CONTROL,)) + _isdv4_body(size.max_x, size.max_y, size.max_pressure) + b"\0\0"
    )


def plausible_isdv4_size(size: DigitiserSize) -> bool:
    """Whether a size reply could come from a real digitiser (and not from line noise).

    Both axes at least :data:`ISDV4_MIN_PLAUSIBLE_AXIS` units, an aspect ratio within
    :data:`ISDV4_MAX_PLAUSIBLE_ASPECT`, a pressure range of 0 (no pressure) or at least 255 levels.
    """
    if min(size.max_x, size.max_y) < ISDV4_MIN_PLAUSIBLE_AXIS:
        return False
    if max(size.max_x, size.max_y) > ISDV4_MAX_PLAUSIBLE_ASPECT * min(size.max_x, size.max_y):
        return False
    return size.max_pressure == 0 or 255 <= size.max_pressure <= ISDV4_MAX_PRESSURE


def decode_isdv4(buffer: bytes | bytearray | memoryview) -> tuple[list[Report], bytes]:
    """Decode every complete ISDV4 packet in ``buffer``.

    Pen packets become :class:`PenReading`, query replies :class:`DigitiserSize`. Finger-touch
    packets (lead byte with ``0x10``) are skipped byte by byte up to the next lead byte: their
    length depends on the sensor and a signature is written with the pen. Resynchronisation works
    as for :func:`decode_topaz`.

    Returns:
        The reports in order, and the unconsumed tail (empty, or an incomplete packet starting with
        its lead byte).
    """
    data = bytes(buffer)
    reports: list[Report] = []
    position = 0
    while (start := _next_sync(data, position)) >= 0:
        lead = data[start]
        if lead & _ISDV4_TOUCH:
            position = start + 1
            continue
        size = ISDV4_QUERY_REPLY_SIZE if lead & _ISDV4_CONTROL else ISDV4_PACKET_SIZE
        end = start + size
        interruption = _next_sync(data[start + 1 : end], 0)
        if interruption >= 0:
            position = start + 1 + interruption
            continue
        if end > len(data):
            return reports, data[start:]
        x, y, pressure = _isdv4_fields(data[start:end])
        position = end
        if size == ISDV4_QUERY_REPLY_SIZE:
            reports.append(DigitiserSize(max_x=x, max_y=y, max_pressure=pressure))
        else:
            reports.append(
                PenReading(
                    x=x,
                    y=y,
                    pen_down=bool(lead & _ISDV4_TIP),
                    in_range=bool(lead & _ISDV4_IN_RANGE),
                    pressure=pressure,
                )
            )
    return reports, b""


# -- protocol table and the stateful wrapper ------------------------------------------------------


@dataclass(frozen=True)
class PadProtocol:
    """What the driver and the emulator need to know about one wire protocol.

    Attributes:
        name: The name used in the settings (``topaz``, ``isdv4``).
        decode: The pure decoder.
        encode: The encoder of one pen reading.
        packet_size: Bytes per pen packet.
        max_x: Largest X the protocol can carry (a device may report a smaller one).
        max_y: Largest Y the protocol can carry.
        max_pressure: Largest pressure, or None when the protocol has none.
    """

    name: str
    decode: Callable[[bytes], tuple[Sequence[Report], bytes]]
    encode: Callable[[PenReading], bytes]
    packet_size: int
    max_x: int
    max_y: int
    max_pressure: int | None

    def report_size(self, report: Report) -> int:
        """Bytes the report took on the wire."""
        return ISDV4_QUERY_REPLY_SIZE if isinstance(report, DigitiserSize) else self.packet_size


TOPAZ = PadProtocol("topaz", decode_topaz, encode_topaz, TOPAZ_PACKET_SIZE, TOPAZ_MAX, TOPAZ_MAX, None)
ISDV4 = PadProtocol(
    "isdv4",
    decode_isdv4,
    encode_isdv4,
    ISDV4_PACKET_SIZE,
    ISDV4_MAX_COORDINATE,
    ISDV4_MAX_COORDINATE,
    ISDV4_MAX_PRESSURE,
)
PROTOCOLS: dict[str, PadProtocol] = {TOPAZ.name: TOPAZ, ISDV4.name: ISDV4}


def protocol_named(name: str) -> PadProtocol:
    """Return the protocol called ``name``.

    Raises:
        ValueError: No such protocol.
    """
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown signature pad protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None


class StreamDecoder:
    """Decodes a byte stream that arrives in arbitrary chunks.

    Keeps the unconsumed tail between calls and counts the bytes that formed no valid packet, which
    tells a pad speaking another protocol (or at another baud rate) from a pad with a noisy line.

    A size reply is believed only in the greeting window: after :meth:`expect_size` (the host has just
    sent ``'*'``), before the first pen packet, once, and only when :func:`plausible_isdv4_size` says
    so. Anywhere else an 11-byte control packet is line noise that happened to look like one (a noise
    byte with ``0x40`` set followed by ten bytes) and is dropped as such: it must never resize the
    canvas mid-session.
    """

    def __init__(self, protocol: PadProtocol) -> None:
        self.protocol = protocol
        self._tail = b""
        #: Bytes dropped so far because they formed no valid packet.
        self.discarded_bytes = 0
        # Set by the greeting thread, cleared by the reader thread: an Event is safe across the two.
        self._greeting = threading.Event()

    def expect_size(self) -> None:
        """Open the greeting window: the host has just sent the size query."""
        self._greeting.set()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Report]:
        """Add ``data`` to the stream and return the reports it completed, in order."""
        buffer = self._tail + bytes(data)
        decoded, self._tail = self.protocol.decode(buffer)
        reports: list[Report] = []
        for report in decoded:
            if isinstance(report, PenReading):
                self._greeting.clear()  # streaming has begun: the window is over
            elif not (self._greeting.is_set() and plausible_isdv4_size(report)):
                continue  # counted as discarded below
            else:
                self._greeting.clear()
            reports.append(report)
        used = sum(self.protocol.report_size(report) for report in reports)
        self.discarded_bytes += len(buffer) - len(self._tail) - used
        return reports

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet waiting for the rest."""
        return len(self._tail)

    def reset(self) -> None:
        """Forget a half-received packet (after a reconnect the stream starts afresh)."""
        self._tail = b""
