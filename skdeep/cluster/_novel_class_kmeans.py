"""Hierarchical k-means for novel class discovery (h-k-means)."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._validation import FLOAT_DTYPES, check_semi_supervised_y
from ._hierarchy import as_label_array, resolve_classes
from ._ncd_kernels import cluster_sums, squared_distances, unit_residual_sums

# Labeled spread of a known class: an unlabeled sample farther from every known
# prototype than this quantile of the class's labeled squared distances is
# "unexplained" and seeds the novel prototypes.
_UNEXPLAINED_QUANTILE = 0.95

_COMMON_CONSTRAINTS = {
    "hierarchy": [dict, list, tuple, "array-like", None],
    "n_novel_classes": [Interval(Integral, 0, None, closed="left"), None],
    "lambda_unlabeled": [Interval(Real, 0, None, closed="left")],
    "lambda_hierarchy": [Interval(Real, 0, None, closed="left")],
    "solver": [StrOptions({"alternating", "adam"})],
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def _prepare(estimator, X, y):
    """Validate ``X``/``y``, build the tree and index the labels (shared by both
    estimators). Returns X (float64), leaf index per sample (-1 = unlabeled), tree,
    known-leaf mask."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y "
            "is None; mark unlabeled samples with -1."
        )
    X, _ = validate_data(estimator, X, y, dtype=FLOAT_DTYPES, multi_output=True)
    X = np.asarray(X, dtype=np.float64)
    y, labeled = check_semi_supervised_y(y, X.shape[0])
    tree, y_lab, known = resolve_classes(
        estimator.hierarchy, estimator.n_novel_classes, y[labeled],
        bool((~labeled).any()),
    )
    y_index = np.full(X.shape[0], -1, dtype=np.intp)
    y_index[labeled] = y_lab
    classes = as_label_array([tree.nodes[leaf] for leaf in tree.leaves])
    estimator.classes_ = classes
    estimator.known_classes_ = classes[known]
    estimator.novel_classes_ = classes[~known]
    estimator.hierarchy_ = dict(tree.edges)
    return X, y_index, tree, known


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
    own = np.sum((X_lab - centers[y_lab]) ** 2, axis=1)
    threshold = np.full(len(centers), np.inf)
    for k in known_idx:
        threshold[k] = np.quantile(own[y_lab == k], quantile)
    X_unl = X[~labeled]
    d2 = squared_distances(X_unl, centers[known_idx])
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
        d2 = squared_distances(X_new, starts)
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


class NovelClassKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                       BaseEstimator):
    """Hierarchical k-means (h-k-means) for novel class discovery.

    Labeled samples of *known* leaf classes and unlabeled samples from known and
    *novel* leaf classes are clustered with one prototype per leaf of a label tree
    (e.g. a developmental lineage). Prototypes are parametrised along the tree,
    ``centre(leaf) = sum of the offsets eps(node) of the leaf and its ancestors``,
    and the loss is

    ``mean_labeled d(x, c_y) + lambda_unlabeled * mean_unlabeled min_k d(x, c_k)
    + lambda_hierarchy * sum_{node != root} ||eps(node)||^2``.

    The hierarchy penalty keeps siblings close, so a novel prototype stays in the
    part of the tree where it was placed, and :meth:`predict` returns leaf *names*,
    novel ones included, rather than anonymous cluster numbers.

    Parameters
    ----------
    hierarchy : dict, list of (child, parent) pairs or None, default=None
        The label tree, as a ``{child: parent}`` mapping or a list of edges; its
        leaves are all classes. Leaves with labeled samples are the known classes,
        the other leaves the novel ones. ``None`` uses a flat tree whose leaves are
        the labels seen in ``y`` plus ``n_novel_classes`` novel leaves named
        ``novel_0, novel_1, ...``.
    n_novel_classes : int or None, default=None
        With ``hierarchy=None``: the number of novel leaves; ``None`` means one when
        ``y`` has unlabeled samples and none otherwise. With a hierarchy: ``None``
        or the number of leaves without labeled samples (checked).
    lambda_unlabeled : float, default=1.0
        Weight ``lambda_u`` of the unlabeled term.
    lambda_hierarchy : float, default=0.01
        Weight ``lambda_h`` of the hierarchy penalty. With the (mean) squared
        loss a leaf holding a fraction ``w`` of the weighted samples has its offset
        shrunk toward its parent by the factor ``w / (w + lambda_hierarchy)``.
    solver : {"alternating", "adam"}, default="alternating"
        ``"alternating"`` (default) uses squared Euclidean distances and
        alternates two exact steps: assign each unlabeled sample to its nearest
        prototype, then solve the ridge-type normal equations for all node
        offsets at once (a linear system of size ``n_nodes``). Each step lowers
        the loss, it stops at a fixed point after a few passes over the data,
        needs no learning rate and costs about as much as Lloyd's k-means.
        ``"adam"`` follows the reference implementation: non-squared Euclidean
        distances, full-batch Adam on the offsets for up to ``max_iter`` steps of
        size ``learning_rate``. Both start from the same initialisation; the
        default is chosen because it reaches the same or better accuracy on the
        simulator (see ``benchmarks/bench_ncd.py``) in a fraction of the time.
    n_neighbors : int, default=3
        Each novel prototype gets a tree prior: the mean of its ``n_neighbors``
        nearest known leaves in the tree (path length; ties in tree order), plus a
        small random jitter that separates novel leaves in the same place
        (siblings, a flat tree); 3 is the paper's choice. The prototype is
        then moved onto the unlabeled samples that no known
        prototype explains (farther from their nearest known prototype than 95%
        of that class's labeled samples) and whose nearest known leaf is one of
        the novel leaf's nearest known leaves in the tree; novel leaves of the
        same region share those samples by a few Lloyd passes, and a novel leaf
        with none keeps its prior. Without this step, in high dimension the prior
        is farther from the novel cluster than the closest known sibling, which
        captures the cluster while the novel prototype stays empty
        (``benchmarks/bench_ncd.py`` at 100k x 50: novel accuracy 0.001 without
        it, 0.999 with it).
    learning_rate : float, default=0.1
        Adam step size (``solver="adam"`` only).
    max_iter : int, default=100
        Maximum number of alternating passes or Adam steps.
    tol : float, default=1e-4
        Stop when the relative decrease of the loss falls below ``tol`` (the
        alternating solver also stops when no assignment changes).
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbation of the novel prototypes.
    verbose : int, default=0
        Print the loss at each iteration when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        All leaves of the tree, in depth-first order (known then novel for the flat
        tree).
    known_classes_, novel_classes_ : ndarray
        The leaves with and without labeled samples.
    cluster_centers_ : ndarray of shape (n_classes, n_features)
        One prototype per leaf, rows in the order of ``classes_``.
    node_offsets_ : ndarray of shape (n_nodes, n_features)
        The offsets ``eps``; ``cluster_centers_ == ancestors_ @ node_offsets_``.
    ancestors_ : ndarray of shape (n_classes, n_nodes)
        Ancestor matrix of the tree (nodes in ``nodes_`` order).
    nodes_ : list
        Names of the tree's nodes, root first.
    hierarchy_ : dict
        The tree used, as ``{child: parent}``.
    labels_ : ndarray of shape (n_samples,)
        Class of each training sample: its label when labeled, its nearest
        prototype otherwise.
    loss_curve_ : list of float
        Loss after each iteration.
    n_iter_ : int
        Number of iterations run.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    HierarchicalGMM : EM refinement of the novel components.
    sklearn.cluster.KMeans : clustering without labels or names.

    References
    ----------
    .. [1] M. Senoussi, T. Artières, P. Villoutreix, "Hierarchical novel class
       discovery for single-cell transcriptomic profiles", 2024. The h-k-means
       loss (labeled, unlabeled and hierarchy terms) and the tree prior of the
       novel prototypes (mean of their nearest known leaves) follow its method
       section; moving the priors onto the unexplained unlabeled samples is an
       addition of this implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.cluster import NovelClassKMeans
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.normal(m, 0.3, (20, 2)) for m in (0, 6, 3)])
    >>> y = np.array(["a"] * 20 + ["b"] * 20 + [-1] * 20, dtype=object)
    >>> y[[0, 20]] = -1
    >>> hierarchy = {"a": "root", "b": "root", "c": "root"}
    >>> model = NovelClassKMeans(hierarchy, random_state=0).fit(X, y)
    >>> model.novel_classes_
    array(['c'], dtype=object)
    >>> model.predict([[3.1, 2.9], [0.2, -0.1]])
    array(['c', 'a'], dtype=object)
    """

    _parameter_constraints = dict(_COMMON_CONSTRAINTS)

    def __init__(
        self,
        hierarchy=None,
        n_novel_classes=None,
        *,
        lambda_unlabeled=1.0,
        lambda_hierarchy=0.01,
        solver="alternating",
        n_neighbors=3,
        learning_rate=0.1,
        max_iter=100,
        tol=1e-4,
        random_state=None,
        verbose=0,
    ):
        self.hierarchy = hierarchy
        self.n_novel_classes = n_novel_classes
        self.lambda_unlabeled = lambda_unlabeled
        self.lambda_hierarchy = lambda_hierarchy
        self.solver = solver
        self.n_neighbors = n_neighbors
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the prototypes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float32 is accepted; computations run in float64).
        y : array-like of shape (n_samples,)
            Leaf labels of the known classes; ``-1`` marks unlabeled samples.
            Integers, or strings in an object array.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y_index, tree, known = _prepare(self, X, y)
        self._fit_prepared(X, y_index, tree, known)
        return self

    def _fit_prepared(self, X, y_index, tree, known):
        rng = check_random_state(self.random_state)
        A = tree.ancestor_matrix()
        centers = _initial_centers(X, y_index, tree, known, self.n_neighbors, rng)
        E = _offsets_from_centers(centers, A, tree)
        start = time.perf_counter()
        if self.solver == "alternating":
            E, assign, n_iter, converged = self._alternating(X, y_index, A, E)
        else:
            E, assign, n_iter, converged = self._adam(X, y_index, A, E)
        if self.verbose:
            print(f"[{type(self).__name__}] {n_iter} iterations in "
                  f"{time.perf_counter() - start:.3f} s")
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol}); increase max_iter.",
                ConvergenceWarning,
            )
        self.node_offsets_ = E
        self.ancestors_ = A
        self.nodes_ = list(tree.nodes)
        self.cluster_centers_ = A @ E
        self.n_iter_ = n_iter
        self.labels_ = self.classes_[assign]
        self._n_features_out = len(self.classes_)
        return self

    def _split(self, X, y_index, A):
        labeled = y_index >= 0
        X_lab, X_unl = X[labeled], X[~labeled]
        n_leaves = A.shape[0]
        a = 1.0 / X_lab.shape[0]
        b = self.lambda_unlabeled / X_unl.shape[0] if X_unl.shape[0] else 0.0
        return labeled, X_lab, X_unl, n_leaves, a, b

    def _alternating(self, X, y_index, A, E):
        labeled, X_lab, X_unl, n_leaves, a, b = self._split(X, y_index, A)
        lab_sums, lab_counts = cluster_sums(X_lab, y_index[labeled], n_leaves)
        lab_sq = float(np.einsum("ij,ij->", X_lab, X_lab))
        unl_sq = np.einsum("ij,ij->i", X_unl, X_unl)
        lam = self.lambda_hierarchy
        self.loss_curve_ = []
        z = None
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            C = A @ E
            if X_unl.shape[0]:
                z_new = np.argmin(squared_distances(X_unl, C, unl_sq), axis=1)
                if z is not None and np.array_equal(z, z_new):
                    converged = True
                    n_iter -= 1  # this pass only confirmed the fixed point
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
            fit = (a * lab_sq + b * unl_sq.sum() - 2.0 * np.sum(targets * C)
                   + np.sum(weights * np.einsum("ij,ij->i", C, C)))
            loss = float(fit + lam * np.sum(E[1:] ** 2))
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"iteration {n_iter}: loss {loss:.6g}")
            if not X_unl.shape[0]:
                converged = True  # one exact solve is the optimum
                break
            if len(self.loss_curve_) > 1:
                prev = self.loss_curve_[-2]
                if prev - loss <= self.tol * abs(prev):
                    converged = True
                    break
        assign = y_index.copy()
        if X_unl.shape[0]:
            C = A @ E
            assign[~labeled] = np.argmin(squared_distances(X_unl, C, unl_sq), axis=1)
        return E, assign, max(n_iter, 1), converged

    def _adam(self, X, y_index, A, E):
        labeled, X_lab, X_unl, n_leaves, a, b = self._split(X, y_index, A)
        y_lab = y_index[labeled]
        unl_sq = np.einsum("ij,ij->i", X_unl, X_unl)
        lam = self.lambda_hierarchy
        penalty = np.ones((A.shape[1], 1))
        penalty[0] = 0.0
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        m = np.zeros_like(E)
        v = np.zeros_like(E)
        self.loss_curve_ = []
        converged = False
        for n_iter in range(1, self.max_iter + 1):
            C = A @ E
            lab_units, lab_total = unit_residual_sums(X_lab, C, y_lab)
            grad_c = -a * lab_units
            loss = a * lab_total
            if X_unl.shape[0]:
                z = np.argmin(squared_distances(X_unl, C, unl_sq), axis=1)
                unl_units, unl_total = unit_residual_sums(X_unl, C, z)
                grad_c -= b * unl_units
                loss += b * unl_total
            loss = float(loss + lam * np.sum(E[1:] ** 2))
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"step {n_iter}: loss {loss:.6g}")
            if n_iter > 1:
                prev = self.loss_curve_[-2]
                if abs(prev - loss) <= self.tol * abs(prev):
                    converged = True
                    break
            grad = A.T @ grad_c + 2.0 * lam * penalty * E
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad**2
            m_hat = m / (1 - beta1**n_iter)
            v_hat = v / (1 - beta2**n_iter)
            E = E - self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        assign = y_index.copy()
        if X_unl.shape[0]:
            C = A @ E
            assign[~labeled] = np.argmin(squared_distances(X_unl, C, unl_sq), axis=1)
        return E, assign, n_iter, converged

    def fit_predict(self, X, y):
        """Fit and return the class of each training sample (see ``labels_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Leaf names: the given label of labeled samples, the predicted (known
            or novel) leaf of unlabeled ones.
        """
        return self.fit(X, y).labels_

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        return np.asarray(X, dtype=np.float64)

    def transform(self, X):
        """Euclidean distances to the prototypes, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes)
        """
        X = self._check_X(X)
        return np.sqrt(squared_distances(X, self.cluster_centers_))

    def predict(self, X):
        """Name of the nearest prototype's leaf, known or novel.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._check_X(X)
        best = np.argmin(squared_distances(X, self.cluster_centers_), axis=1)
        return self.classes_[best]

    def score(self, X, y=None):
        """Opposite of the sum of squared distances to the nearest prototype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
            Larger is better, as for :meth:`sklearn.cluster.KMeans.score`.
        """
        X = self._check_X(X)
        return -float(squared_distances(X, self.cluster_centers_).min(axis=1).sum())
