"""Translations: every visible message exists in both catalogs and the committed .mo files are current."""

from __future__ import annotations

import re

import pytest

from kiosk import validation
from kiosk.journey import Notice
from kiosk.photo_quality import PhotoProblem
from kiosk.power_policy import Refusal
from ui import catalogs, messages
from ui.i18n import LANGUAGES, Translator


def test_every_message_used_in_the_ui_is_translated_in_both_catalogs_and_the_mo_files_are_current():
    # Extracts every _("..."), N_("...") and tr("...") with babel, recompiles each .po in memory and
    # compares it with the committed .mo.
    assert catalogs.check() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language):
    catalog = catalogs.read(language)
    for message in catalog:
        if message.id and message.string:
            assert set(re.findall(r"{(\w+)}", message.id)) == set(re.findall(r"{(\w+)}", message.string)), (
                message.id
            )


def test_every_validation_code_has_its_own_sentence():
    codes = set(re.findall(r"^``([a-z_]+)``", validation.__doc__, flags=re.MULTILINE))
    assert codes, "the validation module documents its codes"
    assert codes <= set(messages.VALIDATION)


def test_every_photo_problem_notice_and_refusal_has_its_own_sentence():
    assert {p.value for p in PhotoProblem} <= set(messages.PHOTO)
    assert {n.value for n in Notice} <= set(messages.NOTICES)
    assert {r.value for r in Refusal} <= set(messages.REFUSALS)


def test_messages_are_in_the_citizens_language_with_their_values():
    tr = Translator("id")
    text = messages.validation_message(tr, "wrong_length", {"expected": 16, "actual": 15})
    assert text == "Harus 16 angka; Anda mengetik 15."
    assert messages.photo_message(tr, "too_dark") == "Terlalu gelap: hadap ke arah cahaya"
    tr.set_language("en")
    assert messages.photo_message(tr, "too_far") == "Come a little closer"
    assert "female" in messages.validation_message(tr, "nik_sex_mismatch", {"nik_sex": "female"})


def test_an_unknown_code_or_a_broken_placeholder_never_raises():
    tr = Translator("en")
    assert messages.validation_message(tr, "no_such_code", {}) == "Please check this value."
    assert messages.validation_message(tr, "wrong_length", {}).startswith("Must be")
    assert messages.photo_message(tr, "no_such_problem") == "Adjust your position"
