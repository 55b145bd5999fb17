"""Codes from the kiosk layer turned into plain words in the citizen's language.

The journey, the validators and the face check speak in codes (``wrong_length``, ``too_dark``,
``camera_down``); this module holds the sentence for each, marked for the gettext catalogs. An
unknown code never crashes the screen: it falls back to a general sentence (and a test checks that
every code the kiosk layer defines has its own).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Mapping

from ui.i18n import N_, Translator

#: Validation issue codes (kiosk.validation) -> message; ``{param}`` placeholders come from the issue.
VALIDATION = {
    "required": N_("Please fill this in."),
    "digits_only": N_("Use digits only."),
    "wrong_length": N_("Must be {expected} digits; you typed {actual}."),
    "region_invalid": N_("The region code {prefix} is not valid. Please check the number."),
    "region_unknown": N_("Region code {prefix} is not on our list. Is the number correct?"),
    "nik_date_invalid": N_("The birth date inside this NIK is not a real date. Please check the number."),
    "nik_serial_zero": N_("The last four digits cannot be 0000. Please check the number."),
    "nik_sex_mismatch": N_("Does not match the NIK, which is for a {nik_sex} person."),
    "nik_birth_date_mismatch": N_("Does not match the birth date in the NIK ({nik_date})."),
    "too_short": N_("Too short: at least {min} letters."),
    "too_few_words": N_("Please write at least {min} words."),
    "too_long": N_("Too long: at most {max} characters (now {actual})."),
    "invalid_character": N_("This character cannot be used here: {char}"),
    "no_letters": N_("Please write it in letters."),
    "date_format": N_("Write the date as DD-MM-YYYY, for example 17-08-1990."),
    "date_invalid": N_("This date does not exist."),
    "date_in_future": N_("This date is in the future."),
    "date_too_early": N_("This date is too early (before {earliest})."),
    "phone_invalid": N_("This is not a valid phone number."),
    "choice_unknown": N_("Please choose one of the options."),
}
_VALIDATION_FALLBACK = N_("Please check this value.")

#: Words for the sex encoded in a NIK, used inside ``nik_sex_mismatch``.
SEX_WORDS = {"male": N_("male"), "female": N_("female")}

#: Face-check problem codes (kiosk.photo_quality.PhotoProblem) -> the instruction to give.
PHOTO = {
    "no_face": N_("Look straight at the camera"),
    "several_faces": N_("Only one person in the picture, please"),
    "off_centre": N_("Move your face into the oval"),
    "too_far": N_("Come a little closer"),
    "too_close": N_("Move back a little"),
    "blurry": N_("Hold still"),
    "too_dark": N_("Too dark: face the light"),
    "too_bright": N_("Too bright: move out of direct light"),
}
_PHOTO_FALLBACK = N_("Adjust your position")
PHOTO_GOOD = N_("Good. Hold still, then touch Take photo.")

#: Degraded-mode notices (kiosk.journey.Notice) -> what the citizen needs to know.
NOTICES = {
    "camera_down": N_("The camera is not working. Your photo will be taken at the counter."),
    "signature_pad_down": N_("The signature pad is not working. You can sign on this screen instead."),
    "printer_down": N_("The printer is not working. Your receipt code will be shown on the screen."),
    "network_down": N_(
        "No connection to the registry right now. Registrations are saved on this kiosk "
        "and sent automatically later."
    ),
    "on_battery": N_("Power cut: the kiosk is running on its battery."),
    "sessions_paused": N_("This kiosk cannot take new registrations right now. Please go to the counter."),
}
_NOTICE_FALLBACK = N_("Some parts of this kiosk are not working right now.")

#: Why a new session is refused (kiosk.journey.Journey.refusal).
REFUSALS = {
    "battery_low": N_(
        "The battery is low, so the kiosk is not starting new registrations. Please go to the counter."
    ),
    "shutting_down": N_("The kiosk is shutting down. Please go to the counter."),
    "sessions_paused": N_("This kiosk cannot take new registrations right now. Please go to the counter."),
    # kiosk.state.STORAGE_FULL: said before a citizen types anything, never after.
    "storage_full": N_("This kiosk is full and cannot take new registrations. Please go to the counter."),
}

#: Why saving failed (kiosk.journey.SaveError.reason).
SAVE_ERRORS = {
    "storage_full": N_(
        "The kiosk's storage is full, so your registration could not be saved. "
        "Your answers are still here. Please ask the staff for help."
    ),
    "storage_error": N_(
        "The kiosk could not save your registration. Your answers are still here: "
        "please try again, or ask the staff for help."
    ),
    "not_configured": N_(
        "This kiosk is not set up to save registrations yet. Please ask the staff for help."
    ),
}
_SAVE_FALLBACK = N_(
    "Your registration could not be saved. Your answers are still here: please try again, "
    "or ask the staff for help."
)


def _format(tr: Translator, template: str, params: Mapping[str, object]) -> str:
    try:
        return tr(template).format(**params)
    except (KeyError, IndexError, ValueError):
        # A translation with a wrong placeholder must not take the screen down.
        return tr(template)


def validation_message(tr: Translator, code: str, params: Mapping[str, object] | None = None) -> str:
    """The sentence for a validation issue, in the current language."""
    shown = dict(params or {})
    if code == "nik_sex_mismatch" and shown.get("nik_sex") in SEX_WORDS:
        shown["nik_sex"] = tr(SEX_WORDS[str(shown["nik_sex"])])
    if code == "date_too_early" and isinstance(shown.get("earliest"), str):
        with contextlib.suppress(ValueError):
            shown["earliest"] = datetime.date.fromisoformat(str(shown["earliest"])).strftime("%d-%m-%Y")
    return _format(tr, VALIDATION.get(code, _VALIDATION_FALLBACK), shown)


def photo_message(tr: Translator, code: str | None) -> str:
    """The instruction for the most important face-check problem (None = the photo is good)."""
    if code is None:
        return tr(PHOTO_GOOD)
    return tr(PHOTO.get(str(code), _PHOTO_FALLBACK))


def notice_message(tr: Translator, code: str) -> str:
    """The sentence announcing a degraded mode."""
    return tr(NOTICES.get(str(code), _NOTICE_FALLBACK))


def refusal_message(tr: Translator, code: str | None) -> str:
    """Why no new session starts."""
    return tr(REFUSALS.get(str(code), REFUSALS["sessions_paused"]))


def save_error_message(tr: Translator, code: str) -> str:
    """What went wrong with saving and what to do."""
    return tr(SAVE_ERRORS.get(str(code), _SAVE_FALLBACK))
