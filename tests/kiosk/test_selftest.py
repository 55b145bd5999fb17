"""``kiosk selftest``: every simulated device ok, a switched-on fault reported plainly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _selftest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "selftest", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_every_simulated_device_is_ok(tmp_path: Path) -> None:
    result = _selftest(tmp_path, "--simulate", "--json")
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)["devices"]
    assert [(d["name"], d["backend"], d["status"]) for d in devices] == [
        ("camera", "simulated", "ok"),
        ("signature_pad", "simulated", "ok"),
        ("power", "simulated", "ok"),
        ("printer", "simulated", "ok"),
    ]


@pytest.mark.parametrize(
    ("fault", "device", "words"),
    [
        ("camera=disconnect", "camera", "disconnected"),
        ("camera=black", "camera", "black"),
        ("signature_pad=unplugged", "signature_pad", "not connected"),
        ("printer=paper_out", "printer", "out of paper"),
    ],
)
def test_a_simulated_fault_fails_that_device_with_a_plain_reason(
    tmp_path: Path, fault: str, device: str, words: str
) -> None:
    result = _selftest(tmp_path, "--simulate", "--json", "--fault", fault)
    assert result.returncode == 1, result.stderr
    by_name = {d["name"]: d for d in json.loads(result.stdout)["devices"]}
    assert by_name[device]["status"] == "failed"
    assert words in by_name[device]["detail"]
    assert all(d["status"] == "ok" for name, d in by_name.items() if name != device)


def test_the_table_names_every_device(tmp_path: Path) -> None:
    result = _selftest(tmp_path, "--simulate", "--fault", "camera=disconnect")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DEVICE", "BACKEND", "STATUS", "DETAIL"]
    assert [line.split()[0] for line in lines[1:]] == ["camera", "signature_pad", "power", "printer"]
    assert "failed" in lines[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--simulate", "--fault", "toaster=burnt"], "unknown device"),
        (["--simulate", "--fault", "camera=melted"], "unknown fault for camera"),
        (["--fault", "camera=hang"], "only be switched on in simulated devices"),
    ],
)
def test_a_wrong_fault_switch_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = _selftest(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_missing_design_font_is_a_warning_naming_the_package(tmp_path: Path) -> None:
    from kiosk.design_fonts import design_font_warning

    present = tmp_path / "NotoSans-Regular.ttf"
    present.write_bytes(b"font")
    missing = tmp_path / "NotoSans-Bold.ttf"
    warning = design_font_warning("", (present, missing))
    assert "Noto Sans" in warning and str(missing) in warning and "fonts-noto-core" in warning
    assert str(present) not in warning
    assert design_font_warning("", (present,)) == ""
    assert design_font_warning("/opt/fonts/Other.ttf", (missing,)) == ""  # the technician chose a font
