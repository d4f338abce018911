"""The h-k-means start and solvers, as pure functions on arrays.

Both cluster estimators call :func:`hkmeans`: :class:`NovelClassKMeans` returns its
solution, :class:`HierarchicalGMM` starts its EM from it. Nothing here touches an
estimator; progress goes through the :class:`~skdeep.utils._iteration.IterationMonitor`
passed in, whose ``max_iter`` and ``tol`` stop the solve by skdeep's one stopping
rule: over one pass for the alternating solver (whose loss never increases), over
:data:`ADAM_N_ITER_NO_CHANGE` steps for Adam (whose loss does not decrease at
every step), with ``tol`` in both a decrease per iteration relative to the first
value of the loss.

Precision: the per-sample work (distances, the kernels' passes over ``X``) runs in
the dtype of ``X`` (float32 or float64); the kernels accumulate in float64, and the
small per-node arrays (offsets, centres, the normal equations) are float64.
"""

import copy
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed
from scipy import linalg
from sklearn.utils import check_random_state

from ..utils._adam import NumpyAdam
from ..utils._matching import hungarian_match
from ._hierarchy import tree_neighbors
from ._ncd_kernels import cluster_sums, squared_distances, unit_residual_sums
from ._novelty import candidates

#: The window of the stopping rule for Adam. Fixed-size Adam steps make the
#: loss oscillate, and after some starts rise for tens of steps before it falls
#: below its start (measured on the simulators: 2 to 67 steps), so the decrease
#: is measured over this many steps, and ``tol`` is the mean decrease per step.
ADAM_N_ITER_NO_CHANGE = 20


class HKMeansSolution(NamedTuple):
    """What an h-k-means solve computes (the best of ``n_init`` starts)."""

    offsets: np.ndarray  # (n_nodes, n_features) node offsets E, float64
    centers: np.ndarray  # (n_leaves, n_features) prototypes A @ E, float64
    assignments: np.ndarray  # leaf index per sample: given label or nearest prototype
    loss_curve: np.ndarray  # float64, one value per iteration of the best start
    n_iter: int
    converged: bool
    objective: float  # final loss of the best start


def node_penalties(A, lambda_unlabeled, lambda_hierarchy):
    """Per-node weights of the hierarchy penalty ``sum_j p_j ||eps_j||^2``.

    ``p_j = lambda_hierarchy * (1 + lambda_unlabeled) * (leaves under j) / n_leaves``
    and ``p_root = 0``. The fit terms are means whose weights sum to
    ``1 + lambda_unlabeled``, so a leaf holding its share of the samples has its
    offset shrunk toward its parent by about ``1 / (1 + lambda_hierarchy)``,
    whatever the units of ``X``, the number of samples or of leaves.
    """
    mass = A.sum(axis=0) / A.shape[0]
    penalty = lambda_hierarchy * (1.0 + lambda_unlabeled) * mass
    penalty[0] = 0.0  # the root offset is the global location: free
    return penalty


def novel_priors(centers, tree, known, n_neighbors):
    """Where the tree places each novel leaf before seeing its samples: the
    mean of the known prototypes of its :func:`tree_neighbors`."""
    novel_idx = np.flatnonzero(~known)
    priors = np.empty((novel_idx.size, centers.shape[1]))
    for j, leaf in enumerate(novel_idx):
        priors[j] = centers[tree_neighbors(tree, known, n_neighbors, leaf)].mean(
            axis=0)
    return priors


def name_novel_clusters(novel_centers, priors, penalty):
    """The naming of novel clusters to novel leaves that the hierarchy prefers.

    A matching (Hungarian) of the clusters to the novel leaves that minimises
    ``sum_l penalty_l ||c_{pi(l)} - prior_l||^2``: the hierarchy penalty a
    novel leaf pays for sitting away from where the tree places it. Returns the
    permutation ``perm`` such that leaf ``l`` takes cluster ``perm[l]``. With a
    zero penalty every naming costs the same and the clusters keep their order.
    """
    d2 = np.sum((novel_centers[None, :, :] - priors[:, None, :]) ** 2, axis=2)
    cost = penalty[:, None] * d2
    if not np.any(cost):
        return np.arange(len(priors))
    cost = cost / cost.max()
    _, perm = hungarian_match(cost, maximize=False)
    return perm


