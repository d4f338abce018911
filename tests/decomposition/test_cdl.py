import copy
import re

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from skdeep.datasets import make_cdl_signals
from skdeep.decomposition import CDLTransformer
from skdeep.decomposition._lgcd import _lgcd_batch, compute_DtD, compute_DtX
from skdeep.metrics import dictionary_recovery_score


@pytest.fixture(scope="module")
def signals():
    return make_cdl_signals(
        n_trials=6, n_channels=3, n_times=800, n_atoms=2, n_times_atom=32,
        noise_level=0.05, random_state=1,
    )


@pytest.fixture(scope="module")
def fitted(signals):
    X = signals[0]
    return CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.1, random_state=0).fit(X)


@pytest.mark.parametrize("rank1", [True, False])
def test_recovers_simulated_atoms(signals, rank1):
    X, u, v, _ = signals
    cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2, rank1=rank1,
                         random_state=0).fit(X)
    D_true = u[:, :, None] * v[:, None, :]
    assert dictionary_recovery_score(D_true, cdl.D_hat_) >= 0.95
    # rank-1 atoms have unit-norm factors, full-rank atoms lie in the unit ball
    assert np.all(np.linalg.norm(cdl.D_hat_.reshape(2, -1), axis=1) <= 1 + 1e-10)


def test_activations_located(signals, fitted):
    X, _, v, z_true = signals
    z_est = fitted.transform_activations(X)
    L = v.shape[1]
    found = total = 0
    for k in range(v.shape[0]):
        corr = [np.abs(np.correlate(v_est, v[k], "full")) for v_est in fitted.v_hat_]
        j = int(np.argmax([c.max() for c in corr]))
        lag = int(np.argmax(corr[j])) - (L - 1)
        for n, t in zip(*np.nonzero(z_true[:, k])):
            lo, hi = max(0, t - lag - 3), max(0, t - lag + 4)
            total += 1
            found += z_est[n, j, lo:hi].sum() > 0.5 * z_true[n, k, t]
    # all but a few overlapping events are found within 3 samples
    assert found / total >= 0.9


def test_objective_decreases(signals, fitted):
    pobj = fitted.pobj_
    assert pobj.shape == (2 * fitted.n_iter_ + 1,)
    assert np.all(np.diff(pobj) <= 1e-10 * pobj[0])
    assert pobj[-1] < 0.6 * pobj[0]
    # one value per iteration: the objective after each d-step
    curve = fitted.loss_curve_
    assert curve.shape == (fitted.n_iter_,)
    assert curve.dtype == np.float64 and np.all(np.isfinite(curve))
    np.testing.assert_array_equal(curve, pobj[2::2])


def _conv_matrix(D, n_times):
    """Columns: the atoms placed at every valid time, for the reference solve."""
    n_atoms, n_channels, L = D.shape
    n_valid = n_times - L + 1
    A = np.zeros((n_channels * n_times, n_atoms * n_valid))
    for k in range(n_atoms):
        for t in range(n_valid):
            col = np.zeros((n_channels, n_times))
            col[:, t : t + L] = D[k]
            A[:, k * n_valid + t] = col.ravel()
    return A


def test_lgcd_matches_reference_solve():
    rng = np.random.RandomState(0)
    D = rng.standard_normal((2, 2, 5))
    X = rng.standard_normal((1, 2, 40))
    lam = 0.5
    DtX = compute_DtX(X, D)
    DtD = compute_DtD(D)
    norm_D = np.diagonal(DtD[:, :, 4]).copy()
    z = np.zeros_like(DtX)
    _, converged = _lgcd_batch(DtX, DtD, norm_D, np.full(2, lam), z, np.array([1e-13]),
                               10**6)
    assert converged.all()
    A = _conv_matrix(D, 40)
    ref = Lasso(alpha=lam / A.shape[0], positive=True, fit_intercept=False,
                tol=1e-14, max_iter=10**6).fit(A, X.ravel())
    np.testing.assert_allclose(z.ravel(), ref.coef_, atol=1e-6)
    assert np.count_nonzero(ref.coef_) > 3


def test_warm_start_gives_same_solution():
    rng = np.random.RandomState(0)
    D = rng.standard_normal((2, 1, 4))
    X = rng.standard_normal((2, 1, 60))
    DtX, DtD = compute_DtX(X, D), compute_DtD(D)
    norm_D = np.diagonal(DtD[:, :, 3]).copy()
    tol = np.full(2, 1e-13)
    z_cold = np.zeros_like(DtX)
    _lgcd_batch(DtX, DtD, norm_D, np.full(2, 0.3), z_cold, tol, 10**6)
    z_warm = np.abs(rng.standard_normal(DtX.shape))
    _lgcd_batch(DtX, DtD, norm_D, np.full(2, 0.3), z_warm, tol, 10**6)
    np.testing.assert_allclose(z_warm, z_cold, atol=1e-8)


