"""The gpiozero power monitor, driven through gpiozero's own MockFactory pins."""

from __future__ import annotations

import threading
import warnings

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from hal.device import HealthStatus
from hal.errors import DeviceClosed, DeviceFallbackWarning, DeviceNotFound
from hal.events import BatteryLow, EventQueue
from hal.power import PowerMonitor, SimulatedUps, open_power_monitor
from hal.power.fuel_gauge import SOC_REGISTER, VCELL_REGISTER
from hal.settings import PowerSettings

PULSE_S = 0.05


class FakeSMBus:
    """smbus2-like bus with a MAX17040 whose charge the test sets; may stop answering."""

    def __init__(self, percent: float = 80.0, volts: float = 4.0) -> None:
        self.percent = percent
        self.volts = volts
        self.answering = True

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        if not self.answering or i2c_addr != 0x36:
            raise OSError(121, "Remote I/O error")
        value = {
            VCELL_REGISTER: round(self.volts * 1000 / 1.25) << 4,
            SOC_REGISTER: round(self.percent * 256),
        }[register]
        msb, lsb = value >> 8, value & 0xFF
        return msb | (lsb << 8)  # smbus2: the first byte on the wire is the word's low byte


def kinds(events: EventQueue) -> list[str]:
    return [type(event).__name__ for event in events.drain() if type(event).__name__ != "DeviceHealthChanged"]


def make_monitor(mock_pins: MockFactory, events: EventQueue, bus: FakeSMBus | None = None, **settings):
    return PowerMonitor(
        PowerSettings(backend="gpio", **settings),
        events,
        pin_factory=mock_pins,
        i2c_bus=bus if bus is not None else FakeSMBus(),
        power_cut_pulse_s=PULSE_S,
        poll=False,
    )


def drive_mains(mock_pins: MockFactory, pin: int, *, lost: bool, lost_when_high: bool) -> None:
    if lost == lost_when_high:
        mock_pins.pin(pin).drive_high()
    else:
        mock_pins.pin(pin).drive_low()


@pytest.mark.parametrize(("preset", "lost_when_high"), [("x728", True), ("x729", True), ("x120x", False)])
def test_each_transition_fires_its_event_once(mock_pins, events, preset, lost_when_high):
    bus = FakeSMBus(percent=80.0)
    monitor = make_monitor(mock_pins, events, bus, preset=preset, low_battery_percent=20.0)
    assert kinds(events) == []  # on mains at start: nothing to say
    assert monitor.reading().on_battery is False

    drive_mains(mock_pins, 6, lost=True, lost_when_high=lost_when_high)
    drive_mains(mock_pins, 6, lost=True, lost_when_high=lost_when_high)  # same level again
    monitor.poll()
    assert kinds(events) == ["MainsLost"]
    assert monitor.reading().on_battery is True

    bus.percent = 19.5
    first = monitor.poll()
    monitor.poll()
    bus.percent = 18.0
    monitor.poll()
    assert kinds(events) == ["BatteryLow"]
    assert first.percent == pytest.approx(19.5)

    drive_mains(mock_pins, 6, lost=False, lost_when_high=lost_when_high)
    monitor.poll()
    assert kinds(events) == ["MainsRestored"]
    assert monitor.reading().on_battery is False

    # A new discharge episode warns again.
    drive_mains(mock_pins, 6, lost=True, lost_when_high=lost_when_high)
    monitor.poll()
    assert kinds(events) == ["MainsLost", "BatteryLow"]
    monitor.close()


def test_battery_low_carries_the_reading(mock_pins, events):
    bus = FakeSMBus(percent=12.0, volts=3.5)
    monitor = make_monitor(mock_pins, events, bus)
    mock_pins.pin(6).drive_high()
    monitor.poll()
    low = events.wait_for(BatteryLow, timeout=1)
    assert low.percent == pytest.approx(12.0)
    assert low.volts == pytest.approx(3.5, abs=0.002)
    monitor.close()


def test_low_charge_on_mains_is_no_warning(mock_pins, events):
    monitor = make_monitor(mock_pins, events, FakeSMBus(percent=5.0))
    monitor.poll()
    assert kinds(events) == []
    monitor.close()


