"""Hierarchical k-means for novel class discovery (h-k-means)."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context

from ..utils._iteration import IterationMonitor
from ._base import _BaseHierarchicalClusterer
from ._hkmeans import nearest_center
from ._ncd_kernels import squared_distances


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
        Maximum number of alternating passes or Adam steps; a fit that reaches
        it warns with a :class:`~sklearn.exceptions.ConvergenceWarning`.
    tol : float, default=1e-4
        Stop when the relative decrease of the loss falls to ``tol`` (its
        relative change for Adam; the alternating solver also stops when no
        assignment changes).
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbation of the novel prototypes.
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
        otherwise (the leaf of its nearest prototype).
    loss_curve_ : ndarray of shape (n_iter_,)
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
    float32 data stay float32 in the passes over the samples (distances, the
    numba sums), which accumulate in float64; the per-node arrays (offsets, the
    normal equations) are float64 and the fitted arrays are returned in the
    dtype of ``X``.

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the prototypes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 is kept (see the Notes).
        y : array-like of shape (n_samples,)
            Leaf labels of the known classes; ``-1`` marks unlabeled samples.
            Integers, or strings in an object array.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y_index, tree, known = self._check_fit_data(X, y)
        monitor = IterationMonitor(self)
        solution = self._hkmeans(X, y_index, tree, known, monitor)
        monitor.finish(solution.converged)
        self.node_offsets_ = solution.offsets.astype(X.dtype, copy=False)
        self.ancestors_ = tree.ancestor_matrix()
        self.nodes_ = list(tree.nodes)
        self.cluster_centers_ = solution.centers.astype(X.dtype, copy=False)
        self.loss_curve_ = solution.loss_curve
        self.n_iter_ = solution.n_iter
        self.labels_ = self.classes_[solution.assignments]
        self._n_features_out = len(self.classes_)
        return self

    def transform(self, X):
        """Euclidean distances to the prototypes, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes)
            In the dtype of ``X`` (float64 or float32).
        """
        X = self._check_X(X)
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return np.sqrt(squared_distances(X, centers))

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
        return self.classes_[nearest_center(X, self.cluster_centers_)]

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
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return -float(squared_distances(X, centers).min(axis=1).sum(dtype=np.float64))
