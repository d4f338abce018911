"""CDL quality, invariances, alphacsc's options, features and the DriPP bridge."""

import copy
import time
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skdeep.decomposition._encoding as encoding_module
from skdeep.datasets import make_cdl_signals
from skdeep.decomposition import (
    CDLTransformer,
    activations_to_events,
    pool_activations,
)
from skdeep.decomposition._dstep import (
    compute_ztX,
    compute_ztz,
    flatten_atoms,
    toeplitz_ztz,
    tukey_window,
    untaper,
    update_D,
    update_uv,
    update_uv_joint,
)
from skdeep.decomposition._lgcd import reconstruct
from skdeep.decomposition._signals import center
from skdeep.metrics import dictionary_recovery_score
from skdeep.point_process import events_to_realisations

SIM = dict(n_trials=6, n_channels=3, n_times=1000, n_atoms=3, n_times_atom=32,
           noise_level=0.05)


@pytest.fixture(scope="module")
def signals():
    return make_cdl_signals(random_state=0, **SIM)


def _truth(u, v):
    return u[:, :, None] * v[:, None, :]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovery_above_099_for_every_seed(seed):
    # three atoms whose shifted, half-covering local optima scored 0.91-0.94
    X, u, v, _ = make_cdl_signals(random_state=seed, **SIM)
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, reg=0.1,
                         random_state=seed).fit(X)
    assert dictionary_recovery_score(_truth(u, v), cdl.D_hat_) >= 0.99


def test_chunk_restarts_keep_the_lowest_objective(signals):
    X, u, v, _ = signals
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, D_init="chunk", n_init=3,
                         random_state=0).fit(X)
    assert cdl.init_losses_.shape == (3,)
    assert cdl.loss_curve_[-1] == cdl.init_losses_.min()
    assert dictionary_recovery_score(_truth(u, v), cdl.D_hat_) >= 0.99
    # a single run is one of the runs of the restarts (same lambda, same start)
    one = CDLTransformer(n_atoms=3, n_times_atom=32, D_init="chunk", n_init=1,
                         random_state=0).fit(X)
    assert one.loss_curve_[-1] == cdl.init_losses_[0]


def test_dstep_recovers_atoms_from_true_activations():
    """The u- and v-steps alone, with the true activations, find the true atoms."""
    X, u, v, z = make_cdl_signals(n_trials=4, n_channels=4, n_times=600, n_atoms=2,
                                  n_times_atom=24, noise_level=0.0, random_state=3)
    L = v.shape[1]
    Q = toeplitz_ztz(compute_ztz(z, L))
    B = flatten_atoms(compute_ztX(z, X, L))
    rng = np.random.RandomState(0)
    u0 = u + 0.5 * rng.standard_normal(u.shape)
    v0 = v + 0.5 * rng.standard_normal(v.shape)
    u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
    v0 /= np.linalg.norm(v0, axis=1, keepdims=True)
    u_hat, v_hat = u0, v0
    for _ in range(30):
        u_hat, v_hat = update_uv(u_hat, v_hat, Q, B)
    np.testing.assert_allclose(np.abs(np.sum(u_hat * u, axis=1)), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.abs(np.sum(v_hat * v, axis=1)), 1.0, atol=1e-4)


def test_fit_learns_from_a_random_start(signals):
    # far from any window of the data: only the d-step can make the atoms
    X, u, v, _ = signals
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, D_init="random", n_init=2,
                         random_state=0).fit(X)
    assert dictionary_recovery_score(_truth(u, v), cdl.D_hat_) >= 0.98


