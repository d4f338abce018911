"""DriPP at any time unit, with overlapping inhibitory drivers, and before fit."""

import numpy as np
import pytest
from scipy import integrate
from sklearn.exceptions import NotFittedError

from skdeep.datasets import make_driven_events
from skdeep.point_process import DriPP
from skdeep.point_process._events import _Events
from skdeep.point_process._inhibition import NegativePart
from skdeep.utils._truncnorm import truncnorm_pdf

INHIBITION = dict(n_drivers=2, baseline=1.0, alpha=[0.8, -0.3],
                  kernel_mean=[0.4, 0.3], kernel_std=[0.1, 0.15])


def _scaled(X, c):
    return [[times * c for times in realisation] for realisation in X]


@pytest.mark.parametrize("alpha_pos", [True, False])
def test_fit_does_not_depend_on_the_time_unit(alpha_pos):
    # times, lower, upper and end_time in another unit (x c): the intensity and
    # the kernel density scale as 1 / c, alpha (events per driver event) not,
    # the log-likelihood moves by -n_events log(c), and the EM path is the same
    params = INHIBITION if not alpha_pos else {}
    X, _ = make_driven_events(end_time=300.0, random_state=0, **params)
    n_events = X[0][0].size
    ref = DriPP(lower=0.03, upper=0.8, alpha_pos=alpha_pos).fit(X, end_time=300.0)
    ref_score = ref.score_samples(X, end_time=300.0)
    assert alpha_pos or ref.alpha_[1] < 0
    # the Newton steps of alpha_pos=False take finite differences, which amplify
    # the rounding of the scaled times to ~1e-6 along the path and ~1e-8 on the
    # fit (the log-likelihood, flat there, to 1e-9); the EM's closed forms do not
    rtol, path_rtol = (1e-9, 1e-9) if alpha_pos else (1e-6, 1e-5)
    for c in (1e-300, 1e-6, 1e-3, 7.3, 1e3, 1e6, 1e300):
        Xc = _scaled(X, c)
        model = DriPP(lower=0.03 * c, upper=0.8 * c, alpha_pos=alpha_pos).fit(
            Xc, end_time=300.0 * c)
        assert model.n_iter_ == ref.n_iter_
        assert model.baseline_ * c == pytest.approx(ref.baseline_, rel=rtol)
        np.testing.assert_allclose(model.alpha_, ref.alpha_, rtol=rtol)
        np.testing.assert_allclose(model.kernel_mean_ / c, ref.kernel_mean_,
                                   rtol=rtol)
        np.testing.assert_allclose(model.kernel_std_ / c, ref.kernel_std_,
                                   rtol=rtol)
        shift = n_events * np.log(c)
        np.testing.assert_allclose(model.loss_curve_ - shift, ref.loss_curve_,
                                   rtol=path_rtol)
        assert model.loss_curve_[-1] - shift == pytest.approx(ref.loss_curve_[-1],
                                                              rel=1e-9)
        np.testing.assert_allclose(
            model.score_samples(Xc, end_time=300.0 * c) + shift, ref_score,
            rtol=rtol)
        np.testing.assert_allclose(model.predict(Xc, end_time=300.0 * c),
                                   ref.predict(X, end_time=300.0), rtol=rtol)


def test_tiny_support_fits_and_tiny_init_std_raises():
    X, truth = make_driven_events(end_time=50, random_state=0)
    # a support of 1e-300 s holds no (target, driver) pair: the drivers explain
    # nothing and the baseline is the rate of the target
    model = DriPP(lower=0, upper=1e-300).fit(X, end_time=truth["end_time"])
    assert model.baseline_ == pytest.approx(X[0][0].size / 50, rel=1e-6)
    np.testing.assert_array_equal(model.alpha_, 0.0)
    assert np.all(np.isfinite(model.kernel_mean_))
    assert np.all((model.kernel_std_ > 0) & (model.kernel_std_ < 1e-300))
    init = dict(baseline=0.5, alpha=0.5, kernel_mean=0.2, kernel_std=1e-300)
    with pytest.raises(ValueError, match=r"init\['kernel_std'\] must be at least"):
        DriPP(init=init).fit(X, end_time=truth["end_time"])
    # the same start in a unit where it is not below the floor
    c = 1e-300
    model = DriPP(lower=0.03 * c, upper=0.8 * c, init=dict(init, baseline=0.5 / c,
                  kernel_mean=0.2 * c, kernel_std=0.1 * c)).fit(
        _scaled(X, c), end_time=50 * c)
    assert np.all(np.isfinite(model.loss_curve_))


