"""The h-k-means start and solvers, as pure functions on arrays.

Both cluster estimators call :func:`hkmeans`: :class:`NovelClassKMeans` returns its
solution, :class:`HierarchicalGMM` starts its EM from it. Nothing here touches an
estimator; progress goes through the :class:`~skdeep.utils._iteration.IterationMonitor`
passed in, whose ``max_iter`` and ``tol`` stop the solve.

Precision: the per-sample work (distances, the kernels' passes over ``X``) runs in
the dtype of ``X`` (float32 or float64); the kernels accumulate in float64, and the
small per-node arrays (offsets, centres, the normal equations) are float64.
"""

from typing import NamedTuple

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

from ..utils._adam import NumpyAdam
from ._ncd_kernels import cluster_sums, squared_distances, unit_residual_sums

# Labeled spread of a known class: an unlabeled sample farther from every known
# prototype than this quantile of the class's labeled squared distances is
# "unexplained" and seeds the novel prototypes.
_UNEXPLAINED_QUANTILE = 0.95


class HKMeansSolution(NamedTuple):
    """What an h-k-means solve computes."""

    offsets: np.ndarray  # (n_nodes, n_features) node offsets E, float64
    centers: np.ndarray  # (n_leaves, n_features) prototypes A @ E, float64
    assignments: np.ndarray  # leaf index per sample: given label or nearest prototype
    loss_curve: np.ndarray  # float64, one value per iteration
    n_iter: int
    converged: bool


def hkmeans(X, y_index, tree, known, *, lambda_unlabeled, lambda_hierarchy, solver,
            n_neighbors, learning_rate, random_state, monitor):
    """Initialise the prototypes along the tree and solve h-k-means.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    y_index : ndarray of int of shape (n_samples,)
        Leaf index (in ``tree.leaves`` order) of each labeled sample, -1 elsewhere.
    tree : LabelTree
    known : ndarray of bool of shape (n_leaves,)
        Leaves that carry labeled samples.
    lambda_unlabeled, lambda_hierarchy, solver, n_neighbors, learning_rate, \
random_state :
        As in :class:`NovelClassKMeans`.
    monitor : IterationMonitor
        Records the loss of each iteration; its ``max_iter`` and ``tol`` stop the
        solve.

    Returns
    -------
    solution : HKMeansSolution
    """
    A = tree.ancestor_matrix()
    rng = check_random_state(random_state)
    centers = _initial_centers(X, y_index, tree, known, n_neighbors, rng)
    E = _offsets_from_centers(centers, A, tree)
    if solver == "alternating":
        return _alternating(X, y_index, A, E, lambda_unlabeled=lambda_unlabeled,
                            lambda_hierarchy=lambda_hierarchy, monitor=monitor)
    return _adam(X, y_index, A, E, lambda_unlabeled=lambda_unlabeled,
                 lambda_hierarchy=lambda_hierarchy, learning_rate=learning_rate,
                 monitor=monitor)


def nearest_center(X, centers, x_sq=None):
    """Index of the nearest centre of each row, computed in the dtype of ``X``."""
    centers = centers.astype(X.dtype, copy=False)
    return np.argmin(squared_distances(X, centers, x_sq), axis=1)


def _initial_centers(X, y_index, tree, known, n_neighbors, rng,
                     quantile=_UNEXPLAINED_QUANTILE):
    """Initial prototypes, one per leaf.

    Known prototypes sit at their class means. Each novel one gets a tree prior,
    the mean of its ``n_neighbors`` nearest known leaves in the tree, plus a small
    random jitter that separates novel leaves in the same place (siblings, a flat
    tree); it is then moved onto the unlabeled samples of its region of the tree
    that the known prototypes do not explain (:func:`_place_novel_on_unexplained`).
    """
    n_leaves, d = len(tree.leaves), X.shape[1]
    labeled = y_index >= 0
    sums, counts = cluster_sums(X[labeled], y_index[labeled], n_leaves)
    centers = np.zeros((n_leaves, d))
    centers[known] = sums[known] / counts[known, None]
    known_idx = np.flatnonzero(known)
    novel_idx = np.flatnonzero(~known)
    dist = tree.leaf_distances()
    jitter = np.zeros((len(novel_idx), d))
    for j, leaf in enumerate(novel_idx):
        order = np.argsort(dist[leaf, known_idx], kind="stable")
        neighbours = centers[known_idx[order[:n_neighbors]]]
        prior = neighbours.mean(axis=0)
        spread = np.sqrt(np.mean(np.sum((neighbours - prior) ** 2, axis=1)))
        if spread == 0.0:  # a single neighbour: use the spread of the known classes
            spread = np.sqrt(np.mean(np.sum(
                (centers[known_idx] - centers[known_idx].mean(0)) ** 2, axis=1)))
        jitter[j] = rng.normal(scale=0.25 * spread / np.sqrt(d), size=d)
        centers[leaf] = prior + jitter[j]
    if novel_idx.size and (~labeled).any():
        # Region of a novel leaf: its nearest known leaves in the tree.
        near = dist[np.ix_(novel_idx, known_idx)]
        region = near == near.min(axis=1, keepdims=True)
        _place_novel_on_unexplained(X, y_index, centers, known, region, jitter,
                                    quantile)
    return centers


