"""Synthetic citizens for the autopilot and the tests: plausible, valid, obviously made up.

Values are what a citizen would type on the on-screen keyboard (upper-case names, digits only in
numbers, dates as DD-MM-YYYY), consistent with each other: a NIK encodes the sex and birth date
entered in the fields that must agree with it, and starts with a real district of the office's
regency.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.regions import District
from kiosk.services import Service

_GIVEN = ("SITI", "BUDI", "DEWI", "AGUS", "RINA", "HENDRA", "NUR", "YULI", "FRANSISKA", "MOHAMAD")
_FAMILY = ("AMINAH", "SANTOSO", "LESTARI", "MOKODOMPIT", "PAPUTUNGAN", "MAMONTO", "DAMOPOLII", "LASABUDA")
_PLACES = ("KOTAMOBAGU", "MODAYAG", "TUTUYAN", "MANADO", "NUANGAN")
_STREETS = ("JL. MERDEKA", "JL. TRANS SULAWESI", "JL. PAHLAWAN", "JL. AHMAD YANI")


@dataclass(frozen=True)
class Person:
    """Who a NIK belongs to."""

    sex: str
    birth_date: datetime.date
    nik: str


def make_nik(prefix: str, sex: str, birth_date: datetime.date, serial: int) -> str:
    """A NIK: district prefix, DDMMYY (day + 40 for women), four-digit serial."""
    day = birth_date.day + (40 if sex == "female" else 0)
    return f"{prefix}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"


def citizen_values(
    service: Service,
    districts: Sequence[District],
    *,
    today: datetime.date,
    seed: int = 0,
    language: str = "id",
) -> dict[str, str]:
    """Values for every field of ``service`` as typed, or for choices the value to pick.

    Optional fields are filled too, so that screenshots show complete forms.
    """
    rng = random.Random(seed)
    district = districts[seed % len(districts)] if districts else None
    prefix = district.prefix if district else "711004"
    people: dict[str, Person] = {}
    for spec in service.fields:
        if spec.kind == "nik":
            sex = rng.choice(("male", "female"))
            born = datetime.date(rng.randint(1950, today.year - 18), rng.randint(1, 12), rng.randint(1, 28))
            people[spec.id] = Person(sex, born, make_nik(prefix, sex, born, rng.randint(1, 9999)))
    values: dict[str, str] = {}
    for spec in service.fields:
        person = people.get(spec.agrees_with or "")
        kind = spec.kind
        if kind == "nik":
            values[spec.id] = people[spec.id].nik
        elif kind == "kk_number":
            values[spec.id] = f"{prefix}{rng.randint(10**9, 10**10 - 1)}"
        elif kind == "name":
            values[spec.id] = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
        elif kind == "text":
            if "address" in spec.id:
                street, number = rng.choice(_STREETS), rng.randint(1, 99)
                values[spec.id] = f"{street} NO. {number}, RT 0{rng.randint(1, 9)}/RW 0{rng.randint(1, 9)}"
            else:
                values[spec.id] = rng.choice(_PLACES)
        elif kind == "date":
            date = person.birth_date if person else today - datetime.timedelta(days=rng.randint(3, 40))
            values[spec.id] = date.strftime("%d-%m-%Y")
        elif kind == "sex":
            values[spec.id] = person.sex if person else rng.choice(("male", "female"))
        elif kind == "choice":
            values[spec.id] = spec.options[0].value
        elif kind == "kecamatan":
            values[spec.id] = district.code if district else ""
        elif kind == "phone":
            values[spec.id] = f"0812{rng.randint(10**7, 10**8 - 1)}"
    return values
