"""What a technician does in maintenance mode, through the screens, and what the audit log says about it.

A real reference ingest server on loopback, a real outbox with sealed records (two of them rejected), the
simulated camera, printer and UPS, and a directory standing in for the USB stick.
"""

from __future__ import annotations

import tarfile
import threading
from pathlib import Path

import pytest
from maintenance_rig import Rig

from kiosk.outbox import DEAD, PENDING, SENT
from ui.maintenance.widgets import ProgressBar, StatusLine

#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def test_the_dashboard_shows_a_simulated_camera_fault_with_its_reason(rig: Rig) -> None:
    rig.enter()
    pilot = rig.pilot
    camera_line = pilot.find("dash.device.camera")
    assert isinstance(camera_line, StatusLine)
    assert (camera_line.name, camera_line.status) == ("Camera", "Working")

    rig.camera.set_fault("disconnect")  # the cable came out between two citizens
    pilot.tap("dash.check")
    rig.wait_job("check")
    pilot.wait_until(
        lambda: pilot.find("dash.device.camera").status == "Failed", what="the camera's new status"
    )

    line = pilot.find("dash.device.camera")
    assert (line.name, line.status, line.detail) == ("Camera", "Failed", "camera disconnected")
    assert line.tone == "error"
    assert pilot.find("dash.device.printer").status == "Working"
    # Every device's self-test is audited with what it found.
    tests = [entry.detail for entry in rig.audit() if entry.action.value == "device_test"]
    assert "camera: failed (camera disconnected)" in tests
    assert "printer: ok" in tests

    pilot.tap("m.language")  # the technician's own language: Bahasa Indonesia
    line = pilot.find("dash.device.camera")
    assert (line.name, line.status, line.detail) == ("Kamera", "Rusak", "camera disconnected")


def test_the_dashboard_counts_records_per_state(rig: Rig) -> None:
    ids = rig.enqueue(3)
    rig.kill(ids[0], "the server rejected the record (422)")
    rig.enter()
    texts = {
        state: rig.pilot.find(f"dash.records.{state}").text
        for state in ("pending", "sending", "sent", "dead")
    }
    assert texts == {"pending": "2", "sending": "0", "sent": "0", "dead": "1"}
    assert rig.pilot.find("dash.oldest").text.startswith("Oldest record waiting:")


def test_every_action_lands_in_the_audit_log(rig: Rig) -> None:
    rig.serve()
    ids = rig.enqueue(4)
    rig.kill(ids[0], "the server rejected the record (422: same key, other content)")
    rig.kill(ids[1], "the server rejected the record (413: too large)")
    pilot = rig.pilot
    rig.enter()

    # Devices: the camera's live test, the printer's test slip, the UPS read now.
    pilot.tap("m.tab.devices")
    pilot.tap("devices.printer")
    pilot.tap("devices.printer.print")
    assert rig.wait_job("print").error is None
    assert len(rig.printer.printed) == 1
    pilot.tap("devices.power")
    pilot.tap("devices.power.selftest")
    rig.wait_job("selftest.power")
    assert "Battery charge: 100%" in pilot.screen_text()

    # Outbox: send now, export to the stick, put one rejected record back.
    pilot.tap("m.tab.outbox")
    rig.wait_readings()
    pilot.tap("outbox.send")
    sync = rig.wait_job("sync")
    assert (sync.done, sync.total) == (2, 2)  # the progress reports reached the screen
    pilot.wait_until(lambda: "Done: 2 sent, 0 rejected." in pilot.screen_text(), what="the sync result")
    assert len(rig.server.records()) == 2
    pilot.tap("outbox.export.0")
    export = rig.wait_job("export")
    assert export.error is None and (export.done, export.total) == (2, 2)
    bundle = Path(export.result)
    assert bundle.parent == rig.stick
    with tarfile.open(bundle) as tar:
        assert sorted(n for n in tar.getnames() if n.startswith("records/")) == sorted(
            f"records/{rid}.sealed" for rid in ids[:2]
        )
    pilot.wait_until(lambda: pilot.exists(f"outbox.retry.{ids[0]}"), what="the rejected records")
    pilot.tap(f"outbox.retry.{ids[0]}")
    rig.wait_job("retry")
    assert rig.outbox.get(ids[0]).state == PENDING
    assert rig.outbox.get(ids[1]).state == DEAD

    # Network, chart, logs.
    pilot.tap("m.tab.network")
    pilot.tap("network.probe")
    rig.wait_job("probe")
    assert "The server can be reached and accepts this kiosk." in pilot.screen_text()
    pilot.tap("m.tab.history")
    pilot.tap("m.tab.logs")

    # Restart and power: each asks first; "cancel" does nothing.
    pilot.tap("m.tab.power")
    pilot.tap("power.reboot")
    pilot.tap("power.confirm.cancel")
    assert rig.runner.commands == []
    for command in ("restart", "reboot", "shutdown"):
        pilot.tap(f"power.{command}")
        pilot.tap("power.confirm.ok")
        rig.wait_job(f"power.{command}")
    assert rig.runner.commands == [
        ["systemctl", "restart", "--no-block", "dukcapil-kiosk.service"],
        ["systemctl", "reboot"],
        ["systemctl", "poweroff"],
    ]
    pilot.tap("m.leave")

    log = [(e.action.value, e.outcome.value, e.detail) for e in rig.audit()]
    session = rig.audit()[0].session
    assert all(e.session == session for e in rig.audit())  # one maintenance session, start to end
    assert [(a, o) for a, o, _ in log] == [
        ("enter", "ok"),
        ("view_dashboard", "ok"),
        ("device_test", "ok"),  # the camera's live test opened
        ("device_test", "ok"),  # the printer's test opened
        ("device_test", "ok"),  # the test slip printed
        ("device_test", "ok"),  # the UPS's test opened
        ("device_test", "ok"),  # the UPS read now
        ("view_dashboard", "ok"),  # the outbox page
        ("sync_now", "ok"),
        ("export", "ok"),
        ("retry_dead", "ok"),
        ("network_probe", "ok"),
        ("view_dashboard", "ok"),  # the 24-hour chart
        ("view_logs", "ok"),
        ("restart", "requested"),
        ("reboot", "requested"),
        ("shutdown", "requested"),
        ("exit", "ok"),
    ]
    details = [d for _, _, d in log]
    assert "printer: test slip printed" in details
    assert "2 sent, 0 rejected" in details
    assert f"2 record(s) to {bundle.name}" in details
    assert "1 record(s) back in the queue" in details
    assert any("this kiosk's token is accepted" in d for d in details)
    assert "camera: live test opened" in details


