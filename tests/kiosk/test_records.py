"""Records: canonical bytes, round trips, validation, and a repr that leaks nothing."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.records import (
    SCHEMA_VERSION,
    Consent,
    PenPoint,
    Record,
    RecordError,
    SignatureCapture,
    canonical_json,
    record_from_json,
    utc_timestamp,
)

NIK = "7110014507900003"
NAME = "Siti Rahmawati Mokodompit"


def make_record(**changes) -> Record:
    values = dict(
        kiosk_id="BMT-MODAYAG-01",
        service="ktp-baru",
        language="id",
        fields={"nik": NIK, "nama": NAME},
        photo_jpeg=b"\xff\xd8\xff\xe0jpeg",
        photo_note=None,
        signature=SignatureCapture(
            samples=(PenPoint(0.0, 10, 20, True, 300), PenPoint(0.01, 11, 22, False)),
            width=640,
            height=200,
            png=b"\x89PNG\r\n",
            source="pad",
        ),
        consent=Consent(given=True, text_version="2024-01", at="2024-05-01T03:04:05Z"),
        software_version="0.1.0",
        clock=lambda: 1714532645.25,
    )
    values.update(changes)
    return Record.new(**values)


texts = st.text(max_size=40)
timestamps = st.floats(min_value=0, max_value=4_000_000_000).map(utc_timestamp)
pen_points = st.builds(
    PenPoint,
    t=st.floats(allow_nan=False, allow_infinity=False),
    x=st.integers(-(2**31), 2**31),
    y=st.integers(-(2**31), 2**31),
    pen_down=st.booleans(),
    pressure=st.none() | st.integers(0, 4096),
)
signatures = st.builds(
    SignatureCapture,
    samples=st.lists(pen_points, max_size=20).map(tuple),
    width=st.integers(1, 4000),
    height=st.integers(1, 4000),
    png=st.binary(max_size=64),
    source=st.sampled_from(["pad", "touch"]),
)
records = st.builds(
    Record.new,
    kiosk_id=st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=20).map(
        lambda s: "K" + s
    ),
    service=st.sampled_from(["ktp-baru", "kk", "akta_lahir", "akta.kematian"]),
    language=st.sampled_from(["id", "en"]),
    fields=st.dictionaries(texts, texts, max_size=8),
    photo_jpeg=st.none() | st.binary(max_size=256),
    photo_note=st.none() | texts,
    signature=st.none() | signatures,
    consent=st.builds(Consent, given=st.booleans(), text_version=texts, at=timestamps),
    software_version=texts,
    clock=st.floats(min_value=0, max_value=4_000_000_000).map(lambda t: lambda: t),
)


@settings(max_examples=150, deadline=None)
@given(records)
def test_canonical_json_round_trips(record: Record) -> None:
    data = canonical_json(record)
    again = record_from_json(data)
    assert again == record
    assert canonical_json(again) == data


@settings(max_examples=50, deadline=None)
@given(records)
def test_canonical_json_has_sorted_keys_at_every_level(record: Record) -> None:
    def assert_sorted(value) -> None:
        if isinstance(value, dict):
            assert list(value) == sorted(value)
            for item in value.values():
                assert_sorted(item)
        elif isinstance(value, list):
            for item in value:
                assert_sorted(item)

    data = canonical_json(record)
    assert_sorted(json.loads(data.decode("utf-8")))


def test_canonical_json_does_not_depend_on_field_order() -> None:
    a = make_record(fields={"nik": NIK, "nama": NAME})
    b = Record(**{**a.__dict__, "fields": {"nama": NAME, "nik": NIK}})
    assert canonical_json(a) == canonical_json(b)


def test_binaries_are_base64_and_schema_version_is_written() -> None:
    decoded = json.loads(canonical_json(make_record()))
    assert decoded["photo_jpeg"] == "/9j/4GpwZWc="
    assert decoded["schema_version"] == SCHEMA_VERSION
    assert decoded["created_at"] == "2024-05-01T03:04:05.250Z"


def test_new_gives_each_record_its_own_uuid4() -> None:
    a, b = make_record(), make_record()
    assert a.record_id != b.record_id
    assert a.record_id[14] == "4"


def test_fields_are_copied_so_later_changes_do_not_leak_in() -> None:
    fields = {"nik": NIK}
    record = make_record(fields=fields)
    fields["nik"] = "0000000000000000"
    assert record.fields["nik"] == NIK


def test_repr_shows_no_personal_data() -> None:
    record = make_record()
    text = repr(record) + str(record) + repr(record.signature)
    assert NIK not in text and NAME not in text and "PNG" not in text
    assert record.record_id in text


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d.update(record_id="not-a-uuid"), "record_id"),
        (lambda d: d.update(created_at="yesterday"), "created_at"),
        (lambda d: d.pop("consent"), "consent"),
        (lambda d: d.update(fields={"nik": 7110014507900003}), "fields"),
        (lambda d: d.update(photo_jpeg="***"), "photo_jpeg"),
        (lambda d: d["signature"].update(source="pen"), "source"),
    ],
)
def test_record_from_json_rejects_bad_records_clearly(mutate, message: str) -> None:
    decoded = json.loads(canonical_json(make_record()))
    mutate(decoded)
    with pytest.raises(RecordError, match=message):
        record_from_json(json.dumps(decoded).encode())


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"record_id": 1}'])
def test_record_from_json_rejects_garbage(data: bytes) -> None:
    with pytest.raises(RecordError):
        record_from_json(data)


def test_constructor_validates_too() -> None:
    good = make_record()
    with pytest.raises(RecordError, match="kiosk_id"):
        Record(**{**good.__dict__, "kiosk_id": "has space"})
    with pytest.raises(RecordError, match="finite"):
        PenPoint(float("nan"), 1, 1, True)
