"""The citizen journey as a state machine, without a screen: every path, back, idle, degraded devices."""

from __future__ import annotations

import dataclasses
import datetime
import types
from collections.abc import Iterator

import pytest

from kiosk.events import RecordSaved, RecordSaveFailed
from kiosk.journey import (
    CONSENT_VERSION,
    PHOTO_AT_COUNTER,
    RECEIPT_GUARD_S,
    Capabilities,
    Journey,
    Notice,
    Step,
)
from kiosk.records import PenPoint, SignatureCapture
from kiosk.regions import districts_of
from kiosk.services import load_services

TODAY = datetime.date(2025, 6, 1)
CATALOG = load_services()
DISTRICTS = districts_of("71.10")
PHOTO = b"\xff\xd8\xff\xe0 photo of the citizen"

# Valid answers per service; 71.10.04 is Modayag (Bolaang Mongondow Timur).
ANSWERS: dict[str, dict[str, str]] = {
    "ektp": {
        "nik": "7110045708900001",
        "kk_number": "7110041203150002",
        "full_name": "Siti Aminah Mokodompit",
        "sex": "female",
        "birth_place": "RSUD Kotamobagu",
        "birth_date": "17-08-1990",
        "marital_status": "single",
        "kecamatan": "71.10.04",
        "address": "Jl. Trans Sulawesi, RT 01 RW 02, Desa Purworejo",
        "phone": "0812 3456 7890",
    },
    "kk_change": {
        "nik": "7110040501850002",
        "kk_number": "7110041203150002",
        "full_name": "Budi Paputungan",
        "change_reason": "add_member",
        "kecamatan": "71.10.03",
    },
    "birth_certificate": {
        "nik": "7110040501850002",
        "kk_number": "7110041203150002",
        "reporter_relation": "father",
        "child_name": "Putri Ayu Paputungan",
        "child_sex": "female",
        "child_birth_date": "2025-05-20",
        "child_birth_place": "Puskesmas Modayag",
        "mother_nik": "7110045708900001",
    },
    "death_certificate": {
        "nik": "7110040501850002",
        "kk_number": "7110041203150002",
        "deceased_nik": "7110041003500003",
        "deceased_name": "Hasan Mokoginta",
        "deceased_sex": "male",
        "death_date": "2025-05-30",
        "death_place": "RSUD Bolaang Mongondow Timur",
        "reporter_relation": "child",
    },
}


class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_journey(clock: FakeClock, **kwargs) -> Journey:
    return Journey(
        CATALOG,
        districts=DISTRICTS,
        idle_warning_s=60,
        idle_reset_s=30,
        clock=clock,
        wall_clock=lambda: 1_748_736_000.0,
        today=lambda: TODAY,
        **kwargs,
    )


@pytest.fixture
def journey(clock) -> Journey:
    return make_journey(clock)


def signature(source: str = "pad") -> SignatureCapture:
    samples = (PenPoint(0.0, 10, 10, True), PenPoint(0.02, 40, 30, True), PenPoint(0.04, 60, 35, False))
    return SignatureCapture(samples=samples, width=640, height=200, png=b"\x89PNG signature", source=source)


def to_checklist(journey: Journey, service_id: str, language: str = "id") -> None:
    assert journey.start()
    assert journey.choose_language(language)
    assert journey.choose_service(service_id)
    assert journey.step is Step.CHECKLIST


def fill(journey: Journey, service_id: str) -> None:
    for spec in journey.fields_on_step():
        if spec.id in ANSWERS[service_id]:
            assert journey.set_field(spec.id, ANSWERS[service_id][spec.id])


def to_review(journey: Journey, service_id: str) -> list[Step]:
    """Walk a citizen to the review step, returning the steps seen from the checklist on."""
    to_checklist(journey, service_id)
    seen = [journey.step]
    assert journey.next()
    while journey.step is not Step.REVIEW:
        seen.append(journey.step)
        if journey.step in (Step.IDENTITY, Step.DETAILS):
            fill(journey, service_id)
            assert journey.next(), dict(journey.issues)
        elif journey.step is Step.PHOTO:
            assert journey.photo_taken(PHOTO)
        elif journey.step is Step.SIGNATURE:
            assert journey.signature_done(signature(journey.signature_source))
        else:  # pragma: no cover - a step the walk does not know
            pytest.fail(f"unexpected step {journey.step}")
    seen.append(Step.REVIEW)
    return seen


