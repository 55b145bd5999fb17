"""The service files: shipped ones are complete, the loader is strict and names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.services import SHIPPED_DIR, ServiceFileError, load_service_file, load_services, parse_service

SHIPPED_IDS = ("ektp", "kk_change", "birth_certificate", "death_certificate")

MINIMAL = """
id = "{id}"
name = {{ id = "Layanan", en = "Service" }}
description = {{ id = "Uraian", en = "Description" }}
{extra}

[[fields]]
id = "nik"
kind = "nik"
step = "identity"
label = {{ id = "NIK", en = "NIK" }}
{field_extra}

[[documents]]
id = "kk"
label = {{ id = "KK asli", en = "Original KK" }}
"""


def minimal(service_id: str = "sample", extra: str = "", field_extra: str = "") -> str:
    return MINIMAL.format(id=service_id, extra=extra, field_extra=field_extra)


def test_the_four_services_ship_in_display_order():
    catalog = load_services()
    assert catalog.ids == SHIPPED_IDS
    assert len(catalog) == 4
    assert "ektp" in catalog and catalog.get("nope") is None


@pytest.mark.parametrize("service_id", SHIPPED_IDS)
def test_each_shipped_service_is_complete(service_id):
    service = load_services().get(service_id)
    assert service is not None
    for text in (service.name, service.description):
        assert text.get("id") and text.get("en") and text.get("id") != text.get("en")
    # Every service asks for the citizen's NIK and KK number on the identity step.
    assert [f.kind for f in service.fields_for("identity")] == ["nik", "kk_number"]
    assert service.fields_for("details")
    assert any(item.required for item in service.documents)
    for item in service.documents:
        assert item.label.get("id") and item.label.get("en")


def test_only_ektp_takes_a_photo_and_every_service_a_signature():
    catalog = load_services()
    assert {s.id for s in catalog if s.photo} == {"ektp"}
    assert all(s.signature for s in catalog)


def test_checklists_name_the_real_dukcapil_documents():
    catalog = load_services()
    labels = {s.id: " | ".join(d.label.get("id") for d in s.documents) for s in catalog}
    assert "Kartu Keluarga" in labels["ektp"] and "Surat pengantar" in labels["ektp"]
    assert "Surat keterangan lahir" in labels["birth_certificate"]
    assert "Buku nikah" in labels["birth_certificate"] and "saksi" in labels["birth_certificate"]
    assert "Surat keterangan kematian" in labels["death_certificate"]
    assert "KTP-el almarhum" in labels["death_certificate"]


def test_the_nik_agreement_points_at_the_right_nik():
    ektp = load_services().get("ektp")
    assert ektp.field("sex").agrees_with == "nik" and ektp.field("birth_date").agrees_with == "nik"
    death = load_services().get("death_certificate")
    # The reporter's NIK says nothing about the deceased: their sex is checked against their own NIK.
    assert death.field("deceased_sex").agrees_with == "deceased_nik"
    birth = load_services().get("birth_certificate")
    assert birth.field("child_sex").agrees_with is None


def test_text_falls_back_to_bahasa_for_an_unknown_language():
    service = load_services().get("ektp")
    assert service.name.get("fr") == service.name.get("id")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (minimal(extra='colour = "red"'), "colour: unknown key (known keys here: id, name, description"),
        (minimal(field_extra='placeholder = "x"'), "fields[0].placeholder: unknown key"),
        (minimal().replace('en = "Original KK"', 'en = "Original KK", fr = "KK"'), "documents[0].label.fr"),
        (minimal(field_extra="").replace('kind = "nik"', 'kind = "passport"'), "fields[0].kind"),
        (minimal(extra="photo = 1"), "photo: expected `bool`"),
        (minimal().replace('en = "Service"', 'en = ""'), "name.en"),
        (minimal().replace('step = "identity"\n', ""), "fields[0].step: missing"),
        (minimal(service_id="Bad Id"), "id: expected `str` matching regex"),
        (minimal(field_extra='options = [{ value = "a", label = { id = "A", en = "A" } }]'), "only for kind"),
        (minimal(field_extra='agrees_with = "nik"'), "agrees_with is only for kinds"),
        (minimal(field_extra="max_length = 10"), "max_length is only for kinds"),
        ("id = ", "not valid TOML"),
    ],
)
def test_a_bad_file_is_reported_with_the_key(text, expected):
    with pytest.raises(ServiceFileError) as info:
        parse_service(text, "office/sample.toml")
    message = str(info.value)
    assert message.startswith("office/sample.toml: ")
    assert expected in message


def test_semantic_rules_are_enforced():
    choice_one = """
