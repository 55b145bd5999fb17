"""The UPS HAT watched through gpiozero: mains present or not, the HAT's button, the battery level.

gpiozero calls the pin callbacks on its own thread and the fuel gauge is read on the monitor's
polling thread; both only update state under a lock and post typed events (:class:`MainsLost`,
:class:`MainsRestored`, :class:`BatteryLow`, :class:`ShutdownButtonPressed`) to the kiosk's queue.
Every transition posts its event once: a state that has not changed posts nothing, so bouncing
edges, missed edges caught up by a poll, and polls racing the callbacks cannot duplicate events.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import replace
from typing import Any

from hal.device import Health, HealthStatus
from hal.errors import DeviceError
from hal.events import BatteryLow, EventQueue, MainsLost, MainsRestored, ShutdownButtonPressed
from hal.power.fuel_gauge import FuelGauge, SMBusLike, open_fuel_gauge
from hal.power.presets import UpsPins, ups_pins
from hal.power.source import PowerReading, PowerSource
from hal.settings import PowerSettings

log = logging.getLogger(__name__)

#: How long the X728 power-cut pin is held HIGH. The HAT reads 1.5-6.4 s as "shut down, then cut
#: power once the Pi has halted"; shorter means reboot and longer an immediate power-off, so aim
#: for the middle of the 3-4 s that Geekworm documents.
POWER_CUT_PULSE_S = 3.5

#: Debounce of the mains line: a brown-out flicker shorter than this is not a mains loss.
MAINS_BOUNCE_S = 0.1
BUTTON_BOUNCE_S = 0.05


class PowerMonitor(PowerSource):
    """Watches a UPS HAT: mains loss and return, the HAT's button and the battery level.

    Missing hardware never raises: the monitor reports FAILED (no GPIO) or DEGRADED (no fuel
    gauge) with the reason, and keeps answering :meth:`reading`.

    Args:
        settings: The ``[power]`` settings (preset, pin overrides, gauge, thresholds).
        events: Where events go; None posts none (readings only).
        pin_factory: gpiozero pin factory; None = gpiozero's default (the Pi's GPIO).
        i2c_bus: An SMBus-like object for the fuel gauge; None = open ``/dev/i2c-<i2c_bus>``.
        power_cut_pulse_s: How long :meth:`cut_power_after_halt` holds the pin HIGH.
        poll: Start the thread that reads the gauge every ``poll_interval_s`` (tests switch it off
            and call :meth:`poll` themselves).
    """

    kind = "power"
    backend = "gpio"

    def __init__(
        self,
        settings: PowerSettings,
        events: EventQueue | None = None,
        *,
        pin_factory: Any = None,
        i2c_bus: SMBusLike | None = None,
        power_cut_pulse_s: float = POWER_CUT_PULSE_S,
        poll: bool = True,
    ) -> None:
        super().__init__(events)
        self.settings = settings
        self._power_cut_pulse_s = power_cut_pulse_s
        self._state_lock = threading.Lock()  # on_battery, the reading, the BatteryLow latch
        self._poll_lock = threading.Lock()  # one gauge read at a time
        self._cut_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._gpio_problem = ""
        self._gauge_problem = ""
        self._mains: Any = None
        self._button: Any = None
        self._power_cut: Any = None
        self._gauge: FuelGauge | None = None
        self._low_posted = False
        self.pins: UpsPins | None = None

        self._open_gpio(pin_factory)
        self._open_gauge(i2c_bus)
        on_battery = self._read_mains()
        self._on_battery = bool(on_battery)
        self._reading = PowerReading(self._on_battery, None, None)
        if self._on_battery:
            # The kiosk starts on battery: it has to know as surely as if it had seen the edge.
            self._post(MainsLost())
        # Callbacks only now, with the state in place; an edge in between is caught up by poll().
        if self._mains is not None:
            self._mains.when_activated = self._mains_lost
            self._mains.when_deactivated = self._mains_back
        if self._button is not None:
            self._button.when_pressed = self._button_pressed
        self.poll()
        if poll:
            self._thread = threading.Thread(target=self._poll_forever, name="power-monitor", daemon=True)
            self._thread.start()

    # -- opening --------------------------------------------------------------------------------
    def _open_gpio(self, pin_factory: Any) -> None:
        try:
            self.pins = ups_pins(self.settings)
        except ValueError as exc:
            self._gpio_problem = str(exc)
            return
        try:
            from gpiozero import Button, DigitalInputDevice, DigitalOutputDevice
            from gpiozero.exc import BadPinFactory, PinFactoryFallback
        except ImportError as exc:  # pragma: no cover - gpiozero is a dependency
            self._gpio_problem = f"gpiozero is not installed ({exc})"
            return
        pins = self.pins
        try:
            with warnings.catch_warnings():
                # gpiozero warns once per pin library it tries; the outcome is what matters.
                warnings.simplefilter("ignore", PinFactoryFallback)
                # Pull the line towards "mains OK" so that a missing or unplugged HAT does not
                # read as a power cut; the HAT drives the line and overrides the weak pull.
                self._mains = DigitalInputDevice(
                    pins.mains_pin,
                    pull_up=not pins.mains_lost_when_high,
                    bounce_time=MAINS_BOUNCE_S,
                    pin_factory=pin_factory,
                )
                if pins.button_pin is not None:
                    # The HAT drives its shutdown line HIGH while asking; pulled down when idle.
                    self._button = Button(
                        pins.button_pin, pull_up=False, bounce_time=BUTTON_BOUNCE_S, pin_factory=pin_factory
                    )
                if pins.power_cut_pin is not None:
                    self._power_cut = DigitalOutputDevice(
                        pins.power_cut_pin, initial_value=False, pin_factory=pin_factory
                    )
        except Exception as exc:  # noqa: BLE001 - any pin library failure means "no usable GPIO"
            self._close_gpio()
            if isinstance(exc, BadPinFactory):
                self._gpio_problem = f"no GPIO on this machine, cannot watch the UPS ({exc})"
            else:
                self._gpio_problem = f"cannot use the UPS pins: {exc}"
            log.warning("power monitor: %s", self._gpio_problem)

    def _open_gauge(self, i2c_bus: SMBusLike | None) -> None:
        if not self.settings.fuel_gauge:
            return
        if i2c_bus is not None:
            self._gauge = FuelGauge(i2c_bus, self.settings.i2c_address)
            return
        try:
            self._gauge = open_fuel_gauge(self.settings.i2c_bus, self.settings.i2c_address)
        except DeviceError as exc:
            self._gauge_problem = str(exc)
            log.warning("power monitor: %s", exc)

    # -- reading --------------------------------------------------------------------------------
    def reading(self) -> PowerReading:
        """Return the last known reading; never touches I2C."""
        with self._state_lock:
            return self._reading

    @property
    def on_battery(self) -> bool:
        """True while mains power is lost (as last seen)."""
        return self.reading().on_battery

    def poll(self) -> PowerReading:
        """Read the mains line and the fuel gauge now and return the new reading.

        Posts :class:`BatteryLow` the first time the charge is at or below
        ``low_battery_percent`` while on battery; once per discharge episode (mains coming back
        starts a new one).
        """
        self._check_open()
        with self._poll_lock:
            on_battery = self._read_mains()
            if on_battery is not None:
                self._set_on_battery(on_battery)
            volts = percent = None
            if self._gauge is not None:
                try:
                    volts, percent = self._gauge.read()
                    self._gauge_problem = ""
                except DeviceError as exc:
                    self._gauge_problem = str(exc)
            with self._state_lock:
                reading = PowerReading(self._on_battery, percent, volts)
                self._reading = reading
                if (
                    reading.on_battery
                    and percent is not None
                    and percent <= self.settings.low_battery_percent
                    and not self._low_posted
                ):
                    self._low_posted = True
                    self._post(BatteryLow(percent=percent, volts=volts))
            self._update_health()
            return reading

    def self_test(self) -> Health:
        """Read the pins and the gauge now and return the resulting health."""
        self.poll()
        return self.health()

    def _read_mains(self) -> bool | None:
        if self._mains is None:
            return None
        try:
            return bool(self._mains.is_active)
        except Exception as exc:  # noqa: BLE001 - a pin read failing is reported, not raised
            self._gpio_problem = f"cannot read the mains pin: {exc}"
            return None

    def _update_health(self) -> None:
        if self._gpio_problem:
            problems = "; ".join(p for p in (self._gpio_problem, self._gauge_problem) if p)
            self._set_health(HealthStatus.FAILED, problems)
        elif self._gauge_problem:
            self._set_health(HealthStatus.DEGRADED, self._gauge_problem)
        else:
            self._set_health(HealthStatus.OK)

    # -- transitions (gpiozero's thread, the poll thread) ---------------------------------------
    def _mains_lost(self) -> None:
        self._set_on_battery(True)

    def _mains_back(self) -> None:
        self._set_on_battery(False)

    def _set_on_battery(self, on_battery: bool) -> None:
        with self._state_lock:
            if self._closed or on_battery == self._on_battery:
                return
            self._on_battery = on_battery
            self._reading = replace(self._reading, on_battery=on_battery)
            if not on_battery:
                self._low_posted = False
            # Posted under the lock so that a quick loss-and-return arrives in order.
            self._post(MainsLost() if on_battery else MainsRestored())
        if on_battery:
            # Read the battery now rather than at the next tick: it may already be low.
            self._wake.set()

    def _button_pressed(self) -> None:
        if not self._closed:
            self._post(ShutdownButtonPressed())

    def _post(self, event) -> None:
        if self._events is not None:
            self._events.post(event)

    def _poll_forever(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.poll_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.poll()
            except DeviceError:  # closed meanwhile
                return
            except Exception:  # noqa: BLE001 - the thread must outlive one bad read
                log.exception("power monitor: polling failed")

    # -- power cut ------------------------------------------------------------------------------
    def cut_power_after_halt(self) -> bool:
        """Ask the HAT to cut the power once the Pi has halted; call it right before shutting down.

        On the X728 this holds the power-cut pin (GPIO26) HIGH for about 3.5 s, which blocks the
        caller that long: the HAT then asks the Pi to halt on its button line and cuts power a few
        seconds after the Pi's "boot OK" line (GPIO12, driven by the ``gpio-poweroff`` overlay)
        falls at halt.

        Returns:
            True when the request was sent, False when this HAT has no power-cut pin.
        """
        self._check_open()
        if self._power_cut is None:
            return False
        with self._cut_lock:
            log.info("power monitor: asking the UPS to cut power after halt")
            self._power_cut.on()
            try:
                # A blocking wait on purpose: a pulse cut short reads as "reboot" to the HAT.
                time.sleep(self._power_cut_pulse_s)
            finally:
                self._power_cut.off()
        return True

    # -- lifecycle ------------------------------------------------------------------------------
    def _close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._close_gpio()
        if self._gauge is not None:
            self._gauge.close()
            self._gauge = None

    def _close_gpio(self) -> None:
        for name in ("_mains", "_button", "_power_cut"):
            device = getattr(self, name)
            if device is not None:
                try:
                    device.close()
                except Exception:  # noqa: BLE001 - closing must reach every pin
                    log.exception("power monitor: closing %s failed", name)
                setattr(self, name, None)
