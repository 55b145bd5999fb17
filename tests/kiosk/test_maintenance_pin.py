"""The technician PIN: format rules, scrypt hash file, damaged files."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from kiosk.maintenance.pin import (
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    PinFileError,
    PinFormatError,
    PinHash,
    TechnicianPin,
    check_pin_format,
    hash_pin,
)


@pytest.mark.parametrize("pin", ["258013", "739105", "13572468", "804615927361"])
def test_acceptable_pins(pin: str) -> None:
    assert check_pin_format(pin) == pin


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("258", "6 to 12 digits"),
        ("2580", "6 to 12 digits"),  # four digits: a USB keyboard types them all in a year
        ("25801", "6 to 12 digits"),
        ("2580258025802", "6 to 12 digits"),
        ("25a013", "6 to 12 digits"),
        ("", "6 to 12 digits"),
        (" 258013", "6 to 12 digits"),
        ("\u0663\u0665\u0668\u0660\u0661\u0663", "6 to 12 digits"),  # Arabic-Indic digits are str.isdigit
        ("000000", "repeated"),
        ("123456", "consecutive"),
        ("987654", "consecutive"),
        ("567890", "consecutive"),
    ],
)
def test_refused_pins_say_why(pin: str, why: str) -> None:
    with pytest.raises(PinFormatError, match=why):
        check_pin_format(pin)


def test_set_pin_stores_only_a_salted_scrypt_hash(tmp_path: Path) -> None:
    pin_file = TechnicianPin.in_data_dir(tmp_path / "data")
    assert not pin_file.is_set()
    pin_file.set("739105")

    assert pin_file.is_set()
    assert stat.S_IMODE(pin_file.path.stat().st_mode) == 0o600
    text = pin_file.path.read_text()
    assert "739105" not in text
    stored = PinHash.decode(text)
    assert (stored.n, stored.r, stored.p) == (SCRYPT_N, SCRYPT_R, SCRYPT_P)
    expected = hashlib.scrypt(b"739105", salt=stored.salt, n=stored.n, r=stored.r, p=stored.p, dklen=32)
    assert stored.digest == expected
    assert pin_file.verify("739105")
    assert not pin_file.verify("739106")
    assert list(pin_file.path.parent.iterdir()) == [pin_file.path]  # no temporary file left behind


def test_the_same_pin_twice_gets_two_different_salts() -> None:
    assert hash_pin("258013").encode() != hash_pin("258013").encode()


def test_setting_a_new_pin_replaces_the_old_one(tmp_path: Path) -> None:
    pin_file = TechnicianPin(tmp_path / "technician-pin")
    pin_file.set("258013")
    pin_file.set("739105")
    assert pin_file.verify("739105")
    assert not pin_file.verify("258013")


def test_a_refused_pin_leaves_the_old_one_in_place(tmp_path: Path) -> None:
    pin_file = TechnicianPin(tmp_path / "technician-pin")
    pin_file.set("258013")
    with pytest.raises(PinFormatError):
        pin_file.set("111111")
    assert pin_file.verify("258013")


def test_hashes_made_with_other_parameters_still_verify(tmp_path: Path) -> None:
    """The parameters travel with the hash, so raising them later does not lock anyone out."""
    salt = b"0123456789abcdef"
    old = PinHash(2**10, 4, 1, salt, hashlib.scrypt(b"258013", salt=salt, n=2**10, r=4, p=1, dklen=32))
    path = tmp_path / "technician-pin"
    path.write_text(old.encode() + "\n")
    assert TechnicianPin(path).verify("258013")
    assert not TechnicianPin(path).verify("258014")


@pytest.mark.parametrize("garbage", [None, 2580, "9" * 1000, "", "2580\n"])
def test_anything_typed_is_just_a_wrong_pin(tmp_path: Path, garbage) -> None:
    pin_file = TechnicianPin(tmp_path / "technician-pin")
    pin_file.set("258013")
    assert pin_file.verify(garbage) is False


def test_no_pin_set_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(PinFileError, match="kiosk set-pin"):
        TechnicianPin(tmp_path / "technician-pin").verify("258013")


@pytest.mark.parametrize(
    "content",
    [
        "",
        "2580\n",
        "scrypt$16384$8$1$not base64!$AAAA\n",
        # N must be a power of two.
        "scrypt$1000$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n",
        "bcrypt$x$y$z$a$b\n",
    ],
)
def test_a_damaged_pin_file_is_reported_not_trusted(tmp_path: Path, content: str) -> None:
    path = tmp_path / "technician-pin"
    path.write_text(content)
    with pytest.raises(PinFileError, match="damaged"):
        TechnicianPin(path).verify("258013")


def test_a_binary_pin_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "technician-pin"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PinFileError, match="cannot be read"):
        TechnicianPin(path).load()


def test_an_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(PinFileError, match="cannot write"):
        TechnicianPin.in_data_dir(blocker).set("258013")
