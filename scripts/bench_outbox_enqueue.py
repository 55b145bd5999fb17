#!/usr/bin/env python3
"""Benchmark: saving a confirmed record (seal + insert + commit) against a bare SQLite INSERT of its bytes.

What the citizen waits for between "confirm" and the receipt is :func:`kiosk.sealing.seal_record` plus
:meth:`kiosk.outbox.Outbox.enqueue` (one transaction, fsync of the WAL). The baseline is the least any durable
store could do: a bare ``sqlite3`` INSERT of the same sealed bytes into a one-table database with WAL and
``synchronous=FULL``. Both run in the same process, on the same file system, interleaved (one of each per
round) so that disk and CPU noise hit both alike. Target: enqueue p50 <= 1.3 x the bare INSERT p50.

Usage::

    python scripts/bench_outbox_enqueue.py [--rounds 200] [--photo-kb 200] [--dir /var/lib/dukcapil-kiosk]

``--dir`` should be on the file system the outbox lives on (the data partition on a kiosk): the fsync cost
there decides the ratio. The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kiosk.outbox import Outbox
from kiosk.records import Consent, PenPoint, Record, SignatureCapture
from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record


def make_record(photo: bytes, signature_png: bytes) -> Record:
    """A record as the journey makes it: fields, a photo of the given size, a signature with pen samples."""
    return Record.new(
        kiosk_id="BENCH-KIOSK-01",
        service="ktp-baru",
        language="id",
        fields={
            "nik": "7110014507900003",
            "nama_lengkap": "WARGA PERCOBAAN",
            "tempat_lahir": "KOTAMOBAGU",
            "tanggal_lahir": "1990-07-05",
            "alamat": "JL. CONTOH NO. 1",
            "kecamatan": "MODAYAG",
        },
        photo_jpeg=photo,
        photo_note=None,
        signature=SignatureCapture(
            samples=tuple(
                PenPoint(i / 100, 100 + i % 500, 200 + i % 80, i % 9 != 0, 400) for i in range(600)
            ),
            width=640,
            height=240,
            png=signature_png,
            source="pad",
        ),
        consent=Consent(True, "2024-01", "2024-05-01T03:04:05Z"),
        software_version="bench",
    )


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured rounds (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured rounds first (default 10)")
    parser.add_argument("--photo-kb", type=int, default=200, help="photo size in KB (default 200)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)"
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-", dir=args.dir))
    identity = KioskIdentity.load_or_create(workdir / "keys")
    server_public, _ = generate_server_keypair()
    photo = os.urandom(args.photo_kb * 1024)  # random bytes: as incompressible as a JPEG
    signature_png = os.urandom(6 * 1024)
    outbox = Outbox(workdir / "outbox.sqlite3")

    bare = sqlite3.connect(workdir / "bare.sqlite3", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = FULL")
    bare.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)")

    enqueue_s: list[float] = []
    seal_s: list[float] = []
    insert_s: list[float] = []
    bare_s: list[float] = []
    blob_size = 0
    perf = time.perf_counter
    for round_no in range(args.warmup + args.rounds):
        record = make_record(photo, signature_png)

        start = perf()
        sealed = seal_record(record, identity, server_public)
        sealed_at = perf()
        outbox.enqueue(sealed)
        done = perf()

        start_bare = perf()
        bare.execute("INSERT INTO records (blob) VALUES (?)", (sealed.blob,))
        done_bare = perf()

        if round_no >= args.warmup:
            enqueue_s.append(done - start)
            seal_s.append(sealed_at - start)
            insert_s.append(done - sealed_at)
            bare_s.append(done_bare - start_bare)
            blob_size = len(sealed.blob)

    outbox.close()
    bare.close()

    def row(name: str, values: list[float]) -> str:
        return (
            f"  {name:<34} p50 {percentile(values, 0.50) * 1000:8.3f} ms   "
            f"p99 {percentile(values, 0.99) * 1000:8.3f} ms   mean {statistics.fmean(values) * 1000:8.3f} ms"
        )

    print(f"outbox enqueue benchmark: {args.rounds} rounds (+{args.warmup} warm-up), in {workdir}")
    print(f"  record: {args.photo_kb} KB photo -> sealed blob of {blob_size / 1024:.0f} KB")
    print(row("enqueue (seal + insert + commit)", enqueue_s))
    print(row("  of which seal_record", seal_s))
    print(row("  of which Outbox.enqueue", insert_s))
    print(row("bare sqlite3 INSERT (WAL, FULL)", bare_s))
    ratio50 = percentile(enqueue_s, 0.50) / percentile(bare_s, 0.50)
    ratio99 = percentile(enqueue_s, 0.99) / percentile(bare_s, 0.99)
    verdict = "meets" if ratio50 <= 1.3 else "misses"
    print(
        f"  ratio enqueue / bare: p50 {ratio50:.2f}   p99 {ratio99:.2f}   ({verdict} the target p50 <= 1.3)"
    )
    print(
        f"  Outbox.enqueue alone / bare: p50 "
        f"{percentile(insert_s, 0.50) / percentile(bare_s, 0.50):.2f} (the storage part without sealing)"
    )
    for path in workdir.rglob("*"):
        if path.is_file():
            path.unlink()
    for path in sorted(workdir.rglob("*"), reverse=True):
        path.rmdir()
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
