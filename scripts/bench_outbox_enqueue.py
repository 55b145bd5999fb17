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
import json
import os
import shutil
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


def measure(
    *, rounds: int = 200, warmup: int = 10, photo_kb: int = 200, directory: Path | None = None
) -> dict[str, float | int | str]:
    """Run the benchmark and return its figures (durations in seconds).

    Args:
        rounds: measured rounds; each seals and enqueues one record and makes one bare INSERT.
        warmup: unmeasured rounds first.
        photo_kb: size of the (random, incompressible) photo in KB.
        directory: where to put the temporary databases (default: the system temp directory); removed after.

    Returns:
        ``rounds``, ``blob_bytes``, ``directory``, and for ``enqueue`` (seal + insert + commit), ``seal``
        (seal_record), ``insert`` (Outbox.enqueue) and ``bare`` (sqlite3 INSERT): ``<name>_p50_s``,
        ``<name>_p99_s`` and ``<name>_mean_s``; then ``ratio_p50`` / ``ratio_p99`` (enqueue / bare) and
        ``insert_ratio_p50`` (Outbox.enqueue / bare).
    """
    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-", dir=directory))
    try:
        return _measure(workdir, rounds=rounds, warmup=warmup, photo_kb=photo_kb)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _measure(workdir: Path, *, rounds: int, warmup: int, photo_kb: int) -> dict[str, float | int | str]:
    identity = KioskIdentity.load_or_create(workdir / "keys")
    server_public, _ = generate_server_keypair()
    photo = os.urandom(photo_kb * 1024)  # random bytes: as incompressible as a JPEG
    signature_png = os.urandom(6 * 1024)
    outbox = Outbox(workdir / "outbox.sqlite3")
    bare = sqlite3.connect(workdir / "bare.sqlite3", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = FULL")
    bare.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)")

    timings: dict[str, list[float]] = {"enqueue": [], "seal": [], "insert": [], "bare": []}
    blob_bytes = 0
    perf = time.perf_counter
    try:
        for round_no in range(warmup + rounds):
            record = make_record(photo, signature_png)

            start = perf()
            sealed = seal_record(record, identity, server_public)
            sealed_at = perf()
            outbox.enqueue(sealed)
            done = perf()

            # Interleaved with the enqueue, so both see the same disk and CPU conditions.
            start_bare = perf()
            bare.execute("INSERT INTO records (blob) VALUES (?)", (sealed.blob,))
            done_bare = perf()

            if round_no >= warmup:
                timings["enqueue"].append(done - start)
                timings["seal"].append(sealed_at - start)
                timings["insert"].append(done - sealed_at)
                timings["bare"].append(done_bare - start_bare)
                blob_bytes = len(sealed.blob)
    finally:
        outbox.close()
        bare.close()

    figures: dict[str, float | int | str] = {
        "rounds": rounds,
        "blob_bytes": blob_bytes,
        "directory": str(workdir),
    }
    for name, values in timings.items():
        figures[f"{name}_p50_s"] = percentile(values, 0.50)
        figures[f"{name}_p99_s"] = percentile(values, 0.99)
        figures[f"{name}_mean_s"] = statistics.fmean(values)
    figures["ratio_p50"] = figures["enqueue_p50_s"] / figures["bare_p50_s"]
    figures["ratio_p99"] = figures["enqueue_p99_s"] / figures["bare_p99_s"]
    figures["insert_ratio_p50"] = figures["insert_p50_s"] / figures["bare_p50_s"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured rounds (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured rounds first (default 10)")
    parser.add_argument("--photo-kb", type=int, default=200, help="photo size in KB (default 200)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON"
    )
    args = parser.parse_args(argv)

    figures = measure(rounds=args.rounds, warmup=args.warmup, photo_kb=args.photo_kb, directory=args.dir)

    def row(label: str, name: str) -> str:
        return (
            f"  {label:<34} p50 {figures[f'{name}_p50_s'] * 1000:8.3f} ms   "
            f"p99 {figures[f'{name}_p99_s'] * 1000:8.3f} ms   mean {figures[f'{name}_mean_s'] * 1000:8.3f} ms"
        )

    print(
        f"outbox enqueue benchmark: {args.rounds} rounds (+{args.warmup} warm-up), in {figures['directory']}"
    )
    print(f"  record: {args.photo_kb} KB photo -> sealed blob of {figures['blob_bytes'] / 1024:.0f} KB")
    print(row("enqueue (seal + insert + commit)", "enqueue"))
    print(row("  of which seal_record", "seal"))
    print(row("  of which Outbox.enqueue", "insert"))
    print(row("bare sqlite3 INSERT (WAL, FULL)", "bare"))
    verdict = "meets" if figures["ratio_p50"] <= 1.3 else "misses"
    print(
        f"  ratio enqueue / bare: p50 {figures['ratio_p50']:.2f}   p99 {figures['ratio_p99']:.2f}   "
        f"({verdict} the target p50 <= 1.3)"
    )
    print(
        f"  Outbox.enqueue alone / bare: p50 {figures['insert_ratio_p50']:.2f}"
        " (the storage part without sealing)"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
