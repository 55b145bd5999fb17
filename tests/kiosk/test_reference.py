"""Receipt reference codes: derived from the record UUID, readable, with a check symbol that catches typos."""

from __future__ import annotations

import uuid

import base32_crockford
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.reference import DATA_LENGTH, is_valid_reference, parse_reference, reference_for, reference_matches

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECORD = uuid.UUID("0b7f7e0e-6d7e-4c8e-9d3e-2f1a8c6b5a4d")


def test_code_shape_and_alphabet():
    code = reference_for(RECORD)
    assert len(code) == 13 and code[4] == "-" and code[9] == "-"
    symbols = code.replace("-", "")
    assert len(symbols) == DATA_LENGTH + 1
    assert all(c in ALPHABET for c in symbols[:-1])
    assert not set("ILOU") & set(symbols[:-1])


def test_code_is_the_low_50_bits_of_the_uuid_with_crockford_check():
    code = reference_for(str(RECORD))
    value = RECORD.int & ((1 << 50) - 1)
    assert base32_crockford.decode(code, checksum=True) == value
    # The server, given only the UUID, derives the same code.
    assert reference_for(RECORD) == reference_for(str(RECORD).upper())


def test_leading_zeros_are_kept():
    assert reference_for(uuid.UUID(int=0)) == "0000-0000-000"
    assert reference_for(uuid.UUID(int=36)) == "0000-0000-14U"  # 36 % 37 = 36 -> check symbol "U"


def test_typed_codes_are_forgiven_the_crockford_way():
    code = reference_for(RECORD)
    sloppy = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert parse_reference(sloppy) == code
    assert parse_reference(f"  {code.replace('-', '')}  ") == code
    assert reference_matches(RECORD, sloppy)
    assert not reference_matches(uuid.uuid4(), code)
    assert not reference_matches("not-a-uuid", code)


@pytest.mark.parametrize(
    "text", ["", "ABC", "0000-0000-0000-0", "ÄBCD-EFGH-JKM", "ABCD*EFGH-JKM", None, 42, "U000-0000-000"]
)
def test_malformed_codes_are_rejected(text):
    assert parse_reference(text) is None
    assert not is_valid_reference(text)


def test_reference_for_rejects_a_non_uuid():
    with pytest.raises(ValueError):
        reference_for("nope")


@settings(max_examples=300, deadline=None)
@given(st.uuids(version=4), st.integers(0, 9), st.sampled_from(ALPHABET))
def test_every_single_wrong_symbol_is_caught(record_id, position, replacement):
    code = reference_for(record_id)
    symbols = code.replace("-", "")
    if symbols[position] == replacement:
        return
    typo = symbols[:position] + replacement + symbols[position + 1 :]
    assert parse_reference(typo) is None


@settings(max_examples=300, deadline=None)
@given(st.uuids(version=4), st.integers(0, 8))
def test_every_swap_of_neighbours_is_caught(record_id, position):
    symbols = reference_for(record_id).replace("-", "")
    if symbols[position] == symbols[position + 1]:
        return
    swapped = symbols[:position] + symbols[position + 1] + symbols[position] + symbols[position + 2 :]
    assert parse_reference(swapped) is None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_parsing_any_text_never_raises(text):
    result = parse_reference(text)
    assert result is None or is_valid_reference(result)
