"""Tests of DriPP: recovery on simulated data, EM properties, bad inputs and what
scikit-learn's checks cannot run on lists of realisations (GridSearchCV, metadata
routing); clone, pickling and determinism are in tests/test_common.py."""

import re

import numpy as np
import pytest
from scipy import integrate
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from skdeep.datasets import make_driven_events
from skdeep.metrics import intensity_error
from skdeep.point_process import DriPP, events_to_realisations
from skdeep.utils._event_pairs import find_pairs
from skdeep.utils._truncnorm import (
    truncnorm_cdf,
    truncnorm_log_mass,
    truncnorm_mass,
    truncnorm_pdf,
)

SUPPORT = dict(lower=0.03, upper=0.8)


def em_sums(target_idx, delay, driver, n_targets, baseline, alpha, mean, std, norm):
    """Reference E-step of DriPP and the sufficient sums of its M-step, in NumPy.

    ``norm[p]`` is ``1 / (std_p sqrt(2 pi) Z_p)``; pairs may come in any order.

    Returns
    -------
    sum_log_lam : float
        ``sum_i log lambda(t_i)``, the event part of the log-likelihood.
    resp_base : float
        ``sum_i P_i0``, the responsibilities of the baseline.
    resp, resp_delay, resp_sq : ndarray of shape (n_drivers,)
        ``sum P_ij^p``, ``sum P_ij^p (t_i - t_j^p)`` and
        ``sum P_ij^p (t_i - t_j^p - m_p)^2`` per driver.
    """
    centred = delay - mean[driver]
    value = alpha[driver] * norm[driver] * np.exp(-0.5 * (centred / std[driver]) ** 2)
    lam = baseline + np.bincount(target_idx, weights=value, minlength=n_targets)
    resp_pair = value / lam[target_idx]

    def per_driver(weights):
        return np.bincount(driver, weights=weights, minlength=alpha.size)

    return (
        np.log(lam).sum(),
        baseline * np.sum(1.0 / lam),
        per_driver(resp_pair),
        per_driver(resp_pair * delay),
        per_driver(resp_pair * centred**2),
    )


def _fit(end_time, seed, **params):
    X, truth = make_driven_events(end_time=end_time, random_state=seed)
    model = DriPP(**SUPPORT, **params).fit(X, end_time=end_time)
    return X, truth, model


# -- recovery -------------------------------------------------------------------


def test_recovery_error_decreases_with_duration():
    # the paper's setting (Fig. 2): P=2, mu=0.8, alpha=0.8, m=0.4,
    # sigma=(0.2, 0.05), support [0.03, 0.8]; error ~0.03 at T=1e4 s
    errors = {}
    for end_time in (100.0, 1000.0, 10000.0):
        errors[end_time] = np.mean(
            [intensity_error(*_fit(end_time, seed)[1:]) for seed in range(4)]
        )
    assert errors[100.0] > errors[1000.0] > errors[10000.0]
    assert errors[10000.0] < 0.05


def test_parameters_recovered_at_long_duration():
    _, truth, model = _fit(10000.0, seed=0)
    assert model.baseline_ == pytest.approx(truth["baseline"], rel=0.05)
    np.testing.assert_allclose(model.alpha_, truth["alpha"], rtol=0.05)
    np.testing.assert_allclose(model.kernel_mean_, truth["kernel_mean"], atol=0.02)
    np.testing.assert_allclose(model.kernel_std_, truth["kernel_std"], rtol=0.1)


def test_truncation_aware_m_step_is_unbiased():
    # a wide kernel (sigma=0.2) is cut by the support: the plain weighted std of
    # the delays is biased low, the truncation-aware update is not
    X, truth = make_driven_events(
        end_time=10000.0, n_drivers=1, alpha=1.5, kernel_std=0.2, random_state=3
    )
    model = DriPP(**SUPPORT).fit(X, end_time=10000.0)
    assert model.kernel_std_[0] == pytest.approx(0.2, rel=0.06)
    # the plain responsibility-weighted std at the fitted responsibilities
    norm = 1 / (model.kernel_std_ * np.sqrt(2 * np.pi) * truncnorm_mass(
        model.kernel_mean_, model.kernel_std_, **SUPPORT))
    idx, delay = find_pairs(X[0][0], X[0][1], **SUPPORT)
    _, _, resp, _, resp_sq = em_sums(
        idx, delay, np.zeros(idx.size, dtype=np.int64), X[0][0].size,
        model.baseline_, model.alpha_, model.kernel_mean_, model.kernel_std_, norm,
    )
    assert np.sqrt(resp_sq[0] / resp[0]) < 0.18