def test_d_init_array_formats_and_errors(signals):
    X, u, v, _ = signals
    D = _truth(u, v)
    full = CDLTransformer(n_atoms=3, n_times_atom=32, D_init=D, max_iter=3, tol=0.0)
    uv = CDLTransformer(n_atoms=3, n_times_atom=32, D_init=np.hstack([u, v]),
                        max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        full.fit(X)
    with pytest.warns(ConvergenceWarning):
        uv.fit(X)
    np.testing.assert_allclose(full.D_hat_, uv.D_hat_, atol=1e-10)
    assert dictionary_recovery_score(D, full.D_hat_) >= 0.99
    assert full.init_losses_.shape == (1,)  # n_init is moot for a given start
    with pytest.raises(ValueError, match=r"D_init must have shape \(3, 3, 32\)"):
        CDLTransformer(n_atoms=3, n_times_atom=32, D_init=D[:2]).fit(X)
    with pytest.raises(ValueError, match="all-zero atom"):
        CDLTransformer(n_atoms=3, n_times_atom=32, D_init=0 * D).fit(X)


@pytest.mark.parametrize("factor", [1e-100, 1e154])
def test_results_do_not_depend_on_units(signals, factor):
    X = signals[0]
    params = dict(n_atoms=3, n_times_atom=32, random_state=0)
    ref = CDLTransformer(**params).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no misleading warning
        est = CDLTransformer(**params).fit(X * factor)
        z = est.transform_activations(X * factor)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(est.D_hat_, ref.D_hat_, atol=1e-4)
    np.testing.assert_allclose(est.lambda_ / factor, ref.lambda_, rtol=1e-6)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-5)
    z_ref = ref.transform_activations(X)
    np.testing.assert_allclose(z / factor, z_ref, atol=1e-3 * z_ref.max())


@pytest.mark.parametrize("chunk_size", [None, 200])
def test_signals_far_larger_than_the_fit_are_coded_exactly(signals, chunk_size):
    # z(c X; lambda) = c z(X; lambda / c): the lasso of huge signals is that of
    # the signals with a vanishing l1 weight, not all zeros or an overflow.
    X = signals[0]
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, chunk_size=chunk_size,
                         random_state=0).fit(X)
    factor = 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = cdl.transform_activations(X * factor)
    reference = copy.deepcopy(cdl)
    reference.lambda_ = cdl.lambda_ / factor
    z_ref = reference.transform_activations(X)
    assert np.all(np.isfinite(z)) and np.count_nonzero(z) > 0
    np.testing.assert_allclose(z / factor, z_ref, atol=1e-6 * z_ref.max())


def test_offsets_and_flat_signals_are_fast_and_quiet(signals):
    X, u, v, _ = signals
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    start = time.perf_counter()
    z_plain = cdl.transform_activations(X)
    plain_time = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start = time.perf_counter()
        z_offset = cdl.transform_activations(X + 10.0)
        offset_time = time.perf_counter() - start
        for flat in [np.zeros((1, 3, 100_000)), np.full((1, 3, 100_000), 3.0)]:
            start = time.perf_counter()
            assert not np.any(cdl.transform_activations(flat))
            assert time.perf_counter() - start < 2.0
        shifted = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(
            X + 10.0)
    np.testing.assert_allclose(z_offset, z_plain, atol=1e-8)
    assert offset_time < 5 * plain_time + 0.5
    np.testing.assert_allclose(shifted.D_hat_, cdl.D_hat_, atol=1e-8)


def test_empty_shapes_raise_clear_errors():
    for bad in [np.zeros((4, 0, 100)), np.zeros((0, 3, 100)), np.zeros((4, 3, 0))]:
        with pytest.raises(ValueError, match="at least one trial, one channel"):
            CDLTransformer(n_times_atom=8).fit(bad)
    with pytest.raises(ValueError, match="feature"):
        CDLTransformer(n_times_atom=8).fit(np.zeros((4, 0)))


def test_z_step_convergence_flag_is_reported(signals, monkeypatch):
    X = signals[0]
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    monkeypatch.setattr(encoding_module, "_MAX_PASSES_Z", 1)
    with pytest.warns(ConvergenceWarning, match="sparse coding"):
        cdl.transform_activations(X)


