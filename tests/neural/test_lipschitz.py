"""LipschitzClassifier: the constraint, the certificate, the loss, the accuracy."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, make_blobs
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdeep.neural import LipschitzClassifier

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_quiet_thread")


def _standardised(X_train, X_test):
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    X_tr, X_te = _standardised(X_tr, X_te)
    clf = LipschitzClassifier(max_iter=40, device="cpu", random_state=0)
    return clf.fit(X_tr, y_tr), X_tr, X_te, y_te


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=0
    )
    X_tr, X_te = _standardised(X_tr, X_te)
    clf = LipschitzClassifier(hidden_layer_sizes=(64,), max_iter=40, device="cpu",
                              random_state=0)
    return clf.fit(X_tr, y_tr), X_tr, X_te, y_te


@pytest.fixture(params=["cancer", "digits"])
def fitted(request):
    return request.getfixturevalue(request.param)


# -- the constraint ------------------------------------------------------------------
@pytest.mark.parametrize("constraint", ["bjorck", "spectral"])
@pytest.mark.parametrize("activation", ["groupsort2", "fullsort"])
@pytest.mark.parametrize("centers", [2, 3])
def test_every_exported_layer_has_spectral_norm_at_most_one(constraint, activation,
                                                            centers):
    X, y = make_blobs(n_samples=120, n_features=5, centers=centers, random_state=0)
    clf = LipschitzClassifier(hidden_layer_sizes=(12, 7), constraint=constraint,
                              activation=activation, learning_rate=0.05,
                              max_iter=15, device="cpu", random_state=0).fit(X, y)
    for W in clf.coefs_:
        singular = np.linalg.svd(W, compute_uv=False)
        assert singular.max() <= 1 + 1e-4
        if constraint == "bjorck":  # orthonormal rows or columns
            np.testing.assert_allclose(singular, 1.0, atol=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_a_layer_constrains_any_weight(seed):
    from skdeep.neural._lipschitz_modules import LipschitzLinear

    for constraint in ("spectral", "bjorck"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layer = LipschitzLinear(6, 9, constraint).double()
            raw = 5.0 * torch.randn(9, 6, dtype=torch.float64)  # norm about 25
        with torch.no_grad():
            layer.weight.copy_(raw)
        layer.train()
        for _ in range(30):  # the power iteration follows the new weight
            W = layer.constrained_weight()
        singular = torch.linalg.svdvals(W.detach()).numpy()
        if constraint == "bjorck":  # orthonormal columns
            np.testing.assert_allclose(singular, 1.0, atol=1e-6)
        else:
            # divided by the power iteration's estimate, which is at most the
            # largest singular value and approaches it step after step (the
            # exported network divides by the exact value)
            assert 1 - 1e-9 <= singular.max() <= 1.05
            assert singular.min() < 0.9  # the others are not brought to 1


@pytest.mark.parametrize("constraint", ["spectral", "bjorck"])
def test_the_export_bounds_every_layer_whatever_the_raw_weights(constraint):
    from skdeep.neural._lipschitz_modules import build_lipschitz_net

    net = build_lipschitz_net(5, [8, 6], 3, "groupsort2", constraint)
    with torch.no_grad():
        for layer in net.layers:
            layer.weight.mul_(7.0).add_(torch.randn_like(layer.weight))
    weights, _ = net.export(torch.float64)
    for W in weights:
        assert float(torch.linalg.matrix_norm(W, ord=2)) <= 1 + 1e-12


def test_scores_are_1_lipschitz_on_random_pairs(fitted):
    clf, X_tr, X_te, _ = fitted
    rng = np.random.RandomState(0)
    a = X_te[rng.randint(len(X_te), size=300)]
    b = np.concatenate([
        X_te[rng.randint(len(X_te), size=100)],  # other samples
        a[100:200] + 0.3 * rng.standard_normal(a[100:200].shape),  # near
        rng.standard_normal(a[200:].shape) * 3,  # anywhere
    ])
    keep = np.linalg.norm(a - b, axis=1) > 0
    a, b = a[keep], b[keep]
    fa, fb = clf.decision_function(a), clf.decision_function(b)
    change = np.abs(fa - fb) if fa.ndim == 1 else np.linalg.norm(fa - fb, axis=1)
    distance = np.linalg.norm(a - b, axis=1)
    assert np.all(change <= distance * (1 + 1e-9))
    # and the bound is nearly reached: the network does not waste its budget
    assert np.max(change / distance) > 0.5


# -- the certificate -------------------------------------------------------------------
def test_certified_radius_formula(fitted):
    clf, _, X_te, _ = fitted
    scores = clf.decision_function(X_te)
    radius = clf.certified_radius(X_te)
    if scores.ndim == 1:
        np.testing.assert_allclose(radius, np.abs(scores))
    else:
        top = np.sort(scores, axis=1)
        np.testing.assert_allclose(radius, (top[:, -1] - top[:, -2]) / np.sqrt(2))
    assert np.all(radius >= 0)


def _margin(out, y):
    if out.shape[1] == 1:
        return (2.0 * y - 1.0) * out[:, 0]
    true = out.gather(1, y[:, None])[:, 0]
    return true - out.scatter(1, y[:, None], -np.inf).amax(1)


def pgd_l2(net, X, y, eps, steps=60):
    """Inputs within ``eps`` (per sample) of ``X`` that minimise the margin of
    the class ``y`` (an l2 projected gradient descent)."""
    x0 = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y)
    eps = torch.as_tensor(eps, dtype=torch.float64)[:, None]
    delta = torch.zeros_like(x0, requires_grad=True)
    best = x0.clone()
    best_margin = torch.full((len(x0),), np.inf, dtype=torch.float64)
    for _ in range(steps):
        margin = _margin(net(x0 + delta), yt)
        with torch.no_grad():
            better = margin < best_margin
            best[better] = (x0 + delta)[better]
            best_margin[better] = margin[better]
        (grad,) = torch.autograd.grad(margin.sum(), delta)
        with torch.no_grad():
            grad /= grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
            delta -= 2.5 * eps / steps * grad
            delta *= torch.clamp(eps / delta.norm(dim=1, keepdim=True).clamp_min(1e-12),
                                 max=1.0)
    return best.numpy()


def test_no_perturbation_below_the_radius_flips_the_prediction(fitted):
    clf, _, X_te, _ = fitted
    rng = np.random.RandomState(0)
    pred = clf.predict(X_te)
    y_pred = np.searchsorted(clf.classes_, pred)
    radius = clf.certified_radius(X_te)
    inside = 0.999 * radius
    for _ in range(5):  # random directions on the sphere of radius 0.999 r
        u = rng.standard_normal(X_te.shape)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        np.testing.assert_array_equal(clf.predict(X_te + inside[:, None] * u), pred)
    attacked = pgd_l2(clf.net_, X_te, y_pred, inside)
    assert np.all(np.linalg.norm(attacked - X_te, axis=1) <= inside * (1 + 1e-9))
    np.testing.assert_array_equal(clf.predict(attacked), pred)


def test_an_attack_beyond_the_radius_flips_some_predictions(fitted):
    clf, _, X_te, _ = fitted
    pred = clf.predict(X_te)
    y_pred = np.searchsorted(clf.classes_, pred)
    radius = clf.certified_radius(X_te)
    attacked = pgd_l2(clf.net_, X_te, y_pred, 1.5 * radius + 1e-3)
    flipped = clf.predict(attacked) != pred
    # the certificate is tight for most samples of a gradient-norm-preserving net
    assert flipped.mean() > 0.5


# -- accuracy -------------------------------------------------------------------------
def test_accuracy_and_certified_accuracy_on_breast_cancer(cancer):
    from skdeep.metrics import certified_accuracy

    clf, _, X_te, y_te = cancer
    # majority class 0.63; a logistic regression scores about 0.97
    assert clf.score(X_te, y_te) > 0.93
    assert certified_accuracy(clf, X_te, y_te, 0.5) > 0.85


def test_accuracy_on_digits(digits):
    clf, _, X_te, y_te = digits
    # chance 0.10; a logistic regression scores about 0.96
    assert clf.score(X_te, y_te) > 0.93
    proba = clf.predict_proba(X_te)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X_te))
    assert clf.temperature_ > 0


# -- the loss -------------------------------------------------------------------------
def _reference_hkr(scores, y, w, alpha, margin, n_classes):
    """The HKR loss by its definition, in numpy (loops, no vectorised trick)."""
    if n_classes == 2:
        s = np.where(y == 1, 1.0, -1.0)
        hinge = sum(wi * max(0.0, margin - si * fi)
                    for wi, si, fi in zip(w, s, scores)) / w.sum()
        kr = (np.average(scores[y == 1], weights=w[y == 1])
              - np.average(scores[y == 0], weights=w[y == 0]))
        return hinge - alpha * kr, hinge, kr
    per_sample = []
    for f, label in zip(scores, y):
        terms = [(n_classes - 1) * max(0.0, margin - f[k]) if k == label
                 else max(0.0, margin + f[k]) for k in range(n_classes)]
        per_sample.append(np.mean(terms))
    hinge = np.average(per_sample, weights=w)
    kr = np.mean([
        np.average(scores[y == k, k], weights=w[y == k])
        - np.average(scores[y != k, k], weights=w[y != k])
        for k in range(n_classes)
    ])
    return hinge - alpha * kr, hinge, kr


@pytest.mark.parametrize("n_classes", [2, 4])
def test_hkr_loss_matches_its_definition(n_classes):
    from skdeep.neural._lipschitz_losses import hkr_binary, hkr_multiclass

    rng = np.random.RandomState(0)
    n = 40
    y = rng.randint(n_classes, size=n)
    w = rng.uniform(0.2, 2.0, size=n)
    alpha, margin = 0.3, 0.7
    wt = torch.as_tensor(w)
    if n_classes == 2:
        scores = rng.standard_normal(n) + y  # the classes apart: KR is not 0
        loss, terms = hkr_binary(torch.as_tensor(scores),
                                 torch.as_tensor(2.0 * y - 1), wt, alpha, margin)
    else:
        one_hot = np.eye(n_classes)[y]
        scores = rng.standard_normal((n, n_classes)) + one_hot
        loss, terms = hkr_multiclass(torch.as_tensor(scores),
                                     torch.as_tensor(one_hot), wt, alpha, margin)
    expected, hinge, kr = _reference_hkr(scores, y, w, alpha, margin, n_classes)
    assert float(terms["hinge"]) == pytest.approx(hinge, rel=1e-12)
    assert float(terms["kr"]) == pytest.approx(kr, rel=1e-12)
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    assert abs(hinge) > 0.1 and abs(alpha * kr) > 0.01  # both terms count here


def test_the_fit_minimises_hinge_minus_alpha_kr():
    X, y = make_blobs(n_samples=100, n_features=4, centers=2, random_state=1)
    clf = LipschitzClassifier(hidden_layer_sizes=(8,), alpha=0.5, max_iter=10,
                              device="cpu", random_state=0).fit(X, y)
    np.testing.assert_allclose(
        clf.loss_curve_,
        clf.loss_terms_["loss.hinge"] - 0.5 * clf.loss_terms_["loss.kr"],
        rtol=1e-10, atol=1e-12,
    )


def test_the_kr_term_pushes_the_scores_beyond_the_margin(cancer):
    # hinge alone stops moving a sample once it is at the margin; the KR term
    # goes on separating the classes, so the radii grow beyond the margin
    _, X_tr, _, _ = cancer
    y_tr = cancer[0].predict(X_tr)
    radii = {}
    for alpha in (0.0, 0.5):
        clf = LipschitzClassifier(alpha=alpha, margin=0.5, max_iter=40, device="cpu",
                                  random_state=0).fit(X_tr, y_tr)
        radii[alpha] = np.median(clf.certified_radius(X_tr))
    assert radii[0.5] > 1.5 * radii[0.0]  # measured: 2.9 against 1.3


# -- the estimator ---------------------------------------------------------------------
def test_float32_input_trains_in_float32_and_predicts_like_float64():
    X, y = make_blobs(n_samples=100, n_features=4, centers=3, random_state=0)
    params = dict(hidden_layer_sizes=(8,), max_iter=10, device="cpu", random_state=0)
    clf64 = LipschitzClassifier(**params).fit(X, y)
    clf32 = LipschitzClassifier(**params).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(clf32.decision_function(X), clf64.decision_function(X),
                               atol=1e-3)
    assert clf32.decision_function(X).dtype == np.float64


def test_early_stopping_restores_the_best_epoch():
    X, y = make_blobs(n_samples=200, n_features=4, centers=3, random_state=0)
    clf = LipschitzClassifier(hidden_layer_sizes=(8,), early_stopping=True,
                              max_iter=30, device="cpu", random_state=0).fit(X, y)
    assert clf.validation_loss_curve_.shape == (clf.n_iter_,)
    best = clf.best_iteration_
    assert clf.validation_loss_curve_[best - 1] == clf.validation_loss_curve_.min()


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
        (dict(constraint="frobenius"), "constraint"),
        (dict(activation="relu"), "activation"),
        (dict(margin=0.0), "margin"),
        (dict(alpha=-1.0), "alpha"),
    ],
)
def test_bad_parameters_are_named(params, message):
    X, y = make_blobs(n_samples=30, n_features=3, centers=2, random_state=0)
    with pytest.raises(ValueError, match=message):
        LipschitzClassifier(max_iter=2, device="cpu", **params).fit(X, y)


def test_one_class_is_refused():
    X, y = make_blobs(n_samples=30, n_features=3, centers=2, random_state=0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LipschitzClassifier(max_iter=2, device="cpu").fit(X, np.zeros(30))


@pytest.mark.parametrize("factor", [2.0**-500, 2.0**500, 1e-150, 1e300])
def test_data_and_margin_scaled_together_give_the_same_fit(factor):
    # trained in the unit of the data and exported as s * f(x / s)
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    ref = LipschitzClassifier(**params).fit(X, y)
    model = LipschitzClassifier(margin=factor, **params).fit(X * factor, y)
    for W in model.coefs_:  # the layers are still 1-Lipschitz
        assert np.linalg.norm(W, 2) <= 1 + 1e-4
    if np.frexp(factor)[0] == 0.5:  # a power of two: exactly the same fit
        assert model.n_iter_ == ref.n_iter_
        np.testing.assert_array_equal(model.predict(X * factor), ref.predict(X))
        np.testing.assert_allclose(model.certified_radius(X * factor) / factor,
                                   ref.certified_radius(X), rtol=1e-6)
    else:  # X * factor differs from X by rounding, which training amplifies
        assert abs(model.score(X * factor, y) - ref.score(X, y)) <= 0.01
        radius = model.certified_radius(X * factor) / factor
        assert np.median(np.abs(radius - ref.certified_radius(X))) < 0.05


@pytest.mark.parametrize("factor", [1e-3, 1e-150])
def test_data_spread_below_the_margin_is_a_clear_error(factor):
    # the fit would silently predict one class: its scores cannot differ by
    # more than the samples' distance, far below the margin
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X) * factor
    with pytest.raises(ValueError, match="below margin=1.0"):
        LipschitzClassifier(max_iter=5, random_state=0).fit(X, y)
