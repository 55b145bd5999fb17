"""The citizen's journey through the kiosk, as a state machine that knows nothing of pygame.

The UI renders the journey's state and feeds it touches; everything the citizen sees is decided here, so the
whole journey is tested without a screen. One :class:`Journey` lives for the life of the process and serves
citizen after citizen; between two citizens it is wiped.

Steps (:class:`Step`), in the order of the one route table :data:`ROUTE` (next, back, the progress indicator
and the steps review can edit are all derived from it)::

    welcome -> language -> service -> checklist -> identity -> details -> photo -> signature -> review
            -> saving -> receipt -> welcome

* ``photo`` only when the service takes one (``photo = true`` in its file) AND the camera works; otherwise it
  is skipped and ``photo_note`` becomes ``"taken_at_counter"``. A camera that fails during the photo step
  skips it the same way (:meth:`Journey.update_capabilities`).
* ``signature`` when the service takes one; :attr:`Journey.signature_source` says ``"pad"`` or ``"touch"``
  (the touchscreen canvas when no pad works).
* ``saving`` while the record is committed on a worker thread (:mod:`kiosk.registration`); the receipt appears
  only after the commit returned (:meth:`Journey.saved`); a failed save returns to ``review`` with
  :attr:`Journey.save_error` set and every answer kept.

How the UI drives it (all on the UI thread; the journey is not thread-safe)::

    journey = Journey(load_services(config.kiosk.services_dir), districts=districts_of(config.kiosk.regency),
                      idle_warning_s=config.ui.idle_warning_s, idle_reset_s=config.ui.idle_reset_s,
                      default_language=config.kiosk.language)
    journey.update_capabilities(Capabilities(camera_ok=..., ...))   # whenever a device or the power changes
    journey.tick()             # once per frame / timer wake-up: idle warning and idle wipe
    journey.touch()            # on every touch of the screen (clears the "need more time?" warning)
    journey.start()            # welcome -> language (False + journey.refusal when sessions are refused)
    journey.choose_language("en"); journey.choose_service("ektp"); journey.next()      # checklist
    journey.set_field("nik", "7110045708900001"); journey.next()             # identity
    # next() returns False while journey.issues has errors, or warnings not yet confirmed:
    if journey.pending_warnings: journey.confirm_warnings()                  # "yes, it is correct"
    journey.photo_taken(jpeg) / journey.skip_photo(); journey.signature_done(capture)
    journey.set_consent(True); request = journey.confirm()   # review -> saving: a SaveRequest
    registration.submit(request)             # worker thread, posts RecordSaved / RecordSaveFailed
    journey.apply_event(event)               # saving -> receipt, or back to review with save_error
    journey.finish()                         # receipt -> welcome

Every action returns True when it changed the journey and False when it does not apply at the current step
(a late double tap, say): it never raises for a citizen's input. :attr:`Journey.revision` grows on every
change so the UI can re-render only when needed.

Texts: the journey holds codes, never sentences. Step names, :class:`Notice` values, validation issue codes
(:mod:`kiosk.validation`), :attr:`Journey.refusal` and :attr:`Journey.save_error` codes are translated by the
UI's gettext catalogs; service names, labels and checklists come in both languages from the service files
(:meth:`kiosk.services.Text.get`).

Idle: after ``idle_warning_s`` without a touch :attr:`Journey.idle_warning` turns True ("need more time?");
after ``idle_reset_s`` more, every answer, photo, signature, consent and error is dropped and the journey is
back at welcome (:attr:`Journey.last_reset` = ``"idle"``). Python cannot zero a string in place: the wipe
drops every reference the journey holds so nothing of the previous citizen is reachable from it.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from kiosk import validation
from kiosk.events import RecordSaved, RecordSaveFailed
from kiosk.regions import District
from kiosk.service_notices import ServiceNotice, ServiceNotices
from kiosk.services import LANGUAGES, DocumentItem, FieldSpec, Service, ServiceCatalog
from kiosk.steps import Step
from kiosk.validation import ValidationIssue

if TYPE_CHECKING:
    from kiosk.records import SignatureCapture

log = logging.getLogger(__name__)

#: Version of the consent text the UI shows on the review step; stored in the record with the consent.
#: Bump it whenever the wording of the consent in the UI's catalogs changes.
CONSENT_VERSION = "2026-12"

#: ``photo_note`` when the face photo will be taken at the counter instead.
PHOTO_AT_COUNTER = "taken_at_counter"


class Notice(StrEnum):
    """A degraded mode the UI announces honestly (the UI's catalogs hold the sentence for each code)."""

    #: No working camera: the face photo is taken at the counter.
    CAMERA_DOWN = "camera_down"
    #: No working signature pad: the citizen signs on the touchscreen.
    SIGNATURE_PAD_DOWN = "signature_pad_down"
    #: No working printer: the receipt code and QR are shown on screen only.
    PRINTER_DOWN = "printer_down"
    #: No network: records are saved on this kiosk and sent automatically later.
    NETWORK_DOWN = "network_down"
    #: Mains power is gone; the kiosk runs on its battery.
    ON_BATTERY = "on_battery"
    #: New sessions are refused (battery too low, shutting down); the citizen in front may finish.
    SESSIONS_PAUSED = "sessions_paused"


@dataclass(frozen=True)
class Capabilities:
    """A snapshot of what the kiosk can do right now, built by the composition root from device health,
    the power policy and the sync worker's status. It may change at any moment of a journey.

    Attributes:
        camera_ok: The camera can take a photo.
        signature_pad_ok: The signature pad delivers pen samples.
        printer_ok: The receipt printer can print.
        network_ok: The registry server was reachable recently.
        on_battery: Mains power is gone.
        sessions_allowed: A new citizen session may start (the power policy says no when the battery
            cannot cover one).
        refusal_reason: Code of why sessions are refused (e.g. ``"battery_low"``, ``"shutting_down"``);
            the UI translates it.
    """

    camera_ok: bool = True
    signature_pad_ok: bool = True
    printer_ok: bool = True
    network_ok: bool = True
    on_battery: bool = False
    sessions_allowed: bool = True
    refusal_reason: str | None = None


@dataclass(frozen=True)
class ReviewItem:
    """One line of the review step: a field's label and its value as the citizen should read it."""

    field: FieldSpec
    label: str
    value: str


@dataclass(frozen=True, repr=False)
class SaveRequest:
    """Everything :mod:`kiosk.registration` needs to make, seal and store the record; a snapshot taken on the
    UI thread, so the worker thread never reads the live journey.

    Its ``repr`` names no personal data.
    """

    service: Service
    language: str
    fields: Mapping[str, str]
    photo_jpeg: bytes | None
    photo_note: str | None
    signature: SignatureCapture | None
    consent_given: bool
    consent_version: str
    #: Wall-clock time (seconds since the epoch) the citizen confirmed.
    consent_at: float
    #: The network was down at confirmation: the receipt says "saved on this kiosk, sent automatically".
    offline: bool

    def __repr__(self) -> str:
        photo = self.photo_jpeg is not None
        return f"SaveRequest(service={self.service.id!r}, fields={len(self.fields)}, photo={photo})"


@dataclass(frozen=True)
class ReceiptView:
    """What the receipt step shows and prints: nothing personal, only the service, the code, what to bring."""

    service: Service
    reference: str
    record_id: str
    documents: tuple[DocumentItem, ...]
    #: ``"taken_at_counter"`` when the photo was skipped, else None.
    photo_note: str | None
    #: Saved while the network was down: "saved on this kiosk, it will be sent automatically".
    offline: bool
    #: The QR code's payload signed by the kiosk (:mod:`kiosk.receipt_qr`); None = the reference alone.
    qr_payload: str | None = None
    #: The office's notices for this service in force when the record was saved ("e-KTP recording: the
    #: recorder is broken today"), printed so the citizen knows before queuing.
    service_notices: tuple[ServiceNotice, ...] = ()


@dataclass(frozen=True)
class SaveError:
    """Why the last save failed: a code the UI translates (``"storage_full"``, ``"storage_error"``, ... see
    :mod:`kiosk.registration`) and the technical detail for the log and the technician."""

    reason: str
    detail: str


_FIELD_STEPS = (Step.IDENTITY, Step.DETAILS)


@dataclass(frozen=True)
class Leg:
    """One step of the route and what the journey derives from it.

    Attributes:
        step: The step.
        needs: What the step needs to be on this citizen's route: ``"photo"`` (the service takes one and the
            camera works), ``"signature"`` (the service takes one), or None (always on it).
        counted: Shown by the progress indicator.
        editable: Review can send the citizen back to it to correct it.
    """

    step: Step
    needs: Literal["photo", "signature"] | None = None
    counted: bool = False
    editable: bool = False


#: The citizen's route, in order: next, back, progress and the steps review can edit all follow from it.
ROUTE: tuple[Leg, ...] = (
    Leg(Step.WELCOME),
    Leg(Step.LANGUAGE),
    Leg(Step.SERVICE, counted=True),
    Leg(Step.CHECKLIST, counted=True),
    Leg(Step.IDENTITY, counted=True, editable=True),
    Leg(Step.DETAILS, counted=True, editable=True),
    Leg(Step.PHOTO, needs="photo", counted=True, editable=True),
    Leg(Step.SIGNATURE, needs="signature", counted=True, editable=True),
    Leg(Step.REVIEW, counted=True),
    Leg(Step.SAVING),
    Leg(Step.RECEIPT),
)
_POSITION = {leg.step: index for index, leg in enumerate(ROUTE)}
_MAX_VALUE_LENGTH = 200
#: Seconds the receipt ignores "Done" after it appears. A double tap on "Save" must not throw away the
#: receipt: with the printer down the on-screen code is the citizen's only copy. Long enough to outlast
#: a second tap and a screen change, short enough that a citizen who read the code is not kept waiting.
RECEIPT_GUARD_S = 2.0


class Journey:
    """One kiosk's citizen journey (see the module docstring for how the UI drives it).

    Args:
        catalog: The enabled services.
        districts: The kecamatan of the configured regency (choices of ``kecamatan`` fields).
        idle_warning_s: Seconds without a touch before the "need more time?" warning.
        idle_reset_s: Seconds of warning before everything is wiped and welcome returns.
        default_language: The language welcome starts in (``"id"`` or ``"en"``).
        capabilities: What works at start-up.
        clock: Monotonic seconds, for the idle timers (injected by tests).
        wall_clock: Seconds since the epoch, for the consent time.
        today: Today's date, for date validation.
        service_notices: The office's service notices, kept up to date by the sync worker from its heartbeat
            answers (thread-safe); None = none known.
    """

    def __init__(
        self,
        catalog: ServiceCatalog,
        *,
        districts: Sequence[District] = (),
        idle_warning_s: float = 60.0,
        idle_reset_s: float = 30.0,
        default_language: str = "id",
        capabilities: Capabilities | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        today: Callable[[], datetime.date] = datetime.date.today,
        service_notices: ServiceNotices | None = None,
    ) -> None:
        self.catalog = catalog
        self._service_notices = service_notices or ServiceNotices(wall_clock)
        self.districts = tuple(districts)
        self.idle_warning_s = idle_warning_s
        self.idle_reset_s = idle_reset_s
        self.default_language = default_language if default_language in LANGUAGES else LANGUAGES[0]
        self._clock = clock
        self._wall_clock = wall_clock
        self._today = today
        self._capabilities = capabilities or Capabilities()
        self._district_codes = frozenset(d.code for d in self.districts)
        self._district_names = {d.code: d.name for d in self.districts}
        self.revision = 0
        #: Why the journey last returned to welcome on its own: ``"idle"``, else None.
        self.last_reset: str | None = None
        #: Code of why :meth:`start` was refused (from :attr:`Capabilities.refusal_reason`), else None.
        self.refusal: str | None = None
        self._fields: dict[str, str] = {}
        self._issues: dict[str, tuple[ValidationIssue, ...]] = {}
        self._confirmed: set[tuple[str, str, str]] = set()
        self._wipe()
        if not self.districts and any(
            spec.kind == "kecamatan" for service in catalog for spec in service.fields
        ):
            log.warning("no kecamatan list for the configured regency: kecamatan fields cannot be answered")

    # ----------------------------------------------------------------------------------------- state (read)

    @property
    def step(self) -> Step:
        """The step the UI shows."""
        return self._step

    @property
    def language(self) -> str:
        """The citizen's language, ``"id"`` or ``"en"``."""
        return self._language

    @property
    def service(self) -> Service | None:
        """The chosen service, or None before the service step."""
        return self._service

    @property
    def capabilities(self) -> Capabilities:
        """The latest capabilities snapshot."""
        return self._capabilities

    @property
    def fields(self) -> Mapping[str, str]:
        """The values entered so far, as typed (read-only view)."""
        return MappingProxyType(self._fields)

    @property
    def issues(self) -> Mapping[str, tuple[ValidationIssue, ...]]:
        """Validation issues by field id (read-only view); a field without issues is absent."""
        return MappingProxyType(self._issues)

    def issues_for(self, field_id: str) -> tuple[ValidationIssue, ...]:
        """The issues of one field, errors first."""
        return self._issues.get(field_id, ())

    @property
    def pending_warnings(self) -> Mapping[str, tuple[ValidationIssue, ...]]:
        """Warnings on the current step the citizen has not confirmed yet ("is this correct?")."""
        return MappingProxyType(self._unconfirmed_warnings(self._step))

    def has_answers(self) -> bool:
        """Whether the citizen entered anything (a field, a photo, a signature) that leaving would discard."""
        return bool(any(self._fields.values()) or self._photo is not None or self._signature is not None)

    @property
    def photo_jpeg(self) -> bytes | None:
        """The accepted face photo (JPEG), or None."""
        return self._photo

    @property
    def photo_note(self) -> str | None:
        """``"taken_at_counter"`` when the photo step was skipped, else None."""
        return self._photo_note

    @property
    def signature(self) -> SignatureCapture | None:
        """The accepted signature, or None."""
        return self._signature

    @property
    def signature_source(self) -> Literal["pad", "touch"]:
        """Where the citizen signs: the pad when it works, else the touchscreen."""
        return "pad" if self._capabilities.signature_pad_ok else "touch"

    @property
    def consent(self) -> bool:
        """Whether the citizen ticked the consent on the review step."""
        return self._consent

    @property
    def save_error(self) -> SaveError | None:
        """Why the last save failed (shown on the review step), else None."""
        return self._save_error

    @property
    def receipt(self) -> ReceiptView | None:
        """The receipt, on the receipt step only."""
        return self._receipt

    @property
    def idle_warning(self) -> bool:
        """True while the "need more time?" warning is up."""
        return self._warning_since is not None

    def seconds_until_reset(self) -> float | None:
        """Seconds left before the idle wipe while the warning is up (for a countdown), else None."""
        if self._warning_since is None:
            return None
        return max(0.0, self.idle_reset_s - (self._clock() - self._warning_since))

    def idle_deadline(self) -> float | None:
        """The clock time at which :meth:`tick` next has something to do, or None when idle timers do not run.

        A UI can sleep until then instead of polling: the warning is due ``idle_warning_s`` after the last
        touch, the wipe ``idle_reset_s`` after the warning went up.
        """
        if self._step in (Step.WELCOME, Step.SAVING):
            return None
        if self._warning_since is None:
            return self._last_touch + self.idle_warning_s
        return self._warning_since + self.idle_reset_s

    @property
    def notices(self) -> tuple[Notice, ...]:
        """The degraded modes to announce on the current step, most important first."""
        caps = self._capabilities
        service = self._service
        notices: list[Notice] = []
        if not caps.sessions_allowed:
            notices.append(Notice.SESSIONS_PAUSED)
        if not caps.camera_ok and (service is None or service.photo):
            notices.append(Notice.CAMERA_DOWN)
        if not caps.signature_pad_ok and (service is None or service.signature):
            notices.append(Notice.SIGNATURE_PAD_DOWN)
        if not caps.printer_ok:
            notices.append(Notice.PRINTER_DOWN)
        if not caps.network_ok:
            notices.append(Notice.NETWORK_DOWN)
        if caps.on_battery:
            notices.append(Notice.ON_BATTERY)
        return tuple(notices)

    def fields_on_step(self) -> tuple[FieldSpec, ...]:
        """The fields of the current step (identity or details), else ()."""
        if self._service is None or self._step not in _FIELD_STEPS:
            return ()
        return self._service.fields_for(self._step.value)

    def options_for(self, field_id: str) -> tuple[tuple[str, str], ...]:
        """``(value, label)`` pairs a picker shows for a ``choice``, ``sex`` or ``kecamatan`` field, in the
        citizen's language; () for other fields."""
        spec = self._field(field_id)
        if spec is None:
            return ()
        if spec.kind == "kecamatan":
            return tuple((d.code, d.name) for d in self.districts)
        return tuple((option.value, option.label.get(self._language)) for option in spec.choices())

    def display_value(self, field_id: str) -> str:
        """A field's value as the citizen should read it: option labels for choices, kecamatan names,
        dates as DD-MM-YYYY, other values as typed (stripped)."""
        spec = self._field(field_id)
        raw = self._fields.get(field_id, "")
        if spec is None or not raw.strip():
            return ""
        if spec.kind == "kecamatan":
            return self._district_names.get(raw, raw)
        if spec.kind in ("choice", "sex"):
            labels = {option.value: option.label.get(self._language) for option in spec.choices()}
            return labels.get(raw, raw)
        if spec.kind == "date":
            parsed = validation.parse_date(raw)
            return parsed.strftime("%d-%m-%Y") if parsed else raw.strip()
        return validation.normalize(spec.kind, raw)

    def review_items(self) -> tuple[ReviewItem, ...]:
        """Every field of the service with its label and display value, for the review step."""
        if self._service is None:
            return ()
        return tuple(
            ReviewItem(field=spec, label=spec.label.get(self._language), value=self.display_value(spec.id))
            for spec in self._service.fields
        )

    def progress(self) -> tuple[tuple[Step, ...], int]:
        """The steps of this journey a progress indicator shows (service .. review) and the index of the
        current one (-1 outside them)."""
        steps = tuple(leg.step for leg in self._route() if leg.counted)
        return steps, steps.index(self._step) if self._step in steps else -1

    # -------------------------------------------------------------------------------------- device inputs

    def update_capabilities(self, capabilities: Capabilities) -> bool:
        """Take a new snapshot of what works. A camera that fails during the photo step skips the photo with
        the "taken at the counter" note; a pad that fails switches the signature to the touchscreen."""
        if capabilities == self._capabilities:
            return False
        self._capabilities = capabilities
        if capabilities.sessions_allowed:
            self.refusal = None
        if self._step is Step.PHOTO and not capabilities.camera_ok:
            log.info("camera failed during the photo step: the photo will be taken at the counter")
            self._go(Step.PHOTO)  # _go skips a photo step that no longer applies
        self._changed()
        return True

    def tick(self) -> bool:
        """Advance the idle timers; call it every frame or timer wake-up. Returns True when something changed
        (the warning went up, or the idle wipe happened)."""
        if self._step in (Step.WELCOME, Step.SAVING):
            return False
        now = self._clock()
        if self._warning_since is None:
            if now - self._last_touch >= self.idle_warning_s:
                self._warning_since = now
                self._changed()
                return True
            return False
        if now - self._warning_since >= self.idle_reset_s:
            log.info("idle on step %s: wiping the session", self._step)
            self._wipe()
            self.last_reset = "idle"
            self._changed()
            return True
        return False

    def touch(self) -> bool:
        """The citizen touched the screen: restart the idle timer and clear the warning."""
        self._last_touch = self._clock()
        if self._warning_since is not None:
            self._warning_since = None
            self._changed()
            return True
        return False

    def apply_event(self, event: object) -> bool:
        """Apply a :class:`kiosk.events.RecordSaved` or :class:`kiosk.events.RecordSaveFailed` from the
        registration worker; other events are ignored (False)."""
        if isinstance(event, RecordSaved):
            return self.saved(event.reference, event.record_id, event.qr_payload)
        if isinstance(event, RecordSaveFailed):
            return self.save_failed(event.reason, event.detail)
        return False

    # ------------------------------------------------------------------------------------ citizen actions

    def start(self) -> bool:
        """Welcome -> language. Refused (False, :attr:`refusal` set) when new sessions are not allowed."""
        if self._step is not Step.WELCOME:
            return False
        if not self._capabilities.sessions_allowed:
            self.refusal = self._capabilities.refusal_reason or "sessions_paused"
            self._changed()
            return False
        self.refusal = None
        self.last_reset = None
        self._go(Step.LANGUAGE)
        return True

    def set_language(self, language: str) -> bool:
        """Switch the language at any step (a language toggle); unknown codes are ignored."""
        if language not in LANGUAGES:
            return False
        self._activity()
        self._language = language
        self._changed()
        return True

    def choose_language(self, language: str) -> bool:
        """Language step: take the choice and go to the service step."""
        if self._step is not Step.LANGUAGE or language not in LANGUAGES:
            return False
        self._language = language
        self._go(Step.SERVICE)
        return True

    def choose_service(self, service_id: str) -> bool:
        """Service step: take the choice and show its checklist. Choosing another service than before drops
        the answers given for the previous one."""
        service = self.catalog.get(service_id) if isinstance(service_id, str) else None
        if self._step is not Step.SERVICE or service is None:
            return False
        if self._service is not None and self._service.id != service.id:
            self._drop_answers()
        self._service = service
        self._go(Step.CHECKLIST)
        return True

    def set_field(self, field_id: str, value: str) -> bool:
        """Identity/details step: store what the citizen typed or picked and check it at once.

        An empty value is not reported as missing until :meth:`next`; overlong input is cut at 200
        characters (the validators report the field's own limit).
        """
        spec = self._field(field_id)
        if self._step not in _FIELD_STEPS or spec is None or spec.step != self._step.value:
            return False
        if not isinstance(value, str):
            return False
        self._activity()
        self._fields[field_id] = value[:_MAX_VALUE_LENGTH]
        self._save_error = None
        dependants = [
            s for s in self._service_fields() if s.agrees_with == field_id and self._fields.get(s.id)
        ]
        for checked in (spec, *dependants):
            self._check_live(checked)
        self._changed()
        return True

    def next(self) -> bool:
        """Continue: checklist -> identity -> details -> photo/signature/review.

        On identity and details every field of the step is checked; the step is left only when no error is
        left and every warning was confirmed (:meth:`confirm_warnings`).
        """
        if self._step is Step.CHECKLIST:
            self._go(self._return_or(Step.IDENTITY))
            return True
        if self._step not in _FIELD_STEPS:
            return False
        self._activity()
        if not self._check_step(self._step):
            self._changed()
            return False
        self._go(self._return_or(self._after(self._step)))
        return True

    def check_page(self, field_ids: Sequence[str]) -> bool:
        """Check some fields of the current step (one page of a long form) as :meth:`next` would.

        True when none of them has an error, so the citizen may turn the page; their problems are shown
        either way. Warnings are confirmed when the step is left, not per page.
        """
        if self._step not in _FIELD_STEPS or self._service is None:
            return False
        self._activity()
        specs = [spec for spec in self._service.fields_for(self._step.value) if spec.id in field_ids]
        for spec in specs:
            self._issues.pop(spec.id, None)
        self._store_issues(self._check_fields(specs))
        self._changed()
        return not any(validation.has_errors(self._issues.get(spec.id, ())) for spec in specs)

    def confirm_warnings(self) -> bool:
        """The citizen confirms the warnings of the current step ("yes, this is correct") and continues."""
        pending = self._unconfirmed_warnings(self._step)
        if self._step not in _FIELD_STEPS or not pending:
            return False
        for field_id, warnings in pending.items():
            value = self._fields.get(field_id, "")
            self._confirmed.update((field_id, issue.code, value) for issue in warnings)
        return self.next()

    def photo_taken(self, jpeg: bytes) -> bool:
        """Photo step: the citizen accepted this photo."""
        if self._step is not Step.PHOTO or not isinstance(jpeg, bytes | bytearray) or not jpeg:
            return False
        self._photo = bytes(jpeg)
        self._photo_note = None
        self._go(self._return_or(self._after(Step.PHOTO)))
        return True

    def skip_photo(self) -> bool:
        """Photo step: no photo here (the citizen asks for the counter, or the camera gave up); the receipt
        says the photo is taken at the counter."""
        if self._step is not Step.PHOTO:
            return False
        self._photo = None
        self._photo_note = PHOTO_AT_COUNTER
        self._go(self._return_or(self._after(Step.PHOTO)))
        return True

    def signature_done(self, signature: SignatureCapture) -> bool:
        """Signature step: the citizen accepted this signature."""
        if self._step is not Step.SIGNATURE or signature is None:
            return False
        self._signature = signature
        self._go(Step.REVIEW)
        return True

    def set_consent(self, given: bool) -> bool:
        """Review step: the consent tick box."""
        if self._step is not Step.REVIEW:
            return False
        self._activity()
        self._consent = bool(given)
        self._changed()
        return True

    def edit(self, step: Step | str) -> bool:
        """Review step: go to ``step`` (identity, details, photo or signature) to correct it; continuing from
        there comes straight back to review."""
        try:
            target = Step(step)
        except ValueError:
            return False
        if self._step is not Step.REVIEW or target not in self._editable_steps():
            return False
        self._returning_to_review = True
        self._go(target)
        return True

    def confirm(self) -> SaveRequest | None:
        """Review step: the citizen confirms. Returns the snapshot to register and moves to saving; None when
        consent is missing or (defensively) an answer is invalid, in which case the step with the problem is
        shown."""
        if self._step is not Step.REVIEW or self._service is None or not self._consent:
            return None
        for step in _FIELD_STEPS:
            if not self._check_step(step):
                self._returning_to_review = True
                self._go(step)
                return None
        service = self._service
        fields = {
            spec.id: validation.normalize(spec.kind, self._fields[spec.id])
            for spec in service.fields
            if self._fields.get(spec.id, "").strip()
        }
        request = SaveRequest(
            service=service,
            language=self._language,
            fields=MappingProxyType(fields),
            photo_jpeg=self._photo,
            photo_note=self._photo_note,
            signature=self._signature,
            consent_given=True,
            consent_version=CONSENT_VERSION,
            consent_at=self._wall_clock(),
            offline=not self._capabilities.network_ok,
        )
        self._save_error = None
        self._go(Step.SAVING)
        return request

    def notices_for(self, service_id: str) -> tuple[ServiceNotice, ...]:
        """The office's notices in force for a service (shown on its button and printed on the receipt)."""
        return self._service_notices.for_service(service_id)

    def saved(self, reference: str, record_id: str, qr_payload: str | None = None) -> bool:
        """Saving -> receipt, once the record is committed. The personal data is dropped at once: the record
        is sealed in the outbox and the receipt holds nothing personal."""
        if self._step is not Step.SAVING or self._service is None:
            return False
        self._receipt_at = self._clock()
        self._receipt = ReceiptView(
            service=self._service,
            reference=reference,
            record_id=record_id,
            documents=self._service.documents,
            photo_note=self._photo_note,
            offline=not self._capabilities.network_ok,
            qr_payload=qr_payload,
            service_notices=self.notices_for(self._service.id),
        )
        self._drop_answers()
        self._go(Step.RECEIPT)
        return True

    def save_failed(self, reason: str, detail: str = "") -> bool:
        """Saving -> review with :attr:`save_error` set; every answer is kept so the citizen can retry."""
        if self._step is not Step.SAVING:
            return False
        self._save_error = SaveError(reason=reason, detail=detail)
        self._go(Step.REVIEW)
        return True

    def finish_allowed_at(self) -> float | None:
        """On the receipt step, when "Done" starts to count (:data:`RECEIPT_GUARD_S` after it appeared)."""
        if self._step is not Step.RECEIPT:
            return None
        return self._receipt_at + RECEIPT_GUARD_S

    def can_finish(self) -> bool:
        """Whether "Done" on the receipt is honoured now (the guard time has passed)."""
        allowed_at = self.finish_allowed_at()
        return allowed_at is not None and self._clock() >= allowed_at

    def finish(self) -> bool:
        """Receipt -> welcome (the citizen is done); refused during the receipt's guard time."""
        if not self.can_finish():
            return False
        self._wipe()
        self._changed()
        return True

    def cancel(self) -> bool:
        """Leave from any step but saving: everything is wiped and welcome returns."""
        if self._step in (Step.WELCOME, Step.SAVING):
            return False
        self._wipe()
        self._changed()
        return True

    def back(self) -> bool:
        """One step back (from language or the receipt: welcome, wiped). Not while saving."""
        step = self._step
        if step in (Step.WELCOME, Step.SAVING):
            return False
        if step in (Step.LANGUAGE, Step.RECEIPT):
            self._wipe()
            self._changed()
            return True
        self._returning_to_review = False
        self._go(self._before(step))
        return True

    # ------------------------------------------------------------------------------------------- internals

    def _wipe(self) -> None:
        """Drop everything about the current citizen and show welcome."""
        self._step = Step.WELCOME
        self._language = self.default_language
        self._service: Service | None = None
        self._receipt: ReceiptView | None = None
        self._receipt_at = 0.0
        self._drop_answers()
        self._warning_since: float | None = None
        self._last_touch = self._clock()

    def _drop_answers(self) -> None:
        # Cleared in place, not replaced: a read-only view the UI still holds (``fields``, ``issues``) then
        # shows nothing instead of keeping the previous citizen's answers alive.
        self._fields.clear()
        self._issues.clear()
        self._confirmed.clear()
        self._photo: bytes | None = None
        self._photo_note: str | None = None
        self._signature: Any = None
        self._consent = False
        self._save_error: SaveError | None = None
        self._returning_to_review = False

    def _changed(self) -> None:
        self.revision += 1

    def _activity(self) -> None:
        self._last_touch = self._clock()
        self._warning_since = None

    def _go(self, step: Step) -> None:
        self._activity()
        if step is Step.PHOTO and not self._photo_applies():
            step = self._after(Step.PHOTO)
        if _POSITION[step] > _POSITION[Step.PHOTO] and not self._photo_applies():
            self._skip_photo_step()  # past the photo without one: it is taken at the counter
        if step is Step.REVIEW:
            self._returning_to_review = False
        self._step = step
        self._changed()

    def _photo_applies(self) -> bool:
        """Whether the photo step is shown: the service takes a photo and the camera works."""
        return self._service is not None and self._service.photo and self._capabilities.camera_ok

    def _route(self) -> tuple[Leg, ...]:
        """The legs of :data:`ROUTE` this citizen's journey takes (with the chosen service and devices)."""
        return tuple(leg for leg in ROUTE if self._on_route(leg))

    def _on_route(self, leg: Leg) -> bool:
        if leg.needs == "photo":
            return self._photo_applies()
        if leg.needs == "signature":
            # Before a service is chosen the progress indicator counts a signature, as most services take one.
            return self._service is None or self._service.signature
        return True

    def _after(self, step: Step) -> Step:
        """The step that follows ``step`` (identity onwards) for the chosen service."""
        later = [leg.step for leg in self._route() if _POSITION[leg.step] > _POSITION[step]]
        return later[0] if later and _POSITION[later[0]] <= _POSITION[Step.REVIEW] else Step.REVIEW

    def _skip_photo_step(self) -> None:
        """The service wants a photo but the camera is down: note that it is taken at the counter. A photo the
        citizen already accepted (before the camera failed) is kept."""
        if self._service is not None and self._service.photo and self._photo is None:
            self._photo_note = PHOTO_AT_COUNTER

    def _before(self, step: Step) -> Step:
        """The step ``back()`` leads to from ``step`` (service onwards)."""
        earlier = [leg.step for leg in self._route() if _POSITION[leg.step] < _POSITION[step]]
        return earlier[-1]

    def _return_or(self, step: Step) -> Step:
        """After an edit started from review, come straight back to review once the edited step is done."""
        return Step.REVIEW if self._returning_to_review and self._ready_for_review() else step

    def _ready_for_review(self) -> bool:
        if self._service is None:
            return False
        if self._photo_applies() and self._photo is None and self._photo_note is None:
            return False
        return not (self._service.signature and self._signature is None)

    def _editable_steps(self) -> tuple[Step, ...]:
        return tuple(leg.step for leg in self._route() if leg.editable)

    def _service_fields(self) -> tuple[FieldSpec, ...]:
        return self._service.fields if self._service is not None else ()

    def _field(self, field_id: str) -> FieldSpec | None:
        return (
            self._service.field(field_id) if self._service is not None and isinstance(field_id, str) else None
        )

    def _check_live(self, spec: FieldSpec) -> None:
        """Check one field while the citizen types: no "required" before they try to continue."""
        if not self._fields.get(spec.id, "").strip():
            self._issues.pop(spec.id, None)
            return
        self._store_issues(self._check_fields((spec,)))

    def _check_step(self, step: Step) -> bool:
        """Check every field of ``step``; True when the step may be left."""
        assert self._service is not None
        specs = self._service.fields_for(step.value)
        for spec in specs:
            self._issues.pop(spec.id, None)
        self._store_issues(self._check_fields(specs))
        has_error = any(validation.has_errors(self._issues.get(spec.id, ())) for spec in specs)
        return not has_error and not self._unconfirmed_warnings(step)

    def _check_fields(self, specs: Sequence[FieldSpec]) -> dict[str, list[ValidationIssue]]:
        return validation.check_fields(
            specs,
            self._fields,
            all_fields=self._service_fields(),
            today=self._today(),
            kecamatan_codes=self._district_codes,
        )

    def _store_issues(self, found: Mapping[str, Sequence[ValidationIssue]]) -> None:
        for field_id, issues in found.items():
            ordered = tuple(sorted(issues, key=lambda issue: issue.severity != "error"))
            if ordered:
                self._issues[field_id] = ordered
            else:
                self._issues.pop(field_id, None)

    def _unconfirmed_warnings(self, step: Step) -> dict[str, tuple[ValidationIssue, ...]]:
        if self._service is None or step not in _FIELD_STEPS:
            return {}
        pending: dict[str, tuple[ValidationIssue, ...]] = {}
        for spec in self._service.fields_for(step.value):
            value = self._fields.get(spec.id, "")
            warnings = tuple(
                issue
                for issue in self._issues.get(spec.id, ())
                if issue.severity == "warning" and (spec.id, issue.code, value) not in self._confirmed
            )
            if warnings:
                pending[spec.id] = warnings
        return pending


__all__ = [
    "CONSENT_VERSION",
    "PHOTO_AT_COUNTER",
    "Capabilities",
    "Journey",
    "Notice",
    "ReceiptView",
    "ReviewItem",
    "SaveError",
    "SaveRequest",
    "Step",
]