def hkmeans(X, y_index, tree, known, *, lambda_unlabeled, lambda_hierarchy, solver,
            n_neighbors, n_init, learning_rate, random_state, monitor, n_jobs=None,
            novelty_level=None, select=None):
    """Solve h-k-means from ``n_init`` starts and keep the lowest objective.

    Each start puts the known prototypes at their labeled class means and seeds
    the novel ones by k-means++ on the unlabeled samples, with the known
    prototypes as already chosen centres (:func:`_seed_novel`): a novel cluster
    need not lie beyond the spread of the known classes. The seeds are named
    to the novel leaves by :func:`name_novel_clusters`, the offsets solved, and
    the naming checked once more on the solved prototypes (the renamed solution
    is kept when its objective is lower).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    y_index : ndarray of int of shape (n_samples,)
        Leaf index (in ``tree.leaves`` order) of each labeled sample, -1 elsewhere.
    tree : LabelTree
    known : ndarray of bool of shape (n_leaves,)
        Leaves that carry labeled samples.
    lambda_unlabeled, lambda_hierarchy, solver, n_neighbors, n_init, \
learning_rate, random_state, n_jobs :
        As in :class:`NovelClassKMeans`.
    novelty_level : float or None
        Every other start draws its seeds among the unlabeled samples beyond
        the known classes at this level (:func:`~._novelty.candidates`), when
        there are enough of them, the others among all unlabeled samples (a
        novel class inside the spread of the known ones has few samples
        beyond it, one outside has most); ``None`` draws every start among
        all unlabeled samples.
    select : callable or None
        Rates a start's solution (lower is better); ``None`` rates it by its
        objective. Used when a start must also pass the novelty test
        (:func:`~._novelty.gated_objective`).
    monitor : IterationMonitor
        Its ``max_iter``, ``tol`` and ``verbose`` apply to each start; the
        returned loss curve is the best start's.

    Returns
    -------
    solution : HKMeansSolution
    """
    A = tree.ancestor_matrix()
    rng = check_random_state(random_state)
    penalty = node_penalties(A, lambda_unlabeled, lambda_hierarchy)
    known_centers = _known_means(X, y_index, known)
    novel_idx = np.flatnonzero(~known)
    has_novel = novel_idx.size > 0 and bool((y_index < 0).any())
    priors = novel_priors(known_centers, tree, known, n_neighbors) if (
        novel_idx.size) else None
    leaf_penalty = penalty[tree.leaves]  # leaves are nodes: their own offsets
    solve = _alternating if solver == "alternating" else _adam
    kwargs = dict(lambda_unlabeled=lambda_unlabeled, penalty=penalty)
    if solver == "adam":
        kwargs["learning_rate"] = learning_rate
    # the seeds are drawn here, in order, so that the result does not depend on
    # how the starts are spread over the workers
    pool = None
    if has_novel and novelty_level is not None:
        pool = candidates(X, y_index, known_centers, np.flatnonzero(known),
                          novelty_level)
        if pool is not None and pool.sum() < novel_idx.size:
            pool = None  # too few: seed among all unlabeled samples
    starts = []
    for start in range(n_init if has_novel else 1):
        centers = known_centers.copy()
        if novel_idx.size:
            seeds = (_seed_novel(X, y_index, known_centers[known], novel_idx.size,
                                 rng, pool if start % 2 == 0 else None)
                     if has_novel else priors)
            perm = name_novel_clusters(seeds, priors, leaf_penalty[novel_idx])
            centers[novel_idx] = seeds[perm]
        starts.append(centers)
    # numpy releases the GIL: threads by default, any joblib backend when set
    solutions = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_solve_start)(
            X, y_index, A, tree, centers, solve, kwargs, monitor,
            priors if has_novel else None, leaf_penalty[novel_idx], novel_idx,
        )
        for centers in starts
    )
    rate = (lambda sol: sol.objective) if select is None else select
    best = min(solutions, key=rate)  # the first of equals, as before
    # the summary reports the best start
    monitor.losses = monitor.monitored = list(best.loss_curve)
    return best