def test_truncation_aware_mean_update_is_unbiased():
    # a kernel near the start of the support loses its left tail: the plain
    # weighted mean of the delays is biased high, the truncation-aware one is not
    X, _ = make_driven_events(end_time=10000.0, n_drivers=1, alpha=1.5,
                              kernel_mean=0.2, kernel_std=0.2, random_state=0)
    model = DriPP(**SUPPORT).fit(X, end_time=10000.0)
    assert model.kernel_mean_[0] == pytest.approx(0.2, abs=0.01)
    norm = 1 / (model.kernel_std_ * np.sqrt(2 * np.pi) * truncnorm_mass(
        model.kernel_mean_, model.kernel_std_, **SUPPORT))
    idx, delay = find_pairs(X[0][0], X[0][1], **SUPPORT)
    _, _, resp, resp_delay, _ = em_sums(
        idx, delay, np.zeros(idx.size, dtype=np.int64), X[0][0].size,
        model.baseline_, model.alpha_, model.kernel_mean_, model.kernel_std_, norm,
    )
    assert resp_delay[0] / resp[0] > 0.24


def test_several_realisations_share_parameters():
    X, truth = make_driven_events(n_realisations=10, end_time=1000.0, random_state=1)
    model = DriPP(**SUPPORT).fit(X, end_time=1000.0)
    assert intensity_error(truth, model) < 0.06


# -- EM properties ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_negative_loglik_decreases_along_em(seed):
    _, _, model = _fit(2000.0, seed)
    curve = model.loss_curve_
    assert curve.shape == (model.n_iter_,)
    assert curve.dtype == np.float64 and np.all(np.isfinite(curve))
    assert np.all(np.diff(curve) <= 1e-7 * np.abs(curve[1:]))
    assert curve[-1] < curve[0]


def test_loss_curve_matches_score_samples():
    X, _, model = _fit(500.0, seed=0)
    np.testing.assert_allclose(
        -model.loss_curve_[-1], model.score_samples(X, end_time=500.0).sum()
    )


def test_em_update_matches_reference_sums():
    # one EM pass of the compiled kernels from the fitted parameters, against the
    # plain NumPy E-step: log-likelihood and the closed-form mu and alpha updates
    end_time = 500.0
    X, _, model = _fit(end_time, seed=1)
    # the fit runs in units of upper - lower: lambda is then times that unit
    events, params, unit = model._events(X, end_time)
    work = (np.empty(events.delay.size), np.empty(events.n_covered),
            np.empty(events.n_covered))
    loglik, baseline, alpha, _, _ = model._em_iteration(events, params, work)
    target, *drivers = X[0]
    loglik -= target.size * np.log(unit)
    baseline /= unit
    pairs = [find_pairs(target, driver, **SUPPORT) for driver in drivers]
    mean, std = model.kernel_mean_, model.kernel_std_
    norm = 1 / (std * np.sqrt(2 * np.pi) * truncnorm_mass(mean, std, **SUPPORT))
    sum_log_lam, resp_base, resp, _, _ = em_sums(
        np.concatenate([idx for idx, _ in pairs]),
        np.concatenate([delay for _, delay in pairs]),
        np.repeat(np.arange(len(drivers)), [idx.size for idx, _ in pairs]),
        target.size, model.baseline_, model.alpha_, mean, std, norm,
    )
    # expected number of children per unit alpha: sum_j K_p(T - t_j^p)
    n_eff = np.array([
        truncnorm_cdf(end_time - driver, m, s, **SUPPORT).sum()
        for driver, m, s in zip(drivers, mean, std)
    ])
    compensator = model.baseline_ * end_time + model.alpha_ @ n_eff
    assert loglik == pytest.approx(sum_log_lam - compensator, rel=1e-10)
    assert baseline == pytest.approx(resp_base / end_time, rel=1e-10)
    np.testing.assert_allclose(alpha, resp / n_eff, rtol=1e-10)


