import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skdeep.datasets import make_low_rank_tensor
from skdeep.metrics import missing_entry_error
from skdeep.tensor import TensorCompleter
from skdeep.tensor._model import ObservedEntries, design_matrix
from skdeep.tensor._numpy_backend import NumpyModel
from skdeep.utils._tensor_algebra import reconstruct, unfold


def _missing_error(X_filled, X, X_true):
    return missing_entry_error(X_true, X_filled, X)


@pytest.fixture(scope="module")
def tucker_problem():
    return make_low_rank_tensor(
        (20, 20, 20), ranks=3, model="tucker", observed_fraction=0.1, random_state=0
    )


@pytest.fixture(scope="module")
def deep_tucker_fit(tucker_problem):
    X, _ = tucker_problem
    completer = TensorCompleter(depth=2, random_state=0, track_every=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        X_filled = completer.fit_transform(X)
    return completer, X_filled


def test_deep_tucker_recovers_missing_entries(tucker_problem, deep_tucker_fit):
    # 20x20x20 Tucker rank (3, 3, 3) from 10 % of its entries (measured: 1.7e-4)
    X, X_true = tucker_problem
    _, X_filled = deep_tucker_fit
    assert _missing_error(X_filled, X, X_true) < 2e-3


def test_depth_one_does_clearly_worse(tucker_problem, deep_tucker_fit):
    # same init scale, a shallow factorization: no low-rank bias (measured: 0.67)
    X, X_true = tucker_problem
    shallow = TensorCompleter(depth=1, random_state=0, track_every=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        error_shallow = _missing_error(shallow.fit_transform(X), X, X_true)
    error_deep = _missing_error(deep_tucker_fit[1], X, X_true)
    assert error_shallow > 0.1
    assert error_shallow > 100 * error_deep


def test_effective_rank_decreases_along_training(deep_tucker_fit):
    completer, _ = deep_tucker_fit
    ranks = completer.history_["effective_rank"]
    assert ranks.shape == (len(completer.history_["iteration"]), 3)
    # random start: high effective rank; end: that of the rank-3 truth (< 3)
    assert np.all(ranks[0] > 8)
    assert np.all(ranks[-1] < 3.05)
    assert np.all(ranks[-1] > 2.0)
    # the train error falls along the recorded iterations
    assert completer.history_["train_error"][-1] < 1e-3 * completer.history_[
        "train_error"
    ][0]


def test_observed_entries_kept_and_no_nan(tucker_problem, deep_tucker_fit):
    X, _ = tucker_problem
    completer, X_filled = deep_tucker_fit
    observed = ~np.isnan(X)
    assert not np.isnan(X_filled).any()
    np.testing.assert_array_equal(X_filled[observed], X[observed])
    assert completer.reconstruction_.shape == X.shape
    np.testing.assert_allclose(
        X_filled[~observed], completer.reconstruction_[~observed]
    )


@pytest.mark.parametrize("model", ["cp", "tt"])
def test_cp_and_tt_recovery(model):
    # depth 2 recovers the tensor, depth 1 far less well. One problem is as
    # much a draw of the optimiser's path as of the method: on three
    # problems, the ratios of the errors were 9.4, 29 and 98 for CP (depth
    # 2: 1.5e-4, 1.6e-4, 9.5e-5), against 13, 34 and 71 with scipy's
    # L-BFGS-B; the median of the three is tested
    ratios = []
    for seed in range(3):
        X, X_true = make_low_rank_tensor(
            (20, 20, 20), ranks=3, model=model, observed_fraction=0.2,
            random_state=seed,
        )
        errors = {}
        for depth in (1, 2):
            completer = TensorCompleter(model=model, depth=depth, random_state=0,
                                        track_every=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                errors[depth] = _missing_error(completer.fit_transform(X), X, X_true)
        assert errors[2] < 5e-3
        ratios.append(errors[1] / errors[2])
    assert np.median(ratios) > 10


def test_matrix_completion_beats_mean_imputation():
    X, X_true = make_low_rank_tensor(
        (60, 40), ranks=3, observed_fraction=0.3, random_state=0
    )
    X_filled = TensorCompleter(random_state=0).fit_transform(X)
    error = _missing_error(X_filled, X, X_true)
    baseline = _missing_error(SimpleImputer().fit_transform(X), X, X_true)
    assert error < 2e-3
    assert error < 1e-2 * baseline


@pytest.mark.parametrize("shape", [(90, 40), (60, 15, 10)])
def test_fold_in_new_samples(shape):
    X, X_true = make_low_rank_tensor(
        shape, ranks=2, observed_fraction=0.3, random_state=1
    )
    n_fit = 2 * shape[0] // 3
    completer = TensorCompleter(random_state=0, track_every=0, tol=1e-3)
    completer.fit(X[:n_fit])
    X_new, X_new_true = X[n_fit:], X_true[n_fit:]
    X_new_before = X_new.copy()
    filled = completer.transform(X_new)
    np.testing.assert_array_equal(X_new, X_new_before)
    observed = ~np.isnan(X_new)
    np.testing.assert_array_equal(filled[observed], X_new[observed])
    assert _missing_error(filled, X_new, X_new_true) < 1e-2
    # a completely missing new sample gets the typical row, not NaN
    X_empty = np.full((1, *shape[1:]), np.nan)
    assert np.all(np.isfinite(completer.transform(X_empty)))
    # the score is minus the error of predicting each observed entry from the
    # others of its sample: near zero for noise-free low-rank data
    assert -1e-2 < completer.score(X_new) <= 0


def test_pipeline_with_ridge():
    rng = np.random.RandomState(0)
    X, X_true = make_low_rank_tensor(
        (80, 12), ranks=2, observed_fraction=0.6, random_state=0
    )
    coef = rng.standard_normal(12)
    y = X_true @ coef
    pipe = make_pipeline(TensorCompleter(random_state=0, track_every=0), Ridge(1e-6))
    pipe.fit(X[:60], y[:60])
    pred = pipe.predict(X[60:])
    r2 = 1 - np.sum((pred - y[60:]) ** 2) / np.sum((y[60:] - y[60:].mean()) ** 2)
    mean_pipe = make_pipeline(SimpleImputer(), Ridge(1e-6)).fit(X[:60], y[:60])
    pred_mean = mean_pipe.predict(X[60:])
    r2_mean = 1 - np.sum((pred_mean - y[60:]) ** 2) / np.sum(
        (y[60:] - y[60:].mean()) ** 2
    )
    assert r2 > 0.99
    assert r2 > r2_mean


def test_validation_fraction_tracks_held_out_error():
    X, _ = make_low_rank_tensor((15, 15, 15), ranks=2, observed_fraction=0.4,
                                random_state=0)
    completer = TensorCompleter(validation_fraction=0.2, random_state=0,
                                init_scale=3e-2, track_every=200, tol=1e-3)
    completer.fit(X)
    val = completer.history_["validation_error"]
    assert np.all(np.isfinite(val))
    assert val[-1] < 0.05 < val[0]
    no_val = TensorCompleter(random_state=0, max_iter=5, track_every=1,
                             early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        no_val.fit(X)
    assert np.all(np.isnan(no_val.history_["validation_error"]))
    assert len(no_val.history_["iteration"]) == 6
    assert no_val.loss_curve_.shape == (5,)
    assert no_val.n_iter_ == 5


def test_gradient_descent_decreases_loss():
    X, X_true = make_low_rank_tensor((12, 10, 8), ranks=2, observed_fraction=0.5,
                                     random_state=0)
    # plain gradient descent at a stable step: the loss never goes up, and the
    # missing entries are recovered (zero-mean truth: a zero fill has error 1).
    # Its slow tail: the stopping rule (a decrease of at most tol**2 / 2 of the
    # data's mean square over 200 iterations) needs tol=4e-3 to stop once the
    # relative training error is below 1e-2 (measured: 9.4e-3 after 3189)
    # (the rule on the training error: no validation split)
    completer = TensorCompleter(optimizer="gd", learning_rate=0.2,
                                learning_rate_decay=0.0, init_scale=0.3,
                                max_iter=4000, tol=4e-3, early_stopping=False,
                                random_state=0, track_every=0)
    X_filled = completer.fit_transform(X)
    loss = completer.loss_curve_
    assert np.all(np.diff(loss) <= 0)
    assert completer.n_iter_ < 4000
    assert completer.history_["train_error"][-1] < 1e-2
    assert _missing_error(X_filled, X, X_true) < 0.1


def test_convergence_warning_and_tol_stop():
    X, _ = make_low_rank_tensor((10, 8), ranks=2, observed_fraction=0.5,
                                random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        TensorCompleter(max_iter=3, random_state=0).fit(X)
    completer = TensorCompleter(tol=0.5, random_state=0).fit(X)
    assert completer.n_iter_ < 10000
    assert completer.history_["train_error"][-1] < 0.5


def test_a_rank_too_small_to_escape_still_converges():
    # rank 1 on noisy rank-2 data whose best rank-1 fit keeps a relative
    # training error of 0.57, above the escape's 0.5: the escape stalls and
    # ends there (measured: 392 iterations, the loss 0.327 of the plateau);
    # an escape ending at its error only runs to max_iter and warns
    X, _ = make_low_rank_tensor((30, 12), ranks=2, observed_fraction=0.6,
                                noise=0.1, random_state=0)
    X = X[np.r_[0:10, 20:30]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        completer = TensorCompleter(depth=1, init_scale=0.3, ranks=1,
                                    max_iter=2000, random_state=0).fit(X)
    curve = completer.loss_curve_
    assert completer.n_iter_ < 1000
    assert curve[-1] > 0.25 * curve[0]  # never escaped by its error
    # stopped on the plateau of the rank-1 fit, not on the way to it
    assert curve[-1] - curve.min() < 1e-6 * curve[0]
    assert curve[-200] - curve[-1] < 1e-6 * curve[0]


def test_a_transient_dip_does_not_pass_for_a_stalled_escape():
    # Adam's first steps dip the loss, then it rises and sits on a saddle
    # plateau: the dip is lower than the plateau, so "no decrease over the
    # window" held there while the model was still escaping. The stall counts
    # the epochs since the loss stayed below the stalled error only.
    from skdeep.tensor._schedule import Escape

    escape = Escape(0.25, train_mean_square=1.0, tol=1e-3, n_iter_no_change=5)
    losses = [1.0, 0.5] + [0.99] * 5 + [0.7] * 5
    assert not any(escape(epoch, loss) for epoch, loss in enumerate(losses))
    assert escape(len(losses), 0.7)  # below 0.81 for more than the window
    # the fit it ended on a saddle (relative error 3.8 on the missing entries
    # before the blend, 1.13 after)
    X, X_true = make_low_rank_tensor((20, 20, 20), ranks=3, observed_fraction=0.3,
                                     random_state=2)
    completer = TensorCompleter(random_state=0, track_every=0)
    assert _missing_error(completer.fit_transform(X), X, X_true) < 2e-3
    assert completer.baseline_weight_ == 0.0


def test_verbose_iterations_go_on_across_the_switch(capsys):
    X, _ = make_low_rank_tensor((12, 10, 8), ranks=2, observed_fraction=0.3,
                                random_state=0)
    completer = TensorCompleter(random_state=0, track_every=20, tol=1e-3,
                                verbose=1).fit(X)
    out = capsys.readouterr().out
    lines = re.findall(r"iteration +(\d+)  loss (\S+)", out)
    n_iter = completer.n_iter_
    assert [int(it) for it, _ in lines] == list(range(20, n_iter + 1, 20))
    # one loss curve, the mean squared error, before and after the switch
    np.testing.assert_allclose(
        [float(loss) for _, loss in lines],
        completer.loss_curve_[np.arange(19, n_iter, 20)], rtol=1e-6,
    )
    switch = re.findall(r"iteration +(\d+)  adam \(escape\) -> l-bfgs", out)
    assert len(switch) == 1 and 20 < int(switch[0]) < n_iter
    assert out.count("converged") == 1
    assert out.rstrip().splitlines()[-1].startswith(
        f"[TensorCompleter] converged after {n_iter} iterations"
    )


def test_backends_switch_at_the_same_iteration(capsys):
    pytest.importorskip("torch")
    X, _ = make_low_rank_tensor((12, 10, 8), ranks=2, observed_fraction=0.3,
                                random_state=0)
    switches = []
    for backend in ("numpy", "torch"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            TensorCompleter(backend=backend, device="cpu", max_iter=80,
                            random_state=0, verbose=1).fit(X)
        switches.append(re.findall(r"iteration +\d+  adam \(escape\) -> l-bfgs",
                                   capsys.readouterr().out))
    assert len(switches[0]) == 1
    assert switches[0] == switches[1]


def test_same_seed_same_result_and_seed_matters():
    X, _ = make_low_rank_tensor((10, 8, 6), ranks=2, observed_fraction=0.4,
                                random_state=0)
    kwargs = dict(max_iter=200, track_every=0, model="tt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = TensorCompleter(random_state=3, **kwargs).fit(X).reconstruction_
        second = TensorCompleter(random_state=3, **kwargs).fit(X).reconstruction_
        other = TensorCompleter(random_state=4, **kwargs).fit(X).reconstruction_
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_float32_kept_and_pickle():
    X, _ = make_low_rank_tensor((10, 8), ranks=2, observed_fraction=0.5,
                                random_state=0)
    X32 = X.astype(np.float32)
    completer = TensorCompleter(random_state=0, max_iter=300, track_every=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = completer.fit_transform(X32)
    assert out.dtype == np.float32
    assert completer.transform(X32).dtype == np.float32
    restored = pickle.loads(pickle.dumps(completer))
    np.testing.assert_array_equal(restored.transform(X32), completer.transform(X32))


@pytest.mark.parametrize("tall", [False, True])
@pytest.mark.parametrize("model", ["tucker", "tucker-matrix", "cp", "tt"])
def test_numpy_gradients_match_finite_differences(model, tall):
    rng = np.random.RandomState(0)
    shape = (4, 5, 3)
    if model == "tucker-matrix":  # the order-2 fast path
        model, shape = "tucker", (4, 5)
        widths, core, tt_ranks = [3, 4], rng.standard_normal((3, 4)), None
    elif model == "tucker":
        widths, core, tt_ranks = [3, 4, 2], rng.standard_normal((3, 4, 2)), None
    elif model == "cp":
        widths, core, tt_ranks = [6, 6, 6], None, None
    else:
        tt_ranks = (1, 3, 2, 1)
        widths, core = [3, 6, 2], None
    if tall:  # more samples than entries per sample: mode 0's inner layers
        shape = (int(np.prod(shape[1:])) + 1, *shape[1:])  # join the design
    layers = [
        [rng.standard_normal((n, n)), rng.standard_normal((n, c))]
        for n, c in zip(shape, widths)
    ]
    net = NumpyModel(model, layers, core, tt_ranks)
    assert net._absorbs() == tall
    X = rng.standard_normal(shape)
    mask = rng.rand(*shape) < 0.5
    n_obs = mask.sum()
    _, grads = net.loss_and_gradients(X, mask, n_obs)
    tensor = net.reconstruct()
    eps = 1e-6
    for param, grad in zip(net.parameters(), grads):
        for _ in range(4):
            idx = tuple(rng.randint(s) for s in param.shape)
            old = param[idx]
            param[idx] = old + eps
            plus = net.loss_and_gradients(X, mask, n_obs)[0]
            param[idx] = old - eps
            minus = net.loss_and_gradients(X, mask, n_obs)[0]
            param[idx] = old
            np.testing.assert_allclose((plus - minus) / (2 * eps), grad[idx],
                                       rtol=1e-5, atol=1e-8)
    # the fold-in design (and the training's) reproduces the mode-0 unfolding
    factors = net.factors()
    design = design_matrix(model, factors, net.core, tt_ranks)
    np.testing.assert_allclose(factors[0] @ design, unfold(tensor, 0), atol=1e-10)
    np.testing.assert_allclose(net.forward().design, design, atol=1e-10)
    # a held-out loss at the point of a dense loss reads the loss's product
    forward = net.forward()
    net.loss_and_gradients(ObservedEntries.from_mask(X, mask), forward=forward)
    assert forward.product is not None
    held_out = ObservedEntries.from_mask(X, ~mask)
    np.testing.assert_allclose(net.predict(held_out, forward),
                               unfold(tensor, 0).ravel()[held_out.flat_index],
                               atol=1e-12)
    np.testing.assert_allclose(
        reconstruct(model, factors, net.core, tt_ranks), tensor, atol=1e-12
    )


def test_rank_arguments():
    X, _ = make_low_rank_tensor((8, 7, 6), ranks=2, observed_fraction=0.5,
                                random_state=0)
    kwargs = dict(max_iter=2, track_every=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tucker = TensorCompleter(ranks=(3, 2, 4), **kwargs).fit(X)
        assert tucker.core_.shape == (3, 2, 4)
        assert [U.shape for U in tucker.factors_] == [(8, 3), (7, 2), (6, 4)]
        assert [len(mode) for mode in tucker.layers_] == [2, 2, 2]
        full = TensorCompleter(**kwargs).fit(X)
        assert full.core_.shape == (8, 7, 6)
        cp = TensorCompleter(model="cp", ranks=5, depth=3, **kwargs).fit(X)
        assert cp.core_ is None
        assert [U.shape for U in cp.factors_] == [(8, 5), (7, 5), (6, 5)]
        assert [len(mode) for mode in cp.layers_] == [3, 3, 3]
        tt = TensorCompleter(model="tt", ranks=(2, 3), **kwargs).fit(X)
        assert tt.tt_ranks_ == (1, 2, 3, 1)
        tt_full = TensorCompleter(model="tt", **kwargs).fit(X)
        assert tt_full.tt_ranks_ == (1, 8, 6, 1)


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        ({}, np.full((4, 3), np.nan), ValueError, "no observed entry"),
        ({"model": "svd"}, np.ones((4, 3)), ValueError, "model"),
        ({"depth": 0}, np.ones((4, 3)), ValueError, "depth"),
        ({"ranks": (2, 2, 2)}, np.ones((4, 3)), ValueError, "ranks has 3 entries"),
        ({"model": "tt", "ranks": (2, 2)}, np.ones((4, 3)), ValueError,
         "ranks has 2 entries"),
        ({"ranks": (2, 0)}, np.ones((4, 3)), ValueError, "positive"),
        ({"ranks": (2.5, 1)}, np.ones((4, 3)), TypeError, "integers"),
        ({"init_scale": 0}, np.ones((4, 3)), ValueError, "init_scale"),
        ({"optimizer": "rmsprop"}, np.ones((4, 3)), ValueError, "optimizer"),
        ({"validation_fraction": 1.5}, np.ones((4, 3)), ValueError,
         "validation_fraction"),
        ({"backend": "jax"}, np.ones((4, 3)), ValueError, "backend"),
        ({}, np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError,
         "could not convert"),
        ({}, np.array([[1.0, np.inf], [1.0, 2.0]]), ValueError, "infinity"),
        ({}, np.ones(5), ValueError, "2D array"),
    ],
)
def test_bad_inputs(params, X, error, match):
    with pytest.raises(error, match=match):
        TensorCompleter(max_iter=2, **params).fit(X)


def test_transform_shape_mismatch():
    X, _ = make_low_rank_tensor((6, 5, 4), ranks=2, observed_fraction=0.5,
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        completer = TensorCompleter(max_iter=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"slices of shape \(5, 3\)"):
        completer.transform(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="features"):
        completer.transform(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="no observed entry"):
        completer.score(np.full((2, 5, 4), np.nan))


@pytest.mark.parametrize("arithmetic", ["host", "device"])
def test_torch_backend_matches_numpy(arithmetic, monkeypatch):
    # on a CPU and small problems the torch backend computes with the numpy
    # backend's model on views of its parameter ("host"); "device" is the
    # torch code of a GPU and of large problems
    pytest.importorskip("torch")
    monkeypatch.setattr("skdeep.tensor._torch_backend.HOST_ARITHMETIC_MAX_WORK",
                        np.inf if arithmetic == "host" else 0)
    for model in ("tucker", "cp", "tt"):
        X, _ = make_low_rank_tensor((8, 7, 6), ranks=2, model=model,
                                    observed_fraction=0.4, random_state=0)
        for optimizer, lr in (("adam", 1e-2), ("gd", 0.5)):
            kwargs = dict(model=model, optimizer=optimizer, learning_rate=lr,
                          init_scale=0.3, max_iter=150, tol=0, random_state=0,
                          track_every=50)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                ref = TensorCompleter(**kwargs).fit(X)
                out = TensorCompleter(backend="torch", device="cpu", **kwargs).fit(X)
            np.testing.assert_allclose(out.loss_curve_, ref.loss_curve_,
                                       rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(out.reconstruction_, ref.reconstruction_,
                                       rtol=1e-7, atol=1e-10)
            np.testing.assert_allclose(out.history_["effective_rank"],
                                       ref.history_["effective_rank"], rtol=1e-6)
            assert isinstance(out.factors_[0], np.ndarray)


def test_torch_backend_rejects_cuda_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match="CUDA is not available"):
        TensorCompleter(backend="torch", device="cuda", max_iter=2).fit(X)


@pytest.mark.cuda
def test_torch_backend_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    X, X_true = make_low_rank_tensor((20, 20, 20), ranks=3, observed_fraction=0.1,
                                     random_state=0)
    kwargs = dict(optimizer="adam", max_iter=300, tol=0, random_state=0,
                  track_every=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = TensorCompleter(**kwargs).fit(X)
        gpu = TensorCompleter(backend="torch", device="cuda", **kwargs).fit(X)
    np.testing.assert_allclose(gpu.loss_curve_, ref.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(gpu.reconstruction_, ref.reconstruction_,
                               rtol=1e-5, atol=1e-8)
    restored = pickle.loads(pickle.dumps(gpu))
    assert isinstance(restored.layers_[0][0], np.ndarray)


def _hard_impute(X, rank, n_iter=300):
    """Rank-``rank`` hard-impute (iterated truncated SVD): the rank-oracle baseline."""
    observed = ~np.isnan(X)
    filled = np.where(observed, X, 0.0)
    for _ in range(n_iter):
        U, s, Vt = np.linalg.svd(filled, full_matrices=False)
        low = (U[:, :rank] * s[:rank]) @ Vt[:rank]
        filled = np.where(observed, X, low)
    return low


def _noisy_rank2(n_rows=120, n_cols=40, noise=0.1, seed=0):
    rng = np.random.RandomState(seed)
    M = rng.standard_normal((n_rows, 2)) @ rng.standard_normal((2, n_cols))
    M *= np.sqrt(2) / M.std()
    X = M + noise * rng.standard_normal(M.shape)
    X[rng.rand(*M.shape) > 0.3] = np.nan
    return X, M


def test_early_stopping_on_noise_close_to_rank_oracle():
    # the case: rank 2, 120 x 40, 30 % observed, noise 0.1. Default
    # settings (early stopping on): measured 0.044 against hard-impute's 0.046,
    # stopped after 350 iterations (the best at 150).
    X, M = _noisy_rank2()
    completer = TensorCompleter(random_state=0, track_every=0).fit(X)
    error = missing_entry_error(M, completer.reconstruction_, X)
    oracle = missing_entry_error(M, _hard_impute(X, 2), X)
    assert completer.best_iteration_ <= completer.n_iter_ < 10000
    assert error < 2 * oracle
    assert np.isfinite(completer.history_["validation_error"]).all()


def _tucker_impute(X, rank, n_iter=200):
    # the rank oracle for tensors: EM with a truncated HOSVD at the true ranks
    observed = ~np.isnan(X)
    filled = np.where(observed, X, np.nanmean(X))
    for _ in range(n_iter):
        low = filled
        for mode in range(X.ndim):
            unfolded = np.moveaxis(filled, mode, 0).reshape(X.shape[mode], -1)
            U = np.linalg.svd(unfolded, full_matrices=False)[0][:, :rank]
            low = np.moveaxis(
                np.tensordot(U @ U.T, np.moveaxis(low, mode, 0), axes=1), 0, mode
            )
        filled = np.where(observed, X, low)
    return low


def test_auto_early_stopping_on_noisy_tensor_close_to_rank_oracle():
    # 30 x 20 x 10 Tucker rank (2, 2, 2), 30 % observed, noise 0.3: the
    # defaults hold entries out (1800 observed). Measured: 0.102 against the
    # oracle's 0.091, stopped at 634 iterations (the escape stalls above its
    # error on this noise; 0.106 at 1606 when it ended at its error only);
    # without early stopping the fit runs 4495 iterations into the noise (0.83).
    X, X_true = make_low_rank_tensor((30, 20, 10), ranks=2, observed_fraction=0.3,
                                     noise=0.3, random_state=0)
    completer = TensorCompleter(random_state=0, track_every=0).fit(X)
    error = _missing_error(completer.reconstruction_, X, X_true)
    oracle = _missing_error(_tucker_impute(X, 2), X, X_true)
    assert completer.best_iteration_ <= completer.n_iter_ < 10000
    assert np.isfinite(completer.history_["validation_error"]).all()
    assert error < 1.5 * oracle


@pytest.mark.parametrize("noise", [0.1, 0.3])
def test_fold_in_keeps_low_rank_bias_on_noise(noise):
    X, M = _noisy_rank2(n_rows=180, noise=noise, seed=1)
    completer = TensorCompleter(random_state=0, track_every=0).fit(X[:120])
    in_sample = missing_entry_error(M[:120], completer.reconstruction_, X[:120])
    new = missing_entry_error(M[120:], completer.transform(X[120:]), X[120:])
    assert new < 1.5 * in_sample
    # fit_transform and fit(X).transform(X) give the same imputations
    filled = completer.fit_transform(X[:120])
    np.testing.assert_allclose(completer.transform(X[:120]), filled, rtol=1e-10)


def test_empty_sample_gets_the_typical_row():
    rng = np.random.RandomState(0)
    X = 100 + rng.standard_normal((40, 6)) @ np.ones((6, 8)) * 0.1
    X[rng.rand(*X.shape) < 0.3] = np.nan
    completer = TensorCompleter(random_state=0, track_every=0, tol=1e-3).fit(X)
    empty = completer.transform(np.full((1, 8), np.nan))
    np.testing.assert_allclose(empty, np.nanmean(X, axis=0, keepdims=True), rtol=0.02)


@pytest.mark.parametrize("scale", [1e160, 1e-170])
def test_any_finite_magnitude(scale):
    X, X_true = make_low_rank_tensor((30, 20), ranks=2, observed_fraction=0.5,
                                     random_state=0)
    # a short window of the stopping rule: L-BFGS run long past convergence
    # lets rounding differences between the two scalings grow
    kwargs = dict(random_state=0, track_every=0, tol=1e-3, n_iter_no_change=10)
    completer = TensorCompleter(**kwargs)
    filled = completer.fit_transform(X * scale)
    assert np.all(np.isfinite(filled))
    reference = TensorCompleter(**kwargs)
    np.testing.assert_allclose(filled / scale, reference.fit_transform(X),
                               rtol=1e-6, atol=1e-8)


def test_divergence_is_reported():
    X, _ = make_low_rank_tensor((10, 8), ranks=2, observed_fraction=0.5,
                                random_state=0)
    with pytest.raises(ValueError, match="init_scale"):
        TensorCompleter(init_scale=1e300, learning_rate=1e300, max_iter=5).fit(X)
    with pytest.raises(ValueError, match="learning_rate"):
        TensorCompleter(optimizer="gd", learning_rate=1e6, init_scale=0.5,
                        max_iter=50).fit(X)


def test_adam_lbfgs_keeps_low_rank_bias_in_fewer_iterations(tucker_problem,
                                                            deep_tucker_fit):
    # the default (Adam warm-up, then L-BFGS) against Adam throughout at the
    # same learning rate; measured: a training loss of 1e-6 after 351 against
    # 772 iterations, errors 1.8e-4 and 1.4e-3 at the end (Adam stops on its
    # own instabilities), the same effective ranks (2.59, 2.82, 2.90)
    X, X_true = tucker_problem
    completer, X_filled = deep_tucker_fit
    assert completer.optimizer == "adam-lbfgs"
    adam = TensorCompleter(optimizer="adam", random_state=0, track_every=0).fit(X)

    def iterations_to(curve, level=1e-6):
        assert curve.min() < level
        return int(np.argmax(curve < level)) + 1

    assert iterations_to(completer.loss_curve_) < 0.8 * iterations_to(
        adam.loss_curve_
    )
    np.testing.assert_allclose(completer.history_["effective_rank"][-1],
                               adam.history_["effective_rank"][-1], atol=0.05)
    assert _missing_error(X_filled, X, X_true) < 1e-3


def test_torch_adam_lbfgs_matches_numpy_quality():
    pytest.importorskip("torch")
    X, X_true = make_low_rank_tensor((12, 10, 8), ranks=2, observed_fraction=0.3,
                                     random_state=0)
    errors, ranks = {}, {}
    for backend in ("numpy", "torch"):
        completer = TensorCompleter(backend=backend, device="cpu", random_state=0,
                                    track_every=0, tol=1e-3).fit(X)
        errors[backend] = _missing_error(completer.reconstruction_, X, X_true)
        ranks[backend] = completer.history_["effective_rank"][-1]
    # two L-BFGS implementations: the same quality, not the same iterates
    assert errors["numpy"] < 1e-2 and errors["torch"] < 1e-2
    np.testing.assert_allclose(ranks["torch"], ranks["numpy"], atol=0.1)


def test_cross_val_imputer_on_digits():
    # load_digits, 30 % of the pixels missing; imputer -> StandardScaler ->
    # LogisticRegression. To stay fast: 600 samples, 3 folds. Measured here:
    # TensorCompleter 0.853 (folds 0.84-0.87, ~8 s), SimpleImputer 0.832,
    # KNNImputer 0.922, IterativeImputer(BayesianRidge, max_iter=10) 0.902
    # (on all 1797 samples, 5 folds: 0.900, 0.877, 0.946, 0.917). The deep
    # factorization beats the mean imputer but not the neighbour-based ones.
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    index = rng.permutation(len(y))[:600]
    X, y = X[index].copy(), y[index]
    X[rng.rand(*X.shape) < 0.3] = np.nan
    cv = StratifiedKFold(3, shuffle=True, random_state=0)

    def scores(imputer):
        pipe = make_pipeline(imputer, StandardScaler(),
                             LogisticRegression(max_iter=2000))
        return cross_val_score(pipe, X, y, cv=cv)

    deep = scores(TensorCompleter(random_state=0, track_every=0))
    mean = scores(SimpleImputer())
    assert deep.mean() >= mean.mean()
    # no fold collapses (the 0.48 fold from fit_transform != transform)
    assert deep.min() > 0.8


# -- score: held-out entries inside each sample -----------------------------------


@pytest.fixture(scope="module")
def noisy_rank2():
    # rank 2 plus noise, 60 % observed
    return make_low_rank_tensor((30, 12), ranks=2, observed_fraction=0.6, noise=0.1,
                                random_state=0)


def _quick(**params):
    # a short window: quick fits, stopped before L-BFGS fits the noise exactly
    return TensorCompleter(depth=1, init_scale=0.3, max_iter=300, tol=1e-3,
                           n_iter_no_change=10, random_state=0, **params)


@pytest.mark.parametrize("shape", [(30, 12), (24, 6, 5)])
def test_score_predicts_each_observed_entry_from_the_others(shape):
    X, _ = make_low_rank_tensor(shape, ranks=2, observed_fraction=0.6, noise=0.1,
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        completer = _quick().fit(X[:16])
    X_test = X[16:]
    # written out with transform: the observed entries of each sample, in C
    # order, dealt into 5 groups; each group imputed from the rest of its sample
    flat = X_test.reshape(len(X_test), -1)
    errors = []
    for i, row in enumerate(flat):
        positions = np.flatnonzero(~np.isnan(row))
        for g in range(5):
            held = positions[g::5]
            if held.size == 0:
                continue
            masked = flat.copy()
            masked[i, held] = np.nan
            filled = completer.transform(masked.reshape(X_test.shape))
            errors.extend(filled.reshape(len(flat), -1)[i, held] - row[held])
    expected = -np.sqrt(np.mean(np.square(errors)))
    assert completer.score(X_test) == pytest.approx(expected, rel=1e-8)
    # an entry never predicts itself: the in-sample error is smaller
    observed = ~np.isnan(X_test)
    fold_in = completer._fold_in(X_test)
    in_sample_rmse = np.sqrt(np.mean((fold_in - X_test)[observed] ** 2))
    assert completer.score(X_test) < -in_sample_rmse


def test_grid_search_picks_the_rank_an_in_sample_score_would_overfit(noisy_rank2):
    from sklearn.model_selection import GridSearchCV

    X, _ = noisy_rank2

    def in_sample(estimator, X, y=None):
        # the error on the very entries each sample was folded in from
        observed = ~np.isnan(X)
        model = estimator._fold_in(X)
        return -np.sqrt(np.mean((model[observed] - X[observed]) ** 2))

    grid = {"ranks": [1, 2, 6]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(_quick(), grid, cv=3, refit=False,
                              scoring={"score": None, "in_sample": in_sample})
        search.fit(X)
    results = search.cv_results_
    best = results["params"][int(np.argmax(results["mean_test_score"]))]
    overfit = results["params"][int(np.argmax(results["mean_test_in_sample"]))]
    assert best == {"ranks": 2}
    assert overfit == {"ranks": 6}  # more ranks fit the noise of those entries


def test_score_is_deterministic_and_scale_free(noisy_rank2):
    X, _ = noisy_rank2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        completer = _quick(ranks=2).fit(X[:20])
        scaled = _quick(ranks=2).fit(1e6 * X[:20])
    score = completer.score(X[20:])
    assert completer.score(X[20:]) == score
    assert scaled.score(1e6 * X[20:]) == pytest.approx(1e6 * score, rel=1e-6)



@pytest.mark.parametrize(
    "params, match",
    [({"depth": 10**6}, "depth"), ({"ranks": 10**6}, "ranks is too large")],
)
def test_sizes_that_cannot_fit_are_refused_before_allocating(params, match):
    X, _ = make_low_rank_tensor((10, 10, 10), ranks=2, observed_fraction=0.3,
                                random_state=0)
    with pytest.raises(ValueError, match=match):
        TensorCompleter(**params).fit(X)


def test_simulator_refuses_ranks_that_cannot_fit():
    with pytest.raises(ValueError, match="ranks is too large"):
        make_low_rank_tensor((10, 10, 10), ranks=10**6)


@pytest.fixture(scope="module")
def flower_40_percent():
    """The flower photo, 53 x 80 x 3, 40 % of its pixels (all channels) observed."""
    from sklearn.datasets import load_sample_image

    photo = load_sample_image("flower.jpg").astype(np.float64)[:424]
    image = photo.reshape(53, 8, 80, 8, 3).mean(axis=(1, 3))
    image = (image - image.min()) / (image.max() - image.min())
    observed = np.random.RandomState(0).uniform(size=(53, 80)) < 0.4
    return np.where(observed[:, :, None], image, np.nan), image


def _error_on_missing(completer, X, image):
    missing = np.isnan(X)
    filled = completer.transform(X)
    return (np.linalg.norm(filled[missing] - image[missing])
            / np.linalg.norm(image[missing]))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rank_growth_rounds_on_a_colour_image(backend, flower_40_percent, capsys):
    # whole pixels missing: L-BFGS from the escape stops at effective rank
    # about 2 (relative error 0.385 on the missing entries, the mean fill's
    # 0.53); the growth rounds after the polish add the residual's next
    # rank-one terms while the held-out pixels improve. Measured: 0.238
    # (numpy), 0.240 (torch), effective ranks about (6, 6, 2)
    if backend == "torch":
        pytest.importorskip("torch")
    X, image = flower_40_percent
    completer = TensorCompleter(backend=backend, device="cpu", random_state=0,
                                track_every=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    rounds = [int(it) for it in re.findall(
        r"iteration +(\d+)  .* -> l-bfgs \(rank growth \d+\)", out)]
    assert len(rounds) >= 2
    # the best point is one of the growth's, not that of L-BFGS or the polish
    assert completer.best_iteration_ > rounds[0]
    assert min(completer.history_["effective_rank"][-1][:2]) > 4
    assert _error_on_missing(completer, X, image) < 0.27


def test_rank_growth_does_not_hinge_on_rounding(flower_40_percent, monkeypatch):
    # the same fit through the sampled gradients instead of the dense ones
    # (equal up to rounding): the Adam growth that the rounds replaced gave
    # 0.385 and 0.257 here; the rounds give 0.238 and 0.250
    from skdeep.tensor import _model

    X, image = flower_40_percent
    errors = []
    for fraction in (_model.DENSE_MIN_FRACTION, 2.0):
        monkeypatch.setattr(_model, "DENSE_MIN_FRACTION", fraction)
        completer = TensorCompleter(random_state=0, track_every=0).fit(X)
        errors.append(_error_on_missing(completer, X, image))
    assert max(errors) < 0.27
    assert abs(errors[0] - errors[1]) < 0.03


@pytest.mark.parametrize("ranks", [(6, 6, 6), "auto"])
def test_an_exact_low_rank_fit_skips_the_rank_growth(ranks, capsys):
    # fitted to a relative training error far below 0.05, there is no rank
    # left to grow: no growth round starts; with ranks given the fit ends
    # after L-BFGS, at ranks="auto" the polish follows L-BFGS at once
    X, X_true = make_low_rank_tensor((15, 15, 15), ranks=2, observed_fraction=0.3,
                                     random_state=0)
    completer = TensorCompleter(ranks=ranks, random_state=0, early_stopping=True,
                                verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "-> l-bfgs" in out
    assert "rank growth" not in out
    if ranks == "auto":
        assert len(re.findall(r"iteration +\d+  l-bfgs -> l-bfgs \(polish\)",
                              out)) == 1
    assert missing_entry_error(X_true, completer.transform(X), X) < 1e-2


@pytest.mark.parametrize("arithmetic", ["host", "device"])
@pytest.mark.parametrize("model", ["tucker", "cp"])
def test_backends_take_the_same_lbfgs_steps(model, arithmetic, monkeypatch):
    # both backends run the package's L-BFGS (skdeep/tensor/_lbfgs.py): the
    # same iterates up to rounding, through the escape and L-BFGS phases
    pytest.importorskip("torch")
    monkeypatch.setattr("skdeep.tensor._torch_backend.HOST_ARITHMETIC_MAX_WORK",
                        np.inf if arithmetic == "host" else 0)
    X, _ = make_low_rank_tensor((8, 7, 6), ranks=2, model=model,
                                observed_fraction=0.4, random_state=0)
    kwargs = dict(model=model, init_scale=0.3, max_iter=120, tol=0,
                  early_stopping=False, random_state=0, track_every=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = TensorCompleter(**kwargs).fit(X)
        out = TensorCompleter(backend="torch", device="cpu", **kwargs).fit(X)
    escape = int(np.argmax(np.asarray(ref.loss_curve_) < 0.25 * ref.loss_curve_[0]))
    assert 0 < escape < 50  # L-BFGS steps are compared
    # (rounding differences grow as the loss falls: 1e-11 relative after 80
    # iterations, 2e-6 after 120)
    np.testing.assert_allclose(out.loss_curve_[:100], ref.loss_curve_[:100],
                               rtol=1e-7, atol=1e-14)
    assert ref.loss_curve_[-1] < 1e-3 * ref.loss_curve_[escape]


def test_samples_with_no_observed_entry_are_completed_from_the_typical_row():
    # as scikit-learn's imputers do (an iris-like table of 4 columns at 30 %
    # missing has about one such row in a hundred): they take no part in the
    # fit, and their rows are the prior's mean, as at transform
    X, X_true = make_low_rank_tensor((60, 20), ranks=2, observed_fraction=0.5,
                                     random_state=0)
    X[[3, 10]] = np.nan
    completer = TensorCompleter(random_state=0)
    filled = completer.fit_transform(X)
    assert not np.isnan(filled).any()
    typical = completer.transform(np.full((1, 20), np.nan))
    np.testing.assert_allclose(filled[[3, 10]], np.repeat(typical, 2, axis=0))
    rows = completer.factors_[0]
    others = np.setdiff1d(np.arange(60), [3, 10])
    # the prior is that of the fitted rows only (the two kept their start)
    assert np.abs(rows[[3, 10]]).max() < np.abs(rows[others]).max() / 10
    np.testing.assert_allclose(completer.prior_mean_, rows[others].mean(axis=0))
    missing = np.isnan(X[others])
    error = (np.linalg.norm(filled[others][missing] - X_true[others][missing])
             / np.linalg.norm(X_true[others][missing]))
    assert error < 0.05
