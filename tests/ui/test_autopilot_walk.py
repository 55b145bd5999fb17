"""The autopilot's walk of the screens that need a situation (``kiosk run --autopilot --screenshots``)."""

from __future__ import annotations

from kiosk.regions import districts_of
from kiosk.services import load_services
from tests.ui.conftest import TODAY
from ui.autopilot import Autopilot
from ui.citizens import citizen_values
from ui.kiosk_app import walk_degraded_and_idle


class ScreenReader(Autopilot):
    """An autopilot that keeps the texts on screen at each shot instead of saving a picture."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: dict[str, str] = {}

    def shot(self, name: str) -> None:
        self.seen[name] = self.pilot.screen_text()


def test_the_degraded_and_idle_screens_are_walked_in_the_language_being_walked(on_screen):
    # After an English citizen's receipt the journey is back on the kiosk's default language (Indonesian):
    # the English screenshots of these screens were Indonesian.
    screen = on_screen(language="id")
    autopilot = ScreenReader(screen.pilot, screen.view)
    values = citizen_values(load_services().get("ektp"), districts_of("71.10"), today=TODAY, seed=1)
    autopilot.register("ektp", "en", values, shoot_editors=False)
    assert screen.journey.language == "id"

    walk_degraded_and_idle(autopilot, screen.pilot, screen.events, screen.journey, "en")

    assert "Do you need more time?" in autopilot.seen["idle-warning"]
    assert "Apakah Anda perlu waktu lagi?" not in autopilot.seen["idle-warning"]
    assert "What do you want to register for?" in autopilot.seen["service-degraded"]