def test_score_samples_matches_numerical_likelihood():
    X, truth = make_driven_events(end_time=60.0, random_state=0)
    model = DriPP(**SUPPORT).fit(X, end_time=60.0)
    target, *drivers = X[0]
    grid = np.linspace(0, 60.0, 600001)
    compensator = integrate.trapezoid(model.intensity(grid, drivers), grid)
    expected = np.log(model.intensity(target, drivers)).sum() - compensator
    assert model.score_samples(X, end_time=60.0)[0] == pytest.approx(
        expected, rel=1e-4
    )
    assert model.predict(X, end_time=60.0)[0] == pytest.approx(compensator, rel=1e-4)


def test_predict_counts_match_simulation():
    X, truth = make_driven_events(n_realisations=20, end_time=200.0, random_state=4)
    model = DriPP(**SUPPORT).fit(X, end_time=200.0)
    predicted = model.predict(X, end_time=200.0)
    observed = np.array([realisation[0].size for realisation in X])
    # the fit matches the total count, and each realisation up to Poisson noise
    assert predicted.sum() == pytest.approx(observed.sum(), rel=0.01)
    assert np.all(np.abs(predicted - observed) < 5 * np.sqrt(predicted))


def test_random_init_uses_random_state_and_converges_near_smart_start():
    X, truth = make_driven_events(end_time=5000.0, random_state=2)
    smart = DriPP(**SUPPORT).fit(X, end_time=5000.0)
    first = DriPP(**SUPPORT, init="random", random_state=0).fit(X, end_time=5000.0)
    second = DriPP(**SUPPORT, init="random", random_state=0).fit(X, end_time=5000.0)
    np.testing.assert_array_equal(first.loss_curve_, second.loss_curve_)
    # smart start is better (still after the first EM iteration)
    assert first.loss_curve_[0] > smart.loss_curve_[0]
    assert intensity_error(smart, first) < 0.02