def _place_novel_on_unexplained(X, y_index, centers, known, region, jitter,
                                quantile, n_iter=20):
    """Move the novel prototypes (in place) onto the unlabeled samples of their
    tree region that no known prototype explains.

    An unlabeled sample is *unexplained* when its squared distance to its nearest
    known prototype exceeds the ``quantile`` of the squared distances of that
    class's labeled samples to their prototype: it lies outside the labeled
    spread of every known class. It may go to a novel leaf only when its nearest
    known leaf is one of that novel leaf's nearest known leaves in the tree
    (``region``, shape (n_novel, n_known)), so the tails of distant known classes
    do not attract a novel prototype. Each novel prototype starts at the mean of
    the samples it may take (plus its ``jitter``, which splits novel siblings) and
    a few Lloyd passes share the samples among novel leaves of the same region; a
    novel prototype with no sample keeps its tree prior.

    Without this step a tree prior is, in high dimension, farther from its novel
    cluster than the closest known sibling, which captures the cluster while the
    novel prototype stays empty.
    """
    labeled = y_index >= 0
    known_idx = np.flatnonzero(known)
    novel_idx = np.flatnonzero(~known)
    X_lab, y_lab = X[labeled], y_index[labeled]
    own = np.sum((X_lab - centers[y_lab].astype(X.dtype, copy=False)) ** 2, axis=1)
    threshold = np.full(len(centers), np.inf)
    for k in known_idx:
        threshold[k] = np.quantile(own[y_lab == k], quantile)
    X_unl = X[~labeled]
    d2 = squared_distances(X_unl, centers[known_idx].astype(X.dtype, copy=False))
    nearest = np.argmin(d2, axis=1)
    unexplained = d2[np.arange(len(nearest)), nearest] > threshold[known_idx[nearest]]
    allowed = region[:, nearest[unexplained]].T  # (n_unexplained, n_novel)
    keep = allowed.any(axis=1)
    X_new, allowed = X_unl[unexplained][keep], allowed[keep]
    if not X_new.shape[0]:
        return
    counts = allowed.sum(axis=0)
    starts = centers[novel_idx].copy()
    filled = counts > 0
    starts[filled] = (allowed.T @ X_new)[filled] / counts[filled, None]
    starts[filled] += jitter[filled]
    z = None
    for _ in range(n_iter):
        d2 = squared_distances(X_new, starts.astype(X.dtype, copy=False))
        d2[~allowed] = np.inf
        z_new = np.argmin(d2, axis=1)
        if z is not None and np.array_equal(z, z_new):
            break
        z = z_new
        sums, counts = cluster_sums(X_new, z, len(novel_idx))
        filled = counts > 0
        starts[filled] = sums[filled] / counts[filled, None]
    centers[novel_idx] = starts


def _offsets_from_centers(centers, A, tree):
    """Node offsets ``E`` with ``A @ E == centers``: each internal node sits at the
    mean of its leaves, each offset is a node's centre minus its parent's."""
    node_centers = (A.T @ centers) / A.sum(axis=0)[:, None]
    E = node_centers.copy()
    E[1:] -= node_centers[tree.parent[1:]]
    return E


def _solve_offsets(A, weights, targets, lambda_h):
    """Minimise ``sum_k w_k ||m_k - (A E)_k||^2 + lambda_h ||E[1:]||^2`` exactly;
    ``targets[k] = w_k m_k``."""
    penalty = np.full(A.shape[1], lambda_h)
    penalty[0] = 0.0  # the root offset is free: it is the global location
    H = (A.T * weights) @ A + np.diag(penalty)
    rhs = A.T @ targets
    try:
        return linalg.solve(H, rhs, assume_a="pos")
    except (linalg.LinAlgError, ValueError):
        # Singular without the penalty (lambda_h = 0 or an empty leaf): least norm.
        return linalg.lstsq(H, rhs)[0]