# ------------------------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("service_id", list(ANSWERS))
def test_every_service_from_welcome_to_receipt_and_back(journey, clock, service_id):
    assert journey.step is Step.WELCOME
    seen = to_review(journey, service_id)
    service = CATALOG.get(service_id)
    expected = [Step.CHECKLIST, Step.IDENTITY, Step.DETAILS]
    expected += [Step.PHOTO] if service.photo else []
    expected += [Step.SIGNATURE, Step.REVIEW]
    assert seen == expected
    assert journey.confirm() is None  # no consent yet
    assert journey.set_consent(True)
    request = journey.confirm()
    assert request is not None and journey.step is Step.SAVING
    assert request.service is service and request.language == "id"
    assert request.consent_given and request.consent_version == CONSENT_VERSION
    assert request.consent_at == 1_748_736_000.0
    assert request.photo_jpeg == (PHOTO if service.photo else None)
    assert request.photo_note is None
    assert request.signature is not None and not request.offline
    # Values are stored normalised; empty optional fields are left out.
    assert set(request.fields) == {k for k, v in ANSWERS[service_id].items() if v}
    assert "7110045708900001" not in repr(request)
    assert journey.saved("ABCD-EFGH-JKM", "0b7f7e0e-6d7e-4c8e-9d3e-2f1a8c6b5a4d")
    assert journey.step is Step.RECEIPT
    receipt = journey.receipt
    assert receipt.reference == "ABCD-EFGH-JKM" and receipt.documents == service.documents
    # The record is sealed on disk: the journey already let go of the citizen's answers.
    assert journey.fields == {} and journey.photo_jpeg is None and journey.signature is None
    # "Done" is not honoured during the guard time: a double tap on "Save" keeps the receipt.
    assert not journey.can_finish() and not journey.finish() and journey.step is Step.RECEIPT
    clock.advance(RECEIPT_GUARD_S)
    assert journey.finish()
    assert journey.step is Step.WELCOME and journey.receipt is None and journey.service is None


def test_values_are_normalised_for_the_record(journey):
    to_review(journey, "ektp")
    journey.set_consent(True)
    fields = journey.confirm().fields
    assert fields["birth_date"] == "1990-08-17"
    assert fields["phone"] == "+6281234567890"
    assert fields["kecamatan"] == "71.10.04"


def test_review_shows_labels_and_readable_values_in_the_citizen_language(journey):
    to_review(journey, "ektp")
    items = {item.field.id: item for item in journey.review_items()}
    assert items["sex"].label == "Jenis kelamin" and items["sex"].value == "Perempuan"
    assert items["kecamatan"].value == "Modayag"
    assert items["birth_date"].value == "17-08-1990"
    assert items["marital_status"].value == "Belum kawin"
    assert items["phone"].value == "+6281234567890"
    assert journey.set_language("en")
    items = {item.field.id: item for item in journey.review_items()}
    assert items["sex"].label == "Sex" and items["sex"].value == "Female"
    assert not journey.set_language("fr") and journey.language == "en"


def test_pickers_offer_options_in_the_citizen_language(journey):
    to_checklist(journey, "ektp", language="en")
    journey.next()
    journey.set_field("nik", ANSWERS["ektp"]["nik"])
    journey.set_field("kk_number", ANSWERS["ektp"]["kk_number"])
    journey.next()
    assert journey.options_for("sex") == (("male", "Male"), ("female", "Female"))
    kecamatan = dict(journey.options_for("kecamatan"))
    assert kecamatan["71.10.04"] == "Modayag" and len(kecamatan) == 7
    assert journey.options_for("marital_status")[0] == ("single", "Not married")
    assert journey.options_for("full_name") == () and journey.options_for("nope") == ()


def test_progress_lists_the_steps_of_the_chosen_service(journey):
    to_checklist(journey, "ektp")
    steps, index = journey.progress()
    assert steps == (
        Step.SERVICE,
        Step.CHECKLIST,
        Step.IDENTITY,
        Step.DETAILS,
        Step.PHOTO,
        Step.SIGNATURE,
        Step.REVIEW,
    )
    assert index == 1
    journey.back()
    journey.choose_service("kk_change")
    steps, _ = journey.progress()
    assert Step.PHOTO not in steps


# ----------------------------------------------------------------------------------------------------- back