def test_lmbd_max_modes(signals):
    X, u, v, _ = signals
    scaled = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    assert np.all(scaled.lambda_ == scaled.lambda_[0])
    fixed = CDLTransformer(n_atoms=3, n_times_atom=32, lmbd_max="fixed",
                           reg=float(scaled.lambda_[0]), random_state=0).fit(X)
    np.testing.assert_allclose(fixed.lambda_, scaled.lambda_)
    np.testing.assert_allclose(fixed.D_hat_, scaled.D_hat_, atol=1e-8)
    per_atom = CDLTransformer(n_atoms=3, n_times_atom=32, lmbd_max="per_atom",
                              random_state=0).fit(X)
    assert per_atom.lambda_.shape == (3,) and np.ptp(per_atom.lambda_) > 0
    shared = CDLTransformer(n_atoms=3, n_times_atom=32, lmbd_max="shared",
                            random_state=0).fit(X)
    assert np.ptp(shared.lambda_) == 0
    for est in (per_atom, shared):
        assert dictionary_recovery_score(_truth(u, v), est.D_hat_) >= 0.97
    with pytest.raises(ValueError, match="'reg' parameter.*lmbd_max='fixed'"):
        CDLTransformer(reg=2.0, n_times_atom=32).fit(X)
    with pytest.raises(ValueError, match="'lmbd_max' parameter"):
        CDLTransformer(lmbd_max="max", n_times_atom=32).fit(X)


def test_callback_sort_atoms_and_unbiased(signals):
    X, u, v, z_true = signals
    seen = []

    def stop_at_three(n_iter, D, z, loss):
        seen.append((n_iter, D.shape, z.shape, loss))
        return n_iter == 3

    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, callback=stop_at_three,
                         random_state=0).fit(X)
    assert cdl.n_iter_ == 3 and [s[0] for s in seen] == [1, 2, 3]
    assert seen[0][1] == (3, 3, 32) and seen[0][2] == (6, 3, 969)

    sorted_ = CDLTransformer(n_atoms=3, n_times_atom=32, sort_atoms=True,
                             random_state=0).fit(X)
    z = sorted_.transform_activations(X)
    X_parts = [np.linalg.norm(sorted_.inverse_transform(
        np.where(np.arange(3)[None, :, None] == k, z, 0.0))) for k in range(3)]
    assert X_parts == sorted(X_parts, reverse=True)

    plain = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    unbiased = CDLTransformer(n_atoms=3, n_times_atom=32, unbiased_z_hat=True,
                              random_state=0).fit(X)
    z_b, z_u = plain.transform_activations(X), unbiased.transform_activations(X)
    np.testing.assert_array_equal(z_u > 0, (z_b > 0) & (z_u > 0))
    err_b = np.linalg.norm(plain.inverse_transform(z_b) - X)
    err_u = np.linalg.norm(unbiased.inverse_transform(z_u) - X)
    assert err_u < 0.8 * err_b  # no l1 shrinkage left on the amplitudes


def test_partial_fit_matches_batch_fit():
    X, u, v, _ = make_cdl_signals(n_trials=12, n_channels=3, n_times=800, n_atoms=2,
                                  n_times_atom=32, noise_level=0.05, random_state=4)
    D = _truth(u, v)
    batch = CDLTransformer(n_atoms=2, n_times_atom=32, random_state=0).fit(X)
    online = CDLTransformer(n_atoms=2, n_times_atom=32, random_state=0)
    for _ in range(4):
        for chunk in np.array_split(X, 4):
            online.partial_fit(chunk)
    assert online.n_batches_ == 16 and online.loss_curve_.shape == (16,)
    assert dictionary_recovery_score(batch.D_hat_, online.D_hat_) >= 0.98
    assert dictionary_recovery_score(D, online.D_hat_) >= 0.98
    assert online.transform(X).shape == batch.transform(X).shape


def test_pool_activations():
    z = np.zeros((2, 1, 10))
    z[0, 0, [1, 8]] = [2.0, 4.0]
    feats = pool_activations(z, "stats", n_windows=2, windows="hard")
    np.testing.assert_allclose(feats[0], [2.0, 0.4, 0.2, 4.0, 0.8, 0.2])
    np.testing.assert_allclose(feats[1], 0.0)
    for windows in ("hard", "triangular"):  # one window: the whole signal
        np.testing.assert_allclose(pool_activations(z, "max", 1, windows),
                                   [[4.0], [0.0]])
        np.testing.assert_allclose(pool_activations(z, "count", 1, windows),
                                   [[0.2], [0.0]])
    assert pool_activations(z, "sum", n_windows=50).shape == (2, 10)
    with pytest.raises(ValueError, match="pooling must be"):
        pool_activations(z, "median")
    for bad in (np.nan, np.inf):
        z_bad = z.copy()
        z_bad[0, 0, 1] = bad
        with pytest.raises(ValueError, match="activations must be finite"):
            pool_activations(z_bad)
    with pytest.raises(ValueError, match="n_windows"):
        pool_activations(z, "max", 0)
    with pytest.raises(ValueError, match="windows must be"):
        pool_activations(z, "max", 2, windows="gaussian")


