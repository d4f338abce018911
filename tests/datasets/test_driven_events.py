"""Tests of make_driven_events: counts, delays, seeding, inhibition."""

import numpy as np
import pytest

from skdeep.datasets import make_driven_events
from skdeep.utils._event_pairs import find_pairs

INHIBITION = dict(n_drivers=2, baseline=1.0, alpha=[0.8, -0.3],
                  kernel_mean=[0.4, 0.3], kernel_std=[0.1, 0.15])


def test_simulator_counts_match_expectation():
    X, truth = make_driven_events(n_realisations=40, end_time=500.0, random_state=0)
    n_drivers = np.array([[d.size for d in r[1:]] for r in X])
    # ISI uniform in [1, 1.4] (mean 1.2), 60 % kept
    np.testing.assert_allclose(n_drivers.mean(0), 500.0 / 1.2 * 0.6, rtol=0.02)
    expected = truth["baseline"] * 500.0 + n_drivers @ truth["alpha"]
    observed = np.array([r[0].size for r in X])
    assert observed.sum() == pytest.approx(expected.sum(), rel=0.02)
    assert all(np.all(np.diff(r[0]) >= 0) and r[0][-1] <= 500.0 for r in X)


def test_simulator_delays_follow_kernel():
    X, _ = make_driven_events(
        end_time=5000.0, n_drivers=1, baseline=0.0, kernel_std=0.1, random_state=0
    )
    delays = find_pairs(X[0][0], X[0][1], 0.03, 0.8)[1]
    # drivers are >= 1 s apart: with no baseline each delay is a true child delay
    assert delays.size == X[0][0].size
    assert delays.mean() == pytest.approx(0.4, abs=0.01)
    assert delays.std() == pytest.approx(0.1, rel=0.05)


def test_simulator_is_seeded_and_validates():
    first, _ = make_driven_events(end_time=50.0, random_state=7)
    second, _ = make_driven_events(end_time=50.0, random_state=7)
    for a, b in zip(first[0], second[0]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="alpha"):
        make_driven_events(alpha=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="lower"):
        make_driven_events(lower=0.5, upper=0.2)
    with pytest.raises(ValueError, match="kept_fraction"):
        make_driven_events(kept_fraction=0.0)


def test_simulator_inhibition():
    X, truth = make_driven_events(n_realisations=20, end_time=500.0, random_state=0,
                                  **INHIBITION)
    n_drivers = np.array([[d.size for d in r[1:]] for r in X])
    expected = truth["baseline"] * 500.0 + n_drivers @ truth["alpha"]
    observed = np.array([r[0].size for r in X])
    assert observed.sum() == pytest.approx(expected.sum(), rel=0.02)
    with pytest.raises(ValueError, match="negative after a stimulus"):
        make_driven_events(baseline=0.5, alpha=[0.5, -1.0], kernel_std=0.05)


def test_simulator_clips_the_inhibited_baseline():
    # stimuli 0.1-0.2 s apart with a 0.77 s support: the kernels of the
    # inhibitory driver overlap and b = mu + alpha_2 sum kappa_2 goes below 0. The
    # intensity is max(0, b) + alpha_1 sum kappa_1: the count must match its
    # integral, not that of the linear intensity (many standard deviations off)
    from scipy import integrate

    from skdeep.utils._truncnorm import truncnorm_cdf, truncnorm_pdf

    params = dict(INHIBITION, alpha=[0.8, -0.35])
    X, truth = make_driven_events(n_realisations=10, end_time=200.0,
                                  isi=(0.1, 0.2), random_state=0, **params)
    grid = np.linspace(0.0, 200.0, 400001)
    clipped, linear = 0.0, 0.0
    for _, excitatory, inhibitory in X:
        b = np.full(grid.size, truth["baseline"])
        idx, delay = find_pairs(grid, inhibitory, 0.03, 0.8)
        np.add.at(b, idx, -0.35 * truncnorm_pdf(delay, 0.3, 0.15, 0.03, 0.8))
        children = 0.8 * truncnorm_cdf(200.0 - excitatory, 0.4, 0.1, 0.03,
                                       0.8).sum()
        clipped += integrate.trapezoid(np.maximum(b, 0.0), grid) + children
        linear += integrate.trapezoid(b, grid) + children
    observed = sum(target.size for target, _, _ in X)
    assert abs(observed - clipped) < 3 * np.sqrt(clipped)
    assert abs(linear - clipped) > 10 * np.sqrt(clipped)
