"""The pages' two languages: English source sentences, translated to Bahasa Indonesia from :data:`INDONESIAN`.

Templates and handlers write ``_("English sentence with {placeholders}")``; the visitor's
:class:`Translator` gives the Indonesian one (or the English source). The catalog is plain data in
``office/web/catalog_id.py`` so an office can correct a wording without a build step; a test extracts every
``_("...")`` from the templates and the page code and checks that each has its translation.
"""

from __future__ import annotations

from office.fleet import DEVICE_NAMES, DEVICE_STATUSES, Alert
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

    def device(self, name: str) -> str:
        """A kiosk device's name in words ("signature_pad" -> "Pad tanda tangan"); unknown names as sent."""
        return self.gettext(DEVICE_NAMES.get(name, name))

    def device_status(self, code: str) -> str:
        """A device's health in words ("ok" -> "berfungsi"); an unknown code as sent."""
        return self.gettext(DEVICE_STATUSES.get(code, code))

    def alert(self, alert: Alert) -> str:
        """An alert's sentence, with its worded values (a device's name) in this language too."""
        values = {k: self.gettext(v) if k in alert.words else v for k, v in alert.values.items()}
        return self.gettext(alert.message).format(**values)
