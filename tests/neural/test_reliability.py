"""Reliability of the deep estimators: memory bounds, extreme scales, clear
errors, fitted-state checks, and the regularisers' targets pinned by reference
computations."""


import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import pairwise
from sklearn.preprocessing import normalize

torch = pytest.importorskip("torch")

from skdeep.datasets import make_multiomics  # noqa: E402
from skdeep.neural import MODISIntegrator, NystromNetClassifier  # noqa: E402
from skdeep.neural._modis_losses import zero_centred_penalties  # noqa: E402
from skdeep.neural._modis_modules import LatentDiscriminator  # noqa: E402
from skdeep.neural._nystrom_modules import (  # noqa: E402
    decay_parameters,
    nystrom_objective,
)

SCALES = [1e-300, 1e-150, 1e150, 1e300]


@pytest.fixture(autouse=True)
def _quiet_one_thread(one_quiet_thread):
    yield


@pytest.fixture(scope="module")
def digits():
    # 5 digits per class for training (pixels in [0, 1]), 300 for testing
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.RandomState(0)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), 5, replace=False) for c in range(10)]
    )
    test = np.setdiff1d(np.arange(y.size), train)[:300]
    return X[train], y[train], X[test], y[test]


@pytest.fixture(scope="module")
def omics():
    X, y, y_true, _ = make_multiomics(
        n_samples=300, n_features=(20, 15), n_classes=3, labeled_fraction=0.2,
        random_state=0,
    )
    return X, y, y_true


MODIS_SMALL = dict(modalities=[20, 15], n_components=4, hidden_layer_sizes=(16,),
                   discriminator_hidden_sizes=(16,), batch_size=None,
                   learning_rate=1e-2, max_iter=20, device="cpu", random_state=0)


# the defaults before the issue on tuned baselines: an adaptive metric on
# l2-normalised rows, one rbf block at the median bandwidth
OLD_DEFAULTS = dict(metric="adaptive", scaling="max_abs", normalize=True,
                    kernel="rbf", gamma=None)


def _nystrom(**params):
    return NystromNetClassifier(**{"max_iter": 100, "device": "cpu",
                                   "random_state": 0, **params})


# -- 1. parameters that drive memory are bounded before allocation -----------------
def test_nystrom_refuses_a_huge_landmark_kernel_matrix():
    n = 10**5
    X = np.arange(2 * n, dtype=np.float64).reshape(n, 2)
    y = np.arange(n) % 2
    with pytest.raises(ValueError, match=r"n_landmarks is too large.*GiB"):
        NystromNetClassifier(n_landmarks=n, device="cpu").fit(X, y)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"backbone": "mlp", "hidden_layer_sizes": (10**6, 10**6)},
         "hidden_layer_sizes"),
        ({"backbone": "mlp", "hidden_layer_sizes": (10**9,)}, "hidden_layer_sizes"),
    ],
)
def test_nystrom_refuses_huge_layers(digits, params, name):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=rf"{name} is too large.*GiB"):
        _nystrom(**params).fit(X, y)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"hidden_layer_sizes": (10**6, 10**6)}, "hidden_layer_sizes"),
        ({"discriminator_hidden_sizes": (10**6, 10**6)},
         "discriminator_hidden_sizes"),
        ({"n_components": 10**9}, "n_components"),
    ],
)
def test_modis_refuses_huge_layers(omics, params, name):
    X, y, _ = omics
    with pytest.raises(ValueError, match=rf"{name} is too large.*GiB"):
        MODISIntegrator(**{**MODIS_SMALL, **params}).fit(X, y)


def test_modis_refuses_a_huge_relativistic_pair_matrix():
    # full batch: 10^5 x 10^5 pairs of latents of the two modalities
    n = 10**5
    X = np.full((2 * n, 2), np.nan)
    X[:n, 0] = np.arange(n)
    X[n:, 1] = np.arange(n)
    y = np.full(2 * n, -1)
    y[:4] = [0, 1, 0, 1]
    model = MODISIntegrator(modalities=[1, 1], n_components=2,
                            hidden_layer_sizes=(4,), batch_size=None, device="cpu")
    with pytest.raises(ValueError, match=r"batch_size is too large.*GiB"):
        model.fit(X, y)


