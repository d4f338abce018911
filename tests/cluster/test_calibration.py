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
    # the fit that clamps them to their class.
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
    refitted._refit(Xs, np.where(hidden, -1, y_index), tree_, known, active)
    np.testing.assert_allclose(rows[:hidden.sum()],
                               refitted._evidence(X[hidden]))
    # and not the evidences of the fit itself
    assert not np.allclose(rows[:hidden.sum()], model._evidence(X[hidden]))
