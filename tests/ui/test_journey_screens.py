"""The citizen's screens: a whole walk, each degraded mode, inline errors, save failures, the idle wipe."""

from __future__ import annotations

import pygame
import pytest

from hal.camera.simulated import SimulatedCamera
from hal.events import BatteryLow, MainsLost, PenSample
from hal.power import SimulatedUps
from hal.printer import SimulatedPrinter
from hal.settings import CameraSettings, PowerSettings
from hal.signature_pad import SignaturePad
from kiosk.devices import Devices
from kiosk.events import SyncStatusChanged
from kiosk.journey import PHOTO_AT_COUNTER, RECEIPT_GUARD_S, Step
from kiosk.services import load_services
from kiosk.validation import normalize
from tests.ui.conftest import TODAY
from ui.autopilot import Autopilot
from ui.citizens import citizen_values

EKTP = load_services().get("ektp")


def values(service="ektp", seed=1):
    on = load_services().get(service)
    from kiosk.regions import districts_of

    return citizen_values(on, districts_of("71.10"), today=TODAY, seed=seed)


class Pad(SignaturePad):
    """A working signature pad as the UI sees it (samples come as events)."""

    backend = "test"
    max_x = 4095
    max_y = 4095


def save_to_receipt(screen) -> None:
    """From the welcome screen: an e-KTP citizen signs, agrees, saves, and the receipt shows."""
    pilot = screen.pilot
    start_to(screen, Step.SIGNATURE)
    Autopilot(pilot, screen.view).sign()
    pilot.tap("review.consent")
    pilot.tap("nav.next")
    pilot.wait_until(lambda: screen.journey.step is Step.RECEIPT, 10, "saving")


def start_to(screen, step: Step, service="ektp", language="id"):
    pilot = screen.pilot
    pilot.tap("welcome.start")
    pilot.tap(f"language.{language}")
    pilot.tap(f"service.{service}")
    if step is Step.CHECKLIST:
        return
    pilot.tap("nav.next")
    if step is Step.IDENTITY:
        return
    auto = Autopilot(pilot, screen.view)
    auto.fill_step(values(service), name="identity")
    if step is Step.DETAILS:
        return
    auto.fill_step(values(service), name="details")


@pytest.mark.parametrize("service", ["ektp", "kk_change", "birth_certificate", "death_certificate"])
def test_every_service_can_be_completed_on_the_touchscreen(on_screen, service):
    screen = on_screen()
    entered = values(service)
    reference = Autopilot(screen.pilot, screen.view).register(service, "id", entered)
    assert reference == "7KQ2-M9XD-4RA"
    [request] = screen.registration.requests
    spec = load_services().get(service)
    assert dict(request.fields) == {f.id: normalize(f.kind, entered[f.id]) for f in spec.fields}
    assert request.signature is not None and request.signature.source == "touch"
    assert screen.journey.step is Step.WELCOME  # "Done" on the receipt


def test_camera_down_skips_the_photo_and_the_receipt_says_it_is_taken_at_the_counter(on_screen):
    screen = on_screen()  # no camera at all
    assert "Kamera sedang tidak berfungsi. Foto Anda akan diambil di loket." in screen.pilot.texts()
    start_to(screen, Step.PHOTO)
    assert screen.journey.step is Step.SIGNATURE
    Autopilot(screen.pilot, screen.view).sign()
    screen.pilot.tap("review.consent")
    screen.pilot.tap("nav.next")
    assert screen.registration.requests[0].photo_note == PHOTO_AT_COUNTER
    assert "Foto Anda akan diambil di loket." in screen.pilot.texts()


