"""The short reference code on the citizen's receipt.

The code is derived from the record's UUID, so the registry server computes the same code from the record it
receives and the counter finds the record from what the citizen reads out or shows. It is written in Douglas
Crockford's base32 (digits and letters without I, L, O and U, so nothing can be misread), followed by
Crockford's modulo-37 check symbol, which catches every single wrong character and every swap of two
neighbouring ones. The check symbol may be one of ``* ~ $ = U`` besides the 32 ordinary symbols.

Layout: 10 symbols carrying the lowest 50 bits of the UUID (all random in a version-4 UUID; a collision
between two records is about a one-in-two-thousand chance among a million records, and the counter then
sees two candidates, never a wrong one silently) plus the check symbol, shown in groups: ``7KQ2-M9XD-4RA``.

Typed input is forgiving the way Crockford intends: lower case, ``I``/``L`` for ``1``, ``O`` for ``0``,
hyphens and spaces are all accepted by :func:`parse_reference`.
"""

from __future__ import annotations

import uuid

import base32_crockford

#: Symbols carrying data, before the check symbol.
DATA_LENGTH = 10
_BITS = DATA_LENGTH * 5
_GROUPS = (4, 4, 3)


def _format(symbols: str) -> str:
    parts, start = [], 0
    for size in _GROUPS:
        parts.append(symbols[start : start + size])
        start += size
    return "-".join(parts)


def reference_for(record_id: str | uuid.UUID) -> str:
    """The receipt code of a record, e.g. ``"7KQ2-M9XD-4RA"``.

    Raises:
        ValueError: ``record_id`` is not a UUID.
    """
    value = (record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))).int & (
        (1 << _BITS) - 1
    )
    encoded = base32_crockford.encode(value, checksum=True)
    # The library drops leading zeros; padding with "0" keeps the value and therefore the check symbol.
    return _format(encoded.rjust(DATA_LENGTH + 1, "0"))


def parse_reference(text: str) -> str | None:
    """The canonical code for what someone typed or read out, or None when it is not a valid code (wrong
    length, a character outside the alphabet, or a check symbol that does not match)."""
    if not isinstance(text, str):
        return None
    compact = "".join(text.split())
    try:
        symbols = base32_crockford.normalize(compact)
        if len(symbols) != DATA_LENGTH + 1:
            return None
        base32_crockford.decode(symbols, checksum=True)
    except (ValueError, TypeError, KeyError):
        return None
    return _format(symbols)


def is_valid_reference(text: str) -> bool:
    """Whether ``text`` is a well-formed code with a matching check symbol."""
    return parse_reference(text) is not None


def reference_matches(record_id: str | uuid.UUID, text: str) -> bool:
    """Whether the code someone typed belongs to ``record_id``."""
    code = parse_reference(text)
    try:
        return code is not None and code == reference_for(record_id)
    except ValueError:
        return False
