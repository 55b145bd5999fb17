"""Keep the gettext catalogs current: extract, update, compile, check (a developer tool).

Uses babel (the ``dev`` extra); the kiosk itself reads the compiled ``.mo`` files with the
standard library's gettext and never imports this module.

    python -m ui.catalogs check     # every used message translated in every language, .mo current
    python -m ui.catalogs update    # add new messages to the .po files (translations kept)
    python -m ui.catalogs compile   # write the .mo files from the .po files

Messages are found in ``ui/`` (calls of ``_``, ``N_`` and ``tr``) and in the kiosk modules whose
fixed sentences the UI translates (``kiosk/registration.py``: the printed receipt).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from ui.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
#: Where translatable messages are marked.
SOURCES = (ROOT / "ui", ROOT / "kiosk" / "registration.py")
KEYWORDS = {"_": None, "N_": None, "tr": None, "gettext": None}
#: Packages with catalogs of their own (the technician's maintenance mode has its own domain).
OWN_CATALOGS = (ROOT / "ui" / "maintenance",)


def source_files() -> list[Path]:
    """Python files scanned for messages."""
    files: list[Path] = []
    for source in SOURCES:
        files += sorted(source.rglob("*.py")) if source.is_dir() else [source]
    return [
        f for f in files if f.name != "catalogs.py" and not any(f.is_relative_to(own) for own in OWN_CATALOGS)
    ]


def extract() -> Catalog:
    """Every message marked in the sources, with where it is used."""
    catalog = Catalog(domain=DOMAIN, project="dukcapil-kiosk")
    for path in source_files():
        for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            if isinstance(message, str) and message:
                catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)])
    return catalog


def po_path(language: str) -> Path:
    """The ``.po`` file of ``language``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str) -> Catalog:
    """The ``.po`` catalog of ``language``."""
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def compiled(language: str) -> bytes:
    """The ``.mo`` bytes the ``.po`` file of ``language`` compiles to."""
    buffer = io.BytesIO()
    write_mo(buffer, read(language), use_fuzzy=False)
    return buffer.getvalue()


def check() -> list[str]:
    """Problems with the catalogs, in plain words (empty when all is well)."""
    used = {message.id for message in extract() if message.id}
    problems: list[str] = []
    for language in LANGUAGES:
        catalog = read(language)
        for msgid in sorted(used):
            message = catalog.get(msgid)
            if message is None:
                problems.append(f"{language}: missing {msgid!r}")
            elif not message.string or message.fuzzy:
                problems.append(f"{language}: not translated {msgid!r}")
        mo = po_path(language).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(language):
            problems.append(
                f"{language}: {mo.name} is not compiled from the .po (run: python -m ui.catalogs compile)"
            )
    return problems


def update() -> None:
    """Add new messages to every ``.po`` (keeping translations) and drop unused ones."""
    template = extract()
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read(language) if path.exists() else Catalog(locale=language, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, catalog, width=110, omit_header=False, sort_output=False)


def compile_all() -> None:
    """Write every ``.mo`` from its ``.po``."""
    for language in LANGUAGES:
        po_path(language).with_suffix(".mo").write_bytes(compiled(language))


def main(argv: list[str]) -> int:
    """``check``, ``update`` or ``compile``."""
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        problems = check()
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