def test_the_photo_step_guides_counts_down_and_captures_off_the_ui_thread(on_screen):
    camera = SimulatedCamera(
        CameraSettings(backend="simulated", preview_size=(320, 240), still_size=(640, 480)),
        frame_interval=0.05,
    )
    try:
        screen = on_screen(devices=Devices(camera=camera))
        start_to(screen, Step.PHOTO)
        assert screen.journey.step is Step.PHOTO
        photo = screen.view.screen
        screen.pilot.wait_until(lambda: photo.problems is not None, 15, "a face check")
        assert screen.pilot.find("photo.guidance").text  # plain-word guidance is shown
        screen.pilot.tap("photo.take")
        assert screen.pilot.find("photo.countdown").text == "3"
        screen.pilot.advance(1.0)
        assert screen.pilot.find("photo.countdown").text == "2"
        screen.pilot.advance(2.0)
        screen.pilot.wait_until(lambda: photo.state == "review", 15, "the capture")
        jpeg = photo.photo_jpeg
        screen.pilot.tap("photo.retake")
        assert photo.photo_jpeg is None and screen.pilot.exists("photo.take")
        photo.photo_jpeg = jpeg
        photo.state = "review"
        photo.changed()
        screen.pilot.tap("photo.accept")
        assert screen.journey.step is Step.SIGNATURE and screen.journey.photo_jpeg == jpeg
        assert jpeg[:2] == b"\xff\xd8"
    finally:
        camera.close()


def test_signature_pad_strokes_appear_live_and_touch_takes_over_when_the_pad_fails(on_screen):
    pad = Pad()
    screen = on_screen(devices=Devices(signature_pad=pad))
    start_to(screen, Step.SIGNATURE)
    assert screen.journey.step is Step.SIGNATURE
    assert (
        "Tanda tangani di alat tanda tangan dengan penanya. Tanda tangan Anda tampil di sini."
        in screen.pilot.texts()
    )
    assert not screen.pilot.find("nav.next").enabled
    for i, down in enumerate([True] * 10 + [False]):
        screen.events.post(PenSample(x=500 + 100 * i, y=2000 + (i % 3) * 80, pen_down=down, t=float(i) / 100))
    screen.pilot.settle()
    signature = screen.view.screen
    assert signature.ink.source == "pad" and len(signature.ink.samples) == 11
    assert screen.pilot.find("nav.next").enabled
    # The pad fails: the journey switches to the touchscreen and the screen says why.
    from hal.events import DeviceHealthChanged

    screen.events.post(DeviceHealthChanged(device="signature_pad", status="failed", detail="unplugged"))
    screen.pilot.settle()
    assert signature.ink.source == "touch" and not signature.ink.has_ink
    assert any("berhenti berfungsi" in text for text in screen.pilot.texts())
    assert screen.pilot.find("signature.canvas").interactive


def test_printer_prints_the_receipt_and_when_down_the_code_stays_on_screen(on_screen, tmp_path):
    printer = SimulatedPrinter(tmp_path)
    try:
        screen = on_screen(devices=Devices(printer=printer))
        Autopilot(screen.pilot, screen.view).register("kk_change", "en", values("kk_change"))
        assert len(list(tmp_path.glob("*.png"))) == 1
    finally:
        printer.close()
    screen = on_screen()  # no printer
    auto = Autopilot(screen.pilot, screen.view)
    journey = screen.journey
    original = auto.register

    texts = []

    def keep_receipt_text(*args, **kwargs):
        pilot_tap = screen.pilot.tap

        def tap(id):
            if id == "nav.next" and journey.step is Step.RECEIPT:
                texts.extend(screen.pilot.texts())
            pilot_tap(id)

        screen.pilot.tap = tap
        return original(*args, **kwargs)

    keep_receipt_text("kk_change", "en", values("kk_change"))
    assert "7KQ2-M9XD-4RA" in texts
    assert "No printer right now. Please take a photo of this screen or write down the code." in texts


def test_network_down_is_announced_and_the_receipt_says_it_will_be_sent_later(on_screen):
    screen = on_screen(language="en")
    screen.events.post(SyncStatusChanged(state="waiting", pending=2, dead=0))
    screen.pilot.settle()
    texts = screen.pilot.texts()
    assert any(text.startswith("No connection to the registry right now.") for text in texts)
    assert "2 waiting to be sent" in texts
    start_to(screen, Step.SIGNATURE, language="en")
    Autopilot(screen.pilot, screen.view).sign()
    screen.pilot.tap("review.consent")
    screen.pilot.tap("nav.next")
    assert screen.registration.requests[0].offline is True
    assert (
        "Saved on this kiosk. It will be sent to the registry automatically when the connection is back."
        in screen.pilot.texts()
    )


