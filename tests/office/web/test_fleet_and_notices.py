"""Fleet health from real heartbeat snapshots; service notices that end with the office day."""

from __future__ import annotations

import datetime
import json

import httpx
import pytest

from hal.device import Device, Health, HealthStatus
from hal.printer import SwitchedOffPrinter
from kiosk.maintenance.dashboard import take_snapshot
from kiosk.maintenance.lockout import BLOCK_AFTER_FAILURES, PinLockout
from kiosk.maintenance.store import MaintenanceStore
from kiosk.outbox import Outbox
from office.fleet import SILENT_AFTER, chart_svg, fleet
from office.notices import Level, NoticeError, notices_for_kiosks

WITA = datetime.timezone(datetime.timedelta(hours=8))


class Camera(Device):
    kind = "camera"
    backend = "simulated"

    def __init__(self, health: Health) -> None:
        super().__init__()
        self._set_health(health.status, health.detail)

    def _close(self) -> None:
        """Nothing opened: the device only reports the health it was given."""


def snapshot(tmp_path, camera: Health, pending: int = 0, wrong_pins: int = 3) -> dict:
    """What the kiosk's sync worker sends: :func:`take_snapshot` over real devices and a real outbox, with
    the ``pin`` section of a real PIN lockout after ``wrong_pins`` wrong PINs."""
    with MaintenanceStore.in_data_dir(tmp_path / f"maintenance-{pending}-{wrong_pins}") as store:
        lockout = PinLockout(store, max_failures=100, initial_s=60.0, clock=lambda: 1_000.0)
        for _ in range(wrong_pins):
            lockout.record_failure()
        pin = lockout.heartbeat()
    with Outbox(tmp_path / f"outbox-{pending}.sqlite3") as outbox:
        return take_snapshot(
            devices=[("camera", Camera(camera)), ("printer", SwitchedOffPrinter())],
            outbox=outbox,
            sync=None,
            power=None,
            data_dir=tmp_path,
            started_at=0.0,
        ).as_dict() | {"pin": pin}


def test_a_kiosk_whose_pin_entry_is_blocked_is_a_critical_alert(desk, tmp_path):
    ok = Health(HealthStatus.OK, "")
    desk.store.add_heartbeat("BMT-MODAYAG-01", snapshot(tmp_path, ok, wrong_pins=BLOCK_AFTER_FAILURES))
    [kiosk] = fleet(desk.store, zone=WITA)
    assert kiosk.pin_blocked and kiosk.failed_pin_attempts == BLOCK_AFTER_FAILURES
    assert [a.severity for a in kiosk.alerts if "blocked" in a.message] == ["critical"]


def test_a_failed_camera_and_pin_attempts_raise_alerts(desk, tmp_path):
    dead = Health(HealthStatus.FAILED, "no frames for 5 s")
    desk.store.add_heartbeat("BMT-MODAYAG-01", snapshot(tmp_path, dead))
    [kiosk] = fleet(desk.store, zone=WITA)
    assert not kiosk.silent and kiosk.queue == 0 and kiosk.failed_pin_attempts == 3
    assert [(d.name, d.status) for d in kiosk.devices] == [("camera", "failed"), ("printer", "off")]
    messages = [(a.severity, a.message.format(**a.values)) for a in kiosk.alerts]
    assert ("critical", "BMT-MODAYAG-01: the camera has failed (no frames for 5 s).") in messages
    assert ("warning", "BMT-MODAYAG-01: 3 wrong maintenance PINs.") in messages


def test_silent_after_missed_heartbeats(desk, tmp_path):
    desk.store.add_heartbeat("BMT-MODAYAG-01", snapshot(tmp_path, Health(HealthStatus.OK)))
    desk.clock.advance(SILENT_AFTER.total_seconds())
    assert not fleet(desk.store)[0].silent
    desk.clock.advance(1)
    [kiosk] = fleet(desk.store, zone=WITA)
    assert kiosk.silent
    assert (
        kiosk.alerts[0].message.format(**kiosk.alerts[0].values)
        == "BMT-MODAYAG-01 is silent since 06-12-2026 09:12."
    )


