"""The maintenance screens' own translations: gettext domain ``maintenance``, Bahasa Indonesia first.

The technician's sentences live in ``ui/maintenance/locale/<lang>/LC_MESSAGES/maintenance.po`` (with the
compiled ``.mo`` beside them), apart from the citizen's ``kiosk`` catalog. They are marked with ``M_("...")``
where they are defined and translated later with ``tr(MESSAGE)``; the citizen catalog's extractor looks for
``_``, ``N_``, ``tr`` and ``gettext`` calls *with a literal*, so it never picks these up. ``python -m
ui.maintenance.catalogs`` checks and recompiles them.

The shared widgets translate a few words of their own with the citizen catalog ("Delete" on the keypad,
"Up" / "Down" on lists): :class:`MaintenanceTranslator` falls back to that catalog for anything its own
does not know.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator

DOMAIN = "maintenance"
LOCALE_DIR = Path(__file__).with_name("locale")


def M_(message: str) -> str:
    """Mark ``message`` for the maintenance catalog without translating it yet."""
    return message


class _CitizenCatalog(gettext.NullTranslations):
    """The citizen catalog of one language, as a gettext fallback."""

    def __init__(self, citizen: Translator, language: str) -> None:
        super().__init__()
        self._citizen = citizen
        self._language = language

    def gettext(self, message: str) -> str:
        # The base class's lookup: the citizen catalogs it loaded, not the maintenance ones.
        return Translator.gettext_in(self._citizen, self._language, message)


class MaintenanceTranslator(Translator):
    """A :class:`ui.i18n.Translator` over the maintenance catalog, falling back to the citizen one.

    Args:
        language: The starting language; unknown codes fall back to the default.
        locale_dir: Where the compiled maintenance catalogs are.
    """

    def __init__(self, language: str = DEFAULT_LANGUAGE, locale_dir: Path = LOCALE_DIR) -> None:
        super().__init__(language)
        self._own: dict[str, gettext.NullTranslations] = {}
        for code in LANGUAGES:
            # fallback=True keeps the screens readable (in English) if a catalog went missing; the catalog
            # test fails long before that can ship.
            own = gettext.translation(DOMAIN, locale_dir, languages=[code], fallback=True)
            own.add_fallback(_CitizenCatalog(self, code))
            self._own[code] = own

    def gettext(self, message: str) -> str:
        """``message`` in the current language."""
        return self._own[self.language].gettext(message)

    __call__ = gettext

    def gettext_in(self, language: str, message: str) -> str:
        """``message`` in ``language`` whatever the current language."""
        return self._own.get(language, self._own[DEFAULT_LANGUAGE]).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n`` in the current language."""
        return self._own[self.language].ngettext(singular, plural, n)