def _solve_start(X, y_index, A, tree, centers, solve, kwargs, monitor, priors,
                 leaf_penalty, novel_idx):
    """One start of :func:`hkmeans`: solve from ``centers``, then check the naming.

    ``priors`` is None when the novel clusters are not renamed.
    """
    E = offsets_from_centers(centers, A, tree)
    sol = solve(X, y_index, A, E, monitor=monitor, **kwargs)
    if priors is not None:
        perm = name_novel_clusters(sol.centers[novel_idx], priors, leaf_penalty)
        if not np.array_equal(perm, np.arange(perm.size)):
            centers = sol.centers.copy()
            centers[novel_idx] = sol.centers[novel_idx][perm]
            E = offsets_from_centers(centers, A, tree)
            renamed = solve(X, y_index, A, E, monitor=monitor, **kwargs)
            if renamed.objective < sol.objective:
                sol = renamed
    return sol


def nearest_center(X, centers, x_sq=None, active=None):
    """Index of the nearest centre of each row, computed in the dtype of ``X``;
    ``active`` (a mask over the centres) closes the others."""
    centers = centers.astype(X.dtype, copy=False)
    d2 = squared_distances(X, centers, x_sq)
    if active is not None:
        d2[:, ~active] = np.inf
    return np.argmin(d2, axis=1)


def refit(X, y_index, tree, centers, active, *, lambda_unlabeled,
          lambda_hierarchy, solver, learning_rate, monitor, weights=None):
    """Solve h-k-means again from ``centers`` with only the ``active`` leaves
    open to the unlabeled samples.

    An inactive leaf takes no sample: with no data its offset is shrunk to
    zero by the hierarchy penalty (it sits at its parent). Used by
    ``n_novel_classes="auto"`` to refit the model after a novel cluster is
    removed, so that the criterion compares fitted models, and by the
    cross-fitted novelty test with some labels hidden. ``weights`` (shape
    ``(n_samples,)``, read at the labeled samples only) weigh the labeled
    samples in their term, a weighted mean (see :func:`term_weights`);
    ``None``: unit weights.
    """
    A = tree.ancestor_matrix()
    penalty = node_penalties(A, lambda_unlabeled, lambda_hierarchy)
    kwargs = dict(lambda_unlabeled=lambda_unlabeled, penalty=penalty,
                  active=active, weights=weights)
    if solver == "adam":
        kwargs["learning_rate"] = learning_rate
    solve = _alternating if solver == "alternating" else _adam
    return solve(X, y_index, A, offsets_from_centers(centers, A, tree),
                 monitor=monitor, **kwargs)


def _known_means(X, y_index, known):
    """Labeled class means of the known leaves (zeros for the novel ones)."""
    labeled = y_index >= 0
    sums, counts = cluster_sums(X[labeled], y_index[labeled], len(known))
    centers = np.zeros_like(sums)
    centers[known] = sums[known] / counts[known, None]
    return centers


def _seed_novel(X, y_index, known_centers, n_novel, rng, pool=None):
    """Greedy k-means++ seeds of the novel prototypes among the unlabeled samples.

    The known prototypes count as centres already chosen: each seed is drawn
    with probability proportional to the squared distance to the nearest centre
    so far (the best of ``2 + log(k)`` candidates, as scikit-learn's k-means++),
    so unlabeled samples that the known prototypes explain badly are favoured,
    whether or not they lie beyond a known class's spread. ``pool`` (a mask
    over the unlabeled samples) restricts the draw.
    """
    X_unl = X[y_index < 0]
    if pool is not None:
        X_unl = X_unl[pool]
    x_sq = np.einsum("ij,ij->i", X_unl, X_unl)
    closest = squared_distances(
        X_unl, known_centers.astype(X.dtype, copy=False), x_sq).min(axis=1)
    closest = closest.astype(np.float64)
    n_candidates = 2 + int(np.log(len(known_centers) + n_novel))
    seeds = np.empty((n_novel, X.shape[1]))
    for j in range(n_novel):
        total = closest.sum()
        if total > 0:
            cand = np.searchsorted(np.cumsum(closest), rng.uniform(size=n_candidates)
                                   * total)
            cand = np.minimum(cand, len(closest) - 1)
        else:
            cand = rng.randint(len(closest), size=n_candidates)
        d2 = squared_distances(X_unl, X_unl[cand], x_sq).astype(np.float64)
        pot = np.minimum(closest[:, None], d2)
        pick = int(np.argmin(pot.sum(axis=0)))
        seeds[j] = X_unl[cand[pick]]
        closest = pot[:, pick]
    return seeds