def test_transform_outputs_and_inverse(signals, fitted):
    X = signals[0]
    z = fitted.transform_activations(X)
    assert z.shape == (6, 2, 800 - 32 + 1)
    assert np.all(z >= 0)
    maxpool = copy.deepcopy(fitted).set_params(pooling="max", n_windows=1,
                                                include_baseline=False)
    np.testing.assert_allclose(maxpool.transform(X), z.max(axis=2))
    X_rec = fitted.inverse_transform(z)
    assert X_rec.shape == X.shape
    # the l1 penalty shrinks the amplitudes a little: 20 % error at reg=0.1
    assert np.linalg.norm(X_rec - X) / np.linalg.norm(X) < 0.25
    for pooling, func in [("mean", np.mean), ("sum", np.sum)]:
        est = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.1, pooling=pooling,
                             n_windows=1, include_baseline=False,
                             random_state=0).fit(X)
        np.testing.assert_allclose(est.transform(X), func(z, axis=2))
    flat = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.1, pooling=None,
                          random_state=0).fit(X)
    features = flat.transform(X)
    assert features.shape == (6, 2 * 769)
    assert len(flat.get_feature_names_out()) == features.shape[1]
    np.testing.assert_allclose(flat.inverse_transform(features), X_rec)
    with pytest.raises(ValueError, match="Pooled features cannot be inverted"):
        fitted.inverse_transform(fitted.transform(X))
    # a longer signal with the same channels is encoded too
    long = np.concatenate([X[:1], X[1:2]], axis=2)
    assert fitted.transform_activations(long).shape == (1, 2, 1600 - 31)


def test_univariate_2d_equals_3d_with_one_channel():
    X, *_ = make_cdl_signals(n_trials=4, n_channels=1, n_times=300, n_atoms=2,
                             n_times_atom=16, random_state=0)
    params = dict(n_atoms=2, n_times_atom=16, max_iter=10, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        a = CDLTransformer(**params).fit(X[:, 0])
    with pytest.warns(ConvergenceWarning):
        b = CDLTransformer(**params).fit(X)
    np.testing.assert_array_equal(a.D_hat_, b.D_hat_)
    np.testing.assert_array_equal(a.transform(X[:, 0]), b.transform(X))
    assert a.inverse_transform(a.transform_activations(X[:, 0])).shape == (4, 300)


def test_n_jobs_and_seed_give_identical_results(signals):
    X = signals[0]
    params = dict(n_atoms=2, n_times_atom=32, max_iter=30, random_state=3)
    a = CDLTransformer(**params).fit(X)
    b = CDLTransformer(**params, n_jobs=2).fit(X)
    np.testing.assert_array_equal(a.D_hat_, b.D_hat_)
    np.testing.assert_array_equal(a.pobj_, b.pobj_)


def test_convergence_warning_and_verbose(signals, capsys):
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        CDLTransformer(n_atoms=2, n_times_atom=32, max_iter=1, verbose=1,
                       random_state=0).fit(signals[0])
    assert re.search(r"iteration +1 +loss", capsys.readouterr().out)


def test_max_iter_without_tol_warns_and_records_each_iteration(signals, capsys):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        cdl = CDLTransformer(n_atoms=2, n_times_atom=32, max_iter=2, tol=0.0,
                             verbose=1, random_state=0).fit(signals[0])
    assert cdl.n_iter_ == 2
    assert cdl.loss_curve_.shape == (2,)
    out = capsys.readouterr().out
    assert len(re.findall(r"\[CDLTransformer\] iteration +\d+ +loss", out)) == 2
    assert "stopped at max_iter after 2 iterations" in out


def test_all_zero_activations_stop_with_one_value(signals):
    # reg=1 is lambda_max of the initial atoms: no activation, one iteration
    with pytest.warns(UserWarning, match="all activations are zero"):
        cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=1.0,
                             random_state=0).fit(signals[0])
    assert cdl.n_iter_ == 1
    np.testing.assert_array_equal(cdl.loss_curve_, cdl.pobj_[2::2])