def test_every_public_method_before_fit():
    X, truth = make_driven_events(end_time=50, random_state=0)
    model = DriPP()
    for call in (lambda: model.predict(X), lambda: model.score(X),
                 lambda: model.score_samples(X), lambda: model.kernel([0.1]),
                 lambda: model.intensity([0.1], X[0][1:])):
        with pytest.raises(NotFittedError):
            call()


# -- inhibition with overlapping supports ------------------------------------------


def test_inhibition_recovered_with_overlapping_drivers():
    # stimuli every 0.3-0.6 s with a 0.77 s support: up to three supports of the
    # inhibitory driver overlap, and the excitatory driver's overlap them. A
    # bound that counts every overlapping kernel at its peak kept alpha above
    # -0.13 here; the clipped model reaches the truth
    X, truth = make_driven_events(end_time=3000.0, random_state=0, isi=(0.3, 0.6),
                                  **INHIBITION)
    model = DriPP(lower=0.03, upper=0.8, alpha_pos=False).fit(X, end_time=3000.0)
    np.testing.assert_allclose(model.alpha_, truth["alpha"], atol=0.05)
    # the supports cover most of the window: the baseline is known less well
    # than the inhibition it is traded against (within 0.075 over seeds 0-5)
    assert model.baseline_ == pytest.approx(1.0, rel=0.1)
    np.testing.assert_allclose(model.kernel_mean_, truth["kernel_mean"], atol=0.03)
    np.testing.assert_allclose(model.kernel_std_, truth["kernel_std"], rtol=0.15)
    curve = model.loss_curve_
    assert np.all(np.diff(curve) <= 1e-9 * np.abs(curve[1:]))
    # better than the excitatory-only model, which can only set alpha to 0
    excitatory = DriPP(lower=0.03, upper=0.8).fit(X, end_time=3000.0)
    assert model.score(X, end_time=3000.0) > excitatory.score(X, end_time=3000.0)


def _brute_force_negative_part(drivers, baseline, alpha, mean, std, lower, upper,
                               end):
    grid = np.linspace(0.0, end, 2_000_001)
    b = np.full(grid.size, baseline)
    for p, driver in enumerate(drivers):
        if alpha[p] >= 0:
            continue
        for t in driver:
            sel = (grid >= t + lower) & (grid <= t + upper)
            b[sel] += alpha[p] * truncnorm_pdf(grid[sel] - t, mean[p], std[p],
                                               lower, upper)
    return integrate.trapezoid(np.maximum(-b, 0.0), grid)


def test_clipped_part_of_the_compensator():
    # three close stimuli of an inhibitory driver: 0.3 + 0.8 events suppressed
    # each, their kernels overlap and b goes well below 0 between them; the
    # compensator adds int max(0, -b), here against a dense quadrature
    drivers = [np.array([1.0, 1.1, 1.25, 4.0]), np.array([2.0, 2.05])]
    data = [(np.array([0.5, 3.0]), drivers)]
    events = _Events(data, np.array([6.0]), 0.0, 1.0)
    part = NegativePart(data, events)
    baseline, mean, std = 1.0, np.array([0.3, 0.4]), np.array([0.1, 0.15])
    # -0.2: one kernel alone (peak 4) leaves b >= 0.2, only the overlap of the
    # three supports drives it below 0; -0.05: never clipped
    for alpha, clipped in (([-0.3, 0.8], True), ([-0.2, 0.8], True),
                           ([-0.3, -0.2], True), ([-0.05, 0.5], False)):
        alpha = np.array(alpha)
        expected = _brute_force_negative_part(drivers, baseline, alpha, mean, std,
                                              0.0, 1.0, 6.0)
        assert (expected > 1e-3) == clipped
        got = part(baseline, alpha, mean, std)[0]
        assert got == pytest.approx(expected, rel=0.01, abs=1e-9)
    # the fitted model's compensator is the integral of its (clipped) intensity
    X, truth = make_driven_events(end_time=60.0, random_state=1, isi=(0.2, 0.3),
                                  **INHIBITION)
    model = DriPP(lower=0.03, upper=0.8, alpha_pos=False)
    model.baseline_, model.kernel_mean_, model.kernel_std_ = (
        truth["baseline"], truth["kernel_mean"], truth["kernel_std"])
    model.alpha_ = np.array([0.8, -0.6])  # deep: b < 0 on part of the window
    model.n_drivers_ = 2
    grid = np.linspace(0, 60.0, 1_200_001)
    lam = model.intensity(grid, X[0][1:])
    assert lam.min() == 0.0
    compensator = integrate.trapezoid(lam, grid)
    assert model.predict(X, end_time=60.0)[0] == pytest.approx(compensator,
                                                               rel=2e-3)
    events = np.log(model.intensity(X[0][0], X[0][1:])).sum()
    assert model.score_samples(X, end_time=60.0)[0] == pytest.approx(
        events - compensator, rel=2e-3)
