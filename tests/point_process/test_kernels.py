"""Tests of the truncated-Gaussian kernel of DriPP, the event pairs in its
support and the measure of the union of supports."""

import numpy as np
import pytest
from scipy import integrate

from skdeep.point_process._kernels import union_measure
from skdeep.utils._event_pairs import find_pairs
from skdeep.utils._truncnorm import truncnorm_cdf, truncnorm_pdf


def test_truncated_kernel_integrates_to_one():
    x = np.linspace(0.03, 0.8, 20001)
    for mean, std in ((0.4, 0.2), (0.1, 0.05), (0.9, 0.3)):
        pdf = truncnorm_pdf(x, mean, std, 0.03, 0.8)
        assert integrate.trapezoid(pdf, x) == pytest.approx(1.0, rel=1e-6)
        assert truncnorm_cdf(0.8, mean, std, 0.03, 0.8) == pytest.approx(1.0)
    assert truncnorm_pdf(np.array([0.0, 0.9]), 0.4, 0.2, 0.03, 0.8).sum() == 0


def test_find_pairs_matches_brute_force():
    rng = np.random.RandomState(0)
    target = np.sort(rng.uniform(0, 50, 200))
    driver = np.sort(rng.uniform(0, 50, 60))
    idx, delay = find_pairs(target, driver, 0.03, 0.8)
    diff = target[:, None] - driver[None, :]
    expected = sorted(diff[(diff >= 0.03) & (diff <= 0.8)].tolist())
    np.testing.assert_allclose(sorted(delay.tolist()), expected)
    np.testing.assert_allclose(target[idx] - delay, np.round(target[idx] - delay, 12))


def test_union_measure():
    starts = np.array([0.0, 0.5, 3.0, 9.5])
    assert union_measure(starts, 1.0, 10.0) == pytest.approx(1.5 + 1.0 + 0.5)
