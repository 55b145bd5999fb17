"""The total-queue checker the crash test relies on: it must catch each kind of failure, not just pass."""

from __future__ import annotations

from queue_checker import check_total_queue


def test_everything_acknowledged_delivered_once_is_valid():
    verdict = check_total_queue(["a", "b", "c"], ["a", "b"], ["a", "b", "c"])
    assert verdict.valid
    assert verdict.recovered == {"c"}  # attempted, not acknowledged, but committed before the crash
    assert (verdict.attempted, verdict.acknowledged, verdict.delivered) == (3, 2, 3)
    assert verdict.summary().startswith("valid")


def test_an_acknowledged_record_missing_at_the_server_is_lost():
    verdict = check_total_queue(["a", "b"], ["a", "b"], ["a"])
    assert not verdict.valid
    assert verdict.lost == {"b"}
    assert "lost (1): b" in verdict.summary()


def test_a_record_delivered_twice_is_duplicated():
    verdict = check_total_queue(["a", "b"], ["a", "b"], ["a", "b", "b"])
    assert not verdict.valid
    assert verdict.duplicated == {"b": 2}
    assert "b x2" in verdict.summary()


def test_a_record_nobody_attempted_is_unexpected():
    verdict = check_total_queue(["a"], ["a"], ["a", "z"])
    assert not verdict.valid
    assert verdict.unexpected == {"z"}


def test_attempted_but_never_committed_is_fine():
    verdict = check_total_queue(["a", "b"], ["a"], ["a"])
    assert verdict.valid
    assert verdict.recovered == frozenset()


def test_an_acknowledgement_counts_as_an_attempt_even_if_that_report_was_lost():
    assert check_total_queue([], ["a"], ["a"]).valid
