"""The event queue and the device base every backend builds on."""

from __future__ import annotations

import threading

import pytest

from hal.device import Device, HealthStatus
from hal.errors import DeviceClosed, DeviceError
from hal.events import DeviceHealthChanged, EventQueue, MainsLost, PenSample


class _Lamp(Device):
    kind = "lamp"
    backend = "test"

    def __init__(self, events: EventQueue | None = None) -> None:
        super().__init__(events)
        self.released = 0

    def _close(self) -> None:
        self.released += 1

    def switch_on(self) -> None:
        self._check_open()


def test_events_posted_from_threads_arrive_in_order_and_wake_the_loop(events: EventQueue) -> None:
    woken = threading.Event()
    events.add_waker(woken.set)
    worker = threading.Thread(
        target=lambda: [events.post(PenSample(x=i, y=i, pen_down=True)) for i in range(50)]
    )
    worker.start()
    worker.join()
    assert woken.is_set()
    assert [e.x for e in events.drain()] == list(range(50))
    assert events.drain() == []


def test_wait_for_skips_other_events_and_gives_up_at_the_deadline(events: EventQueue) -> None:
    events.post(PenSample(x=1, y=1, pen_down=False))
    events.post(MainsLost())
    assert isinstance(events.wait_for(MainsLost, timeout=1), MainsLost)
    assert events.wait_for(MainsLost, timeout=0.01) is None


def test_health_change_is_posted_once_per_change(events: EventQueue) -> None:
    lamp = _Lamp(events)
    lamp._set_health(HealthStatus.FAILED, "bulb broken")
    lamp._set_health(HealthStatus.FAILED, "bulb broken")
    lamp._set_health(HealthStatus.OK)
    changes = [e for e in events.drain() if isinstance(e, DeviceHealthChanged)]
    assert [(c.status, c.detail) for c in changes] == [("failed", "bulb broken"), ("ok", "")]
    assert lamp.health().ok


def test_close_is_idempotent_and_a_closed_device_refuses_work() -> None:
    with _Lamp() as lamp:
        lamp.switch_on()
    lamp.close()
    assert lamp.released == 1 and lamp.closed
    with pytest.raises(DeviceClosed) as caught:
        lamp.switch_on()
    assert isinstance(caught.value, DeviceError) and isinstance(caught.value, RuntimeError)