def test_on_battery_is_announced_and_a_low_battery_refuses_new_sessions(on_screen):
    # The UPS reports its charge without events (they are posted here by hand, in order).
    ups = SimulatedUps(PowerSettings(backend="simulated"), poll=False)
    try:
        screen = on_screen(language="en", devices=Devices(power=ups))
        screen.events.post(MainsLost())
        screen.pilot.settle()
        assert "Power cut: the kiosk is running on its battery." in screen.pilot.texts()
        # Below what a whole session needs, but above the shutdown threshold: no new session, no shutdown.
        ups.set_battery(25.0)
        ups.poll()
        screen.pilot.settle()
        screen.pilot.tap("welcome.start")
        assert screen.journey.step is Step.WELCOME
        assert (
            "The battery is low, so the kiosk is not starting new registrations. Please go to the counter."
            in screen.pilot.texts()
        )
    finally:
        ups.close()


def test_a_battery_low_alarm_refuses_new_sessions_and_says_the_kiosk_shuts_down(on_screen):
    screen = on_screen(language="en")
    screen.events.post(MainsLost())
    screen.events.post(BatteryLow(percent=8.0, volts=3.3))
    screen.pilot.settle()
    screen.pilot.tap("welcome.start")
    assert screen.journey.step is Step.WELCOME
    assert "The kiosk is shutting down. Please go to the counter." in screen.pilot.texts()


def test_nik_errors_show_next_to_the_field_in_the_citizens_language(on_screen):
    screen = on_screen()
    start_to(screen, Step.IDENTITY)
    pilot = screen.pilot
    pilot.tap("nik")
    pilot.type("7110")
    assert pilot.find("nik").message == ""  # not finished yet: no nagging while typing
    pilot.tap("editor.done")
    assert pilot.find("nik").message == "Harus 16 angka; Anda mengetik 4."
    pilot.tap("nav.next")
    assert screen.journey.step is Step.IDENTITY


def test_an_unknown_district_prefix_asks_to_confirm_and_does_not_block(on_screen):
    screen = on_screen(language="en")
    start_to(screen, Step.IDENTITY, language="en")
    pilot = screen.pilot
    pilot.tap("nik")
    pilot.type("9999995708900001")  # province 99 does not exist
    pilot.tap("editor.done")
    pilot.tap("kk_number")
    pilot.type("7110041203080004")
    pilot.tap("editor.done")
    pilot.tap("nav.next")
    assert pilot.exists("confirm.yes")
    assert "Region code 999999 is not on our list. Is the number correct?" in pilot.screen_text()
    pilot.tap("confirm.fix")
    assert pilot.exists("keyboard.key.1")  # the NIK editor is open to correct it
    pilot.tap("editor.done")
    pilot.tap("nav.next")
    pilot.tap("confirm.yes")
    assert screen.journey.step is Step.DETAILS


def test_a_failed_save_is_shown_honestly_and_keeps_every_answer(on_screen):
    screen = on_screen(fail="storage_full", language="en")
    start_to(screen, Step.SIGNATURE, language="en")
    Autopilot(screen.pilot, screen.view).sign()
    screen.pilot.tap("review.consent")
    screen.pilot.tap("nav.next")
    assert screen.journey.step is Step.REVIEW
    assert any(text.startswith("The kiosk's storage is full") for text in screen.pilot.texts())
    assert screen.journey.fields["full_name"] == values()["full_name"]
    for _ in range(10):  # the answers are paged under the error message
        if screen.pilot.exists("review.full_name"):
            break
        screen.pilot.tap("review.more")
    assert screen.pilot.find("review.full_name").text == values()["full_name"]


