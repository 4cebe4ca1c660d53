"""Histories the stress generator tests build scenarios from: bundled real bars, two symbols."""

from __future__ import annotations

import pandas as pd
import pytest

from alphagate.testing import bundled_bars

TRAIN_END = pd.Timestamp("2015-12-31 23:59", tz="UTC")


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    """A year and a half of both bundled indices: a year of training, half a year after."""
    return bundled_bars(("^GSPC", "^IXIC"), start="2015-01-01", end="2016-06-30")


@pytest.fixture(scope="session")
def train_end() -> pd.Timestamp:
    """The candidate's training end: the last bar of 2015."""
    return TRAIN_END
