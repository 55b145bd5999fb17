"""The maintenance screens' own catalogs: complete in Bahasa Indonesia and English, compiled, kept apart."""

from __future__ import annotations

import ui.catalogs as citizen_catalogs
from ui.maintenance import catalogs
from ui.maintenance.i18n import MaintenanceTranslator


def test_every_maintenance_message_is_translated_and_compiled() -> None:
    assert catalogs.check() == []


def test_the_citizen_catalog_tool_is_left_as_it_was() -> None:
    before = (citizen_catalogs.DOMAIN, citizen_catalogs.LOCALE_DIR, citizen_catalogs.SOURCES)
    catalogs.check()
    assert before == (citizen_catalogs.DOMAIN, citizen_catalogs.LOCALE_DIR, citizen_catalogs.SOURCES)
    citizen_sources = {where for message in citizen_catalogs.extract() for where, _line in message.locations}
    assert not any(location.startswith("ui/maintenance/") for location in citizen_sources)


def test_the_technician_reads_indonesian_by_default() -> None:
    with catalogs.maintenance_domain():
        messages = [message.id for message in citizen_catalogs.extract() if message.id]
    tr = MaintenanceTranslator()
    assert tr.language == "id"
    untranslated = [message for message in messages if tr(message) == message and not _same_in_both(message)]
    assert untranslated == []


def _same_in_both(message: str) -> bool:
    """Messages that read the same in both languages (units, placeholders only, product words)."""
    same = {"{state}: {count}", "Firmware", "{value} GB", "{value} MB"}
    return message in same or (message.startswith("{") and message.endswith("}"))