def test_x120x_high_means_mains_ok(mock_pins, events):
    monitor = make_monitor(mock_pins, events, preset="x120x")
    mock_pins.pin(6).drive_high()
    assert kinds(events) == []
    assert monitor.reading().on_battery is False
    mock_pins.pin(6).drive_low()
    assert kinds(events) == ["MainsLost"]
    monitor.close()


def test_x728_high_means_mains_lost(mock_pins, events):
    monitor = make_monitor(mock_pins, events, preset="x728")
    mock_pins.pin(6).drive_low()
    assert kinds(events) == []
    mock_pins.pin(6).drive_high()
    assert kinds(events) == ["MainsLost"]
    monitor.close()


def test_explicit_pins_override_the_preset(mock_pins, events):
    monitor = make_monitor(
        mock_pins, events, preset="x728", mains_pin=17, mains_lost_when_high=False, button_pin=27
    )
    mock_pins.pin(6).drive_high()  # the preset's pin is not watched
    mock_pins.pin(5).drive_high()
    assert kinds(events) == []
    mock_pins.pin(17).drive_high()  # pulled up: HIGH = mains OK with the overridden polarity
    mock_pins.pin(17).drive_low()
    mock_pins.pin(27).drive_high()
    assert kinds(events) == ["MainsLost", "ShutdownButtonPressed"]
    assert monitor.pins.power_cut_pin == 26  # not overridden: kept from the preset
    monitor.close()


def test_custom_preset_needs_only_a_mains_pin(mock_pins, events):
    monitor = make_monitor(mock_pins, events, preset="custom", mains_pin=22)
    mock_pins.pin(22).drive_high()
    assert kinds(events) == ["MainsLost"]
    assert monitor.cut_power_after_halt() is False
    monitor.close()


def test_hat_button_posts_shutdown_pressed_once_per_press(mock_pins, events):
    monitor = make_monitor(mock_pins, events, preset="x728")
    button = mock_pins.pin(5)
    button.drive_high()
    button.drive_low()
    assert kinds(events) == ["ShutdownButtonPressed"]
    button.drive_high()
    button.drive_low()
    assert kinds(events) == ["ShutdownButtonPressed"]
    monitor.close()


def test_power_cut_pulse_is_recorded_on_the_x728_pin(mock_pins, events):
    monitor = make_monitor(mock_pins, events, preset="x728")
    pin = mock_pins.pin(26)
    pin.clear_states()
    assert monitor.cut_power_after_halt() is True
    assert [state.state for state in pin.states] == [False, True, False]
    # states[i].timestamp is the time since the previous change: the HIGH lasted the pulse.
    assert pin.states[2].timestamp == pytest.approx(PULSE_S, abs=0.05)
    assert pin.states[2].timestamp >= PULSE_S
    monitor.close()


def test_the_default_pulse_is_within_the_x728_window():
    from hal.power import POWER_CUT_PULSE_S

    assert 3.0 <= POWER_CUT_PULSE_S <= 4.0


@pytest.mark.parametrize("preset", ["x729", "x120x"])
def test_hats_without_a_power_cut_pin_say_so(mock_pins, events, preset):
    monitor = make_monitor(mock_pins, events, preset=preset)
    assert monitor.cut_power_after_halt() is False
    monitor.close()


class DrivenPin(MockPin):
    """A pin the HAT drives: the Pi's weak internal pull does not change its level."""

    def _set_pull(self, value):
        self._pull = value


def test_starting_on_battery_posts_mains_lost_once(mock_pins, events):
    mock_pins.pin(6, pin_class=DrivenPin).drive_high()
    monitor = make_monitor(mock_pins, events, FakeSMBus(percent=10.0))
    assert kinds(events) == ["MainsLost", "BatteryLow"]
    assert monitor.reading().on_battery is True
    monitor.close()


def test_missing_gauge_degrades_but_mains_still_works(mock_pins, events):
    bus = FakeSMBus()
    bus.answering = False
    monitor = make_monitor(mock_pins, events, bus)
    health = monitor.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.detail == "fuel gauge not answering at 0x36: battery level unknown"
    assert monitor.reading().percent is None and monitor.reading().volts is None
    mock_pins.pin(6).drive_high()
    assert kinds(events) == ["MainsLost"]
    bus.answering = True
    assert monitor.self_test().status is HealthStatus.OK
    assert monitor.reading().percent == pytest.approx(80.0)
    monitor.close()