def test_idle_warning_then_wipe_leaves_nothing_of_the_citizen_on_any_screen(on_screen):
    screen = on_screen(language="en")
    pilot = screen.pilot
    start_to(screen, Step.PHOTO, language="en")  # identity and details filled in
    entered = [v for k, v in values().items() if k not in ("sex", "marital_status", "kecamatan")]
    assert screen.journey.fields
    pilot.advance(60.5)
    assert pilot.exists("idle.continue")
    assert "For your privacy, everything you entered will be erased in 30 seconds." in pilot.texts()
    pilot.advance(10.0)
    assert "For your privacy, everything you entered will be erased in 20 seconds." in pilot.texts()
    pilot.advance(21.0)
    assert screen.journey.step is Step.WELCOME and not screen.journey.fields
    seen = []
    seen += pilot.texts()
    pilot.tap("welcome.start")
    pilot.tap("language.en")
    pilot.tap("service.ektp")
    seen += pilot.texts()
    pilot.tap("nav.next")
    for step in (Step.IDENTITY, Step.DETAILS):
        for field in screen.journey.fields_on_step():
            if pilot.exists(field.id):
                pilot.tap(field.id)
                seen += pilot.texts()
                pilot.tap("editor.done")
        seen += pilot.texts()
        if step is Step.IDENTITY:
            screen.journey._step = Step.DETAILS  # look at the details screen without typing anything
            screen.journey._changed()
            pilot.settle()
    shown = "\n".join(seen)
    for value in entered:
        assert value not in shown and normalize("text", value) not in shown


def test_need_more_time_keeps_the_answers(on_screen):
    screen = on_screen()
    start_to(screen, Step.DETAILS)
    screen.pilot.advance(61)
    screen.pilot.tap("idle.continue")
    assert not screen.journey.idle_warning and screen.journey.fields["nik"]
    screen.pilot.advance(61)
    screen.pilot.tap("idle.end")
    assert screen.journey.step is Step.WELCOME and not screen.journey.fields


def test_a_citizen_can_switch_on_high_contrast_and_the_next_citizen_starts_calm(on_screen):
    screen = on_screen()
    pilot = screen.pilot
    pilot.tap("welcome.start")
    assert "Kontras tinggi: mati / High contrast: off" in pilot.texts()
    calm_background = pilot.screenshot().get_at((2, 200))

    pilot.tap("language.contrast")

    assert screen.view.high_contrast and screen.view.kit.theme.high_contrast
    assert "Kontras tinggi: nyala / High contrast: on" in pilot.texts()
    assert pilot.screenshot().get_at((2, 200)) != calm_background
    pilot.tap("language.id")
    assert screen.view.high_contrast  # it lasts through the session
    pilot.advance(61)
    pilot.tap("idle.end")
    assert screen.journey.step is Step.WELCOME and not screen.view.high_contrast


def test_the_language_can_be_switched_on_any_step(on_screen):
    screen = on_screen()
    start_to(screen, Step.CHECKLIST)
    assert screen.pilot.find("header.title").text == "Yang perlu dibawa: Perekaman KTP-el"
    screen.pilot.tap("header.language")
    assert screen.pilot.find("header.title").text == "What to bring: e-KTP recording"


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800), (1920, 1080)])
def test_every_screen_fits_the_display_at_every_supported_size(on_screen, size):
    screen = on_screen(size=size, language="en")
    pilot = screen.pilot
    bounds = pygame.Rect(0, 0, *size)

    def check():
        touchable = []
        for widget in pilot.widgets():
            assert bounds.contains(widget.rect), f"{widget} outside {size} on {screen.journey.step}"
            if widget.interactive and widget.enabled:
                assert min(widget.rect.size) >= screen.view.kit.metrics.px(40), widget
                touchable.append(widget)
        for i, one in enumerate(touchable):
            for other in touchable[i + 1 :]:
                if one.rect.contains(other.rect) or other.rect.contains(one.rect):
                    continue  # a background target ("touch anywhere") under the buttons on it
                overlap = one.rect.clip(other.rect)
                assert not overlap.width * overlap.height, f"{one} overlaps {other} on {screen.journey.step}"

    check()
    pilot.tap("welcome.start")
    check()
    pilot.tap("language.en")
    check()
    pilot.tap("service.ektp")
    check()
    pilot.tap("nav.next")
    check()
    pilot.tap("nik")
    check()
    pilot.tap("editor.done")
    Autopilot(pilot, screen.view).fill_step(values(), name="identity")
    check()
    pilot.tap("kecamatan") if pilot.exists("kecamatan") else None
    check()


