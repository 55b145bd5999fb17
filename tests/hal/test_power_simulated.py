"""The simulated UPS: the real monitor on gpiozero mock pins and a simulated fuel gauge."""

from __future__ import annotations

import pytest

from hal.device import HealthStatus
from hal.errors import DeviceNotFound
from hal.events import BatteryLow, EventQueue, MainsLost
from hal.power import PowerMonitor, SimulatedUps, open_power_monitor
from hal.settings import PowerSettings


def kinds(events: EventQueue) -> list[str]:
    return [type(event).__name__ for event in events.drain() if type(event).__name__ != "DeviceHealthChanged"]


def make_ups(events: EventQueue, **settings) -> SimulatedUps:
    return SimulatedUps(PowerSettings(backend="simulated", **settings), events, poll=False)


def test_it_is_the_real_monitor_on_simulated_hardware(events):
    ups = open_power_monitor(PowerSettings(backend="simulated"), events)
    assert isinstance(ups, PowerMonitor) and ups.backend == "simulated"
    assert ups.health().status is HealthStatus.OK
    reading = ups.reading()
    assert reading.on_battery is False
    assert reading.percent == pytest.approx(100.0)
    assert reading.volts == pytest.approx(4.2, abs=0.002)
    ups.close()


@pytest.mark.parametrize("preset", ["x728", "x729", "x120x"])
def test_scripted_power_cut_and_return(events, preset):
    ups = make_ups(events, preset=preset, low_battery_percent=20.0)
    ups.lose_mains()
    ups.lose_mains()
    assert kinds(events) == ["MainsLost"]
    ups.set_battery(20.0)
    assert ups.poll().percent == pytest.approx(20.0)
    ups.poll()
    assert kinds(events) == ["BatteryLow"]
    ups.restore_mains()
    assert kinds(events) == ["MainsRestored"]
    assert ups.reading().on_battery is False
    ups.close()


def test_polarity_follows_the_preset(events):
    x728 = make_ups(events, preset="x728")
    x728.lose_mains()
    assert x728.pin_factory.pin(6).state is True
    x728.close()
    x120x = make_ups(events, preset="x120x")
    assert x120x.pin_factory.pin(6).state is True  # HIGH = mains OK on the X120x
    x120x.lose_mains()
    assert x120x.pin_factory.pin(6).state is False
    x120x.close()


def test_button_press(events):
    ups = make_ups(events, preset="x728")
    ups.press_button()
    assert kinds(events) == ["ShutdownButtonPressed"]
    ups.close()


def test_button_on_a_hat_without_one(events):
    ups = make_ups(events, preset="x120x")
    with pytest.raises(DeviceNotFound, match="no button"):
        ups.press_button()
    ups.close()


def test_starts_on_battery_when_configured(events):
    ups = make_ups(events, simulated_on_battery=True, simulated_battery_percent=15.0)
    assert ups.reading().on_battery is True
    ups.poll()
    assert kinds(events) == ["MainsLost", "BatteryLow"]
    ups.close()


def test_discharge_on_an_injected_clock(events):
    now = [0.0]
    settings = PowerSettings(
        backend="simulated", simulated_battery_percent=50.0, simulated_discharge_percent_per_min=5.0
    )
    ups = SimulatedUps(settings, events, clock=lambda: now[0], poll=False)
    ups.lose_mains()
    now[0] += 5 * 60
    assert ups.poll().percent == pytest.approx(25.0)
    now[0] += 60
    assert ups.poll().percent == pytest.approx(20.0)
    assert kinds(events) == ["MainsLost", "BatteryLow"]
    ups.restore_mains()
    now[0] += 600
    assert ups.poll().percent == pytest.approx(20.0)
    ups.close()


def test_gauge_unplugged_degrades(events):
    ups = make_ups(events)
    ups.gauge.set_answering(False)
    assert ups.self_test().status is HealthStatus.DEGRADED
    assert "battery level unknown" in ups.health().detail
    ups.close()


def test_power_cut_request_runs_the_real_pulse(events):
    ups = make_ups(events, preset="x728")
    assert ups.cut_power_after_halt() is True
    assert [s.state for s in ups.pin_factory.pin(26).states] == [False, True, False]
    ups.close()


def test_polling_thread_catches_a_low_battery(events):
    ups = SimulatedUps(PowerSettings(backend="simulated", poll_interval_s=0.02), events)
    ups.lose_mains()
    assert events.wait_for(MainsLost, timeout=1) is not None
    ups.set_battery(3.0)
    assert events.wait_for(BatteryLow, timeout=5) is not None
    ups.close()