@pytest.mark.parametrize("service_id", list(ANSWERS))
def test_back_on_every_step(journey, service_id):
    path = to_review(journey, service_id)
    # From review, walk back through every step to the checklist, keeping the answers.
    for previous in reversed(path[:-1]):
        assert journey.back()
        assert journey.step is previous
    assert journey.back() and journey.step is Step.SERVICE
    assert journey.back() and journey.step is Step.LANGUAGE
    assert journey.fields["nik"] == ANSWERS[service_id]["nik"]
    # Back from the language step leaves the session: everything is gone.
    assert journey.back() and journey.step is Step.WELCOME
    assert journey.fields == {}
    assert not journey.back()


def test_no_back_while_saving_and_back_from_receipt_is_welcome(journey):
    to_review(journey, "kk_change")
    journey.set_consent(True)
    journey.confirm()
    assert not journey.back() and not journey.cancel()
    assert journey.step is Step.SAVING
    journey.saved("ABCD-EFGH-JKM", "id")
    assert journey.back() and journey.step is Step.WELCOME


def test_going_forward_again_after_back_keeps_answers(journey):
    to_review(journey, "ektp")
    journey.back()  # signature
    journey.back()  # photo
    assert journey.step is Step.PHOTO and journey.photo_jpeg == PHOTO
    journey.back()
    assert journey.step is Step.DETAILS
    assert journey.next() and journey.step is Step.PHOTO


def test_another_service_drops_the_previous_answers_the_same_keeps_them(journey):
    to_checklist(journey, "ektp")
    journey.next()
    journey.set_field("nik", ANSWERS["ektp"]["nik"])
    journey.back()
    journey.back()
    assert journey.choose_service("ektp") and journey.fields["nik"] == ANSWERS["ektp"]["nik"]
    journey.back()
    assert journey.choose_service("death_certificate") and journey.fields == {}


def test_edit_from_review_comes_back_to_review(journey):
    to_review(journey, "ektp")
    assert journey.edit(Step.DETAILS)
    assert journey.step is Step.DETAILS
    assert journey.set_field("address", "Jl. Baru, RT 03")
    assert journey.next() and journey.step is Step.REVIEW
    assert journey.edit("signature") and journey.signature_done(signature())
    assert journey.step is Step.REVIEW
    assert not journey.edit("welcome") and not journey.edit("bogus")


# ------------------------------------------------------------------------------------------- validation


def test_next_is_blocked_until_the_step_is_valid(journey):
    to_checklist(journey, "ektp")
    journey.next()
    assert not journey.next()
    assert [i.code for i in journey.issues_for("nik")] == ["required"]
    assert journey.set_field("nik", "12345")
    assert [i.code for i in journey.issues_for("nik")] == ["wrong_length"]
    assert journey.issues_for("nik")[0].params == {"expected": 16, "actual": 5}
    journey.set_field("nik", ANSWERS["ektp"]["nik"])
    journey.set_field("kk_number", ANSWERS["ektp"]["kk_number"])
    assert journey.issues == {}
    assert journey.next() and journey.step is Step.DETAILS


def test_typing_does_not_shout_required_before_continue(journey):
    to_checklist(journey, "ektp")
    journey.next()
    journey.set_field("nik", "7")
    journey.set_field("nik", "")
    assert journey.issues == {}


def test_unknown_region_is_a_warning_the_citizen_confirms(journey):
    to_checklist(journey, "ektp")
    journey.next()
    journey.set_field("nik", "7199015708900001")
    journey.set_field("kk_number", ANSWERS["ektp"]["kk_number"])
    assert not journey.next()
    assert journey.step is Step.IDENTITY
    assert [i.code for i in journey.pending_warnings["nik"]] == ["region_unknown"]
    assert journey.confirm_warnings()
    assert journey.step is Step.DETAILS
    # Coming back and changing the NIK to another unknown prefix asks again.
    journey.back()
    assert journey.next() and journey.step is Step.DETAILS  # same value: still confirmed
    journey.back()
    journey.set_field("nik", "7199025708900001")
    assert not journey.next() and journey.pending_warnings
    assert not journey.confirm_warnings() or journey.step is Step.DETAILS