def fill_page(screen, service="ektp"):
    auto = Autopilot(screen.pilot, screen.view)
    for spec in screen.journey.fields_on_step():
        if screen.pilot.exists(spec.id) and spec.id in values(service):
            auto.fill(spec, values(service)[spec.id])


def test_a_double_tap_on_lanjut_moves_one_page_and_kembali_turns_back_a_page(on_screen):
    screen = on_screen()
    start_to(screen, Step.DETAILS)
    form = screen.view.screen
    assert screen.journey.step is Step.DETAILS and form.page == 0
    fill_page(screen)
    screen.pilot.tap("nav.next")
    assert form.page == 1
    fill_page(screen)  # every page answered: a second "Lanjut" on page 2 would leave the step
    screen.pilot.tap("nav.back")
    assert screen.journey.step is Step.DETAILS and form.page == 0  # page 1, not the identity step
    screen.pilot.double_tap(screen.pilot.find("nav.next").rect.center)
    assert screen.journey.step is Step.DETAILS and form.page == 1  # one page on, not two


def test_lanjut_on_a_page_with_an_empty_required_field_stays_and_says_why(on_screen):
    screen = on_screen()
    start_to(screen, Step.DETAILS)
    form = screen.view.screen
    screen.pilot.tap("nav.next")
    assert screen.journey.step is Step.DETAILS and form.page == 0
    assert any(screen.journey.issues_for(spec.id) for spec in screen.journey.fields_on_step())


def test_a_double_tap_on_save_keeps_the_receipt_until_done_after_the_guard(on_screen):
    screen = on_screen()
    pilot = screen.pilot
    start_to(screen, Step.SIGNATURE)
    Autopilot(pilot, screen.view).sign()
    pilot.tap("review.consent")
    save = pilot.find("nav.next").rect.center
    pilot.double_tap(save)
    pilot.wait_until(lambda: screen.journey.step is not Step.SAVING, 10, "saving")
    assert screen.journey.step is Step.RECEIPT
    assert len(screen.registration.requests) == 1  # saved once
    done = pilot.find("nav.next")
    assert done.rect.center == save and not done.enabled  # "Done" sits where "Save" was, greyed
    pilot.tap_at(save)
    assert screen.journey.step is Step.RECEIPT and pilot.exists("receipt.code")
    pilot.advance(RECEIPT_GUARD_S)
    assert pilot.find("nav.next").enabled
    pilot.tap("nav.next")
    assert screen.journey.step is Step.WELCOME


def test_a_finger_that_went_down_before_a_screen_change_does_not_act_on_the_new_screen(on_screen):
    screen = on_screen()
    pilot = screen.pilot
    start_to(screen, Step.DETAILS)
    form = screen.view.screen
    fill_page(screen)
    pilot.tap("nav.next")
    fill_page(screen)  # every page answered: "Lanjut" on page 2 would leave the step
    pilot.tap("nav.back")
    pos = pilot.find("nav.next").rect.center
    finger = pilot.finger_down(pos)
    pilot.settle()
    form.go_next()  # the page turns under the finger (any cause: a timer, an event)
    pilot.settle()
    assert form.page == 1
    pilot.finger_up(pos, finger)
    pilot.settle()
    assert screen.journey.step is Step.DETAILS  # page 2's "Lanjut" was not pressed


def test_the_idle_warning_on_the_receipt_says_the_data_is_saved_not_erased(on_screen):
    screen = on_screen(idle_warning_s=60.0)
    pilot = screen.pilot
    save_to_receipt(screen)
    pilot.advance(61)
    assert screen.journey.idle_warning
    text = pilot.screen_text()
    assert "Data Anda sudah tersimpan" in text and "dihapus" not in text


