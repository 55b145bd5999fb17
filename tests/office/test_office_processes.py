"""Several service processes and SIGKILLs: exactly once across processes, nothing receipted ever lost."""

from __future__ import annotations

import base64
import json
import random
import secrets
import threading
from collections import defaultdict
from pathlib import Path

import nacl.signing
import pytest
from ingest_lab import ServiceProcess, sample_record

from kiosk.outbox import OutboxItem
from kiosk.protocol import verify_receipt
from kiosk.sealing import KioskIdentity, SealedRecord, seal_record
from kiosk.sync import IngestClient
from office.keys import ServerKeys
from office.store import Store


def item_of(sealed: SealedRecord) -> OutboxItem:
    """What Outbox.claim_next would hand the client for this sealed record."""
    return OutboxItem(
        record_id=sealed.record_id,
        kiosk_id=sealed.kiosk_id,
        created=0.0,
        state="sending",
        attempts=0,
        next_attempt=0.0,
        last_error=None,
        size=len(sealed.blob),
        sha256=sealed.sha256,
        blob=sealed.blob,
    )


@pytest.mark.timeout(600)
def test_two_processes_on_one_postgresql_store_each_record_once(pg_database, tmp_path):
    keys = ServerKeys.generate()
    key_file = tmp_path / "server.key"
    keys.save(key_file)
    kiosks = {}
    with Store.open(pg_database, keys) as store:
        for n in range(20):
            kiosk_id = f"BMT-KIOSK-{n:02d}"
            identity = KioskIdentity.load_or_create(tmp_path / kiosk_id)
            token = secrets.token_urlsafe(24)
            store.enroll(kiosk_id, identity.verify_key_b64, token)
            kiosks[kiosk_id] = (identity, token)
    outcomes: dict[tuple[str, str], list] = defaultdict(list)
    lock = threading.Lock()

    with ServiceProcess(pg_database, key_file) as first, ServiceProcess(pg_database, key_file) as second:

        def post(kiosk_id: str, url: str, item: OutboxItem) -> None:
            token = kiosks[kiosk_id][1]
            client = IngestClient(url, token, kiosk_id, timeout=30, ack_verify_key=keys.sign_public)
            delivery = client.post_record(item)
            client.close()
            with lock:
                outcomes[kiosk_id, item.record_id].append(delivery)

        def kiosk(kiosk_id: str) -> None:
            identity = kiosks[kiosk_id][0]
            for seq in range(5):
                item = item_of(seal_record(sample_record(kiosk_id, seq=seq), identity, keys.box_public))
                # The same key at once to both processes, twice each (lost answers, a second office PC).
                posts = [
                    threading.Thread(target=post, args=(kiosk_id, url, item))
                    for url in [first.url, second.url] * 2
                ]
                for thread in posts:
                    thread.start()
                for thread in posts:
                    thread.join()

        threads = [threading.Thread(target=kiosk, args=(kiosk_id,)) for kiosk_id in kiosks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    verify_key = nacl.signing.VerifyKey(base64.b64decode(keys.sign_public))
    with Store.open(pg_database, keys) as store:
        rows = {(row.kiosk_id, row.record_id): row for row in store.record_rows()}
    assert len(outcomes) == 100 and set(rows) == set(outcomes)
    for (kiosk_id, record_id), deliveries in outcomes.items():
        assert [d.outcome for d in deliveries] == ["sent"] * 4
        assert sorted(d.status for d in deliveries) == [200, 200, 200, 201]
        assert {d.receipt for d in deliveries} == {rows[kiosk_id, record_id].receipt}
        verify_receipt(
            deliveries[0].receipt,
            verify_key,
            record_id=record_id,
            kiosk_id=kiosk_id,
            sha256=rows[kiosk_id, record_id].sha256,
        )


#: SIGKILLs per backend (the issue's 50 on the default SQLite; PostgreSQL's durability is its own, the
#: service's acknowledge-after-commit is the same code).
KILLS = {"sqlite": 50, "postgresql": 10}
RECORDS = 400
POSTERS = 6


@pytest.mark.slow
# Fifty restarts of a Python service take a while on a busy machine: the guard is for a hang, not a speed.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_ingest_never_loses_a_receipted_record(lab, request, backend):
    rng = random.Random(11)
    pending = [lab.seal(lab.record(seq)) for seq in range(RECORDS)]
    receipts: dict[str, str] = {}
    progress = threading.Condition()
    up = threading.Event()
    database = str(lab.server_db)
    if backend == "postgresql":
        database = request.getfixturevalue("pg_database")
        with Store.open(database, lab.keys) as store:
            store.enroll(lab.kiosk_id, lab.identity.verify_key_b64, lab.token)
    service = ServiceProcess(database, lab.directory / "server.key")
    url = service.start()
    up.set()

    def poster() -> None:
        client = lab.client(url, timeout=10)
        while True:
            with progress:
                if not pending:
                    return
                sealed = pending.pop(rng.randrange(len(pending)))
            delivery = client.post_record(item_of(sealed))
            with progress:
                if delivery.outcome == "sent":
                    assert json.loads(delivery.receipt)["record_id"] == sealed.record_id
                    receipts[sealed.record_id] = delivery.receipt
                    progress.notify_all()
                else:
                    assert delivery.outcome == "retry", delivery  # a killed service: try again later
                    pending.append(sealed)
            if delivery.outcome != "sent":
                up.wait()

    threads = [threading.Thread(target=poster) for _ in range(POSTERS)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(KILLS[backend]):
            # Kill by progress, not by time: after a few more receipts, with other posts in flight.
            with progress:
                target = min(RECORDS, len(receipts) + rng.randint(1, 6))
                assert progress.wait_for(lambda t=target: len(receipts) >= t, timeout=60)
            up.clear()
            service.kill()
            service.start(service.port)
            up.set()
        for thread in threads:
            thread.join()
    finally:
        up.set()
        service.stop()

    with Store.open(database, lab.keys) as store:
        rows = store.record_rows()
    stored = {row.record_id: row.receipt for row in rows}
    assert len(rows) == len(stored)  # no duplicate
    assert len(receipts) == RECORDS
    missing = [record_id for record_id in receipts if record_id not in stored]
    assert not missing
    assert all(stored[record_id] == receipt for record_id, receipt in receipts.items())


def test_serve_with_workers_runs_that_many_processes_on_one_port(lab):
    service = ServiceProcess(lab.server_db, lab.directory / "server.key", ["--workers", "2"])
    service.start()
    parent = service.process.pid
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        assert len(children) == 2
        sealed = [lab.seal(lab.record(seq)) for seq in range(24)]
        outcomes = []

        def kiosk(part: list[SealedRecord]) -> None:
            client = lab.client(service.url)
            outcomes.extend(client.post_record(item_of(s)).status for s in part)
            client.close()

        threads = [threading.Thread(target=kiosk, args=(sealed[n::4],)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == [201] * 24
    finally:
        service.stop()  # SIGTERM to the parent stops every worker
    assert not any(Path(f"/proc/{child}").exists() for child in children)
    with lab.store() as store:
        assert sorted(store.record_ids()) == sorted(s.record_id for s in sealed)