[[fields]]
id = "pick"
kind = "choice"
step = "details"
label = { id = "Pilih", en = "Pick" }
options = [{ value = "a", label = { id = "A", en = "A" } }]
"""
    with pytest.raises(ServiceFileError, match="at least two options"):
        parse_service(minimal() + choice_one)
    duplicate = """
[[fields]]
id = "nik"
kind = "text"
step = "details"
label = { id = "Lagi", en = "Again" }
"""
    with pytest.raises(ServiceFileError, match=r"field ids must be unique \(repeated: nik\)"):
        parse_service(minimal() + duplicate)
    agrees = """
[[fields]]
id = "when"
kind = "date"
step = "details"
agrees_with = "nobody"
label = { id = "Tanggal", en = "Date" }
"""
    with pytest.raises(ServiceFileError, match="'nobody' is not a nik field"):
        parse_service(minimal() + agrees)
    with pytest.raises(ServiceFileError, match="at least one document"):
        parse_service(
            minimal().split("[[documents]]")[0].replace("[[fields]]", "documents = []\n\n[[fields]]")
        )
    with pytest.raises(ServiceFileError, match="documents: missing"):
        parse_service(minimal().split("[[documents]]")[0])


def test_file_name_must_match_id(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(minimal("sample"))
    with pytest.raises(ServiceFileError, match=r"other\.toml: id: 'sample' must equal the file name 'other'"):
        load_service_file(path)


def test_unreadable_file_is_reported(tmp_path):
    with pytest.raises(ServiceFileError, match="cannot be read"):
        load_service_file(tmp_path / "missing.toml")


def test_office_files_override_add_and_disable(tmp_path):
    office = tmp_path / "office"
    office.mkdir()
    ektp = (SHIPPED_DIR / "ektp.toml").read_text()
    (office / "ektp.toml").write_text(ektp.replace("Perekaman KTP-el", "Rekam KTP-el (kantor)"))
    kk_change = (SHIPPED_DIR / "kk_change.toml").read_text()
    (office / "kk_change.toml").write_text(
        kk_change.replace('id = "kk_change"', 'id = "kk_change"\nenabled = false')
    )
    (office / "moving.toml").write_text(minimal("moving", extra="order = 5"))
    catalog = load_services(office)
    assert catalog.ids == ("moving", "ektp", "birth_certificate", "death_certificate")
    assert catalog.get("ektp").name.get("id") == "Rekam KTP-el (kantor)"
    assert catalog.get("kk_change") is None


def test_a_broken_office_file_names_the_office_file(tmp_path):
    (tmp_path / "ektp.toml").write_text(minimal("ektp", extra="foo = 1"))
    with pytest.raises(ServiceFileError) as info:
        load_services(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'ektp.toml'}: foo: unknown key")


def test_missing_office_folder_and_nothing_enabled(tmp_path):
    with pytest.raises(ServiceFileError, match="services_dir is not a folder"):
        load_services(tmp_path / "nowhere")
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "only.toml").write_text(minimal("only", extra="enabled = false"))
    with pytest.raises(ServiceFileError, match="no service is enabled"):
        load_services(shipped_dir=shipped)


def test_shipped_files_are_packaged_data():
    # kiosk/services/ is a data folder beside kiosk/services.py; pyproject's package-data ships it.
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    assert '"kiosk" = ["services/*.toml"]' in pyproject.read_text()
    copies = sorted(p.name for p in SHIPPED_DIR.glob("*.toml"))
    assert copies == sorted(f"{i}.toml" for i in SHIPPED_IDS)
