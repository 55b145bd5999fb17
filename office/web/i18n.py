"""The pages' two languages: English source sentences, translated to Bahasa Indonesia from :data:`INDONESIAN`.

Templates and handlers write ``_("English sentence with {placeholders}")``; the visitor's
:class:`Translator` gives the Indonesian one (or the English source). The catalog is plain data in
``office/web/catalog_id.py`` so an office can correct a wording without a build step; a test extracts every
``_("...")`` from the templates and the page code and checks that each has its translation.
"""

from __future__ import annotations

from office.web.catalog_id import INDONESIAN

LANGUAGES = ("id", "en")

#: How each audit action (the code stored in ``counter_audit``) reads on the pages (English source).
ACTIONS: dict[str, str] = {
    "login": "logged in",
    "login_failed": "login refused",
    "view_record": "viewed the record",
    "documents": "documents ticked",
    "state": "state changed",
    "export": "day exported",
    "search_nik": "searched by NIK",
    "forged_receipt": "forged receipt refused",
    "create_user": "account created",
    "set_password": "password set",
    "notice": "notice published",
    "notice_withdrawn": "notice withdrawn",
    "bundle_import": "USB bundle imported",
    "bundle_refused": "USB bundle refused",
}


class Translator:
    """Sentences in one of :data:`LANGUAGES`."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "id"
        self._catalog = INDONESIAN if self.language == "id" else {}

    def gettext(self, message: str) -> str:
        """``message`` in this language (the English source when it has no translation)."""
        return self._catalog.get(message, message)

    def action(self, code: str) -> str:
        """An audit action's name in this language (the code itself when it has no name)."""
        return self.gettext(ACTIONS.get(code, code))
