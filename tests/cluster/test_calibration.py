"""Calibration of the novelty test: cross-fitted gaps, training-conditional
margin."""

import copy

import numpy as np
import pytest
from scipy.stats import binom, norm

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.cluster._hierarchy import resolve_classes
from skdeep.cluster._novelty import (
    CONFIDENCE,
    calibration_folds,
    confident_margin,
    fold_weights,
    novelty_margin,
)
from skdeep.datasets import make_hierarchical_blobs

ESTIMATORS = [NovelClassKMeans, HierarchicalGMM]


def _scores(gaps):
    # one known leaf scoring 0, one novel leaf scoring ``gaps``
    return np.column_stack([np.zeros(gaps.size), gaps])


def _reference_margin(gaps, level, confidence):
    # the smallest order statistic whose rate exceeds ``level`` with
    # probability at most 1 - confidence, by brute force over the ranks
    n, ordered = gaps.size, np.sort(gaps)
    for k in range(1, n + 1):
        if binom.cdf(n - k, n, level) <= 1.0 - confidence:
            return ordered[k - 1]
    return ordered[-1]


def test_confident_margin_is_the_training_conditional_rank():
    known, active = np.array([True, False]), np.ones(2, dtype=bool)
    rng = np.random.RandomState(0)
    for n in (5, 31, 32, 60, 200):
        gaps = rng.normal(size=n) + 3.0  # positive: no zero floor
        got = confident_margin(_scores(gaps), known, active, 0.05)
        assert got == _reference_margin(gaps, 0.05, CONFIDENCE)
        assert got >= novelty_margin(_scores(gaps), known, active, 0.05)
    # too few labeled samples for the confidence: their largest gap
    gaps = rng.normal(size=20) + 3.0
    assert confident_margin(_scores(gaps), known, active, 0.05) == gaps.max()
    assert confident_margin(_scores(gaps), known, active, None) == 0.0


def test_confident_margin_bounds_the_rate_for_the_draw_at_hand():
    # Known samples' gaps ~ N(0, 1); the false-novel rate of a margin m is
    # 1 - Phi(m). Over many draws of 100 labeled samples the conformal
    # quantile (the 96th smallest) passes the level in 0.44 of the draws
    # (P(Binomial(100, 0.05) <= 4)), though its rate is 0.05 on average;
    # the training-conditional one in at most 1 - CONFIDENCE of them.
    known, active = np.array([True, False]), np.ones(2, dtype=bool)
    rng = np.random.RandomState(0)
    over_plain = over_conf = 0
    draws = 1000
    for _ in range(draws):
        scores = _scores(rng.normal(size=100))
        over_plain += norm.sf(novelty_margin(scores, known, active, 0.05)) > 0.05
        over_conf += norm.sf(confident_margin(scores, known, active, 0.05)) > 0.05
    assert over_plain / draws > 0.35
    assert over_conf / draws <= 1.0 - CONFIDENCE + 0.03


def test_calibration_folds_are_stratified():
    y = np.array([-1, 0, 0, 0, 1, 2, 2, -1, 0, 0, 0, 0, 2])
    folds = calibration_folds(y, n_folds=5)
    assert np.all(folds[y < 0] == -1)
    assert folds[4] == -1  # alone in its class: never hidden
    for k in (0, 2):
        rows = np.flatnonzero(y == k)
        np.testing.assert_array_equal(folds[rows], np.arange(rows.size) % 5)
    # hiding any fold leaves every class a labeled sample
    for fold in range(folds.max() + 1):
        kept = y[(y >= 0) & (folds != fold)]
        assert set(kept) == {0, 1, 2}


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_labeled_gaps_are_measured_with_their_labels_hidden(Estimator):
    # The rows the test is calibrated on: each fold's labeled samples under
    # the fit refitted with that fold's labels hidden (so that, as unlabeled
    # samples of a known class do, they may join a novel cluster), not under
    # the fit that clamps them to their class, the labels left weighing
    # n / (n - h).
    X, y, _, tree, _ = make_hierarchical_blobs(
        300, 4, depth=2, n_novel=1, labeled_fraction=0.3, random_state=0)
    model = Estimator(tree, random_state=0).fit(X, y)
    y_index = model._score_targets(y, X.shape[0])
    Xs = model._scaled(X)
    labeled = y_index >= 0
    tree_, _, known = resolve_classes(tree, None, y[labeled], True)
    active = np.ones(known.size, dtype=bool)
    rows = model._cross_fitted(X, Xs, y_index, tree_, known, active)
    folds = calibration_folds(y_index)
    assert rows.shape == (np.sum(folds >= 0), known.size)
    hidden = folds == 0
    refitted = copy.copy(model)
    refitted._refit(Xs, np.where(hidden, -1, y_index), tree_, known, active,
                    fold_weights(y_index, hidden))
    np.testing.assert_allclose(rows[:hidden.sum()],
                               refitted._evidence(X[hidden]))
    # and not the evidences of the fit itself
    assert not np.allclose(rows[:hidden.sum()], model._evidence(X[hidden]))


