"""Input scaling and the selection of the weight decay of
:class:`~skdeep.neural.NystromNetClassifier`.

Without a backbone and with the exact map ``W = K_mm^{-1/2}``, the network is a
Nyström kernel logistic regression: a softmax layer on fixed features, a convex
problem. :func:`select_alpha` solves it on inner cross-validation folds for a
grid of weight decays, and :func:`fit_softmax` solves it on the whole training
set, the start of the softmax layer of the network. The solver is L-BFGS on
the exact objective of the network (the weighted mean cross-entropy plus
``alpha / 2 * ||A||^2``, biases unpenalised).
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax
from sklearn.model_selection import StratifiedKFold

from ..utils._validation import power_of_two_scale

#: The bandwidths of ``gamma="auto"``: one Nyström block per multiple of the
#: median heuristic.
GAMMA_FACTORS = (1 / 16, 1 / 4, 1.0, 4.0)
#: Weight decays tried by ``alpha="auto"``.
ALPHA_GRID = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8)
#: Inner folds: at most 5, and about ``FOLD_ROWS / n_samples`` (at least 2)
#: on larger sets; one split of those beyond ``ONE_SPLIT_ROWS`` rows.
MAX_FOLDS = 5
FOLD_ROWS = 1000
ONE_SPLIT_ROWS = 1000
#: L-BFGS budget of one softmax fit, and its gradient tolerance (looser on the
#: inner folds, where only the ranking of the candidates matters). The final
#: tolerance is also the network's L-BFGS one, so that the training loop does
#: not solve again what the start solved (below it, the predictions of a
#: 1500-feature start on digits no longer change).
SOFTMAX_MAX_ITER = 300
FINAL_GTOL = 1e-7
INNER_GTOL = 1e-4


def standard_scaling(X, sample_weight):
    """Weighted mean and standard deviation of every column.

    The weights count as repetitions (a row of weight 2 is a row given
    twice). Computed on the columns divided by a power of two near their
    largest magnitude (an exact division), so that the squares neither
    overflow nor underflow at any magnitude of ``X``; a (nearly) constant
    column gets that power of two as its scale, and a column of zeros that of
    the whole ``X`` (so that its test values are read in the units of the
    data).
    """
    top = np.abs(X).max(axis=0)
    unit = power_of_two_scale(np.where(top > 0, top, top.max()))
    Xu = X / unit
    mean_u = np.average(Xu, axis=0, weights=sample_weight)
    scale_u = np.sqrt(np.average((Xu - mean_u) ** 2, axis=0, weights=sample_weight))
    constant = ~(scale_u > np.finfo(np.float64).eps * np.maximum(np.abs(mean_u), 1))
    return mean_u * unit, np.where(constant, unit, scale_u * unit)


def collapse_duplicates(X, y, w):
    """Distinct ``(row, label)`` pairs of positive weight, their summed
    weights, and the index of each original row among them (``-1`` for rows
    of weight 0): a row given twice is a row of weight 2."""
    keep = np.flatnonzero(w > 0)
    pairs = np.column_stack([X[keep], y[keep]])
    _, first, inverse = np.unique(pairs, axis=0, return_index=True,
                                  return_inverse=True)
    inverse = inverse.ravel()
    index = np.full(X.shape[0], -1)
    index[keep] = inverse
    rows = keep[first]
    return rows, np.bincount(inverse, weights=w[keep]), index


def _softmax_objective(params, H, Y, w, alpha):
    n_features, n_classes = H.shape[1], Y.shape[1]
    A = params[: n_features * n_classes].reshape(n_features, n_classes)
    b = params[n_features * n_classes :]
    logp = log_softmax(H @ A + b, axis=1)
    n = H.shape[0]
    loss = -(w * (Y * logp).sum(axis=1)).sum() / n + 0.5 * alpha * (A * A).sum()
    residual = (np.exp(logp) - Y) * (w[:, None] / n)
    grad_A = H.T @ residual + alpha * A
    return loss, np.concatenate([grad_A.ravel(), residual.sum(axis=0)])


def fit_softmax(H, y, w, n_classes, alpha, start=None, gtol=FINAL_GTOL):
    """``(A, b)`` minimising ``mean(w * CE(softmax(H A + b), y)) + alpha/2 ||A||^2``.

    ``A`` has shape ``(n_features, n_classes)``; ``start`` is a previous
    solution (a warm start along a path of ``alpha``).
    """
    H = np.asarray(H, dtype=np.float64)
    Y = np.eye(n_classes)[y]
    size = H.shape[1] * n_classes
    x0 = np.zeros(size + n_classes) if start is None else np.concatenate(
        [start[0].ravel(), start[1]]
    )
    result = minimize(
        _softmax_objective, x0, args=(H, Y, w, alpha), jac=True, method="L-BFGS-B",
        options={"maxiter": SOFTMAX_MAX_ITER, "gtol": gtol,
                 "ftol": 1e-15 if gtol <= FINAL_GTOL else 1e-9},
    )
    return result.x[:size].reshape(H.shape[1], n_classes), result.x[size:]


def _correct(H, y, w, A, b):
    """Weighted count of the rows ``argmax(H A + b)`` classifies right."""
    return np.sum(w * ((H @ A + b).argmax(axis=1) == y))


def inner_folds(y, w, rng):
    """Stratified inner (train, test) splits of the rows of positive weight.

    ``min(5, smallest class count, max(2, FOLD_ROWS // n_rows))`` folds, only
    the first when there are more than :data:`ONE_SPLIT_ROWS` rows; ``[]`` when
    a class has fewer than 2 rows (nothing to select on).
    """
    rows = np.flatnonzero(w > 0)
    present = np.bincount(y[rows])
    smallest = present[present > 0].min() if rows.size else 0
    if smallest < 2:
        return []
    n_folds = min(MAX_FOLDS, int(smallest), max(2, FOLD_ROWS // rows.size))
    folds = StratifiedKFold(n_folds, shuffle=True,
                            random_state=rng.randint(np.iinfo(np.int32).max))
    splits = [(rows[a], rows[b]) for a, b in folds.split(rows, y[rows])]
    return splits[:1] if rows.size > ONE_SPLIT_ROWS else splits


def select_alpha(features, X, y, w, landmarks, n_classes, alphas, rng):
    """The weight decay of best inner cross-validated accuracy.

    ``features(X_rows, landmark_rows)`` returns the Nyström features of
    ``X_rows`` on ``landmark_rows``. Repeated rows are counted once with
    their summed weight (:func:`collapse_duplicates`, so that repeating a row
    and weighting it choose the same), then split into stratified folds; on
    each fold the landmarks are those of the fold's training part. Among
    equally accurate weight decays the middle one is taken
    (:func:`median_of_best`). Returns ``None`` when there is nothing to
    select (one candidate, or too few rows).
    """
    if len(alphas) == 1:
        return None
    rows, w, index = collapse_duplicates(X, y, w)
    landmarks = np.unique(index[landmarks])
    X, y = X[rows], y[rows]
    folds = inner_folds(y, w, rng)
    if not folds:
        return None
    alphas = sorted(alphas, reverse=True)  # strong to weak: warm starts
    correct = np.zeros(len(alphas))
    for train, test in folds:
        in_train = np.isin(landmarks, train)
        fold_landmarks = landmarks[in_train] if in_train.any() else train
        H_train = features(X[train], X[fold_landmarks])
        H_test = features(X[test], X[fold_landmarks])
        weights = w[train] / w[train].mean()
        start = None
        for j, alpha in enumerate(alphas):
            start = fit_softmax(H_train, y[train], weights, n_classes, alpha, start,
                                INNER_GTOL)
            correct[j] += _correct(H_test, y[test], w[test], *start)
    return alphas[median_of_best(correct)]


def median_of_best(scores):
    """Index of the middle of the best ``scores`` (the weaker of the two
    middle ones for an even count).

    With few inner test rows many weight decays give the same number of right
    answers; the middle of that plateau is the value farthest from where the
    accuracy starts to drop on either side (the largest tied value sits at
    the edge of under-fitting).
    """
    scores = np.round(np.asarray(scores, dtype=np.float64), 9)
    best = np.flatnonzero(scores == scores.max())
    return int(best[best.size // 2])
