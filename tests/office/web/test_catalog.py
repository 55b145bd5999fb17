"""Every sentence the pages can show has its Bahasa Indonesia translation."""

from __future__ import annotations

import string

from catalog_keys import code_sentences, template_sentences

from office.accounts import Role
from office.counter import STATE_NAMES
from office.fleet import DEVICE_NAMES, DEVICE_NOUNS, DEVICE_STATUSES
from office.notices import Level
from office.web.catalog_id import INDONESIAN
from office.web.i18n import ACTIONS

#: Shown through a variable (``_(name)``) rather than a literal: states, roles, levels, device statuses, and
#: the login page's two refusals.
DYNAMIC = {
    *STATE_NAMES.values(),
    *(role.value for role in Role),
    *(level.value for level in Level),
    "ok",
    "degraded",
    "failed",
    "off",
    "Wrong user name or password.",
    "Too many wrong passwords: this account is locked for 15 minutes.",
}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_sentence_is_translated():
    sentences, actions = code_sentences()
    assert actions <= ACTIONS.keys(), (
        f"name these audit actions in office/web/i18n.py: {actions - ACTIONS.keys()}"
    )
    words = {*DEVICE_NAMES.values(), *DEVICE_NOUNS.values(), *DEVICE_STATUSES.values()}
    wanted = template_sentences() | sentences | set(ACTIONS.values()) | DYNAMIC | words
    missing = sorted(wanted - INDONESIAN.keys())
    assert not missing, f"add to office/web/catalog_id.py: {missing}"
    assert len(wanted) > 140  # the extractor found the sentences


def test_translations_keep_the_placeholders():
    for english, indonesian in INDONESIAN.items():
        assert _fields(english) == _fields(indonesian), english
