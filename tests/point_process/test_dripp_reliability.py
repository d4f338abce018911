"""Bad supports, the inhibition floor and DriPP before fit."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skdeep.datasets import make_driven_events
from skdeep.point_process import DriPP
from skdeep.point_process._inhibition import (
    _kernel_peaks,
    floor_bound,
    project_feasible,
)


def test_tiny_support_and_tiny_init_std_raise():
    X, truth = make_driven_events(end_time=50, random_state=0)
    with pytest.raises(ValueError, match="upper - lower must be at least"):
        DriPP(lower=0, upper=1e-300).fit(X, end_time=truth["end_time"])
    init = dict(baseline=0.5, alpha=0.5, kernel_mean=0.2, kernel_std=1e-300)
    with pytest.raises(ValueError, match=r"init\['kernel_std'\] must be at least"):
        DriPP(init=init).fit(X, end_time=truth["end_time"])


def test_every_public_method_before_fit():
    X, truth = make_driven_events(end_time=50, random_state=0)
    model = DriPP()
    for call in (lambda: model.predict(X), lambda: model.score(X),
                 lambda: model.score_samples(X), lambda: model.kernel([0.1]),
                 lambda: model.intensity([0.1], X[0][1:])):
        with pytest.raises(NotFittedError):
            call()


def test_inhibition_floor_counts_overlapping_supports():
    # b(t) >= mu + sum_{alpha_q < 0} alpha_q c_q max kappa_q, with c_q the
    # most overlapping events of driver q: written out for c = (3, 2).
    mean, std = np.array([0.2, 0.3]), np.array([0.05, 0.1])
    alpha, overlap = np.array([-0.1, 0.4]), np.array([3, 2])
    peaks = _kernel_peaks(mean, std, 0.0, 0.5)
    expected = 2.0 + (-0.1) * 3 * peaks[0]
    np.testing.assert_allclose(
        floor_bound(2.0, alpha, mean, std, overlap, 0.0, 0.5), expected)
    # a start deeper than mu / 2 is shrunk to exactly mu / 2, overlap included
    deep = np.array([-1.0, 0.4])
    shrunk = project_feasible(1.0, deep, mean, std, overlap, 0.0, 0.5)
    np.testing.assert_allclose(-shrunk[0] * 3 * peaks[0], 0.5)
    assert shrunk[1] == 0.4
