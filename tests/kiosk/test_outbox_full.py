"""A small real data partition (tmpfs) filled by the outbox itself (issue 10 item 2).

The kiosk refuses new sessions before its outbox limit, never after a citizen typed everything; and on a 100%
full partition the outbox still opens, reports, syncs, exports and applies acknowledgements, and ``kiosk run``
does not crash.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_lab import IngestLab

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.outbox import Outbox, OutboxFull
from kiosk.usb_export import read_bundle, write_ack

ROOT = Path(__file__).resolve().parents[2]
PHOTO = 20_000  # bytes of synthetic photo per record: a few dozen records fill 5 MiB


@pytest.fixture
def partition(tmp_path: Path) -> Iterator[Path]:
    """A 5 MiB tmpfs mounted for the test (the kiosk's data partition)."""
    mount = tmp_path / "data"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=5m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip() or 'needs root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


class FullKiosk:
    """The lab kiosk with its data directory on ``partition`` and its server elsewhere."""

    def __init__(self, tmp_path: Path, partition: Path, outbox_section: str) -> None:
        self.lab = IngestLab.create(tmp_path / "lab")
        self.data = partition
        (self.data / "keys").mkdir(mode=0o700)
        shutil.copy2(self.lab.key_dir / "kiosk.key", self.data / "keys" / "kiosk.key")
        self.config = tmp_path / "kiosk.toml"
        self.outbox_section = outbox_section
        self.write_config("http://127.0.0.1:9")

    def write_config(self, url: str) -> None:
        self.config.write_text(
            f'[kiosk]\nid = "{self.lab.kiosk_id}"\ndata_dir = "{self.data}"\n'
            f'[server]\nurl = "{url}"\ntoken = "{self.lab.token}"\n'
            f'public_key = "{self.lab.keys.box_public}"\n'
            f'ack_verify_key = "{self.lab.keys.sign_public}"\ntimeout_s = 5.0\nlab = true\n'
            f"[outbox]\n{self.outbox_section}\n"
        )

    def outbox(self) -> Outbox:
        return Outbox.from_config(load_config(self.config))

    def fill(self) -> int:
        """Enqueue records until the outbox itself refuses one; returns how many it took."""
        taken = 0
        with self.outbox() as outbox:
            while True:
                try:
                    outbox.enqueue(self.lab.seal(self.lab.record(taken, photo_size=PHOTO)))
                except OutboxFull as exc:
                    assert "[outbox] max_size_mb" in str(exc)
                    return taken
                taken += 1

    def run(self, capsys, *argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([*argv, "--config", str(self.config)])
        out, err = capsys.readouterr()
        return status, out, err


def test_new_sessions_are_refused_before_the_limit_never_after(tmp_path, partition):
    # The default limit: derived from the partition, with a reserve left free.
    kiosk = FullKiosk(tmp_path, partition, "session_headroom_mb = 0.5")
    sessions = 0
    with kiosk.outbox() as outbox:
        while (room := outbox.room()).accepts_new_session:
            # Every session the room allowed saves its record: nobody is turned away after typing.
            outbox.enqueue(kiosk.lab.seal(kiosk.lab.record(sessions, photo_size=PHOTO)))
            sessions += 1
            assert sessions < 1000
        assert sessions > 10
        assert "[outbox] max_size_mb" in room.reason and "[outbox] session_headroom_mb" in room.reason
        # A citizen already in a session when the room closed still saves (that is the headroom).
        outbox.enqueue(kiosk.lab.seal(kiosk.lab.record(sessions, photo_size=PHOTO)))
        assert outbox.counts()["pending"] == sessions + 1
    # The partition was never filled: room for the WAL, its checkpoint and the maintenance store is left.
    assert shutil.disk_usage(partition).free > 512 * 1024


def test_a_partition_full_of_outbox_still_opens_reports_exports_acks_and_syncs(tmp_path, partition, capsys):
    # A limit above the partition's size: the outbox itself fills the partition to the last byte.
    kiosk = FullKiosk(tmp_path, partition, "max_size_mb = 64\nsession_headroom_mb = 0.5")
    waiting = kiosk.fill()
    assert waiting > 20
    assert shutil.disk_usage(partition).free < PHOTO

    status, out, err = kiosk.run(capsys, "outbox", "status")
    assert status == 0, err
    assert f"pending: {waiting}" in out
    assert "NEW SESSIONS REFUSED" in out and "[outbox]" in out

    usb = tmp_path / "usb"
    usb.mkdir()
    status, out, err = kiosk.run(capsys, "outbox", "export", str(usb))
    assert status == 0, err
    assert f"exported {waiting} record(s)" in out
    [bundle_path] = usb.glob("*.bundle.tar")
    bundle = read_bundle(bundle_path, kiosk.lab.identity.verify_key_b64)
    acked = [(r.record_id, r.sha256, '{"receipt_id": "usb"}') for r in bundle.records]
    ack_path = write_ack(usb, bundle, acked, kiosk.lab.keys.sign_secret)
    status, out, err = kiosk.run(capsys, "outbox", "ack", str(ack_path))
    assert status == 0, err
    assert f"{waiting} record(s) acknowledged" in out

    # Full again, then delivered over the network.
    again = kiosk.fill()
    assert again > 20
    with kiosk.lab.server() as server:
        kiosk.write_config(server.url)
        status, out, err = kiosk.run(capsys, "outbox", "sync")
        assert status == 0, err
        assert server.store.count() == again
    with kiosk.outbox() as outbox:
        assert outbox.counts() == {"pending": 0, "sending": 0, "sent": waiting + again, "dead": 0}
        assert outbox.room().accepts_new_session


def test_kiosk_run_on_a_full_partition_serves_and_shuts_down_cleanly(tmp_path, partition):
    kiosk = FullKiosk(tmp_path, partition, "max_size_mb = 64\nsession_headroom_mb = 0.5")
    kiosk.fill()
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "GPIOZERO_PIN_FACTORY": "mock",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--simulate", "--windowed", "--config", str(kiosk.config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        # Waits on the kiosk's own log lines (progress), never on time.
        _wait_for(process, "kiosk serving", seen)
        process.send_signal(signal.SIGTERM)
        for step in ("stopping sync", "checkpointing the outbox", "closing the outbox", "shutdown: done"):
            _wait_for(process, step, seen)
        assert process.wait(timeout=30) == 0, "".join(seen)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = "".join(seen)
    assert "Traceback" not in log and "failed" not in log.split("kiosk serving", 1)[1], log


def _wait_for(process: subprocess.Popen[str], needle: str, seen: list[str]) -> None:
    """Read the child's log until a line containing ``needle``."""
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"the kiosk ended before logging {needle!r}:\n{''.join(seen)}")
