"""Translations: gettext catalogs for Bahasa Indonesia (the default) and English.

Source strings are English and marked with ``_("...")`` where they are shown, or ``N_("...")``
where they are only defined (tables of messages) and translated later. The catalogs live in
``ui/locale/<lang>/LC_MESSAGES/kiosk.po`` with the compiled ``.mo`` beside them; ``python -m
ui.catalogs`` (developer tool, needs babel) checks and recompiles them.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).with_name("locale")
#: Languages the citizen can choose, the default first.
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
#: Each language's own name, shown on the language buttons (never translated).
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it yet (for tables of messages)."""
    return message


class Translator:
    """Translates marked strings into the current language.

    Args:
        language: The starting language; unknown codes fall back to the default.
        locale_dir: Where the compiled catalogs are (tests point it elsewhere).
    """

    def __init__(self, language: str = DEFAULT_LANGUAGE, locale_dir: Path = LOCALE_DIR) -> None:
        self._catalogs: dict[str, gettext.NullTranslations] = {}
        for code in LANGUAGES:
            # fallback=True keeps the kiosk running with English text if a catalog went missing;
            # the catalog test fails loudly long before that can ship.
            self._catalogs[code] = gettext.translation(DOMAIN, locale_dir, languages=[code], fallback=True)
        self._language = DEFAULT_LANGUAGE
        self.set_language(language)

    @property
    def language(self) -> str:
        """The current language code (``"id"`` or ``"en"``)."""
        return self._language

    def set_language(self, language: str) -> None:
        """Switch the language; unknown codes switch to the default."""
        self._language = language if language in self._catalogs else DEFAULT_LANGUAGE

    def gettext(self, message: str) -> str:
        """``message`` in the current language."""
        return self._catalogs[self._language].gettext(message)

    __call__ = gettext

    def gettext_in(self, language: str, message: str) -> str:
        """``message`` in ``language`` whatever the current language (the bilingual welcome screen)."""
        catalog = self._catalogs.get(language, self._catalogs[DEFAULT_LANGUAGE])
        return catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n`` in the current language."""
        return self._catalogs[self._language].ngettext(singular, plural, n)

    def pick(self, texts: dict[str, str] | str) -> str:
        """Pick the current language from ``{"id": ..., "en": ...}`` (service data files).

        Data files an office edits carry their own translations; a plain string is shown as it is.
        """
        if isinstance(texts, str):
            return texts
        return texts.get(self._language) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()), "")