@pytest.mark.parametrize("n_valid, n_windows", [(1, 4), (2, 4), (3, 2), (50, 4),
                                                (97, 5), (48, 4), (50, 2)])
def test_triangular_pooling_matches_its_definition(n_valid, n_windows):
    rng = np.random.RandomState(n_valid)
    z = rng.exponential(size=(3, 2, n_valid)) * (rng.uniform(size=(3, 2, n_valid))
                                                 < 0.3)
    G = min(n_windows, n_valid)
    # window j is centred on t_j = j (n_valid - 1) / (G - 1), reaching its
    # neighbours' centres linearly
    centres = np.linspace(0, n_valid - 1, G) if G > 1 else np.zeros(1)
    spacing = centres[1] - centres[0] if G > 1 else np.inf
    expected = np.zeros((3, 2, G, 3))
    for j, c in enumerate(centres):
        w = np.clip(1 - np.abs(np.arange(n_valid) - c) / spacing, 0, None)
        if G == 1:
            w = np.ones(n_valid)
        # the max sees the samples of positive weight (up to rounding here)
        expected[..., j, 0] = np.where(w > 1e-9, z, 0).max(axis=2)
        expected[..., j, 1] = (z * w).sum(axis=2) / w.sum()
        expected[..., j, 2] = ((z > 0) * w).sum(axis=2) / w.sum()
    np.testing.assert_allclose(pool_activations(z, "stats", n_windows),
                               expected.reshape(3, -1), atol=1e-12)
    # each sample's weights sum to one: the weighted sums add up to the total
    sums = pool_activations(z, "sum", n_windows).reshape(3, 2, G).sum(axis=2)
    np.testing.assert_allclose(sums, z.sum(axis=2))


def test_triangular_max_sees_only_its_window():
    # the last sample sits on the last centre: it has no weight in the first
    # window (n_valid - 1 is a multiple of n_windows - 1 only up to rounding)
    for n_valid, n_windows in [(50, 2), (48, 4), (148, 4)]:
        z = np.zeros((1, 1, n_valid))
        z[0, 0, -1] = 1.0
        expected = np.zeros(n_windows)
        expected[-1] = 1.0
        np.testing.assert_array_equal(pool_activations(z, "max", n_windows)[0],
                                      expected)


def test_triangular_features_move_smoothly_with_an_activation():
    """An activation crossing the border of two hard windows jumps from one
    feature to the other; with triangular windows each step moves it a little."""
    steps = {}
    for windows in ("hard", "triangular"):
        feats = []
        for t in range(40, 61):
            z = np.zeros((1, 1, 101))
            z[0, 0, t] = 1.0
            feats.append(pool_activations(z, "mean", 2, windows)[0])
        steps[windows] = np.abs(np.diff(feats, axis=0)).max()
    assert steps["triangular"] <= 0.011 * 2 / 101 * 100  # 1 % of the range
    assert steps["hard"] > 10 * steps["triangular"]


