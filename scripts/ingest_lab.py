"""A ready-made ingest lab: server keys, one enrolled kiosk, its identity, and sample records.

The sync tests, the fault-proxy and crash tests, the drain benchmark and the torture script all need the same
setting: the office service (:mod:`office`: uvicorn on a loopback port, SQLite in the lab) with a kiosk
enrolled, that kiosk's signing key,
an outbox and records to fill it with. This module builds it in one directory::

    lab = IngestLab.create(tmp_path)
    with lab.server() as server:                     # serving on a free loopback port
        outbox = lab.outbox()
        lab.enqueue(outbox, 10)
        sync_once(outbox, lab.client(server.url))
        assert len(server.records()) == 10

The sample records are synthetic (an obviously fake NIK and name), never real personal data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.outbox import Outbox
from kiosk.records import Consent, PenPoint, Record, SignatureCapture, utc_timestamp
from kiosk.sealing import KioskIdentity, SealedRecord, seal_record
from kiosk.sync import IngestClient
from office.app import Settings
from office.keys import ServerKeys
from office.server import OfficeServer
from office.store import Store

DEFAULT_KIOSK_ID = "LAB-KIOSK-01"


@dataclass
class IngestLab:
    """Everything a delivery test needs, kept in ``directory``."""

    directory: Path
    keys: ServerKeys
    identity: KioskIdentity
    kiosk_id: str
    token: str

    @classmethod
    def create(cls, directory: Path, kiosk_id: str = DEFAULT_KIOSK_ID) -> IngestLab:
        """New server keys, a new kiosk key, and the kiosk enrolled in ``directory/server.sqlite3``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        keys = ServerKeys.generate()
        keys.save(directory / "server.key")
        identity = KioskIdentity.load_or_create(directory / "kiosk-data" / "keys")
        token = secrets.token_urlsafe(24)
        with Store.open(directory / "server.sqlite3", keys) as store:
            store.enroll(kiosk_id, identity.verify_key_b64, token)
        return cls(directory, keys, identity, kiosk_id, token)

    @property
    def server_db(self) -> Path:
        return self.directory / "server.sqlite3"

    @property
    def data_dir(self) -> Path:
        """The kiosk's data directory (outbox and ``keys/``, laid out as ``kiosk`` commands expect)."""
        return self.directory / "kiosk-data"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    def write_config(self, server_url: str, path: Path | None = None) -> Path:
        """A kiosk config file for this lab's kiosk and ``server_url`` (for ``kiosk`` commands)."""
        path = path or self.directory / "kiosk.toml"
        path.write_text(
            f'[kiosk]\nid = "{self.kiosk_id}"\ndata_dir = "{self.data_dir}"\n\n'
            f'[server]\nurl = "{server_url}"\ntoken = "{self.token}"\npublic_key = "{self.keys.box_public}"\n'
            f'ack_verify_key = "{self.keys.sign_public}"\ntimeout_s = 5.0\nlab = true\n',
            encoding="utf-8",
        )
        return path

    def settings(self, **kwargs: Any) -> Settings:
        """The office service's settings for this lab (``kwargs`` override, e.g. ``max_body``)."""
        kwargs.setdefault("database", self.server_db)
        return Settings(keys=self.keys, **kwargs)

    def make_server(self, **kwargs: Any) -> OfficeServer:
        """The office service bound to a free loopback port, not yet serving.

        Args:
            kwargs: :class:`office.app.Settings` fields (``max_body``, ``heartbeat_rate``, ...) and
                :class:`office.server.OfficeServer` options (``tls_cert``, ``tls_key``, ...).
        """
        names = {field.name for field in dataclasses.fields(Settings)}
        settings = self.settings(**{name: value for name, value in kwargs.items() if name in names})
        return OfficeServer(settings, **{name: value for name, value in kwargs.items() if name not in names})

    @contextlib.contextmanager
    def server(self, **kwargs: Any) -> Iterator[OfficeServer]:
        """The office service serving on a background thread for the ``with`` block."""
        with self.make_server(**kwargs).running() as server:
            yield server

    def store(self) -> Store:
        """A separate handle on the service's database (close it after use)."""
        return Store.open(self.server_db, self.keys)

    def outbox(self, **kwargs: Any) -> Outbox:
        """The kiosk's outbox in this lab."""
        return Outbox(self.outbox_path, **kwargs)

    def client(self, url: str, *, token: str | None = None, **kwargs: Any) -> IngestClient:
        """An ingest client for this lab's kiosk (``token`` overrides the enrolled one)."""
        kwargs.setdefault("timeout", 5.0)
        kwargs.setdefault("ack_verify_key", self.keys.sign_public)
        return IngestClient(url, self.token if token is None else token, self.kiosk_id, **kwargs)

    def record(self, seq: int = 0, *, photo_size: int = 0, rng: random.Random | None = None) -> Record:
        """A synthetic record; ``seq`` goes into its fields so a checker can tell records apart."""
        return sample_record(self.kiosk_id, seq=seq, photo_size=photo_size, rng=rng)

    def seal(self, record: Record) -> SealedRecord:
        return seal_record(record, self.identity, self.keys.box_public)

    def enqueue(self, outbox: Outbox, count: int, *, photo_size: int = 0) -> list[str]:
        """Seal and enqueue ``count`` sample records; returns their ids in order."""
        ids = []
        for seq in range(count):
            sealed = self.seal(self.record(seq, photo_size=photo_size))
            outbox.enqueue(sealed)
            ids.append(sealed.record_id)
        return ids