def test_bad_inputs(signals, fitted):
    X = signals[0]
    with pytest.raises(ValueError, match="n_times_atom=900 is longer"):
        CDLTransformer(n_times_atom=900).fit(X)
    X_nan = X.copy()
    X_nan[0, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CDLTransformer(n_times_atom=32).fit(X_nan)
    with pytest.raises(ValueError, match="infinity"):
        CDLTransformer(n_times_atom=32).fit(np.where(np.isnan(X_nan), np.inf, X))
    with pytest.raises(ValueError, match="got a 4-D array"):
        CDLTransformer(n_times_atom=32).fit(X[None])
    with pytest.raises(ValueError, match="X has 2 channels"):
        fitted.transform(X[:, :2])
    with pytest.raises(ValueError, match="fitted on signals with 3 channels"):
        fitted.transform(X[:, 0])
    for reg in [0.0, 1.5]:
        with pytest.raises(ValueError, match="'reg' parameter"):
            CDLTransformer(reg=reg, n_times_atom=32).fit(X)
    with pytest.raises(ValueError, match="'n_atoms' parameter"):
        CDLTransformer(n_atoms=0, n_times_atom=32).fit(X)
    with pytest.raises(ValueError, match="'pooling' parameter"):
        CDLTransformer(pooling="median", n_times_atom=32).fit(X)
    with pytest.raises(ValueError, match="shape"):
        fitted.inverse_transform(np.zeros((2, 3, 10)))


def test_input_not_mutated_and_float32(signals):
    X = signals[0][:2].astype(np.float32)
    X_before = X.copy()
    with pytest.warns(ConvergenceWarning):
        cdl = CDLTransformer(n_atoms=2, n_times_atom=32, max_iter=2,
                             random_state=0).fit(X)
    assert cdl.transform(X).dtype == np.float64
    np.testing.assert_array_equal(X, X_before)


# -- score: minus the sparse coding objective per trial --------------------------


def _objective_reference(X, z, D, lam):
    """0.5 ||X_n - sum_k z_nk * D_k||^2 + sum_k lam_k ||z_nk||_1 per trial, with
    the convolutions written out channel by channel."""
    out = []
    for Xn, zn in zip(X, z):
        model = np.zeros_like(Xn)
        for k in range(D.shape[0]):
            for c in range(D.shape[1]):
                model[c] += np.convolve(zn[k], D[k, c])
        out.append(0.5 * np.sum((Xn - model) ** 2) + np.sum(lam * zn.sum(axis=1)))
    return np.array(out)


@pytest.mark.parametrize("rank1", [True, False])
def test_score_is_minus_the_mean_sparse_coding_objective(signals, rank1):
    X = signals[0]
    cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.1, rank1=rank1,
                         random_state=0).fit(X[:4])
    X_test = X[4:]
    # the objective in the fit's units: centred signals over scale_, activations
    # over scale_, weights over scale_
    Xs = (X_test - np.median(X_test, axis=2, keepdims=True)) / cdl.scale_
    z = cdl.transform_activations(X_test) / cdl.scale_
    expected = _objective_reference(Xs, z, cdl.D_hat_, cdl.lambda_ / cdl.scale_)
    assert cdl.score(X_test) == pytest.approx(-expected.mean(), rel=1e-10)
    # the l1 solution is scored, not the refit of unbiased_z_hat
    assert cdl.set_params(unbiased_z_hat=True).score(X_test) == pytest.approx(
        -expected.mean(), rel=1e-10)


def test_score_on_training_signals_matches_the_fit_objective(signals, fitted):
    X = signals[0]
    # the fit's last objective is for the activations before its last d-step;
    # the score codes again with the final atoms, which can only do better (up
    # to the z-step's tolerance)
    last = fitted.loss_curve_[-1] / len(X)
    assert -last <= fitted.score(X) <= -last * (1 - 1e-3)
    # the units of the signals do not change it
    scaled = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.1,
                            random_state=0).fit(1e3 * X)
    assert scaled.score(1e3 * X) == pytest.approx(fitted.score(X), rel=1e-6)


def test_score_rejects_unfitted_and_bad_signals(signals, fitted):
    from sklearn.exceptions import NotFittedError

    X = signals[0]
    with pytest.raises(NotFittedError):
        CDLTransformer().score(X)
    with pytest.raises(ValueError, match="channels"):
        fitted.score(X[:, :2])


def test_grid_search_with_the_default_score():
    from sklearn.model_selection import GridSearchCV

    X = make_cdl_signals(n_trials=6, n_channels=3, n_times=400, n_atoms=2,
                         n_times_atom=32, noise_level=0.05, random_state=0)[0]
    cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2, random_state=0)
    # atoms of the simulated length explain held-out trials better than short ones
    search = GridSearchCV(cdl, {"n_times_atom": [8, 32]}, cv=3).fit(X)
    assert search.best_params_ == {"n_times_atom": 32}
    # the documented caveat: reg weighs the l1 term of the objective itself, so
    # the score always prefers the smallest reg of a grid
    search = GridSearchCV(cdl, {"reg": [0.05, 0.2, 0.5]}, cv=3).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.diff(scores) < 0)
    assert search.best_params_ == {"reg": 0.05}


@pytest.mark.parametrize("shape", [(0, 2, 769), (1, 2, 0), (0, 2 * 769)])
def test_inverse_transform_of_empty_activations_is_a_clear_error(fitted, shape):
    with pytest.raises(ValueError, match="at least one trial"):
        fitted.inverse_transform(np.zeros(shape))