def test_convergence_warning_and_verbose(capsys):
    X, _ = make_driven_events(end_time=300.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = DriPP(**SUPPORT, max_iter=2, tol=0.0, verbose=1).fit(X)
    assert model.n_iter_ == 2
    assert model.loss_curve_.shape == (2,)
    out = capsys.readouterr().out
    assert re.search(r"\[DriPP\] iteration +2 +loss", out)
    assert "stopped at max_iter" in out


def test_intensity():
    X, _, model = _fit(300.0, seed=0)
    drivers = [np.array([1.0]), np.array([5.0])]
    t = np.array([5.4, 0.5, 1.4, 7.0])
    expected = model.baseline_ + np.array(
        [
            model.alpha_[1] * model.kernel(np.array([0.4]))[1, 0],
            0.0,
            model.alpha_[0] * model.kernel(np.array([0.4]))[0, 0],
            0.0,
        ]
    )
    np.testing.assert_allclose(model.intensity(t, drivers), expected)


# -- events converter -----------------------------------------------------------


def test_events_to_realisations():
    events = np.array(
        [[1100, 0, 1], [1130, 0, 5], [1300, 0, 2], [1320, 0, 5], [1400, 0, 3]]
    )
    X = events_to_realisations(
        [events, events], sfreq=100.0, target_id=5, driver_ids=[1, [2, 3]],
        first_samp=1000,
    )
    assert len(X) == 2
    expected = [[1.3, 3.2], [1.0], [3.0, 4.0]]
    for times, want in zip(X[0], expected):
        np.testing.assert_allclose(times, want)
    DriPP(upper=0.5).fit(X, end_time=5.0)
    with pytest.raises(ValueError, match="shape"):
        events_to_realisations(events[:, :2], 100.0, 5, [1])
    with pytest.raises(ValueError, match="first_samp"):
        events_to_realisations(events, 100.0, 5, [1], first_samp=2000)


# -- bad inputs -----------------------------------------------------------------

GOOD = [np.array([0.5, 1.2, 2.0]), np.array([0.1, 1.0])]


@pytest.mark.parametrize(
    "X, end_time, match",
    [
        ([[np.array([1.0, 0.5]), np.array([0.1])]], None, "sorted"),
        ([[np.array([0.5, np.nan]), np.array([0.1])]], None, "NaN"),
        ([[np.array([0.5, 1.0]), np.array([np.inf])]], None, "infinite"),
        ([[np.array([-0.5, 1.0]), np.array([0.1])]], None, "negative"),
        ([GOOD], 1.5, "after end_time"),
        ([[np.array([0.5, 1.0])]], None, "no driver"),
        ([GOOD, [GOOD[0], GOOD[1], GOOD[1]]], None, "same number of drivers"),
        ([GOOD], [3.0, 4.0], "one float per realisation"),
        ([GOOD], -1.0, "positive"),
        ([], None, "at least one"),
        ([[np.zeros((2, 2)), np.array([0.1])]], None, "1-D"),
    ],
)
def test_bad_input_raises(X, end_time, match):
    with pytest.raises(ValueError, match=match):
        DriPP().fit(X, end_time=end_time)


def test_bad_input_types_and_params():
    with pytest.raises(TypeError, match="list of realisations"):
        DriPP().fit(np.ones((3, 2)))
    with pytest.raises(TypeError, match="wrap it in a list"):
        DriPP().fit(GOOD)
    with pytest.raises(ValueError, match="lower must be smaller than upper"):
        DriPP(lower=0.5, upper=0.5).fit([GOOD])
    with pytest.raises(ValueError, match="lower"):
        DriPP(lower=-0.1).fit([GOOD])
    with pytest.raises(ValueError, match="init"):
        DriPP(init="kmeans").fit([GOOD])
    model = DriPP().fit([GOOD])
    with pytest.raises(ValueError, match="fitted with 1"):
        model.score([[GOOD[0], GOOD[1], GOOD[1]]])
    with pytest.raises(ValueError, match="drivers must hold 1"):
        model.intensity([1.0], [GOOD[1], GOOD[1]])


# -- scikit-learn contract ------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    X, truth = make_driven_events(n_realisations=6, end_time=300.0, random_state=0)
    return X, np.full(len(X), 300.0), truth


def test_tags_and_parameter_validation(data):
    # Clone, pickling, determinism and untouched inputs are checked for DriPP
    # with every other estimator in tests/test_common.py.
    X, end_time, _ = data
    assert DriPP().__sklearn_tags__().input_tags.two_d_array is False
    with pytest.raises(ValueError, match="lower"):
        DriPP(lower=0.5, upper=0.5).fit(X, end_time=end_time)
    with pytest.raises(ValueError, match="max_iter"):
        DriPP(max_iter=0).fit(X, end_time=end_time)


def test_score_is_loglik_per_unit_time(data):
    X, end_time, _ = data
    model = DriPP(**SUPPORT).fit(X, end_time=end_time)
    assert model.score(X, end_time=end_time) == pytest.approx(
        model.score_samples(X, end_time).sum() / end_time.sum()
    )


# a support that cuts the kernels has no finite optimum for their means: EM drifts
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_realisations(data):
    X, end_time, truth = data
    search = GridSearchCV(
        DriPP(lower=0.03), {"upper": [0.2, 0.8]}, cv=KFold(3)
    ).fit(X, end_time=end_time)
    # a support that cuts the kernels (true mass up to 0.8 s) fits worse
    assert search.best_params_ == {"upper": 0.8}
    assert search.best_estimator_.alpha_.shape == (2,)


# -- off-centre, strongly truncated kernels (issue 15) ----------------------------


def test_off_centre_truncated_kernels_recovered():
    # means near lower (0.08) and near upper (0.75) on [0.03, 0.8], sigma=0.15:
    # about 30 % of each kernel's Gaussian mass lies outside the support. Without
    # the truncation term of the mean update the means come out ~0.1 s inwards
    X, truth = make_driven_events(
        end_time=10000.0, alpha=[1.0, 1.0], kernel_mean=[0.08, 0.75],
        kernel_std=0.15, random_state=0,
    )
    model = DriPP(**SUPPORT).fit(X, end_time=10000.0)
    assert model.baseline_ == pytest.approx(truth["baseline"], rel=0.03)
    np.testing.assert_allclose(model.alpha_, truth["alpha"], rtol=0.05)
    np.testing.assert_allclose(model.kernel_mean_, truth["kernel_mean"], atol=0.03)
    np.testing.assert_allclose(model.kernel_std_, truth["kernel_std"], rtol=0.08)
    assert intensity_error(truth, model) < 0.05


def test_kernel_far_outside_support_is_finite():
    # the Gaussian mass of [0.03, 0.8] underflows for these kernels (ndtr
    # differences give 0); the log-space normaliser keeps a proper density
    x = np.linspace(0.03, 0.8, 200001)
    for mean, std in ((-5.0, 0.05), (40.0, 0.5), (0.03, 1e-5)):
        pdf = truncnorm_pdf(x, mean, std, 0.03, 0.8)
        assert np.all(np.isfinite(pdf))
        assert integrate.trapezoid(pdf, x) == pytest.approx(1.0, rel=1e-3)
        cdf = truncnorm_cdf(x, mean, std, 0.03, 0.8)
        assert np.all(np.diff(cdf) >= 0) and cdf[-1] == pytest.approx(1.0)
    assert truncnorm_mass(-5.0, 0.05, 0.03, 0.8) == 0.0  # underflows in float64
    assert np.isfinite(truncnorm_log_mass(-5.0, 0.05, 0.03, 0.8))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("bound", ["lower", "upper"])
def test_latencies_exactly_at_a_bound(bound):
    # every response exactly at the bound: the maximum likelihood kernel piles up
    # there (sigma -> its floor). This raised ZeroDivisionError from the numba
    # kernels once the Gaussian mass of the support underflowed
    lower, upper = 0.03, 0.5
    driver = np.arange(1.0, 200.0, 1.3)
    latency = lower if bound == "lower" else upper
    for target in (driver + latency,
                   np.sort(np.concatenate([driver + latency, driver[::3] + 0.3]))):
        X = [[target, driver]]
        model = DriPP(lower=lower, upper=upper).fit(X, end_time=300.0)
        assert np.all(np.isfinite(model.loss_curve_))
        curve = model.loss_curve_
        assert np.all(np.diff(curve) <= 1e-7 * np.abs(curve[1:]))
        assert np.all(np.isfinite(model.score_samples(X, end_time=300.0)))
        assert np.all(np.isfinite(model.predict(X, end_time=300.0)))
    # the pure case: each stimulus answered once, exactly at the bound
    model = DriPP(lower=lower, upper=upper).fit([[driver + latency, driver]],
                                                end_time=300.0)
    assert model.alpha_[0] == pytest.approx(1.0, rel=0.01)
    assert model.kernel_mean_[0] == pytest.approx(latency, abs=1e-3)
    idx, delay = find_pairs(driver + latency, driver, lower, upper)
    assert idx.size == driver.size and np.all((delay >= lower) & (delay <= upper))


# -- inhibitory drivers (alpha_pos=False) ------------------------------------------

INHIBITION = dict(n_drivers=2, baseline=1.0, alpha=[0.8, -0.3],
                  kernel_mean=[0.4, 0.3], kernel_std=[0.1, 0.15])


# the excitatory-only comparison fit drifts on the inhibited driver
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("seed", [0, 2])
def test_inhibitory_driver_recovered(seed):
    X, truth = make_driven_events(end_time=5000.0, random_state=seed, **INHIBITION)
    model = DriPP(**SUPPORT, alpha_pos=False).fit(X, end_time=5000.0)
    assert model.baseline_ == pytest.approx(1.0, rel=0.05)
    np.testing.assert_allclose(model.alpha_, truth["alpha"], atol=0.05)
    assert model.alpha_[1] < -0.2
    np.testing.assert_allclose(model.kernel_mean_, truth["kernel_mean"], atol=0.05)
    np.testing.assert_allclose(model.kernel_std_, truth["kernel_std"], rtol=0.2)
    curve = model.loss_curve_
    assert np.all(np.diff(curve) <= 1e-9 * np.abs(curve[1:]))
    # the intensity stays non-negative everywhere, and the fit beats the
    # excitatory-only model, which can only set the inhibition to 0
    drivers = X[0][1:]
    grid = np.linspace(0, 5000.0, 500001)
    assert model.intensity(grid, drivers).min() >= 0
    excitatory = DriPP(**SUPPORT).fit(X, end_time=5000.0)
    assert excitatory.alpha_[1] == pytest.approx(0.0, abs=0.03)
    assert model.score(X, end_time=5000.0) > excitatory.score(X, end_time=5000.0) + 0.02


def test_alpha_pos_false_matches_em_on_excitatory_data():
    X, truth = make_driven_events(end_time=5000.0, random_state=1)
    free = DriPP(**SUPPORT, alpha_pos=False).fit(X, end_time=5000.0)
    paper = DriPP(**SUPPORT).fit(X, end_time=5000.0)
    assert intensity_error(paper, free) < 0.01
    assert np.all(free.alpha_ > 0)


# -- end_time through metadata routing ---------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_scores_each_fold_on_its_own_end_time(data):
    import sklearn

    X, _, _ = data
    # each realisation observed on its own window, longer than its last event
    end_time = 300.0 + np.linspace(5.0, 60.0, len(X))
    cv = KFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            DriPP(lower=0.03), {"upper": [0.5, 0.8]}, cv=cv
        ).fit(X, end_time=end_time)
    for k, (train, test) in enumerate(cv.split(X)):
        for c, params in enumerate(search.cv_results_["params"]):
            model = DriPP(lower=0.03, **params).fit(
                [X[i] for i in train], end_time=end_time[train]
            )
            X_test = [X[i] for i in test]
            own = model.score(X_test, end_time=end_time[test])
            guessed = model.score(X_test)
            assert search.cv_results_[f"split{k}_test_score"][c] == pytest.approx(own)
            assert abs(own - guessed) > 1e-3
    assert DriPP().get_metadata_routing().score.requests == {"end_time": True}


