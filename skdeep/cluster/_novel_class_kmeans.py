"""Hierarchical k-means for novel class discovery (h-k-means)."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from ..utils._iteration import IterationMonitor
from ._base import _BaseHierarchicalClusterer
from ._hkmeans import offsets_from_centers, refit
from ._ncd_kernels import squared_distances, with_far_rows


class NovelClassKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                       _BaseHierarchicalClusterer):
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
    n_novel_classes : int, "auto" or None, default=None
        With ``hierarchy=None``: the number of novel leaves; ``None`` means one when
        ``y`` has unlabeled samples and none otherwise. With a hierarchy: ``None``
        or the number of leaves without labeled samples (checked).
        ``"auto"``: the fit chooses how many novel classes the data hold, up
        to the novel leaves of the hierarchy (without one: up to
        ``max(5, n_known_classes)`` leaves ``novel_0, ...``): starting from
        the clusters that pass the novelty test, the cluster whose removal
        lowers the penalised objective ``-2 log L + n_features * n_novel *
        log(n_samples)`` most is removed, and the prototypes are solved
        again without it, while that objective decreases. ``L`` is the
        likelihood of the samples (labeled ones in their class, unlabeled
        ones under the novelty test) under the prototypes read as a
        Gaussian mixture of equal weights with one diagonal covariance, the
        variances of the samples about their prototypes. A hierarchy may
        then list leaves absent from the data. The fitted prototypes are
        those of the last refit; ``loss_curve_`` and ``n_iter_`` describe the
        first solve, with every novel leaf open.
    lambda_unlabeled : float, default=1.0
        Weight ``lambda_u`` of the unlabeled term.
    lambda_hierarchy : float, default=0.05
        Unit-free strength of the hierarchy penalty
        ``sum_{node != root} p_node ||eps(node)||^2`` with
        ``p_node = lambda_hierarchy * (1 + lambda_unlabeled) * (leaves under
        node) / n_leaves``: a leaf holding its share of the samples has its
        offset shrunk toward its parent by about ``1 / (1 + lambda_hierarchy)``,
        whatever the units of ``X`` or the number of samples and leaves. The
        penalty also names the novel clusters (see the Notes); ``0`` leaves the
        names arbitrary. 0.05 was chosen by experiment (``benchmarks/
        bench_ncd.py``): on real PBMC cells 0.03-1 name novel cells best, on the
        hard simulator 0.03-0.05; from 0.1 up small novel classes there lose
        their prototype to the pull toward a known sibling.
    solver : {"alternating", "adam"}, default="alternating"
        ``"alternating"`` (default) uses squared Euclidean distances and
        alternates two exact steps: assign each unlabeled sample to its nearest
        prototype, then solve the ridge-type normal equations for all node
        offsets at once (a linear system of size ``n_nodes``). Each step lowers
        the loss; it stops at a fixed point after a few passes over the data.
        ``"adam"`` follows the reference implementation: non-squared Euclidean
        distances, full-batch Adam on the offsets for up to ``max_iter`` steps of
        size ``learning_rate``. Both use the same starts.
    n_neighbors : int, default=3
        The *prior* of a novel leaf, where the tree places it, is the mean of
        the labeled class means of its nearest known leaves in the tree: those
        of its nearest clade (below its lowest ancestor that has known
        leaves), and of more than ``n_neighbors`` there the ``n_neighbors``
        nearest by path length (all leaves tied with the last one included),
        as in the paper's initialisation but by clade first: in an unbalanced
        tree a leaf across the root can be fewer edges away than a cousin.
        The priors name the novel clusters.
    n_init : int, default=10
        Number of starts; the solution with the lowest objective is kept, as
        :class:`~sklearn.cluster.KMeans` does. Each start seeds the novel
        prototypes by greedy k-means++ on the unlabeled samples with the known
        prototypes counted as chosen centres, so a novel class is found whether
        or not it lies beyond the spread of the known ones.
    novelty_level : float in (0, 1) or None, default=0.05
        The novelty test: an unlabeled sample takes a novel leaf only when its
        evidence for the best novel leaf beats its evidence for the best known
        leaf by more than the labeled samples' (all of known classes, each
        measured by a model refitted with its label hidden) do, but for a
        fraction ``novelty_level`` of them; so at most that fraction of known
        samples is called novel (with probability 0.8 for the labeled
        samples at hand, see the Notes). A novel cluster is kept only if
        the labeled samples it would take do not show it to be a piece of
        known classes (see the Notes). It also draws half of the
        ``n_init`` starts among the unlabeled samples beyond the known
        classes' spread, and ranks the starts with the test applied.
        ``None``: no test, every novel prototype takes its nearest samples
        (``min_cluster_size`` still applies).
    min_cluster_size : int, default=5
        A novel cluster with fewer unlabeled samples passing the novelty test
        is dropped: its samples go to their best known leaf.
    learning_rate : float, default=0.01
        Adam step size (``solver="adam"`` only), relative to the data's scale
        (the fit works on ``X`` centred and divided by a power of two near its
        largest absolute deviation).
    max_iter : int, default=100
        Maximum number of alternating passes or Adam steps; a fit that reaches
        it warns with a :class:`~sklearn.exceptions.ConvergenceWarning`.
    tol : float, default=1e-4
        Stop when the loss decreases by at most ``tol`` times its first value
        per iteration: skdeep's one stopping rule, over the last iteration for
        the alternating solver (which also stops at a fixed point, when no
        assignment changes) and averaged over the last 20 steps for Adam,
        whose loss does not decrease at every step.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means++ starts of the novel prototypes.
    n_jobs : int, default=None
        Number of jobs running the ``n_init`` starts in parallel through joblib
        (threads by default: the solves spend their time in NumPy, which
        releases the GIL; any backend set with :func:`joblib.parallel_config`,
        e.g. ``"dask"``). The seeds are drawn before the starts are spread, so
        the result does not depend on ``n_jobs``.
    verbose : int, default=0
        Print the loss at each iteration, and a summary, when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        All leaves of the tree, in depth-first order (known then novel for the flat
        tree).
    known_classes_, novel_classes_ : ndarray
        The leaves with and without labeled samples.
    cluster_centers_ : ndarray of shape (n_classes, n_features)
        One prototype per leaf, rows in the order of ``classes_``, in the dtype
        of the training data.
    node_offsets_ : ndarray of shape (n_nodes, n_features)
        The offsets ``eps``; ``cluster_centers_ == ancestors_ @ node_offsets_``.
    ancestors_ : ndarray of shape (n_classes, n_nodes)
        Ancestor matrix of the tree (nodes in ``nodes_`` order).
    nodes_ : list
        Names of the tree's nodes, root first.
    hierarchy_ : dict
        The tree used, as ``{child: parent}``.
    labels_ : ndarray of shape (n_samples,)
        Class of each training sample: its given label when labeled (the fit
        clamps labeled samples to their class), ``predict`` of the sample
        otherwise (the leaf of its nearest prototype the novelty test allows).
    node_labels_ : ndarray of shape (n_samples,)
        Name of each training sample in the tree (:meth:`predict_node`): its
        leaf, or for a novel sample the ancestor below which it sits unnamed.
    discovered_classes_ : ndarray
        The novel leaves that hold a cluster kept by the novelty test (all of
        ``novel_classes_`` unless some are dropped); the others are never
        predicted.
    n_novel_classes_ : int
        ``len(discovered_classes_)``.
    class_nodes_ : ndarray of shape (n_classes,)
        The node each leaf's samples are named by: the leaf itself, or for a
        novel leaf the ancestor the tree supports (see the Notes).
    novelty_margin_ : float
        The calibrated margin of the novelty test, in units of the evidence
        (minus the squared distance over twice the labeled samples'
        variance per feature).
    loss_curve_ : ndarray of shape (`n_iter_`,)
        The loss minimised (float64), after each iteration.
    n_iter_ : int
        Number of iterations run.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    HierarchicalGMM : EM refinement of the novel components.
    sklearn.cluster.KMeans : clustering without labels or names.

    Notes
    -----
    **Naming.** Novel clusters are named explicitly from the tree: after the
    seeding and again after the solve, the clusters are matched (Hungarian) to
    the novel leaves so as to minimise ``sum_l p_l ||c_l - prior_l||^2``, the
    penalty a novel leaf pays for sitting away from where the tree places it;
    the renamed solution is kept when its objective is lower. The tree tells
    novel leaves apart only through their priors: **sibling novel leaves** (or
    novel leaves whose nearest known leaves are the same) have the same prior
    and their names are a coin flip; only their parent (the subtree) is
    identified: :meth:`predict_node` names them by that parent.

    **Novelty test.** A novel cluster is created only where the data support
    it. The evidence of a sample for a leaf is minus its squared distance to
    the prototype over ``2 sigma^2`` (``sigma^2`` the labeled samples'
    variance about their prototypes, per feature). A sample is novel when
    its best novel evidence beats its best known evidence by more than
    ``novelty_margin_``, a conformal ``1 - novelty_level`` quantile of that
    gap over the ``n`` labeled samples, each measured **cross-fitted**: the
    labeled samples are split in 5 folds (stratified by class) and each
    fold's gaps are those of the model refitted from the fit with that
    fold's labels hidden, so that, like the unlabeled samples of known
    classes, they may join a novel cluster and pull its prototype toward
    them (measured to the fit itself, a labeled sample stays clamped to its
    class and never does: the test called novel up to 0.08 of the known
    samples on real data). The quantile is **training-conditional**: the
    smallest gap ``G_(k)`` whose false-novel rate (a ``Beta(n + 1 - k,
    k)`` variable) stays at most ``novelty_level`` with probability 0.8
    for the labeled samples at hand (``P(Binomial(n, novelty_level) <= n -
    k) <= 0.2``), the largest gap when ``n`` is too small for that, and
    never below the plain conformal quantile (the ``ceil((1 -
    novelty_level) * (n + 1))``-th smallest, whose guarantee holds only on
    average over the draws of the labels). A novel cluster is then
    dropped when it holds fewer than ``min_cluster_size`` novel samples, or
    when the labeled samples passing the test into it say it is a piece of
    known classes: with ``L`` labeled and ``U`` unlabeled samples in it and
    ``r`` the labeled fraction of the data, a known piece would hold
    labeled samples at the rate ``r``, a novel class at ``eps =
    novelty_level * r`` at most; it is dropped when the binomial
    likelihood ratio favours the known piece by more than ``1 /
    novelty_level``.

    **Names in the tree.** The kept clusters are matched (Hungarian) to the
    novel leaves by the distance of their centres to the leaves' priors;
    the prior of a leaf is the mean of the known prototypes of its nearest
    clade (the known leaves below its lowest ancestor that has any, at most
    ``n_neighbors`` of them by path length). A cluster's posterior over the
    novel leaves is ``exp(-||c - prior||^2 / (2 tau^2))`` normalised,
    ``tau^2`` the placement error of the priors; it is named by its leaf
    when that leaf holds 0.9 of the posterior, else by the deepest ancestor
    whose novel leaves do ("novel, unnamed" below it: e.g. two novel
    siblings share a prior, so only their parent is named). Without a tree
    (a flat one) several novel clusters are named by the root.

    **Departures from the paper** ([1]_): the penalty strength is normalised
    (``p_node`` above) so that it is unit-free; the default solver is exact
    alternating minimisation of the squared loss (the paper's code uses Adam on
    non-squared distances, ``solver="adam"``); novel prototypes start from
    ``n_init`` k-means++ seedings instead of the tree prior alone, and the
    naming is an explicit matching to the priors instead of the index of the
    start slot.

    **Scale.** The fit works on ``X`` centred and divided by a power of two near
    its largest absolute deviation, so squared distances neither overflow nor
    underflow for any finite scale (``1e154``, ``1e-300``); ``loss_curve_`` and
    :meth:`score` are in units of ``X**2`` and leave the float64 range when
    ``X**2`` does.

    float32 data stay float32 in the passes over the samples (distances, the
    numba sums), which accumulate in float64; the per-node arrays (offsets, the
    normal equations) are float64 and the fitted arrays are returned in the
    dtype of ``X``.

    References
    ----------
    .. [1] M. Senoussi, T. Artières, P. Villoutreix, "Hierarchical novel class
       discovery for single-cell transcriptomic profiles", 2024. The h-k-means
       loss (labeled, unlabeled and hierarchy terms), the parametrisation of
       the prototypes along the tree and the tree prior of a novel leaf (mean
       of its nearest known leaves) follow its method section; see the Notes
       for where this implementation departs.

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

    Two novel siblings share their place in the tree: only their parent
    names them. The number of novel classes may be left to the fit (the
    tree has room for three):

    >>> X = np.concatenate([rng.normal(m, 0.3, (40, 2)) for m in (0, 6, 3, 9)])
    >>> y = np.array(["a"] * 40 + ["b"] * 40 + [-1] * 80, dtype=object)
    >>> tree = {"a": "r", "b": "r", "cd": "r", "c": "cd", "d": "cd", "e": "cd"}
    >>> model = NovelClassKMeans(tree, n_novel_classes="auto",
    ...                          random_state=0).fit(X, y)
    >>> model.discovered_classes_.tolist()
    ['c', 'd']
    >>> model.predict_node([[3.1, 2.9], [9.0, 9.1], [0.2, -0.1]]).tolist()
    ['cd', 'cd', 'a']
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _fit_scaled(self, X, Xs, y_index, tree, known):
        """The h-k-means solve on the standardised data; sets the prototypes."""
        monitor = IterationMonitor(self)
        solution = self._hkmeans(Xs, y_index, tree, known, monitor)
        monitor.finish(solution.converged)
        self.ancestors_ = tree.ancestor_matrix()
        self.nodes_ = list(tree.nodes)
        self._set_prototypes(solution, Xs, y_index, X.dtype)
        with np.errstate(over="ignore", under="ignore"):
            self.loss_curve_ = solution.loss_curve * np.float64(self._scale) ** 2
        self._n_features_out = len(self.classes_)
        return solution

    def _set_prototypes(self, solution, Xs, y_index, dtype, weights=None):
        """The fitted prototypes of an h-k-means ``solution``, and the unit of
        the novelty test's evidences (``weights``: of the labeled samples, as
        in the solve)."""
        offsets = solution.offsets * self._scale
        offsets[0] += self._shift  # the root offset carries the location
        self.node_offsets_ = offsets.astype(dtype, copy=False)
        self._centers_scaled = solution.centers
        centers = solution.centers * self._scale + self._shift
        self.cluster_centers_ = centers.astype(dtype, copy=False)
        # the within-class variance per feature of the labeled samples: the
        # unit of the evidences of the novelty test and its criterion
        labeled = y_index >= 0
        resid = Xs[labeled] - solution.centers[y_index[labeled]].astype(Xs.dtype)
        sq = resid.astype(np.float64) ** 2
        if not sq.size:
            var = 0.0
        elif weights is None:
            var = float(np.mean(sq))
        else:
            var = float(np.average(np.mean(sq, axis=1), weights=weights[labeled]))
        self._unit = 2.0 * max(var, np.finfo(np.float64).tiny)

    def _refit(self, Xs, y_index, tree, known, active, weights=None):
        """Solve again from the fitted prototypes with only the ``active``
        leaves open to the unlabeled samples (``n_novel_classes="auto"``,
        the cross-fitted novelty test); ``weights`` (or ``None``) weigh the
        labeled samples."""
        solution = refit(
            Xs, y_index, tree, self._centers_scaled, active,
            lambda_unlabeled=self.lambda_unlabeled,
            lambda_hierarchy=self.lambda_hierarchy, solver=self.solver,
            learning_rate=self.learning_rate,
            monitor=IterationMonitor(self, verbose=0), weights=weights)
        self._set_prototypes(solution, Xs, y_index, self.cluster_centers_.dtype,
                             weights)

    def _evidence(self, X, relative=False):
        """Minus the squared distances over ``2 sigma^2`` (``sigma^2`` the
        labeled samples' variance about their prototypes, per feature): the
        log-likelihood of a spherical Gaussian about each prototype, up to a
        constant."""
        return self._class_scores(X) / self._unit

    def _criterion(self):
        """The penalised k-means objective of ``n_novel_classes="auto"``."""
        # the evidences leave out the Gaussian's normalising constant
        # -(d / 2) log(2 pi sigma^2), with 2 sigma^2 = self._unit
        return dict(n_params=self.n_features_in_, soft=True,
                    log_weights=np.zeros(len(self.classes_)),
                    log_norm=-0.5 * self.n_features_in_ * np.log(
                        np.pi * self._unit))

    def _criterion_scores(self, Xs, y_index, active):
        """The log-densities of ``n_novel_classes="auto"``: the prototypes
        read as a Gaussian mixture with a shared diagonal covariance, its
        variances those of every sample about its prototype (its class when
        labeled, its nearest ``active`` prototype otherwise). Per feature, not
        one for all: a class elongated along a high-variance direction is not
        split for the length of that direction."""
        C = self._centers_scaled
        d2 = squared_distances(Xs, C.astype(Xs.dtype)).astype(np.float64)
        d2[:, ~active] = np.inf
        own = np.where(y_index >= 0, y_index, np.argmin(d2, axis=1))
        resid = (Xs - C[own].astype(Xs.dtype)).astype(np.float64)
        var = np.maximum(np.mean(resid**2, axis=0), np.finfo(np.float64).tiny)
        scale = 1.0 / np.sqrt(var)
        return (-0.5 * squared_distances(Xs * scale, C * scale)
                - 0.5 * np.sum(np.log(2.0 * np.pi * var)))

    def _leaf_centers(self):
        return self._centers_scaled

    def _permute_leaves(self, order, tree):
        """Leaf ``l`` takes the prototype fitted as ``order[l]``; the offsets
        are those of the reordered prototypes (each node at the mean of its
        leaves)."""
        self._centers_scaled = self._centers_scaled[order]
        centers = self._centers_scaled * self._scale + self._shift
        self.cluster_centers_ = centers.astype(self.cluster_centers_.dtype)
        offsets = offsets_from_centers(self._centers_scaled, self.ancestors_,
                                       tree) * self._scale
        offsets[0] += self._shift
        self.node_offsets_ = offsets.astype(self.node_offsets_.dtype)

    def _scaled_distances(self, X):
        """Squared distances to the prototypes in the units of the fit."""
        Xs = self._scaled_X(X)
        return squared_distances(Xs, self._centers_scaled.astype(Xs.dtype))

    def _class_scores(self, X):
        """Minus the squared distances: the nearest prototype scores highest.

        Rows beyond :data:`~._ncd_kernels.FAR_ROW` in the fit's units, whose
        squared norm would swamp (or overflow in) the differences between
        prototypes, take the exact differences ``2 x . c_k - |c_k|^2``
        instead, so that a far sample still goes to its nearest prototype.
        """
        Xs = self._scaled_X(X)
        C = self._centers_scaled
        with np.errstate(over="ignore", invalid="ignore"):
            scores = -squared_distances(Xs, C.astype(Xs.dtype))
        return with_far_rows(Xs, scores, 2.0 * C, -np.sum(C**2, axis=1))

    def transform(self, X):
        """Euclidean distances to the prototypes, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes)
            In the dtype of ``X`` (float64 or float32).
        """
        d2 = self._scaled_distances(X)
        return np.sqrt(d2) * d2.dtype.type(self._scale)

    def score(self, X, y=None):
        """Opposite of the sum of squared distances of ``X`` to its prototypes.

        Without ``y``, each sample is measured to its nearest prototype: minus
        the inertia, as :meth:`sklearn.cluster.KMeans.score`. With ``y`` (what
        :class:`~sklearn.model_selection.GridSearchCV` passes), the labeled
        samples are measured to the prototype of their own label, as the fit
        clamps them, and the unlabeled ones (``-1``) to their nearest
        prototype: minus the inertia of the partition that ``labels_`` gives
        the training samples. A novel prototype that takes over a known class
        is then penalised on that class's labeled samples.

        The score holds the data terms of the loss only, unweighted: neither
        ``lambda_unlabeled`` nor the hierarchy penalty enters it (a score that
        contained them would change with the parameters it is asked to
        compare). See the Notes for what it can and cannot select.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.
        y : array-like of shape (n_samples,) or None, default=None
            Leaf labels, ``-1`` for unlabeled samples, as in :meth:`fit`; every
            label must be one of ``classes_``. ``None`` treats every sample as
            unlabeled.

        Returns
        -------
        score : float
            Minus the sum of squared Euclidean distances, in units of
            ``X**2`` (higher is better).

        Notes
        -----
        More prototypes can only bring the samples nearer: the score favours
        the largest ``n_novel_classes`` of a grid, as ``KMeans.score`` favours
        the largest ``n_clusters``. The hierarchy penalty pulls prototypes away
        from their samples' means towards the tree, so the score also tends to
        favour a small ``lambda_hierarchy``, whose purpose (naming the novel
        clusters) it does not see. Use it to compare fits that have the same
        prototypes to place (e.g. ``n_init``, ``solver``, ``n_neighbors`` or a
        ``lambda_hierarchy`` so large that it collapses the tree), and
        choose the number of novel classes and the naming strength from the
        tree and from labeled checks (:func:`skdeep.metrics.direct_label_accuracy`).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.cluster import NovelClassKMeans
        >>> rng = np.random.RandomState(0)
        >>> X = np.concatenate([rng.normal(m, 0.3, (30, 2)) for m in (0, 6, 3)])
        >>> y = np.array(["a"] * 30 + ["b"] * 30 + ["-1"] * 30, dtype=object)
        >>> y[rng.rand(90) < 0.3] = "-1"
        >>> order = rng.permutation(90)
        >>> X, y = X[order], y[order]
        >>> hierarchy = {"a": "root", "b": "root", "c": "root"}
        >>> model = NovelClassKMeans(hierarchy, random_state=0).fit(X, y)
        >>> bool(model.score(X, y) <= model.score(X))  # labeled samples clamped
        True

        A penalty so strong that it pulls the prototypes together scores worse
        on held-out samples:

        >>> grid = {"lambda_hierarchy": [0.05, 100.0]}
        >>> GridSearchCV(model, grid, cv=3).fit(X, y).best_params_
        {'lambda_hierarchy': 0.05}
        """
        d2 = self._scaled_distances(X)
        nearest = self._own_class_values(d2.min(axis=1), d2, y)
        total = nearest.sum(dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):
            return -float(total * np.float64(self._scale) ** 2)