def test_fold_weights_keep_the_labeled_mass():
    y = np.array([-1, 0, 0, 0, 1, 2, 2, -1, 0, 0, 0, 0, 2])
    folds = calibration_folds(y, n_folds=5)
    for fold in range(folds.max() + 1):
        hidden = folds == fold
        w = fold_weights(y, hidden)
        kept = (y >= 0) & ~hidden
        # the labels left weigh as many as all the labels
        assert np.isclose(w[kept].sum(), np.sum(y >= 0))
        assert np.all(w[kept] == w[kept][0]) and np.all(w[y < 0] == 1.0)
    # fold 0 hides 3 of the 11 labels: 11 / 8 each
    np.testing.assert_allclose(fold_weights(y, folds == 0)[[2, 4]], 11 / 8)


def _fitted(Estimator, solver="alternating"):
    X, y, _, tree, _ = make_hierarchical_blobs(
        300, 4, depth=2, n_novel=1, labeled_fraction=0.3, random_state=0)
    model = Estimator(tree, solver=solver, random_state=0).fit(X, y)
    y_index = model._score_targets(y, X.shape[0])
    tree_, _, known = resolve_classes(tree, None, y[y_index >= 0], True)
    return model, X, model._scaled(X), y_index, tree_, known


@pytest.mark.parametrize("Estimator, solver", [
    (NovelClassKMeans, "alternating"), (NovelClassKMeans, "adam"),
    (HierarchicalGMM, "alternating")])
def test_weighted_refit_equals_refit_with_duplicated_labels(Estimator, solver):
    # Integer weights on the labeled samples (unlabeled entries not read)
    # are the same refit as those samples repeated that many times: the
    # solvers' labeled sums, counts, squared norms and unit residuals, the
    # EM's likelihood, means and variances, and the evidences' unit all
    # carry the weights. Ignoring them changes the evidences by units.
    model, X, Xs, y_index, tree, known = _fitted(Estimator, solver)
    active = np.ones(known.size, dtype=bool)
    labeled = y_index >= 0
    weights = np.where(labeled, np.random.RandomState(0).randint(
        1, 4, size=y_index.size), 7).astype(np.float64)
    repeat = np.repeat(np.arange(y_index.size), np.where(labeled, weights, 1)
                       .astype(int))
    weighted, repeated, plain = (copy.copy(model) for _ in range(3))
    weighted._refit(Xs, y_index, tree, known, active, weights)
    repeated._refit(Xs[repeat], y_index[repeat], tree, known, active)
    plain._refit(Xs, y_index, tree, known, active)
    got = weighted._evidence(X)
    np.testing.assert_allclose(got, repeated._evidence(X), rtol=1e-9,
                               atol=1e-9)
    assert np.max(np.abs(got - plain._evidence(X))) > 1.0
    # unit weights are no weights; for h-k-means, whose labeled term is a
    # mean, neither are equal weights (EM counts them)
    unit = copy.copy(model)
    unit._refit(Xs, y_index, tree, known, active, np.ones(y_index.size))
    np.testing.assert_allclose(unit._evidence(X), plain._evidence(X),
                               rtol=1e-12, atol=1e-12)
    equal = copy.copy(model)
    equal._refit(Xs, y_index, tree, known, active, np.full(y_index.size, 1.25))
    if Estimator is NovelClassKMeans:
        np.testing.assert_allclose(equal._evidence(X), plain._evidence(X),
                                   rtol=1e-9, atol=1e-9)
    else:
        assert np.max(np.abs(equal._evidence(X) - plain._evidence(X))) > 1e-3


def test_weighted_kernels_match_their_definition():
    from skdeep.cluster._ncd_kernels import cluster_sums, unit_residual_sums

    rng = np.random.RandomState(0)
    X, labels = rng.normal(size=(30, 3)), rng.randint(3, size=30)
    centers, w = rng.normal(size=(3, 3)), rng.uniform(0.5, 2.0, size=30)
    onehot = np.eye(3)[labels] * w[:, None]
    sums, counts = cluster_sums(X, labels, 3, w)
    np.testing.assert_allclose(sums, onehot.T @ X)
    np.testing.assert_allclose(counts, onehot.sum(axis=0))
    diff = X - centers[labels]
    norm_ = np.linalg.norm(diff, axis=1)
    units, total = unit_residual_sums(X, centers, labels, w)
    np.testing.assert_allclose(units, onehot.T @ (diff / norm_[:, None]))
    np.testing.assert_allclose(total, w @ norm_)
    # no weights: each row once
    np.testing.assert_allclose(cluster_sums(X, labels, 3)[1],
                               np.bincount(labels, minlength=3))
    np.testing.assert_allclose(unit_residual_sums(X, centers, labels)[1],
                               norm_.sum())
