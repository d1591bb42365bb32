"""The shared Wilson score interval, against published values."""

import pytest

from bearscope.stats import wilson_interval, wilson_lower_bound


def test_wilson_lower_bound():
    assert wilson_lower_bound(0, 0) is None
    assert wilson_lower_bound(50, 50) == pytest.approx(0.9287, abs=1e-4)
    assert wilson_lower_bound(49, 50) == pytest.approx(0.8950, abs=1e-4)
    assert wilson_lower_bound(48, 50) == pytest.approx(0.8654, abs=1e-4)
    assert wilson_lower_bound(1, 2) < 0.5 < 1


def test_wilson_interval_is_inside_zero_and_one_and_around_the_rate():
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4) and high == pytest.approx(1.0)
    low, high = wilson_interval(30, 60)
    assert low < 0.5 < high and low == pytest.approx(1 - high, abs=1e-9)
