"""USB export: bundle -> server read -> signed acknowledgement -> applied on the kiosk."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import pytest

from kiosk.outbox import Outbox
from kiosk.records import Consent, Record
from kiosk.sealing import (
    KioskIdentity,
    generate_server_keypair,
    generate_signing_keypair,
    open_sealed_record,
    seal_record,
)
from kiosk.storage import UnsafePathError
from kiosk.usb_export import (
    AckError,
    BundleError,
    apply_ack,
    export_bundle,
    read_ack,
    read_bundle,
    write_ack,
)

KIOSK_ID = "BMT-NUANGAN-02"


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.identity = KioskIdentity.load_or_create(tmp_path / "data" / "keys")
        self.box_public, self.box_private = generate_server_keypair()
        self.ack_verify, self.ack_signing = generate_signing_keypair()
        self.outbox = Outbox(tmp_path / "data" / "outbox.sqlite3", clock=lambda: 1_714_532_645.0)
        self.usb = tmp_path / "usb"
        self.usb.mkdir()

    def enqueue(self, n: int) -> list[Record]:
        records = []
        for i in range(n):
            record = Record.new(
                kiosk_id=KIOSK_ID,
                service="kk",
                language="id",
                fields={"nik": f"71100145079000{i:02d}", "nama": f"Warga {i}"},
                photo_jpeg=bytes([i]) * 1000,
                photo_note=None,
                signature=None,
                consent=Consent(True, "2024-01", "2024-05-01T03:04:05Z"),
                software_version="0.1.0",
            )
            self.outbox.enqueue(seal_record(record, self.identity, self.box_public))
            records.append(record)
        return records


@pytest.fixture
def setup(tmp_path: Path):
    s = Setup(tmp_path)
    yield s
    s.outbox.close()


def test_export_read_round_trip_and_nothing_is_deleted(setup: Setup) -> None:
    records = setup.enqueue(4)
    sent_one = setup.outbox.claim_next()
    setup.outbox.mark_sent(sent_one.record_id, "{}")
    dead_one = setup.outbox.claim_next()
    setup.outbox.mark_dead(dead_one.record_id, "400")
    sending_one = setup.outbox.claim_next()
    before = setup.outbox.counts()
    progress: list[tuple[int, int]] = []

    path = export_bundle(
        setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID, progress=lambda *a: progress.append(a)
    )

    assert setup.outbox.counts() == before == {"pending": 1, "sending": 1, "sent": 1, "dead": 1}
    assert path.parent == setup.usb and path.name.startswith(f"dukcapil-{KIOSK_ID}-")
    assert path.name.endswith(".bundle.tar")
    assert [p.name for p in setup.usb.iterdir()] == [path.name]  # no partial file left
    assert progress == [(1, 3), (2, 3), (3, 3)]
    bundle = read_bundle(path, setup.identity.verify_key_b64)
    assert bundle.kiosk_id == KIOSK_ID and bundle.problems == []
    exported = {r.record_id for r in bundle.records}
    assert exported == {dead_one.record_id, sending_one.record_id, records[3].record_id}
    by_id = {r.record_id: r for r in records}
    for record_id, blob, sha256 in bundle.records:
        assert blob == setup.outbox.read_blob(record_id)
        assert sha256 == setup.outbox.get(record_id).sha256
        assert open_sealed_record(blob, setup.box_private, setup.identity.verify_key_b64) == by_id[record_id]
    assert json.loads(setup.outbox.get_meta("last_export"))["records"] == 3


def test_bundle_and_manifest_hold_no_personal_data(setup: Setup) -> None:
    setup.enqueue(2)
    path = export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID)
    data = path.read_bytes()
    assert b"7110014507900" not in data and b"Warga" not in data


def test_read_bundle_with_a_key_lookup(setup: Setup) -> None:
    setup.enqueue(1)
    path = export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID)
    keys = {KIOSK_ID: setup.identity.verify_key_b64}
    assert len(read_bundle(path, keys.get).records) == 1
    with pytest.raises(BundleError, match="not enrolled"):
        read_bundle(path, {}.get)


def test_bundle_from_another_kiosk_key_is_refused(setup: Setup, tmp_path: Path) -> None:
    setup.enqueue(1)
    path = export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID)
    other = KioskIdentity.load_or_create(tmp_path / "other")
    with pytest.raises(BundleError, match="not signed by kiosk"):
        read_bundle(path, other.verify_key_b64)


def _rewrite(path: Path, change) -> Path:
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    change(members)
    out = path.with_name("changed.tar")
    with tarfile.open(out, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def test_tampered_manifest_is_refused(setup: Setup) -> None:
    setup.enqueue(2)
    path = export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID)

    def drop_a_record(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest["records"].pop()
        members["manifest.json"] = json.dumps(manifest).encode()

    with pytest.raises(BundleError, match="not signed"):
        read_bundle(_rewrite(path, drop_a_record), setup.identity.verify_key_b64)


def test_damaged_or_missing_blob_is_reported_not_returned(setup: Setup) -> None:
    setup.enqueue(3)
    path = export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID)
    with tarfile.open(path) as tar:
        names = [n for n in tar.getnames() if n.startswith("records/")]

    def damage(members: dict[str, bytes]) -> None:
        members[names[0]] = members[names[0]][:-1] + b"\x00"
        del members[names[1]]

    bundle = read_bundle(_rewrite(path, damage), setup.identity.verify_key_b64)
    assert len(bundle.records) == 1
    assert sorted(reason for _, reason in bundle.problems) == [
        "damaged: does not match the manifest",
        "missing from the bundle",
    ]


@pytest.mark.parametrize("content", [b"", b"not a tar file at all" * 50])
def test_garbage_is_not_a_bundle(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.bundle.tar"
    path.write_bytes(content)
    with pytest.raises(BundleError):
        read_bundle(path, "AAAA")


def test_export_needs_an_existing_directory(setup: Setup, tmp_path: Path) -> None:
    setup.enqueue(1)
    with pytest.raises(FileNotFoundError, match="USB stick mounted"):
        export_bundle(setup.outbox, setup.identity, tmp_path / "not-mounted", kiosk_id=KIOSK_ID)


def test_ack_round_trip_marks_sent_and_dead(setup: Setup) -> None:
    setup.enqueue(3)
    path = export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID)
    bundle = read_bundle(path, setup.identity.verify_key_b64)
    (a_id, _, a_hash), (b_id, _, b_hash), (c_id, _, c_hash) = bundle.records
    ack_path = write_ack(
        setup.usb,
        bundle,
        [(a_id, a_hash, '{"receipt_id": "R-1"}'), (b_id, b_hash, '{"receipt_id": "R-2"}')],
        setup.ack_signing,
        rejected=[(c_id, c_hash, "422: idempotency key reused for another record")],
    )
    assert ack_path.name == f"dukcapil-{KIOSK_ID}-{bundle.bundle_id}.ack.json"
    outcomes: list[tuple[str, str]] = []

    assert (
        apply_ack(
            setup.outbox,
            ack_path,
            setup.ack_verify,
            kiosk_id=KIOSK_ID,
            on_record=lambda *a: outcomes.append(a),
        )
        == 2
    )

    assert outcomes == [(a_id, "sent"), (b_id, "sent"), (c_id, "dead")]
    assert setup.outbox.get(a_id).receipt == '{"receipt_id": "R-1"}'
    assert "idempotency key reused" in setup.outbox.get(c_id).last_error
    assert setup.outbox.counts() == {"pending": 0, "sending": 0, "sent": 2, "dead": 1}
    # Applying the same file again changes nothing.
    outcomes.clear()
    assert apply_ack(setup.outbox, ack_path, setup.ack_verify, on_record=lambda *a: outcomes.append(a)) == 0
    assert outcomes == [(a_id, "already sent"), (b_id, "already sent"), (c_id, "not pending")]


def test_ack_with_another_hash_or_unknown_record_changes_nothing(setup: Setup) -> None:
    setup.enqueue(1)
    bundle = read_bundle(
        export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID),
        setup.identity.verify_key_b64,
    )
    record_id = bundle.records[0].record_id
    ack_path = write_ack(
        setup.usb / "ack.json",
        bundle,
        [(record_id, "0" * 64, "{}"), ("00000000-0000-4000-8000-000000000000", "1" * 64, "{}")],
        setup.ack_signing,
    )
    outcomes: list[tuple[str, str]] = []
    assert apply_ack(setup.outbox, ack_path, setup.ack_verify, on_record=lambda *a: outcomes.append(a)) == 0
    assert [o for _, o in outcomes] == ["hash mismatch", "unknown"]
    assert setup.outbox.counts()["pending"] == 1


def test_forged_or_foreign_ack_is_refused(setup: Setup) -> None:
    setup.enqueue(1)
    bundle = read_bundle(
        export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID),
        setup.identity.verify_key_b64,
    )
    record_id, _, sha256 = bundle.records[0]
    _, forger_key = generate_signing_keypair()
    forged = write_ack(setup.usb / "forged.json", bundle, [(record_id, sha256, "{}")], forger_key)
    with pytest.raises(AckError, match="not signed by the registry server"):
        apply_ack(setup.outbox, forged, setup.ack_verify)
    genuine = write_ack(setup.usb / "ack.json", bundle, [(record_id, sha256, "{}")], setup.ack_signing)
    with pytest.raises(AckError, match="not this kiosk"):
        apply_ack(setup.outbox, genuine, setup.ack_verify, kiosk_id="BMT-MODAYAG-01")
    with pytest.raises(AckError, match="ack_verify_key"):
        apply_ack(setup.outbox, genuine, "")
    envelope = json.loads(genuine.read_text())
    envelope["signed"] = envelope["signed"].replace('"{}"', '"{\\"x\\":1}"')
    genuine.write_text(json.dumps(envelope))
    with pytest.raises(AckError, match="not signed"):
        read_ack(genuine, setup.ack_verify)
    assert setup.outbox.counts()["pending"] == 1


@pytest.mark.parametrize(
    "content", [b"", b"{}", b"[1, 2]", b'{"signed": 1, "signature": "AAAA"}', b"\xff\xfe"]
)
def test_garbage_is_not_an_ack(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ack.json"
    path.write_bytes(content)
    _, verify = generate_signing_keypair()
    with pytest.raises(AckError):
        read_ack(path, verify)
    with pytest.raises(AckError, match="cannot read"):
        read_ack(tmp_path / "missing.json", verify)


def _resigned(setup: Setup, path: Path, **manifest_changes: object) -> Path:
    """The bundle with its manifest changed and signed again by the kiosk's own key (a valid signature)."""

    def change(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest.update(manifest_changes)
        members["manifest.json"] = json.dumps(manifest).encode()
        members["manifest.sig"] = base64.b64encode(setup.identity.sign(members["manifest.json"])) + b"\n"

    return _rewrite(path, change)


@pytest.mark.parametrize("bundle_id", ["x/../../escaped", "../../../etc/cron.d/evil", "", 42, None])
def test_a_bundle_id_that_is_not_a_uuid_is_refused_even_when_signed(setup: Setup, bundle_id: object) -> None:
    setup.enqueue(1)
    path = _resigned(setup, export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID),
                     bundle_id=bundle_id)  # fmt: skip
    with pytest.raises(BundleError, match="not a UUID"):
        read_bundle(path, setup.identity.verify_key_b64)


