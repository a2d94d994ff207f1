"""`batch run` and `serve` collect garbage in fewer, larger passes (cli.gc_policy, issue 11)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from protoshift.cli.gc_policy import OLDER_THRESHOLDS, YOUNG_THRESHOLD, tune_for_throughput


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_python_defaults_are_raised() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_throughput()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


def test_a_threshold_someone_raised_further_is_kept() -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 5, 5, 1000)
    tune_for_throughput()
    assert gc.get_threshold() == (YOUNG_THRESHOLD * 5, OLDER_THRESHOLDS[0], 1000)


def test_a_collector_turned_off_by_threshold_stays_off() -> None:
    gc.set_threshold(0, 10, 10)
    tune_for_throughput()
    assert gc.get_threshold() == (0, 10, 10)
