"""The kiosk keeps the office's service notices from heartbeat answers and lets them expire."""

from __future__ import annotations

import datetime

from kiosk.service_notices import ServiceNotices

END_OF_DAY = datetime.datetime(2026, 12, 6, 16, 0, tzinfo=datetime.UTC)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def answer(*notices: dict) -> dict:
    return {"received_at": "2026-12-06T01:12:00.000Z", "notices": list(notices)}


def notice(id: int = 1, service: str = "ektp", level: str = "unavailable", **changes) -> dict:
    return {
        "id": id,
        "service": service,
        "level": level,
        "text": {
            "id": "Perekaman e-KTP: alat rusak hari ini",
            "en": "e-KTP recording: the recorder is broken",
        },
        "expires_at": "2026-12-06T16:00:00Z",
        **changes,
    }


def test_notices_by_service_and_language():
    notices = ServiceNotices(Clock(END_OF_DAY.timestamp() - 3600))
    assert notices.update(answer(notice(2, level="limited"), notice(1), notice(3, service="kk_change")))
    ektp = notices.for_service("ektp")
    assert [(n.id, n.unavailable) for n in ektp] == [(1, True), (2, False)]
    assert ektp[0].text("en") == "e-KTP recording: the recorder is broken"
    assert ektp[0].text("id") == "Perekaman e-KTP: alat rusak hari ini" == ektp[0].text("jv")
    assert notices.for_service("birth_certificate") == ()


def test_they_expire_at_the_end_of_the_office_day_without_a_heartbeat():
    clock = Clock(END_OF_DAY.timestamp() - 1)
    notices = ServiceNotices(clock)
    notices.update(answer(notice()))
    assert len(notices.current()) == 1
    clock.now = END_OF_DAY.timestamp()
    assert notices.current() == ()


def test_the_office_list_replaces_the_kiosk_list():
    notices = ServiceNotices(Clock(0))
    notices.update(answer(notice(1), notice(2)))
    notices.update(answer(notice(2)))  # notice 1 was withdrawn at the office
    assert [n.id for n in notices.current()] == [2]
    assert not notices.update({"received_at": "x"})  # an older office: nothing changes
    assert not notices.update(None)
    assert [n.id for n in notices.current()] == [2]
    notices.update(answer())
    assert notices.current() == ()


def test_malformed_entries_are_skipped():
    notices = ServiceNotices(Clock(0))
    notices.update(
        answer(
            "nonsense",
            notice(1, level="closed"),
            notice(2, expires_at="tomorrow"),
            notice(3, text={"fr": "fermé"}),
            notice(4, text=None),
            {**notice(5), "id": "x"},
            notice(6, expires_at="2026-12-06T16:00:00"),  # no zone: cannot be trusted, treated as expired
            notice(7, text={"id": "  Antrean   panjang  "}),
        )
    )
    [kept] = notices.current()
    assert kept.id == 7 and kept.text("en") == "Antrean panjang"