# -- 2. extreme scales -------------------------------------------------------------
@pytest.mark.parametrize("backbone", [None, "mlp"])
def test_nystrom_fit_is_the_same_at_every_scale(digits, backbone):
    X, y, X_test, _ = digits
    params = {"backbone": backbone, "hidden_layer_sizes": (16,)}
    ref = _nystrom(**params).fit(X, y)
    proba = ref.predict_proba(X_test)
    varying = X.std(axis=0) > 0  # a constant column keeps a power-of-two scale
    for c in SCALES if backbone is None else [1e-300, 1e300]:
        model = _nystrom(**params).fit(X * c, y)
        # the standardisation absorbs the unit
        np.testing.assert_allclose(model.input_scale_[varying],
                                   ref.input_scale_[varying] * c, rtol=1e-12)
        np.testing.assert_allclose(model.input_mean_, ref.input_mean_ * c,
                                   rtol=1e-12)
        np.testing.assert_array_equal(model.predict(X_test * c),
                                      ref.predict(X_test))
        # X * c differs from X by rounding (c is no power of two) and the
        # standardisation is no power-of-two division: the fits agree to the
        # tolerance of their solver (exactly: see the max_abs test below)
        np.testing.assert_allclose(model.predict_proba(X_test * c), proba,
                                   atol=1e-3)
        np.testing.assert_allclose(model.landmarks_, ref.landmarks_ * c,
                                   rtol=1e-12)


@pytest.mark.parametrize("backbone", [None, "mlp"])
def test_nystrom_max_abs_fit_is_exactly_the_same_at_every_scale(digits, backbone):
    # one power-of-two division of the inputs: the same fit to 1e-6
    X, y, X_test, _ = digits
    params = {"backbone": backbone, "hidden_layer_sizes": (16,),
              "scaling": "max_abs"}
    ref = _nystrom(**params).fit(X, y)
    assert np.all(ref.input_scale_ == 1.0)  # pixels in [0, 1]: unchanged
    proba = ref.predict_proba(X_test)
    for c in SCALES if backbone is None else [1e-300, 1e300]:
        model = _nystrom(**params).fit(X * c, y)
        np.testing.assert_allclose(model.input_scale_, c, rtol=1e-12)
        np.testing.assert_array_equal(model.predict(X_test * c),
                                      ref.predict(X_test))
        np.testing.assert_allclose(model.predict_proba(X_test * c), proba,
                                   atol=1e-6)


def test_nystrom_predicts_huge_inputs_without_nan(digits):
    X, y, X_test, _ = digits
    plain = _nystrom().fit(X, y)
    # with l2-normalised rows (no backbone) only the direction of a row counts:
    # same predictions
    directions = _nystrom(scaling="max_abs", normalize=True).fit(X, y)
    np.testing.assert_array_equal(directions.predict(X_test * 1e300),
                                  directions.predict(X_test))
    mlp = _nystrom(backbone="mlp", hidden_layer_sizes=(16,), max_iter=20).fit(X, y)
    for model in (plain, mlp):
        for c in (1e300, -1e300, 1e-300):
            assert np.all(np.isfinite(model.predict_proba(X_test * c)))
            assert np.all(np.isfinite(model.decision_function(X_test * c)))
            assert np.all(np.isfinite(model.transform(X_test * c)))
    # float32 networks too
    f32 = _nystrom(max_iter=20).fit(X.astype(np.float32), y)
    assert np.all(np.isfinite(f32.predict_proba(X_test * 1e300)))


def test_modis_fit_is_the_same_at_every_scale(omics):
    X, y, y_true = omics
    ref = MODISIntegrator(**MODIS_SMALL).fit(X, y)
    proba, latent = ref.predict_proba(X), ref.transform(X)
    assert np.mean(ref.predict(X) == y_true) > 0.5  # chance: 1 / 3
    for c in SCALES:
        model = MODISIntegrator(**MODIS_SMALL).fit(X * c, y)
        np.testing.assert_array_equal(model.predict(X * c), ref.predict(X))
        np.testing.assert_allclose(model.predict_proba(X * c), proba, atol=1e-6)
        np.testing.assert_allclose(model.transform(X * c), latent, atol=1e-5)
        np.testing.assert_allclose(model.translate(X * c, target=1) / c,
                                   ref.translate(X, target=1), rtol=1e-4, atol=1e-4)