def offsets_from_centers(centers, A, tree):
    """Node offsets ``E`` with ``A @ E == centers``: each internal node sits at the
    mean of its leaves, each offset is a node's centre minus its parent's."""
    node_centers = (A.T @ centers) / A.sum(axis=0)[:, None]
    E = node_centers.copy()
    E[1:] -= node_centers[tree.parent[1:]]
    return E


def _solve_offsets(A, weights, targets, penalty):
    """Minimise ``sum_k w_k ||m_k - (A E)_k||^2 + sum_j p_j ||E_j||^2`` exactly;
    ``targets[k] = w_k m_k``, ``penalty`` the per-node ``p`` (zero at the root)."""
    H = (A.T * weights) @ A + np.diag(penalty)
    rhs = A.T @ targets
    try:
        return linalg.solve(H, rhs, assume_a="pos")
    except (linalg.LinAlgError, ValueError):
        # Singular without the penalty (lambda_h = 0 or an empty leaf): least norm.
        return linalg.lstsq(H, rhs)[0]


def term_weights(y_index, lambda_unlabeled, weights=None):
    """Per-sample weights of the labeled (``a``) and unlabeled (``b``) terms: each
    term is a mean over its samples, the labeled one weighted by ``weights``
    (read at the labeled samples; ``None``: unit weights), so that a labeled
    sample ``i`` weighs ``a * weights[i]``."""
    labeled = y_index >= 0
    n_unlabeled = int(np.sum(~labeled))
    total = (labeled.sum() if weights is None
             else np.sum(weights[labeled], dtype=np.float64))
    a = 1.0 / total
    b = lambda_unlabeled / n_unlabeled if n_unlabeled else 0.0
    return a, b


def labeled_weights(y_index, weights):
    """``weights`` at the labeled samples, float64, or ``None``."""
    if weights is None:
        return None
    return np.asarray(weights, dtype=np.float64)[y_index >= 0]


def _fresh(monitor, **rule):
    """A copy of ``monitor`` with no iteration recorded (one per solve), and the
    ``rule`` settings (``n_iter_no_change``, ``scale``) of its solver."""
    fresh = copy.copy(monitor)
    fresh.losses, fresh.monitored, fresh.terms = [], [], {}
    for key, value in rule.items():
        setattr(fresh, key, value)
    return fresh


def _solution(X, y_index, A, E, unl_sq, monitor, converged, active=None):
    """Package the solve: centres, and the final assignment of every sample."""
    C = A @ E
    assign = y_index.copy()
    unlabeled = y_index < 0
    if unlabeled.any():
        assign[unlabeled] = nearest_center(X[unlabeled], C, unl_sq, active)
    curve = monitor.loss_curve()
    return HKMeansSolution(E, C, assign, curve, monitor.n_iter, converged,
                           float(curve[-1]))


