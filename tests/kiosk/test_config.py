"""The config file: strict, documented, and wrong input explained on one line."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import msgspec
import pytest

from kiosk.config import Config, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def test_the_example_file_is_valid_and_mentions_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.kiosk.id == "BMT-MODAYAG-01"
    text = EXAMPLE.read_text()
    for section in msgspec.structs.fields(Config):
        assert f"[{section.name}]" in text
        for field in msgspec.structs.fields(typing.get_type_hints(Config)[section.name]):
            assert field.name in text, f"{section.name}.{field.name} is not documented in config.example.toml"


def test_no_file_means_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.config.DEFAULT_CONFIG_PATH", Path("/nonexistent/config.toml"))
    assert load_config() == Config()


def test_env_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[kiosk]\nid = "NUANGAN-02"\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    assert load_config().kiosk.id == "NUANGAN-02"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[camera]\nbackend = "webcam9000"',
            "camera.backend: invalid enum value 'webcam9000' (allowed: 'auto', ",
        ),
        ("[camera]\nzoom = 2", "camera.zoom: unknown key (known keys here: backend, device"),
        ("[kamera]\nbackend = 'auto'", "kamera: unknown key (known keys here: kiosk, server"),
        (
            '[signature_pad]\nbaudrate = "fast"',
            "signature_pad.baudrate: expected `int`, got `str` (allowed: 9600",
        ),
        ("[power]\ni2c_address = 500", "power.i2c_address: expected `int` <= 119"),
        ("[power]\npreset = 'custom'", "power: preset 'custom' needs mains_pin"),
        ('[kiosk]\nlanguage = "fr"', "kiosk.language: invalid enum value 'fr' (allowed: 'id', 'en')"),
        ("[ui]\nsize = [800]", "ui.size: expected `array` of length 2, got 1"),
        ("[camera\nbackend = 1", "not valid TOML"),
    ],
)
def test_wrong_input_names_the_key_and_what_is_allowed(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "office.toml")
    message = str(caught.value)
    assert message.startswith("office.toml: ")
    assert expected in message
    assert "\n" not in message


def test_simulated_switches_every_enabled_device_but_leaves_disabled_ones_off() -> None:
    config = parse_config('[printer]\nbackend = "none"\n[camera]\nbackend = "picamera2"')
    simulated = config.simulated()
    assert simulated.camera.backend == "simulated"
    assert simulated.signature_pad.backend == "simulated"
    assert simulated.power.backend == "simulated"
    assert simulated.printer.backend == "none"


@pytest.mark.parametrize(
    "text",
    [
        "[camera]\nbackend = 'webcam9000'",
        "this is not toml [",
        # Nested a few thousand levels deep: tomllib recurses; this used to end in a RecursionError traceback.
        "[camera]\nbackend = " + "[" * 5000 + "]" * 5000,
        "[camera]\nbackend = " + "{a = " * 3000 + "1" + "}" * 3000,
    ],
)
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "selftest", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("kiosk: config error: ")
    assert "Traceback" not in result.stderr


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
