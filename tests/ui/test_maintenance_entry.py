"""Getting into maintenance mode and out again, driven through the real loop with the pilot.

The hidden corner, the PIN pad (digits never shown), the lockout after five wrong PINs (which survives
closing and reopening the pad), the right PIN wiping the citizen session behind it, and the ways out:
"Back to kiosk", the session's idle exit and the PIN pad left alone. The audit log is read back from its
SQLite file each time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from maintenance_rig import PIN, WRONG_PIN, Rig

from kiosk.journey import Step
from kiosk.maintenance import TechnicianPin
from ui.maintenance.scene import PIN_IDLE_S
from ui.maintenance.switch import HOLD_S

#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def test_a_short_touch_on_the_corner_is_an_ordinary_tap_and_a_long_press_opens_the_pin_pad(rig: Rig) -> None:
    pilot = rig.pilot
    assert pilot.exists("welcome.start")
    rig.hold((8, 8), HOLD_S - 1.0)  # not long enough: the welcome screen's "touch anywhere" gets the tap
    assert rig.journey.step is Step.LANGUAGE
    assert not rig.scenes.in_maintenance

    rig.hold((8, 8), HOLD_S + 0.1)
    assert rig.scenes.in_maintenance
    assert pilot.exists("pin.pad") and pilot.exists("m.leave")
    assert rig.journey.step is Step.LANGUAGE  # the citizen lifted nothing: the press never became a tap


def test_a_long_press_elsewhere_opens_nothing(rig: Rig) -> None:
    rig.pilot.tap("welcome.start")
    rig.hold((640, 400), HOLD_S + 1.0)
    assert not rig.scenes.in_maintenance


def test_back_to_kiosk_from_the_pad_keeps_the_citizen_where_they_were(rig: Rig) -> None:
    rig.pilot.tap("welcome.start")
    rig.pilot.tap("language.en")
    step = rig.journey.step
    rig.open_pin_pad()
    rig.pilot.tap("m.leave")
    assert not rig.scenes.in_maintenance
    assert rig.journey.step is step
    assert rig.audit() == []  # nothing was attempted


def test_the_right_pin_enters_shows_only_dots_and_wipes_the_citizen_session(rig: Rig) -> None:
    pilot = rig.pilot
    pilot.tap("welcome.start")
    pilot.tap("language.en")
    assert rig.journey.step is not Step.WELCOME
    rig.open_pin_pad()
    for digit in PIN:
        pilot.tap(f"pin.pad.key.{digit}")
    assert "\u25cf" * len(PIN) in pilot.texts()
    assert PIN not in pilot.screen_text()
    pilot.tap("pin.enter")
    rig.pilot.wait_until(lambda: rig.session.active, what="entering")
    rig.wait_readings()

    assert pilot.exists("m.tab.dashboard") and pilot.exists("dash.device.camera")
    assert rig.journey.step is Step.WELCOME  # the citizen's answers are gone, not waiting behind the pad
    assert rig.audit_actions()[:2] == [("enter", "ok"), ("view_dashboard", "ok")]
    assert rig.audit()[0].session == rig.session.session_id


def test_five_wrong_pins_lock_the_pad_and_reopening_it_does_not_unlock_it(rig: Rig) -> None:
    pilot = rig.pilot
    rig.open_pin_pad()
    for left in (4, 3, 2):
        rig.type_pin(WRONG_PIN)
        assert f"{left} more wrong PINs lock the pad" in pilot.find("pin.message").text
    rig.type_pin(WRONG_PIN)
    assert "One more wrong PIN locks the pad" in pilot.find("pin.message").text
    rig.type_pin(WRONG_PIN)

    assert "Too many wrong PINs. Try again in 1 min." in pilot.screen_text()
    assert not pilot.find("pin.pad.key.7").enabled
    assert not pilot.find("pin.enter").enabled
    assert not rig.session.active

    # Closing the pad and holding the corner again gives no fresh tries.
    pilot.tap("m.leave")
    rig.wall.advance(20)
    rig.open_pin_pad()
    assert "Try again in 40 s." in pilot.screen_text()
    assert not pilot.find("pin.pad.key.7").enabled

    # The time left counts down on screen, and the pad opens again when it is over.
    rig.wall.advance(39)
    pilot.advance(1.0)
    assert "Try again in 1 s." in pilot.screen_text()
    rig.wall.advance(1)
    pilot.advance(1.0)
    assert "You can try again now." in pilot.screen_text()
    assert pilot.find("pin.pad.key.7").enabled
    rig.type_pin(PIN)
    assert rig.session.active

    assert rig.audit_actions()[:6] == [("enter", "failed")] * 5 + [("enter", "ok")]
    assert rig.audit()[4].detail == "wrong PIN; locked for 60 s"


def test_without_a_pin_the_pad_says_how_to_set_one(rig: Rig) -> None:
    TechnicianPin.in_data_dir(rig.data).path.unlink()
    rig.open_pin_pad()
    rig.type_pin(PIN)
    assert "kiosk set-pin" in rig.pilot.find("pin.message").text
    assert not rig.session.active
    assert rig.audit_actions() == [("enter", "failed")]


def test_idle_maintenance_closes_itself_and_the_welcome_screen_returns(rig: Rig) -> None:
    pilot = rig.pilot
    pilot.tap("welcome.start")
    rig.enter()
    pilot.tap("m.tab.outbox")
    pilot.advance(rig.settings.idle_exit_s - 25)
    assert rig.scenes.in_maintenance
    assert "No touch: closing in 25 s" in pilot.screen_text()
    pilot.advance(26, steps=2)

    assert not rig.scenes.in_maintenance
    assert not rig.session.active
    assert pilot.exists("welcome.start")
    last = rig.audit()[-1]
    assert (last.action.value, last.outcome.value, last.detail) == ("exit", "ok", "idle")


def test_a_touch_keeps_maintenance_open(rig: Rig) -> None:
    rig.enter()
    rig.pilot.advance(rig.settings.idle_exit_s - 10)
    rig.pilot.tap("m.tab.logs")
    rig.pilot.advance(rig.settings.idle_exit_s - 10)
    assert rig.scenes.in_maintenance and rig.session.active


def test_back_to_kiosk_leaves_and_is_audited(rig: Rig) -> None:
    rig.enter()
    rig.pilot.tap("m.leave")
    assert not rig.scenes.in_maintenance
    assert rig.pilot.exists("welcome.start")
    last = rig.audit()[-1]
    assert (last.action.value, last.detail) == ("exit", "technician")


def test_a_pin_pad_left_alone_gives_the_screen_back_to_the_citizen(rig: Rig) -> None:
    rig.pilot.tap("welcome.start")
    rig.open_pin_pad()
    rig.pilot.tap("pin.pad.key.1")
    rig.pilot.advance(PIN_IDLE_S + 1)
    assert not rig.scenes.in_maintenance
    assert rig.journey.step is Step.LANGUAGE
    assert rig.scenes.maintenance is None


def test_the_technician_can_switch_the_language(rig: Rig) -> None:
    rig.enter()
    assert rig.pilot.find("m.tab.dashboard").label == "Dashboard"
    rig.pilot.tap("m.language")
    assert rig.pilot.find("m.tab.dashboard").label == "Dasbor"
    assert rig.pilot.find("m.leave").label == "Kembali ke kios"


def test_a_failing_maintenance_screen_gives_the_screen_back_to_the_citizens(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ui.maintenance.pages.logs import LogsPage

    def broken(self, area):
        raise RuntimeError("a bug in the log page")

    monkeypatch.setattr(LogsPage, "build", broken)
    rig.enter()
    rig.pilot.tap("m.tab.logs")
    assert not rig.scenes.in_maintenance
    assert rig.pilot.exists("welcome.start")
    assert not rig.session.active
    assert rig.audit()[-1].detail == "maintenance screen failed"
    assert "a bug in the log page" in caplog.text


@pytest.mark.parametrize("size", [(800, 480), (1280, 800)])
def test_the_no_pin_message_keeps_its_command_and_follows_the_language(tmp_path: Path, size) -> None:
    rig = Rig(tmp_path / "kiosk", size=size)
    try:
        TechnicianPin.in_data_dir(rig.data).path.unlink()
        rig.open_pin_pad()
        rig.type_pin(PIN)
        shown = rig.pilot.find("pin.message")
        assert "kiosk set-pin" in shown.text
        assert shown.content_height() <= shown.rect.height  # the command at its end is not cut
        english = shown.text
        rig.pilot.tap("m.language")
        assert rig.pilot.find("pin.message").text not in ("", english)  # the other language, not stuck
        assert "kiosk set-pin" in rig.pilot.find("pin.message").text
    finally:
        rig.close()
