"""Drain throughput: the kiosk's sync path against a bare HTTP client posting the same bodies.

    python scripts/bench_drain.py [--records 1000] [--photo-kb 50] [--rounds 3]

Both sides post the same 1,000 sealed records to the office service, run as its own process (as
in production; it would otherwise share this process's interpreter lock), each round on a fresh server
database so that every post is a real 201 (open, verify, commit):

- *kiosk*: ``sync_once`` over a queued outbox: claim (a committed UPDATE), post through ``IngestClient``,
  ``mark_sent`` (another committed UPDATE), oldest first, with everything the product does per record;
- *bare*: ``http.client`` with one keep-alive connection posting the same bodies and headers, bodies already
  in memory, nothing stored.

Prints records/s for both and the ratio kiosk / bare (target >= 0.8). Rounds alternate the order; the best
round of each side is compared.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest_lab import IngestLab

from kiosk.outbox import Outbox
from kiosk.sync import sync_once
from office.store import Store

TARGET_RATIO = 0.8


@contextmanager
def server_process(lab: IngestLab, db: Path) -> Iterator[str]:
    """The office service on a fresh database, in its own process; yields its URL."""
    with Store.open(db) as store:
        store.enroll(lab.kiosk_id, lab.identity.verify_key_b64, lab.token)
    process = subprocess.Popen(
        [sys.executable, "-m", "office", "-q", "serve", "--db", str(db),
         "--key", str(lab.directory / "server.key"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"the office service did not start: {line!r}")
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)


def bare_drain(url: str, bodies: list[tuple[str, str, bytes]], lab: IngestLab) -> float:
    """Seconds to post every body over one keep-alive ``http.client`` connection."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    started = time.perf_counter()
    for record_id, sha256, blob in bodies:
        conn.request(
            "POST",
            "/v1/records",
            body=blob,
            headers={
                "Authorization": f"Bearer {lab.token}",
                "Idempotency-Key": f'"{record_id}"',
                "X-Kiosk-Id": lab.kiosk_id,
                "X-Record-SHA256": sha256,
                "Content-Type": "application/octet-stream",
            },
        )
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"bare client: server answered {response.status}")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def kiosk_drain(url: str, pristine: Path, work: Path, lab: IngestLab, count: int) -> float:
    """Seconds for ``sync_once`` to deliver a full outbox (a fresh copy of ``pristine``)."""
    shutil.copyfile(pristine, work)
    with Outbox(work) as outbox:
        client = lab.client(url, timeout=30)
        started = time.perf_counter()
        report = sync_once(outbox, client)
        elapsed = time.perf_counter() - started
        client.close()
    if report.sent != count:
        raise RuntimeError(f"kiosk: only {report.sent} of {count} sent ({report.error})")
    return elapsed


def measure(
    *, records: int = 1000, photo_kb: int = 50, rounds: int = 3, directory: Path | None = None, echo=None
) -> dict:
    """Run the benchmark; returns the figures (best round of each side).

    Keys: ``records``, ``record_bytes`` (mean sealed size), ``rounds``, ``kiosk_records_per_s``,
    ``kiosk_mb_per_s``, ``bare_records_per_s``, ``bare_mb_per_s``, ``ratio`` (kiosk / bare),
    ``target_ratio``, ``met`` and ``per_round`` (list of ``{"side", "records_per_s"}``).
    ``echo`` is called with a line of progress per round (e.g. ``print``).
    """
    with tempfile.TemporaryDirectory(dir=directory, prefix="bench-drain-") as tmp:
        root = Path(tmp)
        lab = IngestLab.create(root / "lab")
        with lab.outbox() as outbox:
            lab.enqueue(outbox, records, photo_size=photo_kb * 1024)
            bodies = [
                (item.record_id, item.sha256, outbox.read_blob(item.record_id) or b"")
                for item in outbox.items("pending", limit=None)
            ]
        pristine = root / "pristine.sqlite3"
        shutil.copyfile(lab.outbox_path, pristine)  # closed above: the WAL is checkpointed into the file
        record_bytes = sum(len(blob) for _, _, blob in bodies) / len(bodies)

        best = {"kiosk": float("inf"), "bare": float("inf")}
        per_round = []
        for n in range(rounds):
            order = ("bare", "kiosk") if n % 2 == 0 else ("kiosk", "bare")
            for side in order:
                with server_process(lab, root / f"server-{side}-{n}.sqlite3") as url:
                    if side == "bare":
                        seconds = bare_drain(url, bodies, lab)
                    else:
                        seconds = kiosk_drain(url, pristine, root / "work.sqlite3", lab, records)
                per_round.append({"side": side, "records_per_s": records / seconds})
                if echo is not None:
                    echo(f"  round {n + 1} {side:5}: {records / seconds:8.1f} records/s")
                best[side] = min(best[side], seconds)

    kiosk_rate, bare_rate = records / best["kiosk"], records / best["bare"]
    return {
        "records": records,
        "record_bytes": record_bytes,
        "rounds": rounds,
        "kiosk_records_per_s": kiosk_rate,
        "kiosk_mb_per_s": kiosk_rate * record_bytes / 1e6,
        "bare_records_per_s": bare_rate,
        "bare_mb_per_s": bare_rate * record_bytes / 1e6,
        "ratio": kiosk_rate / bare_rate,
        "target_ratio": TARGET_RATIO,
        "met": kiosk_rate / bare_rate >= TARGET_RATIO,
        "per_round": per_round,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--photo-kb", type=int, default=50, help="photo size per record (default 50 KB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    print(f"{args.records} records, {args.rounds} round(s), the ingest server in its own process")
    figures = measure(
        records=args.records, photo_kb=args.photo_kb, rounds=args.rounds, directory=args.dir, echo=print
    )
    print(f"sealed record: {figures['record_bytes'] / 1024:.0f} KB")
    for label, side in (("kiosk sync_once", "kiosk"), ("bare http.client", "bare")):
        rate, mb = figures[f"{side}_records_per_s"], figures[f"{side}_mb_per_s"]
        print(f"{label}: {rate:8.1f} records/s ({mb:.1f} MB/s)")
    verdict = "met" if figures["met"] else "NOT met"
    print(f"ratio kiosk/bare: {figures['ratio']:.2f} (target >= {TARGET_RATIO}: {verdict})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