def test_modis_huge_inputs_give_finite_outputs(omics):
    X, y, _ = omics
    model = MODISIntegrator(**MODIS_SMALL).fit(X, y)
    for c in (1e300, -1e300):
        assert np.all(np.isfinite(model.predict_proba(X * c)))
        assert np.all(np.isfinite(model.transform(X * c)))
        assert np.all(np.isfinite(model.translate(X * c, target=0)))
        assert set(model.predict(X * c)) <= set(model.classes_)
    assert np.all(np.isfinite(model.inverse_transform(np.full((3, 4), 1e300))))


# -- 3. clear errors instead of framework errors -----------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (-1, 4)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (2.5,)}, "hidden_layer_sizes"),
        ({"discriminator_hidden_sizes": (-1,)}, "discriminator_hidden_sizes"),
        ({"discriminator_hidden_sizes": (0, 8)}, "discriminator_hidden_sizes"),
        ({"learning_rate": 1e300}, "learning_rate"),
        ({"learning_rate": 1e30}, "learning_rate"),
    ],
)
def test_modis_bad_parameters_are_clear_errors(omics, params, match):
    X, y, _ = omics
    with pytest.raises(ValueError, match=match):
        MODISIntegrator(**{**MODIS_SMALL, "max_iter": 3, **params}).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"backbone": "mlp", "hidden_layer_sizes": (-1,)}, "hidden_layer_sizes"),
        ({"backbone": "mlp", "hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"backbone": "mlp", "hidden_layer_sizes": ()}, "hidden_layer_sizes"),
        # (the mini-batch training uses them; the default L-BFGS does not)
        ({"learning_rate": 1e300, "optimizer": "adam"}, "learning_rate"),
        ({"learning_rate_metric": 1e300, "optimizer": "adam",
          "metric": "adaptive"}, "learning_rate_metric"),
    ],
)
def test_nystrom_bad_parameters_are_clear_errors(digits, params, match):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        _nystrom(max_iter=3, **params).fit(X, y)


def test_learning_rates_beyond_a_float32_network_are_clear_errors(digits, omics):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="learning_rate"):
        _nystrom(max_iter=3, learning_rate=1e39).fit(X.astype(np.float32), y)
    with pytest.raises(ValueError, match="learning_rate_metric"):
        _nystrom(max_iter=3, learning_rate_metric=1e39).fit(X.astype(np.float32), y)
    X, y, _ = omics
    with pytest.raises(ValueError, match="learning_rate"):
        MODISIntegrator(**{**MODIS_SMALL, "learning_rate": 1e39}).fit(X, y)


def test_modis_inverse_transform_of_no_sample_is_a_clear_error(omics):
    X, y, _ = omics
    model = MODISIntegrator(**{**MODIS_SMALL, "max_iter": 2}).fit(X, y)
    with pytest.raises(ValueError, match="0 sample"):
        model.inverse_transform(np.zeros((0, 4)))


NYSTROM_METHODS = ["predict", "predict_proba", "predict_log_proba",
                   "decision_function", "transform", "score",
                   "get_feature_names_out"]
MODIS_METHODS = ["predict", "predict_proba", "transform", "score", "translate",
                 "inverse_transform", "get_feature_names_out"]


def _call(model, method, X, y):
    if method == "score":
        return model.score(X, y)
    if method == "translate":
        return model.translate(X, target=0)
    if method == "get_feature_names_out":
        return model.get_feature_names_out()
    return getattr(model, method)(X)


@pytest.mark.parametrize("method", NYSTROM_METHODS)
def test_nystrom_methods_before_fit_raise_not_fitted(digits, method):
    X, y, _, _ = digits
    with pytest.raises(NotFittedError):
        _call(NystromNetClassifier(), method, X, y)


@pytest.mark.parametrize("method", MODIS_METHODS)
def test_modis_methods_before_fit_raise_not_fitted(omics, method):
    X, y, _ = omics
    if method == "inverse_transform":
        X = np.zeros((3, 4))
    with pytest.raises(NotFittedError):
        _call(MODISIntegrator(**MODIS_SMALL), method, X, y)