def test_transform_default_features(signals):
    X = signals[0]
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    feats = cdl.transform(X)
    assert feats.shape == (6, 3 * 4 * 3 + 3)  # pooled stats, then the baselines
    names = cdl.get_feature_names_out()
    assert len(names) == feats.shape[1]
    assert list(names[:4]) == ["cdltransformer_atom0_window0_max",
                               "cdltransformer_atom0_window0_mean",
                               "cdltransformer_atom0_window0_rate",
                               "cdltransformer_atom0_window1_max"]
    assert list(names[-3:]) == [f"cdltransformer_baseline{c}" for c in range(3)]
    frame = cdl.set_output(transform="pandas").transform(X)
    np.testing.assert_allclose(frame["cdltransformer_baseline1"],
                               np.median(X[:, 1], axis=1))
    cdl.set_output(transform="default")
    np.testing.assert_allclose(
        feats[:, :-3], pool_activations(cdl.transform_activations(X), "stats", 4))
    np.testing.assert_allclose(feats[:, -3:], np.median(X, axis=2))
    # signals of another length pool into the same windows, unless too short
    assert cdl.transform(X[:, :, :300]).shape == feats.shape
    with pytest.raises(ValueError, match="too few for the 4 pooling windows"):
        cdl.transform(X[:, :, :34])
    plain = cdl.set_params(include_baseline=False, pooling_windows="hard")
    np.testing.assert_allclose(plain.transform(X), pool_activations(
        cdl.transform_activations(X), "stats", 4, windows="hard"))
    assert plain.transform(X).shape == (6, 36)
    assert len(plain.get_feature_names_out()) == 36


