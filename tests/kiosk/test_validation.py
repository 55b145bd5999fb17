"""Validators of what a citizen types: codes, severities and parameters the UI translates."""

from __future__ import annotations

import datetime

import pytest

from kiosk.services import load_services
from kiosk.validation import (
    ValidationIssue,
    check_choice,
    check_date,
    check_field,
    check_fields,
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
# 71.10.04 = Modayag, Kab. Bolaang Mongondow Timur.
WOMAN_1990 = "7110045708900001"  # born 17-08-1990: day 17 + 40 = 57
MAN_1985 = "7110040501850002"  # born 05-01-1985


def codes(issues: list[ValidationIssue]) -> list[str]:
    return [issue.code for issue in issues]


def test_a_valid_nik_decodes():
    info = parse_nik(WOMAN_1990, today=TODAY)
    assert info is not None
    assert (info.prefix, info.sex, info.birth_date, info.serial) == (
        "711004",
        "female",
        datetime.date(1990, 8, 17),
        "0001",
    )
    assert parse_nik(MAN_1985, today=TODAY).sex == "male"
    assert check_nik(WOMAN_1990, today=TODAY) == []
    assert check_nik("7110 0457 0890 0001", today=TODAY) == []


@pytest.mark.parametrize(
    ("nik", "code", "params"),
    [
        ("", "required", {}),
        ("71100457089000O1", "digits_only", {}),
        ("711004570890001", "wrong_length", {"expected": 16, "actual": 15}),
        ("71100457089000011", "wrong_length", {"expected": 16, "actual": 17}),
        ("0010045708900001", "region_invalid", {"prefix": "001004"}),
        ("7110005708900001", "region_invalid", {"prefix": "711000"}),
        ("7110043208900001", "nik_date_invalid", {"day": 32, "month": 8, "year": 90}),  # day 32 (man)
        ("7110047208900001", "nik_date_invalid", {"day": 72, "month": 8, "year": 90}),  # day 32 (woman)
        ("7110044008900001", "nik_date_invalid", {"day": 40, "month": 8, "year": 90}),
        ("7110041713900001", "nik_date_invalid", {"day": 17, "month": 13, "year": 90}),
        (
            "7110042902010001",
            "nik_date_invalid",
            {"day": 29, "month": 2, "year": 1},
        ),  # 1901 and 2001 not leap
        ("7110045708900000", "nik_serial_zero", {}),
    ],
)
def test_invalid_niks_are_errors(nik, code, params):
    issues = check_nik(nik, today=TODAY)
    assert issues[0] == ValidationIssue(code, "error", params)
    assert has_errors(issues)


def test_leap_day_and_women_plus_forty():
    assert check_nik("7110046902000001", today=TODAY) == []  # 29-02-2000, woman
    assert parse_nik("7110046902000001", today=TODAY).birth_date == datetime.date(2000, 2, 29)


def test_two_digit_year_resolves_to_the_latest_past_year():
    assert parse_nik("7110040101250001", today=TODAY).birth_date == datetime.date(2025, 1, 1)
    # 15-08-25 would be after today: the holder was born in 1925.
    assert parse_nik("7110041508250001", today=TODAY).birth_date == datetime.date(1925, 8, 15)


def test_unknown_district_prefix_is_a_warning_to_confirm():
    issues = check_nik("7199015708900001", today=TODAY)
    assert issues == [ValidationIssue("region_unknown", "warning", {"prefix": "719901"})]
    assert not has_errors(issues)


def test_kk_number():
    assert check_kk_number("7110041203150002") == []
    assert codes(check_kk_number("71100412031500")) == ["wrong_length"]
    assert codes(check_kk_number("7110-0412-0315-000X")) == ["digits_only"]
    assert check_kk_number("7199011203150002")[0].severity == "warning"
    assert codes(check_kk_number("0000001203150002")) == ["region_invalid"]


def test_nik_agreement_with_entered_sex_and_birth_date():
    assert check_nik_agreement(WOMAN_1990, sex="female", birth_date="1990-08-17", today=TODAY) == []
    assert check_nik_agreement(WOMAN_1990, sex="male", today=TODAY) == [
        ValidationIssue("nik_sex_mismatch", "error", {"nik_sex": "female"})
    ]
    assert check_nik_agreement(WOMAN_1990, birth_date="57-08-1990", today=TODAY) == []  # unparseable date
    assert check_nik_agreement(WOMAN_1990, birth_date="18-08-1990", today=TODAY) == [
        ValidationIssue("nik_birth_date_mismatch", "error", {"nik_date": "17-08-90"})
    ]
    # Only day, month and two-digit year are compared: the NIK does not carry the century.
    assert check_nik_agreement("7110041508250001", birth_date="2025-08-15", today=TODAY) == []
    assert check_nik_agreement("garbage", sex="male", today=TODAY) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Siti Aminah", []),
        ("Ma'ruf Amin", []),
        ("Drs. H. Paputungan-Mokoginta", []),
        ("  Budi   Santoso ", []),
        ("Sukarno", []),
        ("", ["required"]),
        ("Budi2", ["invalid_character"]),
        ("Budi@Santoso", ["invalid_character"]),
        (".-'", ["no_letters"]),
        ("B", ["too_short"]),
        ("A" * 61, ["too_long"]),
    ],
)
def test_names(name, expected):
    assert codes(check_name(name)) == expected


