"""The steps of the citizen journey, on their own so that the welcome screen can name its step cheaply.

:class:`Step` belongs to :mod:`kiosk.journey` (which re-exports it); it lives here because the first welcome
frame is drawn before the journey is built (``kiosk run``'s first phase, :mod:`ui.first_frame`), and importing
the journey would pull in validation, the service files' types and phonenumbers just to read one enum value.
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """Where the citizen is."""

    WELCOME = "welcome"
    LANGUAGE = "language"
    SERVICE = "service"
    CHECKLIST = "checklist"
    IDENTITY = "identity"
    DETAILS = "details"
    PHOTO = "photo"
    SIGNATURE = "signature"
    REVIEW = "review"
    SAVING = "saving"
    RECEIPT = "receipt"