def _alternating(X, y_index, A, E, *, lambda_unlabeled, penalty, monitor,
                 active=None, weights=None):
    """Squared-distance h-k-means by exact alternating minimisation.

    Each pass assigns the unlabeled samples to their nearest prototype, then solves
    the normal equations of all offsets at once; the loss never increases. Stops
    at the fixed point (no assignment changes: a property of the algorithm), by
    the stopping rule over one pass (the scale: the first loss), or at
    ``max_iter`` passes. ``active``: the leaves open to the unlabeled samples
    (all when ``None``); ``weights``: of the labeled samples (:func:`refit`).
    """
    monitor = _fresh(monitor)
    labeled = y_index >= 0
    X_lab, X_unl = X[labeled], X[~labeled]
    n_leaves = A.shape[0]
    a, b = term_weights(y_index, lambda_unlabeled, weights)
    w_lab = labeled_weights(y_index, weights)
    lab_sums, lab_counts = cluster_sums(X_lab, y_index[labeled], n_leaves, w_lab)
    lab_sq = float(
        np.einsum("ij,ij->", X_lab, X_lab, dtype=np.float64) if w_lab is None
        else np.einsum("ij,ij,i->", X_lab, X_lab, w_lab, dtype=np.float64))
    unl_sq = np.einsum("ij,ij->i", X_unl, X_unl)
    unl_sq_total = float(unl_sq.sum(dtype=np.float64))
    z = None
    converged = False
    for _ in range(monitor.max_iter):
        if X_unl.shape[0]:
            z_new = nearest_center(X_unl, A @ E, unl_sq, active)
            if z is not None and np.array_equal(z, z_new):
                converged = True  # this pass only confirmed the fixed point
                break
            z = z_new
            unl_sums, unl_counts = cluster_sums(X_unl, z, n_leaves)
        else:
            unl_sums, unl_counts = np.zeros_like(lab_sums), np.zeros(n_leaves)
        weights = a * lab_counts + b * unl_counts
        targets = a * lab_sums + b * unl_sums
        E = _solve_offsets(A, weights, targets, penalty)
        C = A @ E
        # Loss from cluster statistics: sum ||x||^2 - 2 x.c + ||c||^2.
        fit = (a * lab_sq + b * unl_sq_total - 2.0 * np.sum(targets * C)
               + np.sum(weights * np.einsum("ij,ij->i", C, C)))
        monitor.record(fit + penalty @ np.sum(E**2, axis=1))
        if not X_unl.shape[0]:
            converged = True  # one exact solve is the optimum
            break
        if monitor.converged():
            converged = True
            break
    return _solution(X, y_index, A, E, unl_sq, monitor, converged, active)


def _adam(X, y_index, A, E, *, lambda_unlabeled, penalty, learning_rate, monitor,
          active=None, weights=None):
    """Non-squared h-k-means by full-batch Adam on the offsets (the reference
    implementation's solver). Stops by the stopping rule over the last
    :data:`ADAM_N_ITER_NO_CHANGE` steps, with ``tol`` per step (the scale: that
    many times the loss at the start), or at ``max_iter`` steps. ``weights``:
    of the labeled samples (:func:`refit`)."""
    labeled = y_index >= 0
    X_lab, X_unl = X[labeled], X[~labeled]
    a, b = term_weights(y_index, lambda_unlabeled, weights)
    unl_sq = np.einsum("ij,ij->i", X_unl, X_unl)
    data = (A, X_lab, y_index[labeled], X_unl, unl_sq, a, b, penalty, active,
            labeled_weights(y_index, weights))
    E = E.copy()  # Adam updates it in place
    adam = NumpyAdam([E], learning_rate)
    loss, grad = _adam_objective(E, *data)
    monitor = _fresh(monitor, n_iter_no_change=ADAM_N_ITER_NO_CHANGE,
                     scale=ADAM_N_ITER_NO_CHANGE * abs(loss))
    converged = False
    for _ in range(monitor.max_iter):
        monitor.record(loss)
        if monitor.converged():
            converged = True
            break
        adam.step([grad])
        loss, grad = _adam_objective(E, *data)
    return _solution(X, y_index, A, E, unl_sq, monitor, converged, active)


def _adam_objective(E, A, X_lab, y_lab, X_unl, unl_sq, a, b, penalty,
                    active=None, w_lab=None):
    """The non-squared h-k-means loss at offsets ``E`` and its gradient in ``E``
    (``w_lab``: the labeled samples' weights, ``None`` for unit)."""
    C = A @ E
    lab_units, lab_total = unit_residual_sums(X_lab, C, y_lab, w_lab)
    grad_c = -a * lab_units
    loss = a * lab_total
    if X_unl.shape[0]:
        z = nearest_center(X_unl, C, unl_sq, active)
        unl_units, unl_total = unit_residual_sums(X_unl, C, z)
        grad_c -= b * unl_units
        loss += b * unl_total
    loss = loss + penalty @ np.sum(E**2, axis=1)
    return loss, A.T @ grad_c + 2.0 * penalty[:, None] * E