def _sample_weights(X, y_index, lambda_unlabeled):
    """Per-sample weights of the labeled (``a``) and unlabeled (``b``) terms: each
    term is a mean over its samples."""
    n_unlabeled = int(np.sum(y_index < 0))
    a = 1.0 / (X.shape[0] - n_unlabeled)
    b = lambda_unlabeled / n_unlabeled if n_unlabeled else 0.0
    return a, b


def _solution(X, y_index, A, E, unl_sq, monitor, converged):
    """Package the solve: centres, and the final assignment of every sample."""
    C = A @ E
    assign = y_index.copy()
    unlabeled = y_index < 0
    if unlabeled.any():
        assign[unlabeled] = nearest_center(X[unlabeled], C, unl_sq)
    return HKMeansSolution(E, C, assign, monitor.loss_curve(), monitor.n_iter,
                           converged)


def _alternating(X, y_index, A, E, *, lambda_unlabeled, lambda_hierarchy, monitor):
    """Squared-distance h-k-means by exact alternating minimisation.

    Each pass assigns the unlabeled samples to their nearest prototype, then solves
    the normal equations of all offsets at once; the loss never increases. Stops
    when no assignment changes, when the relative decrease falls to ``tol`` or at
    ``max_iter`` passes.
    """
    labeled = y_index >= 0
    X_lab, X_unl = X[labeled], X[~labeled]
    n_leaves = A.shape[0]
    a, b = _sample_weights(X, y_index, lambda_unlabeled)
    lab_sums, lab_counts = cluster_sums(X_lab, y_index[labeled], n_leaves)
    lab_sq = float(np.einsum("ij,ij->", X_lab, X_lab, dtype=np.float64))
    unl_sq = np.einsum("ij,ij->i", X_unl, X_unl)
    unl_sq_total = float(unl_sq.sum(dtype=np.float64))
    lam = lambda_hierarchy
    z = None
    converged = False
    for _ in range(monitor.max_iter):
        if X_unl.shape[0]:
            z_new = nearest_center(X_unl, A @ E, unl_sq)
            if z is not None and np.array_equal(z, z_new):
                converged = True  # this pass only confirmed the fixed point
                break
            z = z_new
            unl_sums, unl_counts = cluster_sums(X_unl, z, n_leaves)
        else:
            unl_sums, unl_counts = np.zeros_like(lab_sums), np.zeros(n_leaves)
        weights = a * lab_counts + b * unl_counts
        targets = a * lab_sums + b * unl_sums
        E = _solve_offsets(A, weights, targets, lam)
        C = A @ E
        # Loss from cluster statistics: sum ||x||^2 - 2 x.c + ||c||^2.
        fit = (a * lab_sq + b * unl_sq_total - 2.0 * np.sum(targets * C)
               + np.sum(weights * np.einsum("ij,ij->i", C, C)))
        monitor.record(fit + lam * np.sum(E[1:] ** 2))
        if not X_unl.shape[0]:
            converged = True  # one exact solve is the optimum
            break
        if monitor.relative_decrease() <= monitor.tol:
            converged = True
            break
    return _solution(X, y_index, A, E, unl_sq, monitor, converged)


def _adam(X, y_index, A, E, *, lambda_unlabeled, lambda_hierarchy, learning_rate,
          monitor):
    """Non-squared h-k-means by full-batch Adam on the offsets (the reference
    implementation's solver). Stops when the relative change of the loss falls to
    ``tol`` or at ``max_iter`` steps."""
    labeled = y_index >= 0
    X_lab, X_unl = X[labeled], X[~labeled]
    y_lab = y_index[labeled]
    a, b = _sample_weights(X, y_index, lambda_unlabeled)
    unl_sq = np.einsum("ij,ij->i", X_unl, X_unl)
    lam = lambda_hierarchy
    penalty = np.ones((A.shape[1], 1))
    penalty[0] = 0.0
    E = E.copy()  # Adam updates it in place
    adam = NumpyAdam([E], learning_rate)
    converged = False
    for _ in range(monitor.max_iter):
        C = A @ E
        lab_units, lab_total = unit_residual_sums(X_lab, C, y_lab)
        grad_c = -a * lab_units
        loss = a * lab_total
        if X_unl.shape[0]:
            z = nearest_center(X_unl, C, unl_sq)
            unl_units, unl_total = unit_residual_sums(X_unl, C, z)
            grad_c -= b * unl_units
            loss += b * unl_total
        monitor.record(loss + lam * np.sum(E[1:] ** 2))
        if abs(monitor.relative_decrease()) <= monitor.tol:
            converged = True
            break
        adam.step([A.T @ grad_c + 2.0 * lam * penalty * E])
    return _solution(X, y_index, A, E, unl_sq, monitor, converged)