def test_nik_sex_and_birth_date_must_agree(journey):
    to_checklist(journey, "ektp")
    journey.next()
    fill(journey, "ektp")
    journey.next()
    fill(journey, "ektp")
    journey.set_field("sex", "male")
    journey.set_field("birth_date", "18-08-1990")
    assert not journey.next()
    assert [i.code for i in journey.issues_for("sex")] == ["nik_sex_mismatch"]
    assert [i.code for i in journey.issues_for("birth_date")] == ["nik_birth_date_mismatch"]
    journey.set_field("sex", "female")
    journey.set_field("birth_date", "1990-08-17")
    assert journey.next()


def test_changing_the_nik_rechecks_the_fields_that_must_agree(journey):
    to_review(journey, "death_certificate")
    journey.edit("details")
    journey.set_field("deceased_nik", "7110045003500003")  # a woman's NIK now
    assert [i.code for i in journey.issues_for("deceased_sex")] == ["nik_sex_mismatch"]
    assert not journey.next()


def test_confirm_rechecks_everything(journey):
    to_review(journey, "ektp")
    journey.edit("identity")
    journey.set_field("nik", "7110040501850002")  # a man's NIK: details no longer agree
    assert journey.next()  # identity is fine on its own, and review is complete: straight back
    assert journey.step is Step.REVIEW
    journey.set_consent(True)
    assert journey.confirm() is None
    assert journey.step is Step.DETAILS
    assert [i.code for i in journey.issues_for("sex")] == ["nik_sex_mismatch"]


@pytest.mark.parametrize(
    "value", ["", " ", "\x00", "💥" * 300, "7110045708900001" * 20, "' OR 1=1 --", "\u202e"]
)
def test_nothing_typed_breaks_the_journey(journey, value):
    to_checklist(journey, "ektp")
    journey.next()
    for spec in journey.fields_on_step():
        assert journey.set_field(spec.id, value)
        assert len(journey.fields[spec.id]) <= 200
    assert not journey.next()


def test_actions_that_do_not_apply_are_ignored(journey):
    assert not journey.photo_taken(PHOTO)
    assert not journey.signature_done(signature())
    assert not journey.set_field("nik", "1")
    assert not journey.next()
    assert not journey.confirm_warnings()
    assert not journey.set_consent(True)
    assert journey.confirm() is None
    assert not journey.saved("X", "Y") and not journey.save_failed("storage_full")
    assert not journey.finish() and not journey.cancel()
    assert not journey.choose_language("en") and not journey.choose_service("ektp")
    journey.start()
    assert not journey.choose_language("fr") and journey.step is Step.LANGUAGE
    journey.choose_language("en")
    assert not journey.choose_service("passport") and not journey.choose_service(None)
    journey.choose_service("kk_change")
    journey.next()
    assert not journey.set_field("unknown", "x") and not journey.set_field("nik", 42)
    assert not journey.set_field("full_name", "on the wrong step")
    assert not journey.edit("details")
    assert not journey.apply_event(object())


# -------------------------------------------------------------------------------------------------- save


def test_a_failed_save_keeps_everything_and_can_be_retried(journey):
    to_review(journey, "ektp")
    journey.set_consent(True)
    journey.confirm()
    assert journey.apply_event(RecordSaveFailed(reason="storage_full", detail="disk full"))
    assert journey.step is Step.REVIEW
    assert journey.save_error.reason == "storage_full"
    assert journey.fields["nik"] == ANSWERS["ektp"]["nik"] and journey.photo_jpeg == PHOTO
    assert journey.consent
    assert journey.confirm() is not None and journey.save_error is None
    assert journey.apply_event(RecordSaved(reference="ABCD-EFGH-JKM", record_id="r1"))
    assert journey.step is Step.RECEIPT and journey.receipt.record_id == "r1"


def test_events_outside_saving_are_ignored(journey):
    assert not journey.apply_event(RecordSaved(reference="ABCD-EFGH-JKM", record_id="r1"))
    assert journey.step is Step.WELCOME


# -------------------------------------------------------------------------------------------------- idle


def test_idle_warning_then_touch_clears_it(journey, clock):
    to_checklist(journey, "ektp")
    clock.advance(59)
    assert not journey.tick() and not journey.idle_warning
    clock.advance(1)
    assert journey.tick() and journey.idle_warning
    assert journey.seconds_until_reset() == 30
    clock.advance(10)
    assert journey.seconds_until_reset() == 20
    assert journey.touch() and not journey.idle_warning
    assert journey.seconds_until_reset() is None
    clock.advance(59)
    assert not journey.tick() and journey.step is Step.CHECKLIST


