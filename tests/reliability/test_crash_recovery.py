"""SIGKILL the kiosk at random moments while it enqueues and delivers; nothing acknowledged is ever lost.

A child process enqueues records and runs the real sync worker against the reference server (in this
process); the test kills it with SIGKILL after a random delay, at least 200 times, checks the outbox with
``PRAGMA integrity_check`` after every kill, then drains the outbox cleanly and checks, Jepsen total-queue
style, that every record acknowledged to the enqueuer is at the server exactly once.

Longer runs: ``KIOSK_CRASH_ITERATIONS=2000`` (kills) and/or ``KIOSK_CRASH_SECONDS=600`` (keep killing at
least this long).
"""

from __future__ import annotations

import os
import random
import time

import pytest
from crash_workload import OP_FIELD, CrashLoop, KioskSetup
from ingest_lab import IngestLab
from queue_checker import check_total_queue

from kiosk.sync import sync_once

ITERATIONS = int(os.environ.get("KIOSK_CRASH_ITERATIONS", "200"))
MIN_SECONDS = float(os.environ.get("KIOSK_CRASH_SECONDS", "0"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(300, int(MIN_SECONDS * 2) + 300))]


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    assert ITERATIONS >= 1
    lab = IngestLab.create(tmp_path / "lab")
    with lab.server() as server:
        setup = KioskSetup(
            outbox_path=str(lab.outbox_path),
            key_dir=str(lab.key_dir),
            server_public_key=lab.keys.box_public,
            url=server.url,
            token=lab.token,
            kiosk_id=lab.kiosk_id,
            ack_verify_key=lab.keys.sign_public,
        )
        loop = CrashLoop(setup, rng=random.Random(int(os.environ.get("KIOSK_CRASH_SEED", "20240501"))))
        started = time.monotonic()
        while loop.kills < ITERATIONS or time.monotonic() - started < MIN_SECONDS:
            loop.run_once()
            assert not loop.problems, loop.problems

        # A clean restart and drain: what the kiosk does when the power comes back for good.
        with lab.outbox() as outbox:
            assert outbox.integrity_check() == "ok"
            client = lab.client(server.url)
            for _ in range(20):
                report = sync_once(outbox, client)
                if outbox.counts()["pending"] == 0:
                    break
            counts = outbox.counts()
        assert counts["pending"] == counts["sending"] == counts["dead"] == 0, (counts, report)

        delivered = [received.record.fields[OP_FIELD] for received in server.records()]

    verdict = check_total_queue(loop.attempted, loop.acknowledged, delivered)
    print(f"{loop.kills} kills ({loop.opened} after the outbox opened) in {time.monotonic() - started:.0f} s")
    print(verdict.summary())
    assert loop.kills >= ITERATIONS
    assert verdict.acknowledged > ITERATIONS // 2, (
        "the victims hardly enqueued anything: kills came too early"
    )
    assert verdict.valid, verdict.summary()
