"""A full disk or a read-only data directory: enqueue fails with a clear error and the database stays intact.

Always run: the outbox's own size limit (``PRAGMA max_page_count``) and writes the OS refuses part-way
(``RLIMIT_FSIZE`` in a child process). As root, where chmod does not stop anything, a genuinely full tmpfs and
a read-only bind mount in a private mount namespace (``unshare -m``) stand in; as another user, chmod does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kiosk.outbox import Outbox, OutboxError, OutboxFull
from kiosk.sealing import BLOB_MAGIC, SealedRecord

IS_ROOT = os.geteuid() == 0


def sealed(size: int = 30_000) -> SealedRecord:
    blob = BLOB_MAGIC + os.urandom(size)
    return SealedRecord(
        str(uuid.uuid4()), "BMT-MODAYAG-01", "2024-05-01T03:04:05Z", blob, hashlib.sha256(blob).hexdigest()
    )


def fill(path: Path, count: int) -> list[str]:
    with Outbox(path) as outbox:
        records = [sealed() for _ in range(count)]
        for record in records:
            outbox.enqueue(record)
    return [record.record_id for record in records]


def assert_intact(path: Path, expected_ids: list[str]) -> None:
    with Outbox(path) as outbox:
        assert outbox.integrity_check() == "ok"
        assert sorted(item.record_id for item in outbox.items(limit=None)) == sorted(expected_ids)
        for record_id in expected_ids:
            blob = outbox.read_blob(record_id)
            assert hashlib.sha256(blob).hexdigest() == outbox.get(record_id).sha256


def namespaces_work() -> bool:
    if not IS_ROOT or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def run_child(code: str, *args: str, mount: str | None = None) -> dict:
    """Run ``code`` in a fresh Python (optionally after ``mount`` in a private mount namespace); its JSON."""
    command = [sys.executable, "-c", code, *args]
    if mount is not None:
        command = ["unshare", "-m", "sh", "-c", f'{mount} && exec "$0" "$@"', *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


CHILD_COMMON = """
import hashlib, json, os, sys, uuid
from kiosk.outbox import Outbox, OutboxError
from kiosk.sealing import BLOB_MAGIC, SealedRecord

def sealed():
    blob = BLOB_MAGIC + os.urandom(30_000)
    digest = hashlib.sha256(blob).hexdigest()
    return SealedRecord(str(uuid.uuid4()), "K", "2024-05-01T03:04:05Z", blob, digest)

def enqueue_until_it_fails(path, limit=2000):
    saved, error = [], None
    try:
        outbox = Outbox(path)
        for _ in range(limit):
            record = sealed()
            outbox.enqueue(record)
            saved.append(record.record_id)
    except OutboxError as exc:
        error = {"type": type(exc).__name__, "message": str(exc)}
    return outbox if error is None or saved else None, saved, error
"""


def test_outbox_size_limit_refuses_new_records_and_keeps_the_old(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    earlier = fill(path, 3)
    outbox = Outbox(path, max_size_bytes=400_000)
    saved = []
    with pytest.raises(OutboxFull, match=r"^the kiosk's storage is full: saving the record failed") as error:
        for _ in range(100):
            record = sealed()
            outbox.enqueue(record)
            saved.append(record.record_id)
    assert isinstance(error.value, OSError)
    assert 0 < len(saved) < 100
    # The kiosk keeps working: reading, sending and state changes need no new pages.
    assert outbox.integrity_check() == "ok"
    item = outbox.claim_next()
    outbox.mark_retry(item.record_id, "timeout", 0.0)
    outbox.close()
    assert_intact(path, earlier + saved)
    with Outbox(path) as roomy:  # once there is room again, records are accepted
        roomy.enqueue(sealed())


def test_writes_refused_part_way_leave_the_database_intact(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    earlier = fill(path, 2)
    result = run_child(
        CHILD_COMMON
        + """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = sys.argv[1]
limit = os.path.getsize(path) + 150_000
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
outbox, saved, error = enqueue_until_it_fails(path)
print(json.dumps({"saved": saved, "error": error, "integrity": outbox.integrity_check()}))
""",
        str(path),
    )
    assert result["error"]["type"] in ("OutboxError", "OutboxFull")
    assert result["error"]["message"].startswith("the kiosk's storage")
    assert result["integrity"] == "ok"
    assert_intact(path, earlier + result["saved"])


@pytest.mark.skipif(not namespaces_work(), reason="needs root and mount namespaces (unshare -m)")
def test_full_filesystem(tmp_path: Path) -> None:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = run_child(
        CHILD_COMMON
        + """
path = sys.argv[1] + "/outbox.sqlite3"
outbox, saved, error = enqueue_until_it_fails(path)
integrity = outbox.integrity_check()
outbox.close()
with Outbox(path) as again:  # a restart on the still-full disk
    ids = sorted(item.record_id for item in again.items(limit=None))
    print(json.dumps({"saved": saved, "error": error, "integrity": integrity,
                      "integrity_after_restart": again.integrity_check(), "ids_match": ids == sorted(saved)}))
""",
        str(mount_point),
        mount=f"mount -t tmpfs -o size=1m tmpfs {mount_point}",
    )
    assert result["error"]["type"] == "OutboxFull"
    assert result["error"]["message"].startswith("the kiosk's storage is full: saving the record failed")
    assert len(result["saved"]) > 5
    assert result["integrity"] == result["integrity_after_restart"] == "ok"
    assert result["ids_match"]


@pytest.mark.skipif(not namespaces_work(), reason="needs root and mount namespaces (unshare -m)")
def test_read_only_filesystem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = data / "outbox.sqlite3"
    earlier = fill(path, 3)
    result = run_child(
        CHILD_COMMON
        + """
outbox, saved, error = enqueue_until_it_fails(sys.argv[1], limit=1)
print(json.dumps({"saved": saved, "error": error}))
""",
        str(path),
        mount=f"mount --bind {data} {data} && mount -o remount,ro,bind {data}",
    )
    assert result["saved"] == []
    assert result["error"]["type"] == "OutboxError"
    assert result["error"]["message"].startswith("the kiosk's storage cannot be written")
    assert "read-write" in result["error"]["message"]
    assert_intact(path, earlier)


@pytest.mark.skipif(IS_ROOT, reason="root ignores file permissions (test_read_only_filesystem covers root)")
def test_read_only_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = data / "outbox.sqlite3"
    earlier = fill(path, 3)
    os.chmod(path, stat.S_IRUSR)
    os.chmod(data, stat.S_IRUSR | stat.S_IXUSR)
    try:
        with (
            pytest.raises(OutboxError, match="^the kiosk's storage cannot be written"),
            Outbox(path) as outbox,
        ):
            outbox.enqueue(sealed())
    finally:
        os.chmod(data, stat.S_IRWXU)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert_intact(path, earlier)


def test_missing_parent_that_cannot_be_created_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(OutboxError, match="the kiosk's storage cannot be written: cannot create"):
        Outbox(blocker / "outbox.sqlite3")
