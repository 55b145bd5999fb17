"""``kiosk selftest``: exercise every configured device and report what works.

Exit status 0 when no device failed, 1 when one did (a degraded device still serves), 2 for a
config problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import msgspec

from kiosk.cli import EXIT_FAILED, EXIT_OK, add_config_argument
from kiosk.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from hal.device import Device, Health

#: Faults a technician (or a test) can switch on in simulated devices: device -> allowed faults.
SIMULATED_FAULTS = {
    "camera": ("hang", "disconnect", "black"),
    "signature_pad": ("unplugged", "garbage"),
    "printer": ("offline", "paper_out"),
}


@dataclass(frozen=True)
class DeviceReport:
    """One line of the self-test: which device, on which backend, how it fared."""

    name: str
    backend: str
    status: str
    detail: str


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``selftest`` command."""
    parser = subparsers.add_parser(
        "selftest",
        help="test every configured device",
        description="Exercise every configured device: capture a frame, read the pad, read the UPS, "
        "query the printer. Exits 0 when no device failed, 1 otherwise.",
    )
    add_config_argument(parser)
    parser.add_argument("--simulate", action="store_true", help="use the simulated backend of every device")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="DEVICE=FAULT",
        help="switch on a fault in a simulated device: "
        + "; ".join(f"{d}={'|'.join(f)}" for d, f in SIMULATED_FAULTS.items()),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the self-test and print the result."""
    config = load_config(args.config)
    if args.simulate:
        config = config.simulated()
    config = with_faults(config, args.fault)
    reports = self_test(config)
    if args.json:
        print(json.dumps({"devices": [asdict(r) for r in reports]}, indent=2))
    else:
        print(format_table(reports))
    from hal.device import HealthStatus

    failed = any(r.status == HealthStatus.FAILED for r in reports)
    return EXIT_FAILED if failed else EXIT_OK


def with_faults(config: Config, faults: list[str]) -> Config:
    """Return ``config`` with the ``DEVICE=FAULT`` switches applied to simulated devices."""
    for item in faults:
        device, _, fault = item.partition("=")
        allowed = SIMULATED_FAULTS.get(device)
        if allowed is None:
            raise ConfigError(f"--fault {item}: unknown device (allowed: {', '.join(SIMULATED_FAULTS)})")
        if fault not in allowed:
            raise ConfigError(f"--fault {item}: unknown fault for {device} (allowed: {', '.join(allowed)})")
        settings = getattr(config, device)
        if settings.backend != "simulated":
            raise ConfigError(
                f"--fault {item}: faults can only be switched on in simulated devices (use --simulate)"
            )
        config = msgspec.structs.replace(
            config, **{device: msgspec.structs.replace(settings, simulated_fault=fault)}
        )
    return config


def self_test(config: Config) -> list[DeviceReport]:
    """Open every device of ``config``, run its self-test and close it again."""
    # Here, not at the top: building the command line's parser must not import the devices (kiosk.cli).
    from kiosk.design_fonts import design_font_warning
    from kiosk.devices import open_devices, switched_off

    reports = []
    with warnings.catch_warnings(record=True) as fallbacks:
        warnings.simplefilter("always")
        devices = open_devices(config)
    with devices:
        for name, device in devices:
            if switched_off(device):
                reports.append(DeviceReport(name, "none", "off", "switched off in the config"))
                continue
            health = _run_self_test(device)
            reports.append(DeviceReport(name, device.backend, str(health.status), health.detail))
    for warning in fallbacks:
        print(f"kiosk: warning: {warning.message}", file=sys.stderr)
    font = design_font_warning(config.ui.font)
    if font:
        print(f"kiosk: warning: {font}", file=sys.stderr)
    return reports


def _run_self_test(device: Device) -> Health:
    from hal.device import Health, HealthStatus

    # A self-test that raises is itself a finding about the device, not a reason to stop testing others.
    try:
        return device.self_test()
    except Exception as exc:  # noqa: BLE001
        return Health(HealthStatus.FAILED, f"self-test crashed: {exc}")


def format_table(reports: list[DeviceReport]) -> str:
    """A plain-text table for a technician's terminal."""
    rows = [("DEVICE", "BACKEND", "STATUS", "DETAIL")] + [
        (r.name, r.backend, r.status, r.detail) for r in reports
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ).rstrip()
