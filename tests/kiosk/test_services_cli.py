"""``kiosk services``: an office checks its edited service files before citizens see them."""

from __future__ import annotations

from kiosk.cli import main
from kiosk.services import SHIPPED_DIR


def test_lists_the_services_and_the_kecamatan(capsys):
    assert main(["services", "--language", "en"]) == 0
    out = capsys.readouterr().out
    assert "ektp: e-KTP recording" in out
    assert "steps: identity, details, photo, signature; 10 fields" in out
    assert "Modayag" in out and "(71.10)" in out


def test_a_broken_office_file_is_one_line_naming_file_and_key(tmp_path, capsys):
    broken = (
        (SHIPPED_DIR / "kk_change.toml").read_text().replace('step = "identity"', 'stepp = "identity"', 1)
    )
    (tmp_path / "kk_change.toml").write_text(broken)
    assert main(["services", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"kiosk services: {tmp_path / 'kk_change.toml'}: fields[0].stepp: unknown key")


def test_a_regency_without_kecamatan_list_is_a_problem(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[kiosk]\nregency = "71.99"\n')
    assert main(["services", "--config", str(config)]) == 1
    assert "PROBLEM: asks for a kecamatan but regency 71.99" in capsys.readouterr().out
