"""The desktop simulator's set-up: keys and enrolment made once, a config the kiosk accepts."""

from __future__ import annotations

from pathlib import Path

from simulator import KIOSK_ID, prepare, write_config

from kiosk.config import load_config
from kiosk.sealing import KioskIdentity
from office.store import Store


def test_prepare_is_idempotent_and_enrols_the_kiosk_with_its_own_key(tmp_path: Path) -> None:
    keys, token = prepare(tmp_path)
    again_keys, again_token = prepare(tmp_path)
    assert (again_keys.box_public, again_token) == (keys.box_public, token)

    identity = KioskIdentity.load(tmp_path / "kiosk" / "keys")
    with Store.open(tmp_path / "server" / "server.sqlite3") as store:
        assert store.kiosk(KIOSK_ID).verify_key == identity.verify_key_b64


def test_the_written_config_is_valid_and_points_at_the_server(tmp_path: Path) -> None:
    keys, token = prepare(tmp_path)
    config = load_config(write_config(tmp_path, "http://127.0.0.1:40123", keys, token))
    assert config.kiosk.id == KIOSK_ID
    assert config.data_path == tmp_path / "kiosk"
    assert (config.server.url, config.server.token) == ("http://127.0.0.1:40123", token)
    assert config.server.public_key == keys.box_public
    assert config.server.ack_verify_key == keys.sign_public


def test_the_window_size_is_chosen_on_the_command_line(tmp_path):
    import argparse

    import pytest
    from simulator import parse_size

    keys, token = prepare(tmp_path)
    config = load_config(write_config(tmp_path, "http://127.0.0.1:40123", keys, token, parse_size("800x480")))
    assert tuple(config.ui.size) == (800, 480)
    for bad in ("800", "axb", "10x10"):
        with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
            parse_size(bad)
