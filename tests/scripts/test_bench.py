"""scripts/bench.py: its own measurement (the outbox at depth) runs on a small queue; the report is complete.

The figures themselves are never asserted (speed is measured by running the benchmark, not by tests); these
tests check that the benchmark still works against today's outbox and that its table and JSON say what a
reader needs: the value, the reference from the same run, the target and the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import bench
import pytest


def test_queue_figures_measure_a_deep_outbox_against_an_empty_one(tmp_path: Path) -> None:
    figures = bench.queue_figures(tmp_path, quick=True, depth=300, photo_depth=20)

    by_name = {figure.name: figure for figure in figures}
    assert set(by_name) == {
        "restart-to-ready, 300 queued, warm",
        "restart-to-ready, 300 queued, cold",
        "restart-to-ready, 20 queued with photos, warm",
        "restart-to-ready, 20 queued with photos, cold",
        "integrity check once serving, 300 queued, cold",
        "integrity check once serving, 20 queued with photos, cold",
        "status query, 300 queued",
        "enqueue 200 KB record, 300 queued",
    }
    for figure in figures:
        assert figure.value is not None and figure.value > 0
        assert figure.reference.startswith(("empty outbox ", "reading the "))
    assert by_name["status query, 300 queued"].met is not None
    assert by_name["restart-to-ready, 300 queued, warm"].met is not None
    assert by_name["restart-to-ready, 300 queued, cold"].met is not None
    assert "300 pending" in by_name["status query, 300 queued"].note
    restart = by_name["restart-to-ready, 300 queued, warm"].note
    assert "profile of one open: Outbox." in restart and "PRAGMA integrity_check alone " in restart
    assert "20 records of 27" in by_name["restart-to-ready, 20 queued with photos, warm"].note
    assert "evicting the file from the OS page cache" in by_name["restart-to-ready, 300 queued, cold"].note
    assert by_name["integrity check once serving, 300 queued, cold"].met is None  # reported, no target


def test_a_missing_part_is_reported_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "SCRIPTS", tmp_path)  # no part scripts in this tree

    figures, failed = bench.run(["photo"], quick=True, directory=tmp_path)

    assert failed == ["photo"]
    assert figures[0].value is None
    assert "scripts/bench_photo_quality.py is not in the tree" in figures[0].note


def test_table_markdown_and_json_carry_value_reference_target_and_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figure = bench.Figure(
        "queue", "status query", 12.5, "ms", "empty outbox 0.02 ms", "< 50 ms", True, "p50 of 20"
    )
    missed = bench.Figure("enqueue", "ratio", 1.6, "x", "1.0 = bare INSERT", "<= 1.3", False, "profile: ...")
    monkeypatch.setitem(bench.MEASURE, "queue", lambda directory, quick: [figure, missed])

    assert (
        bench.main(
            ["--only", "queue", "--json", str(tmp_path / "b.json"), "--markdown", str(tmp_path / "b.md")]
        )
        == 0
    )

    text = bench.table([figure, missed])
    assert "12.5 ms" in text and "empty outbox 0.02 ms" in text and "MISSED" in text and "[2]" in text
    md = (tmp_path / "b.md").read_text()
    assert "| queue | status query | 12.5 ms | empty outbox 0.02 ms | &lt; 50 ms | met |" in md
    assert "**missed**" in md and "CPU:" in md
    payload = json.loads((tmp_path / "b.json").read_text())
    assert payload["machine"]["cores"] >= 1 and payload["machine"]["python"].startswith("CPython")
    assert payload["figures"][1] == {
        "part": "enqueue",
        "name": "ratio",
        "value": 1.6,
        "unit": "x",
        "reference": "1.0 = bare INSERT",
        "target": "<= 1.3",
        "met": False,
        "note": "profile: ...",
        "p99": None,
    }


def test_the_office_part_measures_each_level_and_backend_beside_the_minimal_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench_office

    monkeypatch.setattr(bench_office, "LEVELS", {1: 4, 3: 2})
    monkeypatch.setattr(bench_office, "LOOKUP_RECORDS", 3000)

    figures = bench.office_figures(tmp_path, quick=False)

    rates = [f for f in figures if f.name.startswith("records/s,") and f.value is not None]
    backends = {f.name.rsplit(", ", 1)[-1] for f in rates}
    assert "sqlite" in backends
    assert len(rates) == 2 * len(backends)
    for figure in rates:
        assert figure.value > 0 and figure.reference.startswith("minimal ASGI app, same posts: ")
    lookups = [f for f in figures if f.name.startswith("reference lookup, 3,000 records")]
    assert {f.name.rsplit(", ", 1)[-1] for f in lookups} == backends
    for figure in lookups:
        assert figure.p99 is not None and figure.p99 >= figure.value > 0 and figure.met is not None