def test_idle_deadline_says_when_tick_has_work_so_a_ui_can_sleep_until_then(journey, clock):
    assert journey.idle_deadline() is None  # welcome: no idle timer runs
    to_checklist(journey, "ektp")
    warning_due = journey.idle_deadline()
    assert warning_due == clock() + 60
    clock.advance(warning_due - clock() - 0.001)
    assert not journey.tick()
    clock.advance(0.001)
    assert journey.tick() and journey.idle_warning
    assert journey.idle_deadline() == clock() + 30
    journey.touch()
    assert journey.idle_deadline() == clock() + 60


def test_any_action_counts_as_a_touch(journey, clock):
    to_checklist(journey, "ektp")
    journey.next()
    clock.advance(50)
    journey.set_field("nik", "7")
    clock.advance(50)
    assert not journey.tick()


def walk_reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through attributes and containers (not through functions)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, types.FunctionType | types.ModuleType | type):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict | types.MappingProxyType):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
        elif hasattr(obj, "__struct_fields__"):
            stack.extend(getattr(obj, name) for name in obj.__struct_fields__)


@pytest.mark.parametrize("service_id", list(ANSWERS))
def test_idle_wipe_leaves_nothing_of_the_previous_citizen(journey, clock, service_id):
    to_review(journey, service_id)
    journey.set_consent(True)
    journey.set_field("nik", "x")  # refused on review, must not matter
    # What the citizen typed (choices and kecamatan codes are catalog data every citizen shares).
    service = CATALOG.get(service_id)
    typed = {"nik", "kk_number", "name", "text", "date", "phone"}
    secrets = {v for k, v in ANSWERS[service_id].items() if service.field(k).kind in typed}
    secrets |= {"+6281234567890", "1990-08-17"}
    held_signature = journey.signature
    held_fields, held_issues = journey.fields, journey.issues  # views a screen might still hold
    clock.advance(60)
    journey.tick()
    assert journey.idle_warning
    clock.advance(30)
    assert journey.tick()
    assert journey.step is Step.WELCOME and journey.last_reset == "idle"
    assert not journey.idle_warning and not journey.consent
    assert journey.service is None and journey.photo_note is None and journey.save_error is None
    assert journey.language == "id"
    for obj in walk_reachable(journey):
        assert not (isinstance(obj, str) and obj in secrets), f"{obj!r} survived the wipe"
        assert not (isinstance(obj, bytes) and obj in (PHOTO, b"\x89PNG signature"))
        assert obj is not held_signature
    assert dict(held_fields) == {} and dict(held_issues) == {}
    # The next citizen starts clean.
    assert journey.start() and journey.last_reset is None


def test_idle_wipe_also_clears_a_failed_save(journey, clock):
    to_review(journey, "kk_change")
    journey.set_consent(True)
    journey.confirm()
    journey.save_failed("storage_error", "I/O error")
    clock.advance(60)
    journey.tick()
    clock.advance(30)
    journey.tick()
    assert journey.step is Step.WELCOME and journey.save_error is None and journey.fields == {}


def test_no_idle_on_welcome_nor_while_saving(journey, clock):
    clock.advance(1000)
    assert not journey.tick() and journey.step is Step.WELCOME
    to_review(journey, "kk_change")
    journey.set_consent(True)
    journey.confirm()
    clock.advance(1000)
    assert not journey.tick() and journey.step is Step.SAVING
    journey.saved("ABCD-EFGH-JKM", "r1")
    # The receipt gets the full idle time from when it appeared, then returns to welcome.
    clock.advance(59)
    assert not journey.tick()
    clock.advance(1)
    journey.tick()
    clock.advance(30)
    journey.tick()
    assert journey.step is Step.WELCOME


def test_cancel_wipes_from_any_step(journey):
    to_review(journey, "ektp")
    assert journey.cancel()
    assert journey.step is Step.WELCOME and journey.fields == {} and journey.photo_jpeg is None


# -------------------------------------------------------------------------------------- degraded devices


def test_camera_down_skips_the_photo_with_a_note(clock):
    journey = make_journey(clock, capabilities=Capabilities(camera_ok=False))
    assert Notice.CAMERA_DOWN in journey.notices
    seen = to_review(journey, "ektp")
    assert Step.PHOTO not in seen
    assert journey.photo_note == PHOTO_AT_COUNTER and journey.photo_jpeg is None
    assert Step.PHOTO not in journey.progress()[0]
    journey.set_consent(True)
    request = journey.confirm()
    assert request.photo_note == PHOTO_AT_COUNTER and request.photo_jpeg is None
    journey.saved("ABCD-EFGH-JKM", "r1")
    assert journey.receipt.photo_note == PHOTO_AT_COUNTER