def test_name_messages_carry_their_parameters():
    assert check_name("Budi\tSantoso\x00")[0].params == {"char": "U+0000"}
    assert check_name("Budi#")[0].params == {"char": "#"}
    assert check_name("A" * 31, max_length=30)[0].params == {"max": 30, "actual": 31}
    assert codes(check_name("Putri", min_words=2)) == ["too_few_words"]
    assert check_name("Putri Ayu", min_words=2) == []


def test_text():
    assert check_text("Jl. Trans Sulawesi No. 5, RT 01/RW 02") == []
    assert codes(check_text("Jalan\x07")) == ["invalid_character"]
    assert codes(check_text("x" * 121)) == ["too_long"]
    assert codes(check_text("   ")) == ["required"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-08-17", []),
        ("17-08-1990", []),
        ("17/08/1990", []),
        ("17.08.1990", []),
        ("2025-06-01", []),
        ("2025-06-02", ["date_in_future"]),
        ("1899-12-31", ["date_too_early"]),
        ("31-02-2000", ["date_invalid"]),
        ("17 Agustus 1990", ["date_format"]),
        ("", ["required"]),
    ],
)
def test_dates(text, expected):
    assert codes(check_date(text, today=TODAY)) == expected


def test_parse_date_and_normalize():
    assert parse_date("17-08-1990") == datetime.date(1990, 8, 17)
    assert parse_date(None) is None
    assert normalize("date", "17/08/1990") == "1990-08-17"
    assert normalize("nik", " 7110-0457 0890.0001 ") == WOMAN_1990
    assert normalize("phone", "0812-3456-7890") == "+6281234567890"
    assert normalize("phone", "not a phone") == "not a phone"
    assert normalize("name", " Siti   Aminah ") == "Siti Aminah"
    assert normalize("choice", " single ") == "single"
    assert normalize("text", 12) == ""


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("081234567890", True),
        ("+62 812-3456-7890", True),
        ("0434 21234", True),  # landline, Kotamobagu area code
        ("+1 650 253 0000", True),  # a valid foreign number with its country code
        ("0812345", False),
        ("12345", False),
        ("halo", False),
        ("+" + "9" * 300, False),
    ],
)
def test_phone_numbers(text, ok):
    assert (check_phone(text) == []) is ok
    if not ok:
        assert codes(check_phone(text)) == ["phone_invalid"]


def test_choices():
    assert check_choice("a", {"a", "b"}) == []
    assert codes(check_choice("c", {"a", "b"})) == ["choice_unknown"]
    assert codes(check_choice("", {"a"})) == ["required"]


def test_check_field_dispatches_on_kind_and_respects_required():
    ektp = load_services().get("ektp")
    assert codes(check_field(ektp.field("nik"), "", today=TODAY)) == ["required"]
    assert check_field(ektp.field("phone"), "  ", today=TODAY) == []  # optional
    assert codes(check_field(ektp.field("sex"), "other", today=TODAY)) == ["choice_unknown"]
    assert check_field(ektp.field("sex"), "female", today=TODAY) == []
    assert check_field(ektp.field("kecamatan"), "71.10.04", kecamatan_codes={"71.10.04"}) == []
    assert codes(check_field(ektp.field("kecamatan"), "71.10.99", kecamatan_codes={"71.10.04"})) == [
        "choice_unknown"
    ]
    assert codes(check_field(ektp.field("marital_status"), "complicated")) == ["choice_unknown"]
    assert codes(check_field(ektp.field("birth_place"), "x" * 61)) == ["too_long"]


def test_check_fields_checks_agreement_with_a_nik_from_an_earlier_step():
    ektp = load_services().get("ektp")
    details = ektp.fields_for("details")
    values = {"nik": WOMAN_1990, "sex": "male", "birth_date": "18-08-1990"}
    found = check_fields(
        [ektp.field("sex"), ektp.field("birth_date")], values, all_fields=ektp.fields, today=TODAY
    )
    assert codes(found["sex"]) == ["nik_sex_mismatch"]
    assert codes(found["birth_date"]) == ["nik_birth_date_mismatch"]
    # A NIK that is itself wrong is reported on its own field, not as a mismatch here.
    values["nik"] = "123"
    found = check_fields(details, values, all_fields=ektp.fields, today=TODAY)
    assert found["sex"] == [] and found["birth_date"] == []
    assert set(found) == {spec.id for spec in details}
