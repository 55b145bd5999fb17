"""The metrics behind the maintenance chart: sampling pace, 7-day retention, the 24-hour query."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from hal.power import SimulatedUps
from hal.settings import PowerSettings
from kiosk.maintenance import MaintenanceStore, MetricPoint, Metrics, queue_and_battery
from kiosk.maintenance.metrics import BATTERY_PERCENT, RETENTION_S
from kiosk.maintenance.recorder import MetricsRecorder
from kiosk.outbox import Outbox

HOUR = 3600.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path):
    with MaintenanceStore.in_data_dir(tmp_path) as s:
        yield s


def test_samples_are_taken_every_interval_and_not_more_often(store: MaintenanceStore) -> None:
    clock = FakeClock(1_000_000.0)
    metrics = Metrics(store, interval_s=300.0, clock=clock)
    reads = []

    def read():
        reads.append(clock.now)
        return {"queue.pending": 3.0, "battery.percent": None}

    assert metrics.sample_if_due(read) is True  # the first tick samples at once
    clock.now += 299
    assert metrics.sample_if_due(read) is False
    clock.now += 1
    assert metrics.sample_if_due(read) is True
    assert reads == [1_000_000.0, 1_000_300.0]  # read only when due
    assert metrics.series("queue.pending", since=0) == [
        MetricPoint(1_000_000.0, 3.0),
        MetricPoint(1_000_300.0, 3.0),
    ]
    assert metrics.series("battery.percent", since=0) == []  # unknown charge: no point, not a zero


def test_the_schedule_survives_a_restart(store: MaintenanceStore) -> None:
    clock = FakeClock(1_000_000.0)
    Metrics(store, clock=clock).record({"queue.pending": 1})
    clock.now += 60
    again = Metrics(store, clock=clock)  # a crash loop must not write a sample per start
    assert again.sample_if_due(lambda: {"queue.pending": 2}) is False


def test_a_clock_that_jumps_back_does_not_stop_sampling(store: MaintenanceStore) -> None:
    clock = FakeClock(1_000_000.0)
    metrics = Metrics(store, clock=clock)
    metrics.record({"queue.pending": 1})
    clock.now -= 30 * 24 * HOUR
    assert metrics.sample_if_due(lambda: {"queue.pending": 2}) is True


def test_samples_older_than_seven_days_are_dropped(store: MaintenanceStore) -> None:
    clock = FakeClock(1_000_000.0)
    metrics = Metrics(store, clock=clock)
    metrics.record({"queue.pending": 1}, now=clock.now - RETENTION_S - 1)
    metrics.record({"queue.pending": 2}, now=clock.now - RETENTION_S + 1)
    metrics.record({"queue.pending": 3})
    assert [p.value for p in metrics.series("queue.pending", since=0)] == [2.0, 3.0]


def test_the_chart_gets_the_last_24_hours_by_series(store: MaintenanceStore) -> None:
    now = 2_000_000.0
    metrics = Metrics(store, clock=lambda: now)
    metrics.record({"queue.pending": 9, "battery.percent": 90}, now=now - 25 * HOUR)
    metrics.record({"queue.pending": 4, "battery.percent": 80}, now=now - 2 * HOUR)
    metrics.record({"queue.pending": 0, "queue.dead": 1, "battery.percent": 70}, now=now)
    chart = metrics.last_24h()
    assert chart == {
        "battery.percent": [MetricPoint(now - 2 * HOUR, 80.0), MetricPoint(now, 70.0)],
        "queue.dead": [MetricPoint(now, 1.0)],
        "queue.pending": [MetricPoint(now - 2 * HOUR, 4.0), MetricPoint(now, 0.0)],
    }


def test_a_failing_source_is_logged_and_tried_at_the_next_interval(
    store: MaintenanceStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(1_000_000.0)
    metrics = Metrics(store, clock=clock)

    def broken():
        raise OSError(5, "Input/output error")

    with caplog.at_level(logging.WARNING):
        assert metrics.sample_if_due(broken) is False
    assert "metrics sample skipped" in caplog.text
    assert metrics.sample_if_due(lambda: {"queue.pending": 1}) is False  # not retried every frame
    clock.now += 300
    assert metrics.sample_if_due(lambda: {"queue.pending": 1}) is True


def test_queue_depth_per_state_and_battery_from_the_real_sources(
    store: MaintenanceStore, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    ups = SimulatedUps(PowerSettings(backend="simulated", simulated_battery_percent=64.0), poll=False)
    try:
        ups.poll()
        values = queue_and_battery(outbox, ups)()
    finally:
        ups.close()
        outbox.close()
    assert values["battery.percent"] == pytest.approx(64.0, abs=0.01)
    assert {k: v for k, v in values.items() if k.startswith("queue.")} == {
        "queue.pending": 0.0,
        "queue.sending": 0.0,
        "queue.sent": 0.0,
        "queue.dead": 0.0,
    }
    assert queue_and_battery(None, None)() == {}


def test_the_metrics_recorder_samples_at_once_and_stops_promptly(tmp_path: Path) -> None:
    store = MaintenanceStore(tmp_path / "maintenance.sqlite3")
    metrics = Metrics(store, interval_s=3600.0, clock=lambda: 1_700_000_000.0)
    sampled = threading.Event()

    def read() -> dict[str, float | None]:
        sampled.set()
        return {"queue.pending": 3.0, BATTERY_PERCENT: 87.0}

    recorder = MetricsRecorder(metrics, read)
    recorder.start()
    try:
        assert sampled.wait(5)
    finally:
        recorder.stop(timeout=5)
    assert not recorder._thread.is_alive()  # the hour-long wait was cut short
    chart = metrics.last_24h()
    assert [p.value for p in chart[BATTERY_PERCENT]] == [87.0]
    store.close()