def test_a_full_kiosk_says_so_before_anyone_types(on_screen):
    screen = on_screen(language="en")
    # What the outbox's quota will set (wired at the merge): the kiosk has no room for another record.
    screen.view.state.storage_full = True
    screen.pilot.settle()
    screen.pilot.tap("welcome.start")
    assert screen.journey.step is Step.WELCOME
    assert (
        "This kiosk is full and cannot take new registrations. Please go to the counter."
        in screen.pilot.texts()
    )


def test_the_offices_notice_shows_on_the_service_button_and_is_printed_on_the_receipt(on_screen):
    """The office marks e-KTP recording unavailable; the answer to a heartbeat carries it to the kiosk."""
    import datetime

    from kiosk.registration import build_receipt
    from kiosk.service_notices import ServiceNotices

    notices = ServiceNotices(clock=lambda: 1_000.0)
    tomorrow = datetime.datetime.fromtimestamp(90_000.0, datetime.UTC).isoformat()
    text = {
        "id": "Perekaman e-KTP: alat rusak hari ini",
        "en": "e-KTP recording: the recorder is broken today",
    }
    answer = {
        "notices": [
            {"id": 7, "service": "ektp", "level": "unavailable", "text": text, "expires_at": tomorrow}
        ]
    }
    assert notices.update(answer)
    screen = on_screen(service_notices=notices, language="en")
    start_to(screen, Step.CHECKLIST, language="en")
    screen.pilot.tap("nav.back")
    shown = screen.pilot.find("service.ektp").texts()
    assert text["en"] in shown and EKTP.description.get("en") not in shown
    # The other services keep their description.
    assert (
        load_services().get("kk_change").description.get("en")
        in screen.pilot.find("service.kk_change").texts()
    )
    # Registered while the notice is in force: the printed receipt says it too.
    screen.pilot.tap("service.ektp")
    screen.pilot.tap("nav.next")
    auto = Autopilot(screen.pilot, screen.view)
    auto.fill_step(values("ektp"), name="identity")
    auto.fill_step(values("ektp"), name="details")
    assert screen.journey.step is Step.SIGNATURE  # no camera: the photo is taken at the counter
    auto.sign()
    screen.pilot.tap("review.consent")
    screen.pilot.tap("nav.next")
    assert screen.journey.step is Step.RECEIPT
    assert text["id"] in build_receipt(screen.journey.receipt, "id").lines
    assert text["en"] in build_receipt(screen.journey.receipt, "en").lines


def test_mulai_lagi_asks_before_erasing_what_was_typed(on_screen):
    screen = on_screen()
    pilot, journey = screen.pilot, screen.journey
    start_to(screen, Step.DETAILS)
    nik = journey.fields["nik"]
    pilot.tap("nav.cancel")
    assert journey.step is Step.DETAILS and journey.fields["nik"] == nik
    assert "Semua data yang Anda isi akan dihapus." in pilot.texts()
    pilot.tap("start_over.no")
    assert not pilot.exists("start_over") and journey.fields["nik"] == nik
    pilot.tap("nav.cancel")
    pilot.tap_at((2, 2))  # a tap beside the question keeps the answers too
    assert not pilot.exists("start_over") and journey.fields["nik"] == nik
    pilot.tap("nav.cancel")
    pilot.tap("start_over.yes")
    assert journey.step is Step.WELCOME and not journey.fields


def test_mulai_lagi_with_nothing_typed_starts_over_at_once(on_screen):
    screen = on_screen()
    start_to(screen, Step.CHECKLIST)
    screen.pilot.tap("nav.cancel")
    assert screen.journey.step is Step.WELCOME


def test_a_tap_beside_the_idle_question_counts_as_activity(on_screen):
    screen = on_screen()
    start_to(screen, Step.IDENTITY)
    screen.pilot.advance(61)
    assert screen.journey.idle_warning
    screen.pilot.tap_at((2, 2))
    assert not screen.journey.idle_warning and screen.journey.step is Step.IDENTITY
    screen.pilot.advance(59)
    assert not screen.journey.idle_warning  # the idle time started again at the tap