def test_gauge_switched_off_in_config_is_fine(mock_pins, events):
    monitor = make_monitor(mock_pins, events, fuel_gauge=False)
    assert monitor.health().status is HealthStatus.OK
    assert monitor.poll().percent is None
    monitor.close()


class NoGpioFactory(MockFactory):
    def pin(self, name, **kwargs):
        raise RuntimeError("/dev/gpiochip0: no such device")


def test_no_gpio_fails_with_a_plain_reason_and_never_crashes(events):
    monitor = PowerMonitor(
        PowerSettings(backend="gpio"), events, pin_factory=NoGpioFactory(), i2c_bus=FakeSMBus(), poll=False
    )
    health = monitor.health()
    assert health.status is HealthStatus.FAILED
    assert "cannot use the UPS pins" in health.detail and "gpiochip0" in health.detail
    assert monitor.reading() == monitor.poll()
    assert monitor.reading().percent == pytest.approx(80.0)  # the gauge still answers
    assert monitor.cut_power_after_halt() is False
    monitor.close()


def test_overlapping_pins_fail_with_a_plain_reason(mock_pins, events):
    monitor = make_monitor(mock_pins, events, preset="x728", mains_pin=5)
    assert monitor.health().status is HealthStatus.FAILED
    assert "overlap" in monitor.health().detail
    monitor.close()


def test_callbacks_and_polls_racing_post_one_event_per_transition(mock_pins, events):
    monitor = make_monitor(mock_pins, events)
    mains = mock_pins.pin(6)
    start = threading.Barrier(4)

    def lose_and_poll():
        start.wait()
        mains.drive_high()
        monitor.poll()

    threads = [threading.Thread(target=lose_and_poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert kinds(events) == ["MainsLost"]
    monitor.close()


def test_polling_thread_reads_the_battery_without_being_asked(mock_pins, events):
    bus = FakeSMBus(percent=50.0)
    monitor = PowerMonitor(
        PowerSettings(backend="gpio", poll_interval_s=0.02), events, pin_factory=mock_pins, i2c_bus=bus
    )
    mock_pins.pin(6).drive_high()
    bus.percent = 15.0
    low = events.wait_for(BatteryLow, timeout=5)
    assert low is not None and low.percent == pytest.approx(15.0)
    monitor.close()
    assert not monitor._thread.is_alive()


def test_close_is_idempotent_and_stops_use(mock_pins, events):
    monitor = make_monitor(mock_pins, events)
    monitor.close()
    monitor.close()
    with pytest.raises(DeviceClosed):
        monitor.poll()
    with pytest.raises(DeviceClosed):
        monitor.cut_power_after_halt()
    mock_pins.pin(6).drive_high()  # the pin is released: nothing is posted
    assert kinds(events) == []


def test_health_changes_are_posted(mock_pins, events):
    bus = FakeSMBus()
    monitor = make_monitor(mock_pins, events, bus)
    events.drain()
    bus.answering = False
    monitor.poll()
    changed = [e for e in events.drain() if type(e).__name__ == "DeviceHealthChanged"]
    assert [(e.device, e.status) for e in changed] == [("power", "degraded")]
    monitor.close()


# -- choosing the backend ---------------------------------------------------------------------------
def test_auto_with_an_injected_factory_uses_gpio(mock_pins, events):
    monitor = open_power_monitor(
        PowerSettings(backend="auto"), events, pin_factory=mock_pins, i2c_bus=FakeSMBus()
    )
    assert type(monitor) is PowerMonitor and monitor.backend == "gpio"
    monitor.close()


def test_auto_without_real_gpio_falls_back_to_the_simulated_ups(mock_pins, events):
    # mock_pins makes gpiozero's default factory a MockFactory: not real hardware.
    with pytest.warns(DeviceFallbackWarning, match="simulated UPS"):
        monitor = open_power_monitor(PowerSettings(backend="auto"), events)
    assert isinstance(monitor, SimulatedUps) and monitor.backend == "simulated"
    monitor.close()


def test_gpio_backend_uses_gpiozeros_default_factory(mock_pins, events):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor = open_power_monitor(PowerSettings(backend="gpio"), events, i2c_bus=FakeSMBus())
    mock_pins.pin(6).drive_high()
    assert kinds(events) == ["MainsLost"]
    monitor.close()


def test_backend_none_is_not_a_device(events):
    with pytest.raises(DeviceNotFound, match="switched off"):
        open_power_monitor(PowerSettings(backend="none"), events)