# -- 4. the regularisers' targets, against written-out references ------------------
def test_nystrom_metric_penalty_pulls_towards_the_start(digits):
    X, y, _, _ = digits
    # the adaptive metric on l2-normalised rows (one rbf block)
    model = _nystrom(n_landmarks=20, max_iter=2, **OLD_DEFAULTS).fit(X, y)
    net = model.net_
    # the start is K_mm^{-1/2} of the normalised landmarks (written out)
    K = pairwise.rbf_kernel(normalize(model.landmarks_), gamma=model.gamma_[0])
    S, U = np.linalg.eigh(K)
    W0 = (U / np.sqrt(S)) @ U.T
    np.testing.assert_allclose(net.metric_init[0].numpy(), W0, atol=1e-6)
    # the penalty of a moved metric: metric_penalty / 2 * ||W - W0||_F^2
    rng = np.random.RandomState(0)
    W = W0 + 0.1 * rng.standard_normal(W0.shape)
    with torch.no_grad():
        net.metric.copy_(torch.as_tensor(W[None]))
    batch = (torch.as_tensor(X[:5]), torch.as_tensor(y[:5]),
             torch.ones(5, dtype=torch.float64))
    _, terms = nystrom_objective(net, decay_parameters(net), 0.0, 3.0, batch)
    expected = 0.5 * 3.0 * np.sum((W - W0) ** 2)
    assert float(terms["metric_penalty"].detach()) == pytest.approx(expected,
                                                             rel=1e-10)


def test_nystrom_huge_metric_penalty_keeps_the_metric_at_its_start(digits):
    X, y, _, _ = digits
    old = OLD_DEFAULTS
    free = _nystrom(n_landmarks=20, max_iter=30, learning_rate_metric=1e-2,
                    metric_penalty=0.0, tol=0, **old).fit(X, y)
    held = _nystrom(n_landmarks=20, max_iter=30, learning_rate_metric=1e-2,
                    metric_penalty=1e8, tol=0, **old).fit(X, y)
    start = held.net_.metric_init.numpy()
    drift_free = np.abs(free.metric_ - free.net_.metric_init.numpy()).max()
    drift_held = np.abs(held.metric_ - start).max()
    assert drift_held < 0.05 < drift_free, (drift_held, drift_free)
    assert np.linalg.norm(held.metric_) == pytest.approx(np.linalg.norm(start),
                                                         rel=0.02)


def test_nystrom_adam_without_a_backbone_stays_at_the_exact_start(digits):
    # the softmax layer starts at its optimum (the L-BFGS default's loss);
    # Adam's default step without a backbone (1e-3) keeps it there, the
    # backbone's step 5e-2 moves every weight by about 5e-2 and leaves it
    X, y, X_test, _ = digits
    exact = _nystrom().fit(X, y)
    adam = _nystrom(optimizer="adam").fit(X, y)
    assert adam.loss_curve_[0] == pytest.approx(exact.loss_curve_[-1], rel=1e-9)
    assert adam.loss_curve_[-1] <= adam.loss_curve_[0] * (1 + 1e-4)
    np.testing.assert_array_equal(adam.predict(X_test), exact.predict(X_test))
    large = _nystrom(optimizer="adam", learning_rate=5e-2).fit(X, y)
    assert large.loss_curve_[-1] > large.loss_curve_[0] * 1.02


def test_modis_r1_r2_penalties_against_a_reference():
    # three modalities, so that the wrong modality's samples are a different set
    torch.manual_seed(0)
    disc = LatentDiscriminator(3, [8], n_classes=2, n_modalities=3).double()
    z = torch.randn(12, 3, dtype=torch.float64) * 2
    modality = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    got = zero_centred_penalties(disc, z, modality, 3)

    def grad_sq_norm(a, row):
        x = z[row : row + 1].clone().requires_grad_(True)
        _, logits = disc(x)
        (g,) = torch.autograd.grad(logits[0, a], x)
        return float((g**2).sum())

    expected = 0.0
    for a in range(3):
        own = [i for i in range(12) if int(modality[i]) == a]
        other = [i for i in range(12) if int(modality[i]) != a]
        r1 = np.mean([grad_sq_norm(a, i) for i in own])  # "real" for D_a
        r2 = np.mean([grad_sq_norm(a, i) for i in other])  # "fake" for D_a
        expected += r1 + r2
    expected /= 3
    assert float(got) == pytest.approx(expected, rel=1e-10)
    # the penalty trains the discriminator: it has a gradient
    (g,) = torch.autograd.grad(got, disc.modality_head.weight)
    assert float(g.abs().sum()) > 0