@pytest.mark.parametrize("kiosk_id", ["../../x", "a/b", ".hidden", ""])
def test_a_kiosk_id_that_is_not_a_plain_name_is_refused(setup: Setup, kiosk_id: str) -> None:
    """The kiosk id names the acknowledgement file too; with a key given directly nothing else checks it."""
    setup.enqueue(1)
    path = _resigned(setup, export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID),
                     kiosk_id=kiosk_id)  # fmt: skip
    with pytest.raises(BundleError, match="not a plain kiosk id"):
        read_bundle(path, setup.identity.verify_key_b64)


def test_a_symlink_planted_under_the_export_name_is_refused_never_followed(
    setup: Setup, tmp_path: Path
) -> None:
    setup.enqueue(2)
    victim = tmp_path / "data" / "technician-pin"
    victim.write_text("scrypt$the-real-hash\n")
    planted = setup.usb / f"dukcapil-{KIOSK_ID}-20240501T030405Z.bundle.tar"
    planted.symlink_to(victim)
    with pytest.raises(UnsafePathError):
        export_bundle(
            setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID, clock=lambda: 1_714_532_645.0
        )
    assert victim.read_text() == "scrypt$the-real-hash\n"
    assert planted.is_symlink()
    assert sorted(p.name for p in setup.usb.iterdir()) == [planted.name]  # no temp file left behind
    assert setup.outbox.counts()["pending"] == 2


def test_a_symlink_planted_under_the_ack_name_is_refused_never_followed(setup: Setup, tmp_path: Path) -> None:
    setup.enqueue(1)
    bundle = read_bundle(export_bundle(setup.outbox, setup.identity, setup.usb, kiosk_id=KIOSK_ID),
                         setup.identity.verify_key_b64)  # fmt: skip
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (setup.usb / f"dukcapil-{KIOSK_ID}-{bundle.bundle_id}.ack.json").symlink_to(victim)
    with pytest.raises(UnsafePathError):
        write_ack(setup.usb, bundle, [], setup.ack_signing)
    assert victim.read_text() == "keep"