def confirm_power_command(rig: Rig, key: str) -> None:
    """Open the Power page, ask for the command ``key``, confirm it and wait for the answer."""
    rig.pilot.tap("m.tab.power")
    rig.pilot.tap(f"power.{key}")
    rig.pilot.tap("power.confirm.ok")
    rig.wait_job(f"power.{key}")


def test_a_failed_command_is_shown_and_audited(rig: Rig) -> None:
    rig.enter()
    rig.runner.fail_with = "Failed to reboot: Access denied"
    confirm_power_command(rig, "reboot")
    assert rig.pilot.find("power.reboot.about").text == (
        "systemctl refused (exit status 1). The system says: “Failed to reboot: Access denied”"
    )
    assert rig.pilot.find("power.reboot").enabled  # the kiosk keeps serving; the technician may try again
    assert rig.audit_actions()[-2:] == [("reboot", "requested"), ("reboot", "failed")]


def test_a_failed_command_is_worded_in_indonesian_quoting_only_the_system(rig: Rig) -> None:
    rig.mode.language = "id"
    rig.enter()
    rig.runner.fail_with = "System has not been booted with systemd as init system (PID 1). Can't operate."
    confirm_power_command(rig, "restart")
    assert rig.pilot.find("power.restart.about").text == (
        "systemctl menolak (status keluar 1). Pesan sistem (bahasa Inggris): “System has not been booted "
        "with systemd as init system (PID 1). Can't operate.”"
    )


def test_a_command_that_cannot_be_run_says_so_in_the_page_s_language(rig: Rig) -> None:
    rig.mode.language = "id"
    rig.enter()
    rig.runner.cannot_run = FileNotFoundError(2, "No such file or directory", "systemctl")
    confirm_power_command(rig, "shutdown")
    about = rig.pilot.find("power.shutdown.about").text
    assert about.startswith("Sistem tidak dapat menjalankan systemctl. Pesan sistem (bahasa Inggris): “")
    assert "No such file or directory" in about


class GatedClient:
    """The real ingest client, held before its second delivery until the test lets it go on."""

    def __init__(self, client) -> None:
        self.client = client
        self.calls = 0
        self.holding = threading.Event()
        self.go_on = threading.Event()

    def post_record(self, item):
        self.calls += 1
        if self.calls == 2:
            self.holding.set()
            self.go_on.wait(10)
        return self.client.post_record(item)


def test_send_now_shows_its_progress_while_it_runs(rig: Rig) -> None:
    rig.serve()
    rig.enqueue(3)
    gate = GatedClient(rig.client)
    rig.mode.client = gate
    pilot = rig.pilot
    rig.enter()
    pilot.tap("m.tab.outbox")
    rig.wait_readings()
    pilot.tap("outbox.send")
    assert gate.holding.wait(10)
    pilot.wait_until(
        lambda: pilot.exists("outbox.sync.progress") and "Sent 1 of 3" in pilot.screen_text(),
        what="the progress bar",
    )
    bar = pilot.find("outbox.sync.progress")
    assert isinstance(bar, ProgressBar) and bar.fraction == pytest.approx(1 / 3)
    assert not pilot.find("outbox.send").enabled  # one pass at a time
    pilot.tap("m.tab.dashboard")  # the screen stays usable while it runs
    gate.go_on.set()
    rig.wait_job("sync")
    pilot.tap("m.tab.outbox")
    pilot.wait_until(lambda: "Done: 3 sent, 0 rejected." in pilot.screen_text(), what="the result")
    assert rig.outbox.counts()[SENT] == 3


def test_an_empty_usb_slot_is_said_plainly(rig: Rig) -> None:
    rig.usb_sticks.clear()
    rig.enqueue(1)
    rig.enter()
    rig.pilot.tap("m.tab.outbox")
    assert "No USB stick found." in rig.pilot.screen_text()
    rig.usb_sticks.append(rig.stick)
    rig.pilot.tap("outbox.sticks")
    assert rig.pilot.exists("outbox.export.0")


def test_the_network_probe_says_plainly_when_the_server_is_unreachable(rig: Rig) -> None:
    rig.enter()  # the rig's client points at a port nobody listens on
    rig.pilot.tap("m.tab.network")
    rig.pilot.tap("network.probe")
    rig.wait_job("probe")
    text = rig.pilot.screen_text()
    assert "The server cannot be reached. Records stay safely on this kiosk" in text
    assert "refused the connection" in rig.pilot.find("network.detail").text
    assert rig.audit_actions()[-1] == ("network_probe", "ok")
