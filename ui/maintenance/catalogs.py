"""Keep the maintenance catalogs current: the citizen catalogs' tool, pointed at the ``maintenance`` domain.

A developer tool (needs babel, the ``dev`` extra); the kiosk reads the compiled ``.mo`` files with the
standard library and never imports this module.

    python -m ui.maintenance.catalogs check     # every M_ message translated in id and en, .mo current
    python -m ui.maintenance.catalogs update    # add new messages to the .po files (translations kept)
    python -m ui.maintenance.catalogs compile   # write the .mo files from the .po files

Extraction, update, compilation and the check are :mod:`ui.catalogs`'s own functions, run with that
module's domain, locale folder, sources and keywords set to the maintenance ones for the duration of the
call (they read those module settings at call time), so both catalogs are kept by the same code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import ui.catalogs as citizen_catalogs
from ui.maintenance.i18n import DOMAIN, LOCALE_DIR

#: Where maintenance messages are marked.
SOURCES = (Path(__file__).resolve().parent,)
KEYWORDS = {"M_": None}


@contextlib.contextmanager
def maintenance_domain() -> Iterator[None]:
    """Point :mod:`ui.catalogs` at the maintenance catalogs while the block runs."""
    settings = {"DOMAIN": DOMAIN, "LOCALE_DIR": LOCALE_DIR, "SOURCES": SOURCES, "KEYWORDS": KEYWORDS}
    if hasattr(citizen_catalogs, "OWN_CATALOGS"):
        # The citizen scan leaves out packages with catalogs of their own, this one among them.
        settings["OWN_CATALOGS"] = ()
    saved = {name: getattr(citizen_catalogs, name) for name in settings}
    for name, value in settings.items():
        setattr(citizen_catalogs, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(citizen_catalogs, name, value)


def check() -> list[str]:
    """Problems with the maintenance catalogs, in plain words (empty when all is well)."""
    with maintenance_domain():
        return citizen_catalogs.check()


def update() -> None:
    """Add new messages to every maintenance ``.po`` (keeping translations) and drop unused ones."""
    with maintenance_domain():
        citizen_catalogs.update()


def compile_all() -> None:
    """Write every maintenance ``.mo`` from its ``.po``."""
    with maintenance_domain():
        citizen_catalogs.compile_all()


def main(argv: list[str]) -> int:
    """``check``, ``update`` or ``compile``."""
    with maintenance_domain():
        return citizen_catalogs.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