def test_baseline_features_tell_offsets_apart():
    """Two classes of the same events on different offsets: centring removes
    the offset before coding, the baseline features keep it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _, _, _ = make_cdl_signals(n_trials=40, n_channels=2, n_times=300, n_atoms=2,
                                  n_times_atom=16, noise_level=0.1, random_state=0)
    y = np.arange(40) % 2
    X = X + 3.0 * X.std() * y[:, None, None]
    scores = {}
    for include in (False, True):
        pipe = make_pipeline(
            CDLTransformer(n_atoms=2, n_times_atom=16, include_baseline=include,
                           random_state=0),
            StandardScaler(), LogisticRegression())
        scores[include] = cross_val_score(pipe, X, y, cv=4).mean()
    assert scores[True] == 1.0
    assert scores[False] < 0.8


def test_activations_to_events_feed_dripp(signals):
    X = signals[0]
    cdl = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    z = cdl.transform_activations(X)
    thr = 0.3 * z.max(axis=(0, 2))
    events = activations_to_events(z, threshold=thr, event_ids=[11, 12, 13],
                                   offset=5, first_samp=100)
    assert len(events) == 6
    for n, ev in enumerate(events):
        assert ev.dtype == np.int64 and ev.shape[1] == 3
        assert np.all(np.diff(ev[:, 0]) >= 0) and np.all(ev[:, 1] == 0)
        k, t = np.nonzero(z[n] > thr[:, None])
        assert len(ev) == len(k)
        np.testing.assert_array_equal(np.sort(ev[:, 0]), np.sort(t + 105))
        np.testing.assert_array_equal(np.sort(ev[:, 2]), np.sort(k + 11))
    # stimulus events stacked on, then DriPP's input
    stim = [np.array([[150, 0, 1], [400, 0, 1]])] * 6
    both = [np.vstack([s, e]) for s, e in zip(stim, events)]
    real = events_to_realisations(both, sfreq=100.0, target_id=12, driver_ids=[1],
                                  first_samp=100)
    assert len(real) == 6
    np.testing.assert_allclose(real[0][1], [0.5, 3.0])
    np.testing.assert_allclose(
        real[0][0], (events[0][events[0][:, 2] == 12, 0] - 100) / 100.0)
    # a single trial as 2-D, default ids, and errors
    single = activations_to_events(z[0], threshold=float(thr.max()))[0]
    assert set(single[:, 2]) <= {1, 2, 3}
    with pytest.raises(ValueError, match="one entry per atom"):
        activations_to_events(z, threshold=[0.1, 0.2])
    with pytest.raises(ValueError, match="distinct"):
        activations_to_events(z, event_ids=[1, 1, 2])
    with pytest.raises(ValueError, match="shape"):
        activations_to_events(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        activations_to_events(np.full((1, 2, 3), np.nan))
    with pytest.raises(ValueError, match="integers"):
        activations_to_events(z, offset=0.5)


def _tapered_problem(seed=3, noise=0.0):
    """Signals made of atoms that are exactly tapered by the Tukey window."""
    _, u, v, z = make_cdl_signals(n_trials=4, n_channels=4, n_times=600, n_atoms=2,
                                  n_times_atom=24, noise_level=0.0, random_state=seed)
    window = tukey_window(v.shape[1])
    v = v * window
    v /= np.linalg.norm(untaper(v, window), axis=1, keepdims=True)
    X = reconstruct(z, None, u, v)
    X += noise * X.std() * np.random.RandomState(seed).standard_normal(X.shape)
    return X, u, v, z, window


def _perturbed(a, rng):
    a = a + 0.5 * rng.standard_normal(a.shape)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _cosines(a, b, axis=1):
    return np.abs(np.sum(a * b, axis=axis)) / (
        np.linalg.norm(a, axis=axis) * np.linalg.norm(b, axis=axis))


@pytest.mark.parametrize("joint", [False, True])
def test_tapered_dstep_recovers_tapered_atoms_from_true_activations(joint):
    X, u, v, z, window = _tapered_problem()
    if joint:  # atoms of norm 1/2 at most: twice the activations fit X exactly
        z = 2 * z
    L = v.shape[1]
    Q = toeplitz_ztz(compute_ztz(z, L))
    B = flatten_atoms(compute_ztX(z, X, L))
    rng = np.random.RandomState(0)
    scale = np.sqrt(0.5) if joint else 1.0
    u_hat, v_hat = scale * _perturbed(u, rng), scale * _perturbed(v, rng) * window
    update = update_uv_joint if joint else update_uv
    for _ in range(30):
        u_hat, v_hat = update(u_hat, v_hat, Q, B, window=window)
    np.testing.assert_allclose(_cosines(v_hat, v), 1.0, atol=1e-4)
    np.testing.assert_allclose(_cosines(u_hat, u), 1.0, atol=1e-4)
    # the constraint holds on the raw atoms, which are 0 where the window is
    raw = untaper(v_hat, window)
    assert np.all(raw[:, [0, -1]] == 0.0)
    if joint:
        assert np.all(np.sum(u_hat**2, axis=1) + np.sum(raw**2, axis=1) <= 1 + 1e-10)
    else:
        assert np.all(np.linalg.norm(raw, axis=1) <= 1 + 1e-10)
    if not joint:  # full-rank atoms, tapered the same way
        D = u[:, :, None] * v[:, None, :]
        D0 = u_hat[:, :, None] * (_perturbed(v, rng) * window)[:, None, :]
        D_hat = update_D(D0, Q, B, window=window)
        np.testing.assert_allclose(_cosines(D_hat, D, axis=(1, 2)), 1.0, atol=1e-4)


def test_joint_dstep_recovers_atoms_from_true_activations():
    X, u, v, z = make_cdl_signals(n_trials=4, n_channels=4, n_times=600, n_atoms=2,
                                  n_times_atom=24, noise_level=0.0, random_state=3)
    z = 2 * z  # the joint constraint allows atoms of norm 1/2 at most
    L = v.shape[1]
    Q = toeplitz_ztz(compute_ztz(z, L))
    B = flatten_atoms(compute_ztX(z, X, L))
    rng = np.random.RandomState(0)
    u_hat, v_hat = _perturbed(u, rng) / np.sqrt(2), _perturbed(v, rng) / np.sqrt(2)
    f = []
    for _ in range(30):
        u_hat, v_hat = update_uv_joint(u_hat, v_hat, Q, B)
        Dm = flatten_atoms(u_hat[:, :, None] * v_hat[:, None, :])
        f.append(0.5 * np.sum(Dm * (Q @ Dm)) - np.sum(B * Dm))
    assert np.all(np.diff(f) <= 1e-9 * np.abs(f[:-1]))
    assert np.all(np.sum(u_hat**2, axis=1) + np.sum(v_hat**2, axis=1) <= 1 + 1e-10)
    np.testing.assert_allclose(_cosines(v_hat, v), 1.0, atol=1e-4)
    np.testing.assert_allclose(_cosines(u_hat, u), 1.0, atol=1e-4)
    # the minimum is the exact fit
    np.testing.assert_allclose(f[-1], -0.5 * np.sum(X * X), rtol=1e-6)


def test_joint_constraint_fit(signals):
    X, u, v, _ = signals
    sep = CDLTransformer(n_atoms=3, n_times_atom=32, random_state=0).fit(X)
    joint = CDLTransformer(n_atoms=3, n_times_atom=32, uv_constraint="joint",
                           random_state=0).fit(X)
    norms = np.sum(joint.u_hat_**2, axis=1) + np.sum(joint.v_hat_**2, axis=1)
    assert np.all(norms <= 1 + 1e-10)
    assert np.all(np.diff(joint.pobj_) <= 1e-10 * np.abs(joint.pobj_[:-1]))
    assert dictionary_recovery_score(_truth(u, v), joint.D_hat_) >= 0.99
    # the same model up to the scale of the atoms: the same reconstructions
    rec_sep = sep.inverse_transform(sep.transform_activations(X))
    rec_joint = joint.inverse_transform(joint.transform_activations(X))
    np.testing.assert_allclose(rec_joint, rec_sep, atol=0.02 * np.abs(X).max())


@pytest.mark.parametrize("rank1", [True, False])
def test_window_tapers_the_atoms_and_recovers_tapered_patterns(rank1):
    X, u, v, _, window = _tapered_problem(noise=0.05)
    cdl = CDLTransformer(n_atoms=2, n_times_atom=24, window=True, rank1=rank1,
                         random_state=0).fit(X)
    assert np.abs(cdl.D_hat_[:, :, [0, -1]]).max() < 1e-8
    assert dictionary_recovery_score(_truth(u, v), cdl.D_hat_) >= 0.99
    assert np.all(np.diff(cdl.pobj_) <= 1e-10 * np.abs(cdl.pobj_[:-1]))
    # partial_fit keeps the taper too
    online = CDLTransformer(n_atoms=2, n_times_atom=24, window=True, rank1=rank1,
                            random_state=0)
    for chunk in np.array_split(X, 2):
        online.partial_fit(chunk)
    assert np.abs(online.D_hat_[:, :, [0, -1]]).max() < 1e-8


def test_window_needs_three_samples():
    X = np.random.RandomState(0).standard_normal((3, 50))
    with pytest.raises(ValueError, match="n_times_atom >= 3"):
        CDLTransformer(n_atoms=2, n_times_atom=2, window=True).fit(X)


def test_joint_warm_start_and_partial_fit(signals):
    X, u, v, _ = signals
    joint = CDLTransformer(n_atoms=3, n_times_atom=32, uv_constraint="joint",
                           random_state=0).fit(X)
    params = dict(n_atoms=3, n_times_atom=32, uv_constraint="joint", max_iter=1,
                  tol=0.0)
    with pytest.warns(ConvergenceWarning):
        from_uv = CDLTransformer(
            D_init=np.hstack([joint.u_hat_, joint.v_hat_]), **params).fit(X)
    with pytest.warns(ConvergenceWarning):
        from_D = CDLTransformer(D_init=joint.D_hat_, **params).fit(X)
    # a pair already in the joint ball starts as those very atoms, whatever the
    # layout: lambda is reg times their lambda_max (not shrunk a second time)
    np.testing.assert_allclose(from_uv.lambda_, from_D.lambda_, rtol=1e-10)
    Xs = center(X) / from_uv.scale_
    atoms = (joint.u_hat_, joint.v_hat_, joint.D_hat_)
    expected = 0.1 * encoding_module.lambda_max(Xs, atoms).max() * from_uv.scale_
    np.testing.assert_allclose(from_uv.lambda_, expected, rtol=1e-10)
    # online learning keeps the joint constraint and finds the atoms
    online = CDLTransformer(n_atoms=3, n_times_atom=32, uv_constraint="joint",
                            random_state=0)
    for _ in range(3):
        for chunk in np.array_split(X, 3):
            online.partial_fit(chunk)
    norms = np.sum(online.u_hat_**2, axis=1) + np.sum(online.v_hat_**2, axis=1)
    assert np.all(norms <= 1 + 1e-10)
    assert dictionary_recovery_score(_truth(u, v), online.D_hat_) >= 0.95