def test_camera_failing_at_the_photo_step_skips_it(journey):
    to_checklist(journey, "ektp")
    journey.next()
    fill(journey, "ektp")
    journey.next()
    fill(journey, "ektp")
    journey.next()
    assert journey.step is Step.PHOTO
    assert journey.update_capabilities(Capabilities(camera_ok=False))
    assert journey.step is Step.SIGNATURE
    assert journey.photo_note == PHOTO_AT_COUNTER
    assert Notice.CAMERA_DOWN in journey.notices
    # Back from the signature goes to details while the camera is down ...
    assert journey.back() and journey.step is Step.DETAILS
    # ... and to the photo again once it works.
    journey.update_capabilities(Capabilities())
    assert journey.next() and journey.step is Step.PHOTO
    assert journey.photo_taken(PHOTO) and journey.photo_note is None


def test_citizen_may_choose_the_counter_for_the_photo(journey):
    to_checklist(journey, "ektp")
    journey.next()
    fill(journey, "ektp")
    journey.next()
    fill(journey, "ektp")
    journey.next()
    assert journey.skip_photo()
    assert journey.step is Step.SIGNATURE and journey.photo_note == PHOTO_AT_COUNTER


def test_an_accepted_photo_is_kept_when_the_camera_fails_later(journey):
    to_review(journey, "ektp")
    journey.update_capabilities(Capabilities(camera_ok=False))
    journey.set_consent(True)
    request = journey.confirm()
    assert request.photo_jpeg == PHOTO and request.photo_note is None


def test_no_pad_means_touch_signature(journey):
    to_checklist(journey, "kk_change")
    assert journey.signature_source == "pad"
    journey.update_capabilities(Capabilities(signature_pad_ok=False))
    assert journey.signature_source == "touch"
    assert Notice.SIGNATURE_PAD_DOWN in journey.notices
    journey.next()
    fill(journey, "kk_change")
    journey.next()
    fill(journey, "kk_change")
    journey.next()
    assert journey.step is Step.SIGNATURE
    assert journey.signature_done(signature("touch")) and journey.step is Step.REVIEW


def test_services_without_photo_do_not_announce_the_camera(journey):
    journey.update_capabilities(Capabilities(camera_ok=False))
    to_checklist(journey, "death_certificate")
    assert Notice.CAMERA_DOWN not in journey.notices


def test_printer_network_and_battery_are_announced(journey):
    journey.update_capabilities(Capabilities(printer_ok=False, network_ok=False, on_battery=True))
    assert journey.notices == (Notice.PRINTER_DOWN, Notice.NETWORK_DOWN, Notice.ON_BATTERY)
    to_review(journey, "kk_change")
    journey.set_consent(True)
    assert journey.confirm().offline
    journey.saved("ABCD-EFGH-JKM", "r1")
    assert journey.receipt.offline


def test_no_new_session_when_the_power_policy_says_no(journey):
    revision = journey.revision
    journey.update_capabilities(
        Capabilities(on_battery=True, sessions_allowed=False, refusal_reason="battery_low")
    )
    assert journey.revision > revision
    assert Notice.SESSIONS_PAUSED in journey.notices
    assert not journey.start()
    assert journey.step is Step.WELCOME and journey.refusal == "battery_low"
    journey.update_capabilities(Capabilities(on_battery=True))
    assert journey.refusal is None
    assert journey.start() and journey.step is Step.LANGUAGE


def test_the_citizen_in_front_may_finish_when_sessions_stop(journey):
    to_checklist(journey, "kk_change")
    journey.update_capabilities(Capabilities(on_battery=True, sessions_allowed=False))
    assert journey.notices[0] is Notice.SESSIONS_PAUSED
    assert journey.next() and journey.step is Step.IDENTITY
    assert not journey.update_capabilities(Capabilities(on_battery=True, sessions_allowed=False))


def test_refusal_without_a_reason_has_a_generic_code(journey):
    journey.update_capabilities(Capabilities(sessions_allowed=False))
    assert not journey.start() and journey.refusal == "sessions_paused"
