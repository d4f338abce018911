"""Bad inputs, extreme scales and the objective of the tree clusterers."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.cluster._base import MAX_N_INIT
from skdeep.datasets import make_hierarchical_blobs

ESTIMATORS = [NovelClassKMeans, HierarchicalGMM]


def _blobs():
    X, y, _, tree, _ = make_hierarchical_blobs(
        60, 2, depth=1, branching=3, n_novel=1, random_state=0)
    return X, y, tree


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sizes_are_bounded_before_allocating(Estimator):
    X, y, _ = _blobs()
    n_unlabeled = int(np.sum(y.astype(str) == "-1"))
    with pytest.raises(ValueError, match=r"n_novel_classes=10000000 cannot exceed"
                       rf".*\({n_unlabeled}\)"):
        Estimator(n_novel_classes=10**7).fit(X, y)
    with pytest.raises(ValueError, match="n_init"):
        Estimator(n_init=MAX_N_INIT + 1).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_far_samples_keep_their_label_and_probabilities(Estimator):
    # Far out, the nearest prototype (most probable component) is the one
    # furthest in the sample's direction: the same label at every scale.
    X, y, tree = _blobs()
    model = Estimator(tree, random_state=0).fit(X, y)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ref = model.predict(X * 1e7)
        for scale in (1e10, 1e100, 1e300, 1e306):
            np.testing.assert_array_equal(model.predict(X * scale), ref)
    if Estimator is HierarchicalGMM:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            proba = model.predict_proba(X * 1e300)
        assert np.all(np.isfinite(proba))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_allclose(proba.max(axis=1), 1.0)
        np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], ref)
        assert not np.any(np.isnan(model.score_samples(X * 1e300)))
        # on ordinary data: the softmax of the log-joint over the leaves the
        # novelty test leaves open (a novel leaf only where its log-joint beats
        # every known one by more than the calibrated margin)
        assert set(model.discovered_classes_) == set(model.novel_classes_)
        lj = model._class_scores(X)
        known = np.isin(model.classes_, model.known_classes_)
        gap = lj[:, ~known].max(axis=1) - lj[:, known].max(axis=1)
        lj[np.ix_(gap <= model.novelty_margin_, ~known)] = -np.inf
        expected = np.exp(lj - lj.max(axis=1, keepdims=True))
        np.testing.assert_allclose(model.predict_proba(X),
                                   expected / expected.sum(axis=1, keepdims=True),
                                   rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_extreme_outlier(Estimator):
    X, y, tree = _blobs()
    X_bad = X.copy()
    X_bad[0, 0] = 1e200
    with pytest.raises(ValueError, match="X has an extreme outlier: sample 0"):
        Estimator(tree, random_state=0).fit(X_bad, y)
    X_bad[0, 0] = 1e10
    with pytest.warns(UserWarning, match="X has an extreme outlier: sample 0"):
        model = Estimator(tree, random_state=0).fit(X_bad, y)
    assert np.all(np.isfinite(model.loss_curve_))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_public_method_before_fit(Estimator):
    X, _, tree = _blobs()
    methods = ["predict", "score", "transform", "score_samples", "predict_proba",
               "bic"]
    for name in methods:
        if hasattr(Estimator, name):
            with pytest.raises(NotFittedError):
                getattr(Estimator(tree), name)(X)


def test_penalty_scaling_at_non_default_lambda_unlabeled():
    # The objective written out: labeled mean, lambda_u times the unlabeled
    # mean of min distances, and the hierarchy penalty with its (1 + lambda_u)
    # factor and the leaves-under-node share.
    X, y, _, tree, _ = make_hierarchical_blobs(
        200, 4, hierarchy={"a": "ab", "b": "ab", "c": "cd", "d": "cd",
                           "ab": "r", "cd": "r"}, n_novel=1, random_state=0)
    lam_u, lam_h = 3.0, 0.3
    model = NovelClassKMeans(tree, lambda_unlabeled=lam_u, lambda_hierarchy=lam_h,
                             random_state=0, tol=0).fit(X, y)
    unl = y.astype(str) == "-1"
    C, A, E = model.cluster_centers_, model.ancestors_, model.node_offsets_
    idx = {c: k for k, c in enumerate(model.classes_.tolist())}
    lab = np.array([idx[v] for v in y[~unl].tolist()])
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    fit = d2[~unl][np.arange(lab.size), lab].mean() + lam_u * d2[unl].min(axis=1).mean()
    share = A.sum(axis=0) / A.shape[0]
    penalty = lam_h * (1.0 + lam_u) * share
    penalty[0] = 0.0
    E_rel = E.copy()
    E_rel[0] = 0.0  # the root offset is free (it carries the location)
    expected = fit + penalty @ np.sum(E_rel**2, axis=1)
    np.testing.assert_allclose(model.loss_curve_[-1], expected, rtol=1e-8)
    # stationarity of the written-out objective at the fixed point
    z = np.array([idx[v] for v in model.labels_.tolist()])
    w = np.where(unl, lam_u / unl.sum(), 1.0 / (~unl).sum())
    grad_c = np.zeros_like(C)
    np.add.at(grad_c, z, -2.0 * w[:, None] * (X - C[z]))
    grad = A.T @ grad_c + 2 * penalty[:, None] * E
    np.testing.assert_allclose(grad, 0.0, atol=1e-8)