def sample_record(
    kiosk_id: str, *, seq: int = 0, photo_size: int = 0, rng: random.Random | None = None, tag: str = ""
) -> Record:
    """A synthetic pre-registration with a fake identity, a photo of ``photo_size`` bytes and a signature.

    Args:
        kiosk_id: the kiosk the record is made on.
        seq: a number written into the fields (``seq``), so tests can recognise records at the server.
        photo_size: bytes of (random) photo; 0 = no photo, with the "taken at the counter" note.
        rng: randomness for the photo bytes and pen samples.
        tag: free text written into the fields (``tag``), e.g. the crash test's operation id.
    """
    rng = rng or random.Random(seq)
    now = utc_timestamp(1_700_000_000 + seq)
    points = tuple(
        PenPoint(t=i * 0.01, x=100 + i * 3, y=200 + (i % 7), pen_down=i % 9 != 0) for i in range(40)
    )
    signature = SignatureCapture(samples=points, width=640, height=240, png=rng.randbytes(600), source="pad")
    fields = {
        "nik": f"7110{seq % 10_000_000_000:012d}"[:16],
        "full_name": f"WARGA PERCOBAAN {seq}",
        "address": "JL. CONTOH NO. 1, MODAYAG",
        "seq": str(seq),
    }
    if tag:
        fields["tag"] = tag
    return Record.new(
        kiosk_id=kiosk_id,
        service="ektp",
        language="id",
        fields=fields,
        photo_jpeg=rng.randbytes(photo_size) if photo_size else None,
        photo_note=None if photo_size else "taken_at_counter",
        signature=signature,
        consent=Consent(given=True, text_version="2024-1", at=now),
        software_version=__version__,
    )


class ServiceProcess:
    """``dukcapil-office serve`` in a process of its own (for kill tests, several processes, benchmarks).

    Args:
        database: SQLite path or database URL.
        key_file: the server key file.
        args: more ``serve`` options (e.g. ``["--max-body", "1000"]``).
    """

    def __init__(self, database: str | Path, key_file: Path, args: list[str] | None = None) -> None:
        self.database, self.key_file, self.args = str(database), key_file, args or []
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, port: int = 0) -> str:
        """Start serving (``port`` 0: any free one); returns the URL once the socket listens."""
        command = [
            sys.executable,
            "-m",
            "office",
            "-q",
            "serve",
            "--db",
            self.database,
            "--key",
            str(self.key_file),
        ]
        self.process = subprocess.Popen(
            [*command, "--port", str(port), *self.args], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"the office service did not start: {line!r}")
        self.url = line.split()[-1]
        return self.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[-1])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, mid-request."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Terminate cleanly (SIGTERM) and wait."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def __enter__(self) -> ServiceProcess:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
