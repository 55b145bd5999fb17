"""USB round trip: `kiosk outbox export` -> `dukcapil-office import-bundle` -> `kiosk outbox ack`.

Each record ends at the server exactly once, the kiosk's queue ends empty, and doing any step twice changes
nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_lab import IngestLab

import office.cli
from kiosk.cli import main as kiosk_main
from kiosk.sealing import KioskIdentity

RECORDS = 6


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    stick = tmp_path / "usb"
    stick.mkdir()
    return stick


def export(lab: IngestLab, usb: Path) -> Path:
    config = lab.write_config("http://127.0.0.1:9")  # no network: that is why the stick is used
    assert kiosk_main(["outbox", "export", str(usb), "--config", str(config)]) == 0
    (bundle,) = usb.glob("*.bundle.tar")
    return bundle


def import_bundle(lab: IngestLab, bundle: Path, ack_out: Path) -> int:
    return office.cli.main(
        ["import-bundle", str(bundle), "--db", str(lab.server_db), "--key", str(lab.directory / "server.key"),
         "--ack-out", str(ack_out)]
    )  # fmt: skip


def ack(lab: IngestLab, ack_file: Path) -> int:
    config = lab.write_config("http://127.0.0.1:9")
    return kiosk_main(["outbox", "ack", str(ack_file), "--config", str(config)])


def server_receipts(lab: IngestLab) -> dict[str, str]:
    store = lab.store()
    try:
        return {record_id: store.find(record_id).receipt for record_id in store.record_ids()}
    finally:
        store.close()


def test_export_import_ack_leaves_each_record_at_the_server_once_and_the_queue_empty(lab, usb, tmp_path):
    with lab.outbox() as outbox:
        ids = lab.enqueue(outbox, RECORDS, photo_size=2000)
        # One record the server once refused (dead, still exported) ...
        dead = outbox.claim_next()
        outbox.mark_dead(dead.record_id, "rejected earlier")
        # ... and one the server already holds, whose receipt never came back over the network.
        lost_receipt = outbox.claim_next()
        with lab.server() as server:
            assert lab.client(server.url).post_record(lost_receipt).status == 201
        outbox.mark_retry(lost_receipt.record_id, "connection broke", 0.0)
        before = outbox.counts()

    bundle = export(lab, usb)
    with lab.outbox() as outbox:
        assert outbox.counts() == before  # export never deletes

    assert import_bundle(lab, bundle, usb) == 0
    (ack_file,) = usb.glob("*.ack.json")
    assert ack(lab, ack_file) == 0

    receipts = server_receipts(lab)
    assert sorted(receipts) == sorted(ids)
    with lab.outbox() as outbox:
        assert outbox.counts() == {"pending": 0, "sending": 0, "sent": RECORDS, "dead": 0}
        for item in outbox.items("sent"):
            assert item.receipt == receipts[item.record_id]
    received = {r.record_id: r for r in _received(lab)}
    assert received[ids[2]].record.fields["full_name"] == "WARGA PERCOBAAN 2"
    assert received[lost_receipt.record_id].source == "http"
    assert {r.source for r in received.values()} == {"usb", "http"}


def _received(lab: IngestLab):
    store = lab.store()
    try:
        return store.records()
    finally:
        store.close()


def test_every_step_done_twice_changes_nothing(lab, usb, tmp_path, capsys):
    with lab.outbox() as outbox:
        ids = lab.enqueue(outbox, RECORDS)
    bundle = export(lab, usb)
    first_ack, second_ack = tmp_path / "first.ack.json", tmp_path / "second.ack.json"

    assert import_bundle(lab, bundle, first_ack) == 0
    receipts = server_receipts(lab)
    assert import_bundle(lab, bundle, second_ack) == 0
    assert server_receipts(lab) == receipts  # nothing new stored, same receipts
    assert "0 new" in capsys.readouterr().out

    def acknowledged(path: Path) -> list:
        return json.loads(json.loads(path.read_text())["signed"])["acknowledged"]

    assert acknowledged(first_ack) == acknowledged(second_ack)
    assert ack(lab, first_ack) == 0
    assert ack(lab, second_ack) == 0
    assert "already sent" in capsys.readouterr().out
    with lab.outbox() as outbox:
        assert outbox.counts()["sent"] == RECORDS
        assert sorted(item.record_id for item in outbox.items("sent")) == sorted(ids)


def test_a_record_the_server_refuses_comes_back_dead_with_the_reason(lab, usb, tmp_path):
    stranger = IngestLab.create(tmp_path / "other-server", kiosk_id=lab.kiosk_id)
    with lab.outbox() as outbox:
        ids = lab.enqueue(outbox, 3)
        # Sealed to another server's key: this server cannot open it.
        bad = stranger.seal(lab.record(99))
        outbox.enqueue(bad)
    bundle = export(lab, usb)

    assert import_bundle(lab, bundle, usb) == 1  # the technician is told something was refused
    (ack_file,) = usb.glob("*.ack.json")
    assert ack(lab, ack_file) == 0

    assert sorted(server_receipts(lab)) == sorted(ids)
    with lab.outbox() as outbox:
        assert outbox.counts() == {"pending": 0, "sending": 0, "sent": 3, "dead": 1}
        (dead,) = outbox.items("dead")
    assert dead.record_id == bad.record_id
    assert "cannot be opened" in dead.last_error


def test_a_bundle_of_a_kiosk_the_server_does_not_know_is_refused(lab, usb, tmp_path, capsys):
    stranger = IngestLab.create(tmp_path / "stranger", kiosk_id="UNKNOWN-KIOSK")
    with stranger.outbox() as outbox:
        stranger.enqueue(outbox, 2)
    bundle = export(stranger, usb)

    assert import_bundle(lab, bundle, usb) == 1
    assert "not enrolled" in capsys.readouterr().err
    assert not list(usb.glob("*.ack.json"))
    assert server_receipts(lab) == {}


def rotate(lab: IngestLab, identity: KioskIdentity, token: str) -> None:
    store = lab.store()
    try:
        store.rotate(lab.kiosk_id, identity.verify_key_b64, token, actor="technician")
    finally:
        store.close()


def test_a_bundle_written_before_a_key_rotation_is_still_imported(lab, usb, tmp_path):
    # The kiosk was offline for weeks: its bundle was signed with the key it had then, and the technician
    # rotated its key at the office before the stick arrived.
    with lab.outbox() as outbox:
        ids = lab.enqueue(outbox, 3)
    bundle = export(lab, usb)
    rotate(lab, KioskIdentity.load_or_create(tmp_path / "new-keys"), "a-brand-new-token-0123456789")

    assert import_bundle(lab, bundle, usb) == 0
    (ack_file,) = usb.glob("*.ack.json")
    assert ack(lab, ack_file) == 0
    assert sorted(server_receipts(lab)) == sorted(ids)


def test_a_bundle_signed_with_a_key_two_rotations_old_is_refused(lab, usb, tmp_path, capsys):
    with lab.outbox() as outbox:
        lab.enqueue(outbox, 2)
    bundle = export(lab, usb)
    rotate(lab, KioskIdentity.load_or_create(tmp_path / "second-keys"), "a-second-token-0123456789abc")
    rotate(lab, KioskIdentity.load_or_create(tmp_path / "third-keys"), "a-third-token-0123456789abcd")

    assert import_bundle(lab, bundle, usb) == 1
    assert "not signed by kiosk" in capsys.readouterr().err
    assert not list(usb.glob("*.ack.json"))
    assert server_receipts(lab) == {}


def test_the_server_refuses_to_write_its_ack_through_a_planted_symlink(lab, usb, tmp_path, capsys):
    with lab.outbox() as outbox:
        lab.enqueue(outbox, 1)
    bundle = export(lab, usb)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    planted = usb / "ack.json"
    planted.symlink_to(victim)
    assert import_bundle(lab, bundle, planted) == 1
    assert "symlink" in capsys.readouterr().err
    assert victim.read_text() == "keep"
    assert planted.is_symlink()
