"""The pad protocols' decoders: exact round trips, resynchronisation, and no input that can crash them."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hal.signature_pad.protocols import (
    ISDV4,
    ISDV4_QUERY_REPLY_SIZE,
    TOPAZ,
    DigitiserSize,
    PadProtocol,
    PenReading,
    StreamDecoder,
    decode_isdv4,
    decode_topaz,
    encode_isdv4,
    encode_isdv4_query_reply,
    encode_topaz,
    protocol_named,
)

FAST = settings(max_examples=150, deadline=None)

topaz_readings = st.builds(
    PenReading,
    x=st.integers(0, 4095),
    y=st.integers(0, 4095),
    pen_down=st.booleans(),
    in_range=st.booleans(),
    pressure=st.none(),
)
isdv4_readings = st.builds(
    PenReading,
    x=st.integers(0, 0xFFFF),
    y=st.integers(0, 0xFFFF),
    pen_down=st.booleans(),
    in_range=st.booleans(),
    pressure=st.integers(0, 1023),
)
protocols_and_readings = st.one_of(
    st.tuples(st.just(TOPAZ), st.lists(topaz_readings, min_size=2, max_size=25)),
    st.tuples(st.just(ISDV4), st.lists(isdv4_readings, min_size=2, max_size=25)),
)


def _stream(protocol: PadProtocol, readings: list[PenReading]) -> bytes:
    return b"".join(protocol.encode(r) for r in readings)


def _is_subsequence(wanted: list, got: list) -> bool:
    remaining = iter(got)
    return all(any(item == candidate for candidate in remaining) for item in wanted)


# -- known packets -------------------------------------------------------------------------------


def test_topaz_packet_layout_matches_the_protocol() -> None:
    # x = 0b1011_0011001 (1433), y = 0b0110_1010101 (853); in proximity, pen down.
    packet = encode_topaz(PenReading(x=1433, y=853, pen_down=True, in_range=True))
    assert packet == bytes([0x80 | 0x40 | 0x01, 1433 & 0x7F, 1433 >> 7, 853 & 0x7F, 853 >> 7])
    assert decode_topaz(packet) == ([PenReading(1433, 853, pen_down=True, in_range=True)], b"")


def test_topaz_packet_with_bits_above_twelve_is_dropped_and_the_next_one_kept() -> None:
    good = encode_topaz(PenReading(10, 20, pen_down=False))
    bad_x = bytes([0xC1, 0x01, 0x20, 0x01, 0x01])  # bit 5 of the X high byte set
    bad_y = bytes([0xC1, 0x01, 0x01, 0x01, 0x40])
    readings, tail = decode_topaz(bad_x + bad_y + good)
    assert readings == [PenReading(10, 20, pen_down=False)]
    assert tail == b""


def test_topaz_partial_packet_is_kept_as_the_tail_and_leading_noise_dropped() -> None:
    packet = encode_topaz(PenReading(1, 2, pen_down=True))
    assert decode_topaz(b"\x01\x02" + packet[:3]) == ([], packet[:3])


def test_isdv4_packet_layout_follows_the_w8001_bit_layout() -> None:
    reading = PenReading(x=0xABCD, y=0x1234, pen_down=True, in_range=True, pressure=0x2F5)
    packet = encode_isdv4(reading)
    assert len(packet) == 9
    assert packet[0] == 0x80 | 0x20 | 0x01
    x = (packet[1] & 0x7F) << 9 | (packet[2] & 0x7F) << 2 | (packet[6] & 0x60) >> 5
    y = (packet[3] & 0x7F) << 9 | (packet[4] & 0x7F) << 2 | (packet[6] & 0x18) >> 3
    pressure = (packet[5] & 0x7F) | (packet[6] & 0x07) << 7
    assert (x, y, pressure) == (0xABCD, 0x1234, 0x2F5)
    assert all(byte < 0x80 for byte in packet[1:])
    assert decode_isdv4(packet) == ([reading], b"")


def test_isdv4_query_reply_is_decoded_between_pen_packets_and_touch_packets_skipped() -> None:
    size = DigitiserSize(max_x=26202, max_y=16325, max_pressure=1023)
    pen = PenReading(100, 200, pen_down=False, in_range=True, pressure=0)
    touch = bytes([0x80 | 0x10 | 0x01, 0x05, 0x06, 0x07, 0x08])  # one-finger touch packet
    reply = encode_isdv4_query_reply(size)
    assert len(reply) == ISDV4_QUERY_REPLY_SIZE
    reports, tail = decode_isdv4(encode_isdv4(pen) + touch + reply + encode_isdv4(pen))
    assert reports == [pen, size, pen]
    assert tail == b""


@pytest.mark.parametrize(
    ("encode", "reading"),
    [
        (encode_topaz, PenReading(4096, 0, pen_down=True)),
        (encode_topaz, PenReading(0, -1, pen_down=True)),
        (encode_isdv4, PenReading(0x10000, 0, pen_down=True)),
        (encode_isdv4, PenReading(0, 0, pen_down=True, pressure=1024)),
    ],
)
def test_encoders_refuse_values_the_protocol_cannot_carry(encode, reading: PenReading) -> None:
    with pytest.raises(ValueError, match="must be"):
        encode(reading)


def test_protocols_are_found_by_their_settings_name() -> None:
    assert protocol_named("topaz") is TOPAZ
    assert protocol_named("isdv4") is ISDV4
    with pytest.raises(ValueError, match="unknown signature pad protocol 'wacom'"):
        protocol_named("wacom")


# -- properties ----------------------------------------------------------------------------------


@FAST
@given(data=st.binary(max_size=300), protocol=st.sampled_from([TOPAZ, ISDV4]))
def test_random_bytes_never_raise_and_leave_at_most_one_partial_packet(
    data: bytes, protocol: PadProtocol
) -> None:
    reports, tail = protocol.decode(data)
    assert len(tail) < ISDV4_QUERY_REPLY_SIZE
    if tail:
        assert tail[0] & 0x80
        assert all(byte < 0x80 for byte in tail[1:])
    for report in reports:
        if isinstance(report, PenReading):
            assert 0 <= report.x <= protocol.max_x and 0 <= report.y <= protocol.max_y


@FAST
@given(case=protocols_and_readings)
def test_valid_streams_round_trip_exactly(case: tuple[PadProtocol, list[PenReading]]) -> None:
    protocol, readings = case
    assert protocol.decode(_stream(protocol, readings)) == (readings, b"")


@FAST
@given(case=protocols_and_readings, garbage=st.binary(min_size=1, max_size=40), data=st.data())
def test_garbage_in_the_middle_costs_at_most_the_packet_it_hit(
    case: tuple[PadProtocol, list[PenReading]], garbage: bytes, data: st.DataObject
) -> None:
    protocol, readings = case
    hit = data.draw(st.integers(0, len(readings) - 1), label="damaged packet")
    offset = data.draw(st.integers(0, protocol.packet_size - 1), label="offset in it")
    packet = protocol.encode(readings[hit])
    damaged = packet[:offset] + garbage + packet[offset:]
    stream = _stream(protocol, readings[:hit]) + damaged + _stream(protocol, readings[hit + 1 :])

    decoded, _tail = protocol.decode(stream)

    pen = [r for r in decoded if isinstance(r, PenReading)]
    survivors = readings if offset == 0 else readings[:hit] + readings[hit + 1 :]
    assert _is_subsequence(survivors, pen)


@FAST
@given(
    case=protocols_and_readings,
    noise=st.lists(st.binary(max_size=8), max_size=6),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
@example(case=(ISDV4, [PenReading(0, 0, False, False, 0)] * 2), noise=[b"\x00" * 4, b"\xe0\x00\x00"], cuts=[])
def test_any_split_into_chunks_decodes_like_the_whole(
    case: tuple[PadProtocol, list[PenReading]], noise: list[bytes], cuts: list[int]
) -> None:
    protocol, readings = case
    stream = _stream(protocol, readings)
    for i, burst in enumerate(noise):  # noise at varied positions, packets hit or not
        at = (i * 37) % (len(stream) + 1)
        stream = stream[:at] + burst + stream[at:]
    whole, whole_tail = protocol.decode(stream)

    decoder = StreamDecoder(protocol)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    pieces = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        pieces.extend(decoder.feed(stream[start:end]))

    # Outside the greeting window a size reply is noise that looked like one: the stream decoder drops
    # it (it must never resize the canvas mid-session) and keeps every pen reading of the whole.
    assert pieces == [r for r in whole if isinstance(r, PenReading)]
    assert decoder.pending == len(whole_tail)


def test_stream_decoder_counts_the_bytes_that_formed_no_packet() -> None:
    decoder = StreamDecoder(TOPAZ)
    packet = encode_topaz(PenReading(5, 6, pen_down=True))
    assert decoder.feed(b"\x01\x02\x03" + packet[:2]) == []
    assert decoder.discarded_bytes == 3
    assert decoder.feed(packet[2:] + b"\xff\x00") == [PenReading(5, 6, pen_down=True)]
    assert decoder.discarded_bytes == 3
    assert decoder.pending == 2
    decoder.reset()
    assert decoder.pending == 0


# -- ISDV4 size replies: believed only in the greeting window -------------------------------------

GREETING_SIZE = DigitiserSize(max_x=26202, max_y=16325, max_pressure=1023)
#: The reported case: a noise byte with 0x40 (and the sync bit) set, then ten bytes without the sync bit.
NOISE_SIZE_REPLY = bytes([0x80 | 0x40]) + bytes([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A])

plausible_sizes = st.integers(4096, 0xFFFF).flatmap(
    lambda max_x: st.builds(
        DigitiserSize,
        max_x=st.just(max_x),
        max_y=st.integers(-(-max_x // 4), 0xFFFF).filter(lambda max_y: max_y <= 4 * max_x),
        max_pressure=st.sampled_from([0, 255, 511, 1023]),
    )
)


def test_a_noise_packet_that_looks_like_a_size_reply_mid_stream_is_dropped() -> None:
    pen = PenReading(100, 200, pen_down=True, in_range=True, pressure=10)
    decoder = StreamDecoder(ISDV4)
    decoder.expect_size()
    assert decoder.feed(encode_isdv4_query_reply(GREETING_SIZE)) == [GREETING_SIZE]
    # Mid-stream, after the greeting: the noise reply (and even a well-formed reply) is noise.
    reports = decoder.feed(encode_isdv4(pen) + NOISE_SIZE_REPLY + encode_isdv4(pen))
    reports += decoder.feed(encode_isdv4_query_reply(GREETING_SIZE._replace(max_x=30000)) + encode_isdv4(pen))
    assert reports == [pen, pen, pen]
    assert decoder.discarded_bytes == 2 * ISDV4_QUERY_REPLY_SIZE


def test_the_greeting_window_takes_one_plausible_reply_and_closes_at_the_first_pen_packet() -> None:
    pen = PenReading(1, 2, pen_down=False, in_range=True, pressure=0)
    decoder = StreamDecoder(ISDV4)
    assert decoder.feed(encode_isdv4_query_reply(GREETING_SIZE)) == []  # never asked
    decoder.expect_size()
    assert decoder.feed(NOISE_SIZE_REPLY) == []  # asked, but 0x102 x 0x183 is no digitiser
    assert decoder.feed(encode_isdv4_query_reply(GREETING_SIZE)) == [GREETING_SIZE]
    assert decoder.feed(encode_isdv4_query_reply(GREETING_SIZE)) == []  # once
    decoder.expect_size()
    assert decoder.feed(encode_isdv4(pen) + encode_isdv4_query_reply(GREETING_SIZE)) == [pen]


@FAST
@given(
    size=plausible_sizes,
    readings=st.lists(isdv4_readings, min_size=1, max_size=30),
    noise=st.lists(st.binary(min_size=1, max_size=24), min_size=1, max_size=30),
    interleave=st.randoms(use_true_random=False),
)
def test_isdv4_decoder_keeps_the_greeting_size_under_line_noise(size, readings, noise, interleave) -> None:
    decoder = StreamDecoder(ISDV4)
    decoder.expect_size()
    sizes = decoder.feed(encode_isdv4_query_reply(size))
    stream = bytearray()
    for reading in readings:
        stream += encode_isdv4(reading)
        stream += interleave.choice(noise) if interleave.random() < 0.5 else NOISE_SIZE_REPLY
    for start in range(0, len(stream), 7):
        sizes += [r for r in decoder.feed(stream[start : start + 7]) if isinstance(r, DigitiserSize)]
    assert sizes == [size]
