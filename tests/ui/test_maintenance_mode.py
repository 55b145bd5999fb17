"""Maintenance mode wired the way ``kiosk run`` wires it, and the small parts it is made of.

:func:`open_maintenance` over a kiosk built by the real composition root (``build_kiosk``) with simulated
devices; the metrics thread; the in-memory log lines (scrubbed); the USB stick finder; the words and the
chart's scale.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hal.camera.simulated import SimulatedCamera
from hal.events import EventQueue
from hal.printer import SimulatedPrinter
from hal.settings import CameraSettings
from kiosk.assembly import build_kiosk
from kiosk.config import parse_config
from kiosk.devices import Devices
from kiosk.maintenance import MetricPoint, TechnicianPin
from ui.app import open_display
from ui.i18n import Translator
from ui.kiosk_app import make_app, make_view
from ui.maintenance import KioskScenes, RecentLogs, open_maintenance
from ui.maintenance.chart import count_scale, nice_ceiling
from ui.maintenance.i18n import MaintenanceTranslator
from ui.maintenance.pages.history import summed
from ui.maintenance.switch import HOLD_S
from ui.maintenance.usb_sticks import mounted_sticks
from ui.maintenance.wording import duration
from ui.pilot import FakeClock, Pilot

PIN = "739105"


#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def test_open_maintenance_wires_a_kiosk_built_by_the_composition_root(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = parse_config(
        f"""
        [kiosk]
        id = "BMT-MODAYAG-01"
        data_dir = "{data}"
        language = "id"
        [server]
        url = "http://127.0.0.1:9"
        lab = true
        token = "t0ken"
        [ui]
        fullscreen = false
        [maintenance]
        restart_command = ["true"]
        """
    )
    events = EventQueue()
    clock = FakeClock()
    devices = Devices(
        camera=SimulatedCamera(CameraSettings(backend="simulated"), events),
        printer=SimulatedPrinter(tmp_path / "receipts", events=events),
    )
    kiosk = build_kiosk(config, events, devices=devices, clock=clock)
    TechnicianPin.in_data_dir(data).set(PIN)
    open_display((800, 480), fullscreen=False)
    root_handlers = len(logging.getLogger().handlers)
    view = make_view(kiosk, clock=clock)
    maintenance = open_maintenance(kiosk, text=view.text, clock=clock)
    assert maintenance is not None
    try:
        # The wiring ui/kiosk_app.py applies.
        scenes = KioskScenes(view, maintenance.scene)
        app = make_app(kiosk, scenes, clock=clock)
        scenes.attach(app)
        pilot = Pilot(app, clock)

        assert maintenance.kiosk_id == "BMT-MODAYAG-01" and maintenance.language == "id"
        # The kiosk's own parts, not second copies.
        assert maintenance.identity is kiosk.identity and maintenance.client is kiosk.client
        assert maintenance.session is kiosk.maintenance.session
        assert [name for name, _ in maintenance.devices] == ["camera", "signature_pad", "power", "printer"]
        assert len(logging.getLogger().handlers) == root_handlers + 1  # the log lines are kept from now on

        pilot.hold((5, 5), HOLD_S + 0.5)
        for digit in PIN:
            pilot.tap(f"pin.pad.key.{digit}")
        pilot.tap("pin.enter")
        pilot.wait_until(lambda: maintenance.session.active, what="entering")
        pilot.wait_until(lambda: pilot.exists("dash.device.camera"), what="the dashboard")
        assert pilot.find("m.tab.dashboard").label == "Dasbor"  # the office's language
        assert pilot.find("dash.device.power").status == "Dimatikan"  # no UPS in this kiosk's config
        pilot.tap("m.leave")
        assert pilot.exists("welcome.start")
        pilot.wait_until(lambda: len(maintenance.session.audit.recent(10)) == 3, what="the audit lines")
        assert [e.action.value for e in reversed(maintenance.session.audit.recent(10))] == [
            "enter",
            "view_dashboard",
            "exit",
        ]
        app.close()
    finally:
        maintenance.close()
        kiosk.close()
    assert len(logging.getLogger().handlers) == root_handlers


# -- metrics -----------------------------------------------------------------------------------------------
def test_waiting_records_are_pending_plus_sending_at_each_sample() -> None:
    series = {
        "queue.pending": [MetricPoint(10.0, 3.0), MetricPoint(20.0, 1.0)],
        "queue.sending": [MetricPoint(10.0, 1.0), MetricPoint(20.0, 0.0)],
    }
    assert summed(series, ["queue.pending", "queue.sending"]) == ((10.0, 4.0), (20.0, 1.0))
    assert summed(series, ["queue.dead"]) == ()


def test_the_count_scale_has_four_whole_steps() -> None:
    assert [count_scale(v) for v in (0, 3, 4, 5, 9, 17, 33, 150)] == [4, 4, 4, 8, 20, 20, 40, 200]
    assert [nice_ceiling(v) for v in (0.5, 1, 3, 7, 11, 99)] == [1, 1, 5, 10, 20, 100]


# -- log lines -----------------------------------------------------------------------------------------------
def test_log_lines_are_kept_bounded_and_scrubbed_with_record_ids_left_whole() -> None:
    logs = RecentLogs(capacity=4)
    logger = logging.getLogger("test.maintenance.logs")
    logger.setLevel(logging.INFO)
    logs.install(logger)
    try:
        logger.info("started")
        logger.warning("record for NIK %s rejected", "7110045708900001")
        try:
            raise ValueError("boom 3173015203900002")
        except ValueError:
            logger.exception("save failed\nsecond line")
        logger.debug("not kept")
        logger.info("record 31ab863d-104c-4370-a45b-75aacc123456 sent (KK 7110012345678901)")
        logger.info("fifth")
    finally:
        logs.uninstall(logger)
    lines = logs.lines()
    assert [line.level for line in lines] == ["WARNING", "ERROR", "INFO", "INFO"]  # the oldest went first
    text = " | ".join(line.message for line in lines)
    for number in ("7110045708900001", "3173015203900002", "7110012345678901"):
        assert number not in text
    assert lines[0].message == "record for NIK [number] rejected"
    assert lines[1].message == "save failed second line [ValueError]"
    assert lines[2].message == "record 31ab863d-104c-4370-a45b-75aacc123456 sent (KK [number])"
    assert logs.lines(limit=1) == [lines[-1]]


# -- USB sticks ----------------------------------------------------------------------------------------------
def test_only_writable_removable_mounts_count_as_usb_sticks(tmp_path: Path) -> None:
    media = tmp_path / "media"
    stick = media / "kiosk" / "DATA STICK"
    stick.mkdir(parents=True)
    read_only = media / "kiosk" / "CDROM"
    read_only.mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n"
        f"/dev/sda1 {str(stick).replace(' ', chr(92) + '040')} vfat rw,nosuid,nodev 0 0\n"
        f"/dev/sr0 {read_only} iso9660 ro,nosuid 0 0\n"
        f"tmpfs {media} tmpfs rw 0 0\n"
        "garbage\n"
    )
    assert mounted_sticks(mounts, roots=(media,)) == [stick]
    assert mounted_sticks(tmp_path / "missing", roots=(media,)) == []


# -- words ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "english", "indonesian"),
    [
        (0, "0 s", "0 dtk"),
        (45.4, "45 s", "45 dtk"),
        (60, "1 min", "1 mnt"),
        (200, "3 min 20 s", "3 mnt 20 dtk"),
        (7200, "2 h", "2 jam"),
        (7500, "2 h 5 min", "2 jam 5 mnt"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h", "3 hari 4 jam"),
    ],
)
def test_durations_in_both_languages(seconds: float, english: str, indonesian: str) -> None:
    assert duration(MaintenanceTranslator("en"), seconds) == english
    assert duration(MaintenanceTranslator("id"), seconds) == indonesian


def test_the_shared_widgets_words_come_from_the_citizen_catalog() -> None:
    tr = MaintenanceTranslator("id")
    assert tr("Delete") == Translator("id")("Delete")  # the keypad's key, not in the maintenance catalog
    assert tr("Back to kiosk") == "Kembali ke kios"
    assert tr.gettext_in("en", "Back to kiosk") == "Back to kiosk"
    tr.set_language("xx")
    assert tr.language == "id"