def test_a_kiosk_never_heard_from(desk):
    [kiosk] = fleet(desk.store)
    assert kiosk.silent and kiosk.last_heard is None and kiosk.queue is None
    assert kiosk.alerts[0].message == "{kiosk} has never sent a heartbeat."


def test_malformed_snapshots_show_as_unknown(desk):
    desk.store.add_heartbeat("BMT-MODAYAG-01", {"devices": "broken", "records": [1], "battery": 7})
    [kiosk] = fleet(desk.store)
    assert kiosk.devices == () and kiosk.queue is None and kiosk.on_battery is None and kiosk.version is None


def test_the_seven_day_chart(desk):
    for hour in range(10):
        desk.store.add_heartbeat("BMT-MODAYAG-01", {"records": {"pending": hour, "sending": 0}})
        desk.clock.advance(3600)
    [kiosk] = fleet(desk.store)
    svg = kiosk.chart_svg
    assert svg.startswith("<svg") and svg.count('fill="#2e7d32"') == 10  # ten hours heard
    assert svg.count('fill="#1565c0"') == 9  # queue bars where the queue was not empty
    assert "peak 9" in svg
    now = datetime.datetime.now(datetime.UTC)
    assert chart_svg([], now).count('fill="#2e7d32"') == 0


def test_a_notice_lasts_until_the_office_midnight(desk):
    notice = desk.notices.post(
        "ektp", Level.UNAVAILABLE, "Perekaman e-KTP: alat rusak hari ini", "", desk.supervisor
    )
    assert notice.text_en == notice.text_id  # one language given: shown in both
    assert notice.expires_at == datetime.datetime(2026, 12, 6, 16, 0, tzinfo=datetime.UTC)  # 00:00 WITA
    [sent] = desk.notices.for_kiosks()
    assert sent == {
        "id": notice.id,
        "service": "ektp",
        "level": "unavailable",
        "text": {"id": "Perekaman e-KTP: alat rusak hari ini", "en": "Perekaman e-KTP: alat rusak hari ini"},
        "expires_at": "2026-12-06T16:00:00Z",
    }
    desk.clock.now = notice.expires_at.timestamp() - 1
    assert desk.notices.active()
    desk.clock.now = notice.expires_at.timestamp()
    assert desk.notices.active() == []
    assert desk.accounts.audit_entries()[0].action == "notice"


def test_withdraw_and_refusals(desk):
    notice = desk.notices.post("kk_change", "limited", "Antrean panjang", "Long queue", desk.supervisor)
    assert desk.notices.withdraw(notice.id, desk.supervisor)
    assert not desk.notices.withdraw(notice.id, desk.supervisor)
    assert desk.notices.active() == []
    with pytest.raises(NoticeError, match="unavailable or limited"):
        desk.notices.post("ektp", "closed", "x", "x", desk.supervisor)
    with pytest.raises(NoticeError, match="at least one language"):
        desk.notices.post("ektp", "limited", "  ", "", desk.supervisor)
    with pytest.raises(NoticeError, match="200 characters"):
        desk.notices.post("ektp", "limited", "x" * 201, "", desk.supervisor)


def test_the_heartbeat_answer_carries_the_notices(lab, server):
    from office.accounts import Accounts
    from office.notices import Notices

    accounts = Accounts(server.store.engine)
    user = accounts.create_user("budi", "Budi", "supervisor", "correct horse battery")
    Notices(server.store.engine, accounts).post("ektp", "unavailable", "Alat rusak", "Recorder broken", user)
    answer = httpx.post(
        server.url + "/v1/heartbeat",
        content=json.dumps({"version": "1"}),
        headers={"Authorization": f"Bearer {lab.token}", "X-Kiosk-Id": lab.kiosk_id},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["received_at"] and [n["text"] for n in body["notices"]] == [
        {"id": "Alat rusak", "en": "Recorder broken"}
    ]
    assert notices_for_kiosks(server.store.engine, server.store.now()) == body["notices"]