# -- more bad inputs (issue 15) ----------------------------------------------------


def test_clear_errors_for_malformed_times():
    with pytest.raises(TypeError, match="complex"):
        DriPP().fit([[GOOD[0] + 0j, GOOD[1]]])
    with pytest.raises(TypeError, match="wrap it in a list"):
        DriPP().fit([[0.5, 1.2, 2.0], [0.1, 1.0]])
    with pytest.raises(TypeError, match="wrap it in a list"):
        DriPP().fit([list(GOOD[0]), list(GOOD[1])])
    model = DriPP().fit([GOOD])
    with pytest.raises(ValueError, match="fitted with 1"):
        model.predict([[GOOD[0], GOOD[1], GOOD[1]]])
    with pytest.raises(TypeError, match="complex"):
        model.score([[GOOD[0], GOOD[1] * 1j]])


def test_user_initial_parameters():
    X, truth = make_driven_events(end_time=3000.0, random_state=5)
    smart = DriPP(**SUPPORT).fit(X, end_time=3000.0)
    user = DriPP(**SUPPORT, init=truth).fit(X, end_time=3000.0)
    assert intensity_error(smart, user) < 0.02
    # started at the truth, the first EM value is better than the smart start's
    assert user.loss_curve_[0] < smart.loss_curve_[0]
    init = dict(baseline=0.5, alpha=0.5, kernel_mean=0.3, kernel_std=0.1)
    model = DriPP(**SUPPORT, init=init, max_iter=1, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, end_time=3000.0)
    with pytest.raises(ValueError, match="missing"):
        DriPP(init={"baseline": 1.0}).fit([GOOD])
    with pytest.raises(ValueError, match="one per driver"):
        DriPP(init=dict(init, alpha=[1.0, 2.0, 3.0])).fit(X)
    with pytest.raises(ValueError, match="non-negative with alpha_pos"):
        DriPP(init=dict(init, alpha=-0.5)).fit(X)
    with pytest.raises(ValueError, match="kernel_std"):
        DriPP(init=dict(init, kernel_std=0.0)).fit(X)
