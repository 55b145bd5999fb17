"""``kiosk keys`` and ``kiosk outbox ...`` as a technician uses them: config file, outbox, lab server."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from ingest_lab import IngestLab

from kiosk.cli import main
from kiosk.outbox import Outbox
from kiosk.sealing import KioskIdentity
from kiosk.usb_export import read_bundle, write_ack


class Kiosk:
    """A lab server and a kiosk config whose data directory holds the lab kiosk's key."""

    def __init__(self, tmp_path: Path, url: str = "http://127.0.0.1:9") -> None:
        self.lab = IngestLab.create(tmp_path / "lab")
        self.data = tmp_path / "data"
        (self.data / "keys").mkdir(parents=True, mode=0o700)
        shutil.copy2(self.lab.key_dir / "kiosk.key", self.data / "keys" / "kiosk.key")
        self.config = tmp_path / "config.toml"
        self.write_config(url)

    def write_config(self, url: str, ack_verify_key: str | None = None) -> None:
        self.config.write_text(
            f"""
[kiosk]
id = "{self.lab.kiosk_id}"
data_dir = "{self.data}"
[server]
url = "{url}"
token = "{self.lab.token}"
public_key = "{self.lab.keys.box_public}"
ack_verify_key = "{self.lab.keys.sign_public if ack_verify_key is None else ack_verify_key}"
timeout_s = 5.0
lab = true
"""
        )

    def outbox(self) -> Outbox:
        return Outbox(self.data / "outbox.sqlite3")

    def enqueue(self, count: int) -> list[str]:
        with self.outbox() as outbox:
            return self.lab.enqueue(outbox, count)

    def run(self, capsys, *argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([*argv, "--config", str(self.config)])
        out, err = capsys.readouterr()
        return status, out, err


@pytest.fixture
def kiosk(tmp_path: Path) -> Kiosk:
    return Kiosk(tmp_path)


def test_keys_creates_a_private_key_once_and_prints_it(tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    assert main(["keys", "--config", str(config)]) == 0
    first = capsys.readouterr().out
    assert "created a new kiosk key" in first and "not configured" in first
    assert main(["keys", "--config", str(config), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["created"] is False
    assert shown["verify_key"] == KioskIdentity.load(tmp_path / "data" / "keys").verify_key_b64
    assert shown["verify_key"] in first
    assert "not configured" in shown["server_public_key_problem"]
    assert oct((tmp_path / "data" / "keys" / "kiosk.key").stat().st_mode & 0o777) == "0o600"


def test_keys_reports_a_configured_server_key(kiosk: Kiosk, capsys) -> None:
    status, out, _ = kiosk.run(capsys, "keys", "--json")
    shown = json.loads(out)
    assert status == 0 and shown["server_public_key_problem"] is None
    assert shown["server_public_key"] == kiosk.lab.keys.box_public
    assert shown["verify_key"] == kiosk.lab.identity.verify_key_b64


def test_status_and_list(kiosk: Kiosk, capsys) -> None:
    ids = kiosk.enqueue(3)
    with kiosk.outbox() as outbox:
        outbox.claim_next()
        outbox.mark_dead(ids[0], "422: the signature is not the kiosk's")
    status, out, _ = kiosk.run(capsys, "outbox", "status", "--json")
    report = json.loads(out)
    assert status == 0
    assert report["counts"] == {"pending": 2, "sending": 0, "sent": 0, "dead": 1}
    assert report["oldest_pending_age_s"] >= 0 and report["last_sync"] is None
    status, out, _ = kiosk.run(capsys, "outbox", "status")
    assert "pending: 2" in out and "dead: 1" in out and "last sync: never" in out
    status, out, _ = kiosk.run(capsys, "outbox", "list", "--state", "dead", "--json")
    listed = json.loads(out)
    assert [item["record_id"] for item in listed] == [ids[0]]
    assert listed[0]["last_error"] == "422: the signature is not the kiosk's"
    status, out, _ = kiosk.run(capsys, "outbox", "list")
    assert all(rid in out for rid in ids) and "WARGA" not in out


def test_list_rejects_unknown_state(kiosk: Kiosk, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        kiosk.run(capsys, "outbox", "list", "--state", "lost")
    assert exit_info.value.code == 2


def test_retry_dead_records(kiosk: Kiosk, capsys) -> None:
    ids = kiosk.enqueue(2)
    with kiosk.outbox() as outbox:
        outbox.mark_dead(ids[0], "400")
        outbox.mark_dead(ids[1], "400")
    status, out, err = kiosk.run(capsys, "outbox", "retry", ids[0], "00000000-0000-4000-8000-000000000000")
    assert status == 1 and "1 dead record(s) back" in out and "not in the outbox" in err
    status, out, _ = kiosk.run(capsys, "outbox", "retry")
    assert status == 0 and "1 dead record(s) back" in out
    with kiosk.outbox() as outbox:
        assert outbox.counts()["pending"] == 2


def test_sync_delivers_everything_and_remembers_the_result(kiosk: Kiosk, capsys) -> None:
    ids = kiosk.enqueue(3)
    with kiosk.lab.server() as server:
        kiosk.write_config(server.url)
        status, out, err = kiosk.run(capsys, "outbox", "sync")
        assert status == 0, err
        assert "sent 3, refused 0, still waiting 0" in out and "delivered 3/3" in err
        store = kiosk.lab.store()
        try:
            assert sorted(store.record_ids()) == sorted(ids)
        finally:
            store.close()
    status, out, _ = kiosk.run(capsys, "outbox", "status", "--json")
    report = json.loads(out)
    assert report["counts"]["sent"] == 3
    assert report["last_sync"]["sent"] == 3 and report["last_sync"]["by"] == "cli"


def test_sync_with_the_server_down_keeps_the_records(kiosk: Kiosk, capsys) -> None:
    kiosk.enqueue(2)
    # A port bound but not listening refuses connections, and no other test can take it meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        kiosk.write_config(f"http://127.0.0.1:{closed.getsockname()[1]}")
        status, out, err = kiosk.run(capsys, "outbox", "sync")
    assert status == 1 and "stay queued" in err
    with kiosk.outbox() as outbox:
        assert outbox.counts()["pending"] == 2


def test_export_then_ack(kiosk: Kiosk, tmp_path: Path, capsys) -> None:
    ids = kiosk.enqueue(3)
    usb = tmp_path / "usb"
    usb.mkdir()
    status, out, err = kiosk.run(capsys, "outbox", "export", str(usb))
    assert status == 0, err
    assert "exported 3 record(s)" in out and "nothing was removed" in out
    [bundle_path] = usb.glob("*.bundle.tar")
    with kiosk.outbox() as outbox:
        assert outbox.counts()["pending"] == 3
    bundle = read_bundle(bundle_path, kiosk.lab.identity.verify_key_b64)
    acked = [(r.record_id, r.sha256, '{"receipt_id": "usb"}') for r in bundle.records[:2]]
    ack_path = write_ack(usb, bundle, acked, kiosk.lab.keys.sign_secret)
    status, out, _ = kiosk.run(capsys, "outbox", "ack", str(ack_path))
    assert status == 0 and "2 record(s) acknowledged" in out
    with kiosk.outbox() as outbox:
        assert outbox.counts() == {"pending": 1, "sending": 0, "sent": 2, "dead": 0}
        assert outbox.get(ids[2]).state == "pending"
    status, out, _ = kiosk.run(capsys, "outbox", "ack", str(ack_path))
    assert status == 0 and "0 record(s)" in out and "2 already sent" in out


def test_ack_needs_the_server_key_and_a_genuine_file(kiosk: Kiosk, tmp_path: Path, capsys) -> None:
    kiosk.enqueue(1)
    forged = tmp_path / "forged.ack.json"
    forged.write_text('{"signed": "{}", "signature": "AAAA"}')
    status, _, err = kiosk.run(capsys, "outbox", "ack", str(forged))
    assert status == 1 and "not signed by the registry server" in err
    kiosk.write_config("http://127.0.0.1:9", ack_verify_key="")
    status, _, err = kiosk.run(capsys, "outbox", "ack", str(forged))
    assert status == 1 and "ack_verify_key" in err


def test_export_to_a_missing_directory_says_so(kiosk: Kiosk, tmp_path: Path, capsys) -> None:
    kiosk.enqueue(1)
    status, _, err = kiosk.run(capsys, "outbox", "export", str(tmp_path / "usb-not-mounted"))
    assert status == 1 and "USB stick mounted" in err


def test_damaged_outbox_is_reported_in_one_line(kiosk: Kiosk, capsys) -> None:
    kiosk.data.joinpath("outbox.sqlite3").write_bytes(b"garbage" * 1000)
    status, _, err = kiosk.run(capsys, "outbox", "status")
    assert status == 1 and "damaged" in err and "moved aside" in err and "Traceback" not in err


def test_every_outbox_subcommand_is_documented(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["outbox", "--help"])
    text = capsys.readouterr().out
    for name in ("status", "list", "sync", "retry", "export", "ack"):
        assert name in text
        with pytest.raises(SystemExit) as exit_info:
            main(["outbox", name, "--help"])
        assert exit_info.value.code == 0
        assert "--config" in capsys.readouterr().out
