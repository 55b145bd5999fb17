"""Office service throughput and lookup: records/s for 1, 10 and 50 kiosks at once on SQLite and PostgreSQL,
each beside a bare client posting the same bodies to a minimal ASGI app in the same run, and the
reference-code lookup p50/p99 with 1,000,000 records stored.

Usage::

    python scripts/bench_office.py                    # the full run
    python scripts/bench_office.py --quick            # fewer records, lookup on SQLite only
    python scripts/bench_office.py --json office.json

Every server runs in its own process (``dukcapil-office serve``; the minimal app on the same uvicorn and
httptools), the posting kiosks are threads of this process with one keep-alive connection each, so both sides
share the client's costs. ``scripts/bench.py --only office`` shows the same figures in the project's table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
for path in (str(ROOT), str(SCRIPTS)):
    if path not in sys.path:
        sys.path.insert(0, path)

from ingest_lab import ServiceProcess, sample_record  # noqa: E402

from kiosk.reference import reference_for  # noqa: E402
from kiosk.sealing import KioskIdentity, seal_record  # noqa: E402

#: Concurrent kiosks measured, and records each posts (about 1,000 per level in the full run).
LEVELS = {1: 600, 10: 100, 50: 20}
LOOKUP_RECORDS = 1_000_000
LOOKUP_TARGET_S = 0.020


# -------------------------------------------------------------------------------------- the minimal app


async def minimal_app(scope, receive, send) -> None:  # noqa: ANN001 - the ASGI signature
    """The least an ASGI server can do for a record: read the body, answer 201 with a small JSON."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"received": true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_minimal() -> int:
    """Serve :func:`minimal_app` on a free loopback port; the first line printed says where."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(minimal_app, http="httptools", log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


@contextlib.contextmanager
def minimal_process() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-minimal"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the minimal app did not start: {line!r}")
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)


# ------------------------------------------------------------------------------------------- kiosks


class Fleet:
    """Kiosks with keys, tokens and sealed records ready to post (sealed once, posted to every server)."""

    def __init__(self, directory: Path, keys, count: int, per_kiosk: int) -> None:  # noqa: ANN001
        self.keys = keys
        self.kiosks = []
        for n in range(count):
            kiosk_id = f"BENCH-KIOSK-{n:02d}"
            identity = KioskIdentity.load_or_create(directory / kiosk_id)
            bodies = [
                seal_record(sample_record(kiosk_id, seq=s), identity, keys.box_public)
                for s in range(per_kiosk)
            ]
            self.kiosks.append((kiosk_id, identity, secrets.token_urlsafe(24), bodies))

    @property
    def records(self) -> int:
        return sum(len(bodies) for *_, bodies in self.kiosks)

    def enroll(self, database: str) -> None:
        from office.store import Store

        with Store.open(database, self.keys) as store:
            for kiosk_id, identity, token, _ in self.kiosks:
                store.enroll(kiosk_id, identity.verify_key_b64, token, actor="bench")

    def post_all(self, url: str, expect: int) -> float:
        """Seconds for every kiosk (one thread and keep-alive connection each) to post all its records."""
        parts = urllib.parse.urlsplit(url)
        barrier = threading.Barrier(len(self.kiosks) + 1)
        errors: list[str] = []

        def kiosk(kiosk_id: str, token: str, bodies) -> None:  # noqa: ANN001
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            conn.connect()
            barrier.wait()
            for sealed in bodies:
                conn.request("POST", "/v1/records", body=sealed.blob, headers={
                    "Authorization": f"Bearer {token}", "X-Kiosk-Id": kiosk_id,
                    "Idempotency-Key": f'"{sealed.record_id}"', "X-Record-SHA256": sealed.sha256,
                    "Content-Type": "application/octet-stream"})  # fmt: skip
                response = conn.getresponse()
                response.read()
                if response.status != expect:
                    errors.append(f"{kiosk_id}: {response.status}")
            conn.close()

        threads = [threading.Thread(target=kiosk, args=(k, t, b)) for k, _i, t, b in self.kiosks]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"{len(errors)} posts failed, e.g. {errors[0]}")
        return elapsed


# ----------------------------------------------------------------------------------------- measuring


def throughput(directory: Path, databases: dict[str, callable], *, quick: bool, echo=print) -> list[dict]:  # noqa: ANN001
    """Records/s per level and backend, each beside the minimal app with the same fleet and bodies."""
    from office.keys import ServerKeys

    keys = ServerKeys.generate()
    key_file = directory / "server.key"
    keys.save(key_file)
    results = []
    for level, per_kiosk in LEVELS.items():
        per_kiosk = max(2, per_kiosk // 3) if quick else per_kiosk
        fleet = Fleet(directory / f"fleet-{level}", keys, level, per_kiosk)
        with minimal_process() as url:
            bare = fleet.records / fleet.post_all(url, 201)
        row = {"kiosks": level, "records": fleet.records, "bare_records_per_s": bare}
        for backend, new_database in databases.items():
            database = new_database()
            fleet.enroll(database)
            with ServiceProcess(database, key_file) as service:
                row[f"{backend}_records_per_s"] = fleet.records / fleet.post_all(service.url, 201)
            rate = row[f"{backend}_records_per_s"]
            echo(f"  {level:2d} kiosks {backend:10}: {rate:7.1f} rec/s (minimal app {bare:7.1f})")
        results.append(row)
    return results


def lookup(database: str, records: int, *, samples: int = 2000, echo=print) -> dict:  # noqa: ANN001
    """Fill ``records`` rows (small stand-in blobs: the lookup never opens them), then time find_by_reference
    of codes typed the way a counter clerk does (lower case, spaces)."""
    from office.keys import ServerKeys
    from office.store import Store

    rng = random.Random(5)
    keys = ServerKeys.generate()
    with Store.open(database, keys) as store:
        store.enroll("BENCH-LOOKUP-01", "A" * 43 + "=", "bench-lookup-token-0123")
        started = time.perf_counter()
        codes = _fill(store, records, rng, samples * 2 / records)
        filled = time.perf_counter() - started
        echo(f"  {records:,} records stored in {filled:.0f} s")
        rng.shuffle(codes)
        timings = []
        for code in codes[:samples]:
            typed = code.lower().replace("-", " ")
            begin = time.perf_counter()
            found = store.find_by_reference(typed)
            timings.append(time.perf_counter() - begin)
            if not any(row.reference_code == code for row in found):
                raise RuntimeError(f"lookup of {code} found nothing")
    timings.sort()
    return {
        "records": records,
        "samples": len(timings),
        "fill_s": filled,
        "p50_s": timings[len(timings) // 2],
        "p99_s": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "target_s": LOOKUP_TARGET_S,
    }


def _fill(store, records: int, rng: random.Random, sample_share: float) -> list[str]:  # noqa: ANN001
    """Insert ``records`` rows in batches; returns the codes of a random sample of them."""
    import sqlalchemy as sa

    from office import db

    now = datetime.datetime.now(datetime.UTC)
    common = {"kiosk_id": "BENCH-LOOKUP-01", "service": "ektp", "captured_at": now, "received_at": now,
              "body_sha256": "0" * 64, "nik_hmac": None, "receipt": "{}", "source": "bench",
              "verify_key": "A" * 43 + "="}  # fmt: skip
    codes = []
    for start in range(0, records, 20_000):
        rows = []
        for _ in range(min(20_000, records - start)):
            record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            code = reference_for(record_id)
            if rng.random() < sample_share:
                codes.append(code)
            rows.append({**common, "record_id": record_id, "receipt_id": record_id, "reference_code": code,
                         "sealed": rng.randbytes(64)})  # fmt: skip
        with store.engine.begin() as conn:
            conn.execute(sa.insert(db.records), rows)
    return codes


@contextlib.contextmanager
def databases(directory: Path, *, postgres: bool) -> Iterator[dict[str, callable]]:  # noqa: ANN001
    """Factories of fresh databases per backend (PostgreSQL only where it can be started)."""
    counter = iter(range(1_000_000))
    factories = {"sqlite": lambda: str(directory / f"office-{next(counter)}.sqlite3")}
    with contextlib.ExitStack() as stack:
        if postgres:
            from pg_lab import TempPostgres, unavailable

            if unavailable() is None:
                server = stack.enter_context(TempPostgres())
                factories["postgresql"] = server.create_database
        yield factories


def measure(
    *, quick: bool = False, directory: Path | None = None, lookup_records: int | None = None, echo=print
) -> dict:  # noqa: ANN001
    """Run the benchmark; returns ``{"throughput": [...], "lookup": {backend: {...}}, "backends": [...]}``."""
    with tempfile.TemporaryDirectory(dir=directory, prefix="bench-office-") as tmp:
        root = Path(tmp)
        with databases(root, postgres=True) as factories:
            rates = throughput(root, factories, quick=quick, echo=echo)
            lookups = {}
            for backend, new_database in factories.items():
                if quick and backend != "sqlite":
                    continue
                echo(f"  lookup on {backend}:")
                lookups[backend] = lookup(new_database(), lookup_records or LOOKUP_RECORDS, echo=echo)
            return {"throughput": rates, "lookup": lookups, "backends": list(factories)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer records; lookup on SQLite only")
    parser.add_argument("--lookup-records", type=int, default=LOOKUP_RECORDS)
    parser.add_argument("--dir", type=Path, default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--serve-minimal", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_minimal:
        return serve_minimal()
    figures = measure(quick=args.quick, directory=args.dir, lookup_records=args.lookup_records)
    for backend, result in figures["lookup"].items():
        verdict = "met" if result["p99_s"] < LOOKUP_TARGET_S else "NOT met"
        print(f"lookup on {backend}, {result['records']:,} records: p50 {result['p50_s'] * 1000:.2f} ms, "
              f"p99 {result['p99_s'] * 1000:.2f} ms (target p99 < 20 ms: {verdict})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
