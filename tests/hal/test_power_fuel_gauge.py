"""The MAX17040-style fuel gauge: register conversion, missing chip, and the simulated chip."""

from __future__ import annotations

import pytest

from hal.errors import DeviceNotFound
from hal.power import FuelGauge, SimulatedFuelGauge, percent_from_word, volts_from_word
from hal.power.fuel_gauge import SOC_REGISTER, VCELL_REGISTER, open_fuel_gauge


class FakeSMBus:
    """Mirrors smbus2.SMBus.read_word_data: the first byte on the wire is the word's low byte.

    ``registers`` holds each register's bytes in the order the chip sends them (MSB first).
    """

    def __init__(self, registers: dict[int, tuple[int, int]], address: int = 0x36) -> None:
        self.registers = registers
        self.address = address
        self.closed = False

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        if i2c_addr != self.address:
            raise OSError(121, "Remote I/O error")
        first, second = self.registers[register]
        return first | (second << 8)

    def close(self) -> None:
        self.closed = True


def test_known_register_bytes_convert_to_volts_and_percent():
    # VCELL 0xD2 0x00 = 0xD200 -> 3360 steps of 1.25 mV = 4.2 V; SOC 0x32 0x80 = 50 + 128/256 %.
    bus = FakeSMBus({VCELL_REGISTER: (0xD2, 0x00), SOC_REGISTER: (0x32, 0x80)})
    volts, percent = FuelGauge(bus).read()
    assert volts == pytest.approx(4.2)
    assert percent == pytest.approx(50.5)


def test_conversion_of_raw_smbus_words():
    # The same registers as smbus2 hands them over, bytes swapped.
    assert volts_from_word(0x00B4) == pytest.approx(0xB400 * 1.25 / 1000 / 16)  # 3.6 V
    assert percent_from_word(0x0014) == pytest.approx(20.0)
    assert percent_from_word(0x0065) == 100.0  # 101 % right after charging is shown as 100 %


def test_a_chip_that_does_not_answer_is_a_plain_device_not_found():
    gauge = FuelGauge(FakeSMBus({}, address=0x40))
    with pytest.raises(DeviceNotFound, match="fuel gauge not answering at 0x36: battery level unknown"):
        gauge.read()


def test_missing_i2c_bus_is_reported_not_raised_as_oserror():
    with pytest.raises(DeviceNotFound, match="no I2C bus /dev/i2c-31"):
        open_fuel_gauge(31)


def test_gauge_closes_only_a_bus_it_owns():
    bus = FakeSMBus({})
    FuelGauge(bus).close()
    assert not bus.closed
    FuelGauge(bus, owns_bus=True).close()
    assert bus.closed


def test_simulated_chip_answers_like_the_real_one():
    chip = SimulatedFuelGauge(64.0)
    volts, percent = FuelGauge(chip).read()
    assert percent == pytest.approx(64.0, abs=1 / 256)
    assert volts == pytest.approx(chip.volts, abs=0.00125)


def test_simulated_chip_discharges_on_the_injected_clock():
    now = [100.0]
    chip = SimulatedFuelGauge(90.0, discharge_percent_per_min=10.0, clock=lambda: now[0])
    now[0] += 120
    assert chip.percent == pytest.approx(90.0)  # not discharging yet
    chip.set_discharging(True)
    now[0] += 180
    assert chip.percent == pytest.approx(60.0)
    chip.set_discharging(False)
    now[0] += 600
    assert chip.percent == pytest.approx(60.0)
    chip.set_discharging(True, percent_per_min=1000.0)
    now[0] += 60
    assert chip.percent == 0.0  # never below empty


def test_simulated_chip_can_stop_answering():
    chip = SimulatedFuelGauge()
    chip.set_answering(False)
    with pytest.raises(DeviceNotFound):
        FuelGauge(chip).read()
