"""The base of the cluster estimators of hierarchical novel class discovery."""

import copy
import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._iteration import ITERATION_CONSTRAINTS
from ..utils._label_tree import as_label_array, plain_name
from ..utils._validation import (
    FLOAT_DTYPES,
    check_semi_supervised_y,
    check_y_given,
    validate_data,
)
from ..utils._warnings import warn
from ._hierarchy import resolve_classes
from ._hkmeans import hkmeans, term_weights
from ._novelty import (
    calibration_folds,
    fold_weights,
    gate,
    gated_objective,
    rematch,
    select_novel,
    tree_names,
)

#: The largest ``n_init``: every start is a full solve, and the best of many
#: more starts than this differs from the best of these only by chance.
MAX_N_INIT = 1000

#: Without a tree, ``n_novel_classes="auto"`` considers at least this many
#: novel classes (more when there are more known ones).
AUTO_MIN_NOVEL = 5


#: Beyond this ratio of the largest to the median deviation of the samples, the
#: other samples' squared distances fall below the rounding of the outlier's in
#: the objective (``1 / sqrt(eps)``): a warning.
_OUTLIER_WARN_RATIO = 1.0 / np.sqrt(np.finfo(np.float64).eps)
#: Beyond this ratio their squared distances underflow in the units of the fit
#: (the data rescaled to the largest deviation): the fit would see the bulk of
#: the data as one point, an error.
_OUTLIER_ERROR_RATIO = 1e150


def _check_outliers(X):
    """Raise for samples so far out that float64 cannot resolve the others.

    Deviations are measured per sample (largest absolute coordinate) from the
    per-feature median; the ratio of the largest to the median deviation says
    how far the most extreme sample lies, in units of a typical one. Above
    :data:`_OUTLIER_ERROR_RATIO` the fit is meaningless (``ValueError``),
    above :data:`_OUTLIER_WARN_RATIO` the objective sees that sample alone (a
    ``UserWarning``). Data whose samples mostly coincide are not judged.
    """
    half = X.astype(np.float64) * 0.5  # halves: differences cannot overflow
    dev = np.max(np.abs(half - np.median(half, axis=0)), axis=1, initial=0.0)
    typical = float(np.median(dev)) if dev.size else 0.0
    if not typical > 0:
        return
    worst = int(np.argmax(dev))
    ratio = float(dev[worst]) / typical
    where = (f"sample {worst} of X lies {ratio:.3g} times farther from the "
             "per-feature median than the median sample")
    if ratio > _OUTLIER_ERROR_RATIO:
        raise ValueError(
            f"X has an extreme outlier: {where}, beyond what float64 can "
            "resolve together with the other samples (their squared distances "
            "would underflow). Remove it, or transform X (e.g. "
            "sklearn.preprocessing.RobustScaler after clipping, or a log)."
        )
    if ratio > _OUTLIER_WARN_RATIO:
        warn(
            f"X has an extreme outlier: {where}; the squared-distance objective "
            "is dominated by it (the other samples' terms are below its "
            "rounding), and it may take a novel class for itself. Remove it or "
            "transform X (e.g. a log) if this is not intended."
        )


def _store_params(estimator, values):
    """Set every ``__init__`` argument in ``values`` (its ``locals()``) as an
    attribute, unchanged, as scikit-learn requires; one place for both
    estimators' constructors."""
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _extended_init(base, **defaults):
    """An ``__init__`` with the parameters of ``base.__init__`` followed by
    ``defaults`` (keyword-only), under that explicit signature, which
    scikit-learn reads (``get_params``, ``clone``): a subclass adds its own
    parameters without repeating the shared ones."""
    parameters = list(inspect.signature(base.__init__).parameters.values())
    parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                     default=value)
                   for name, value in defaults.items()]
    signature = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        _store_params(self, bound.arguments)

    __init__.__signature__ = signature
    return __init__


class _BaseHierarchicalClusterer(ClusterMixin, BaseEstimator):
    """Shared parameters, fit, validation, prediction and h-k-means start of the
    tree clusterers.

    Subclasses implement ``_fit_scaled`` (the solve on the standardised data,
    setting the fitted model) and ``_class_scores`` (one column per leaf, the
    largest for the leaf :meth:`predict` returns). After :meth:`fit`,
    ``labels_`` holds the class of each training sample: its given label when
    labeled, the leaf the fitted model predicts otherwise.
    """

    _parameter_constraints: dict = {
        **ITERATION_CONSTRAINTS,
        "hierarchy": [dict, list, tuple, "array-like", None],
        "n_novel_classes": [Interval(Integral, 0, None, closed="left"),
                            StrOptions({"auto"}), None],
        "novelty_level": [Interval(Real, 0, 1, closed="neither"), None],
        "min_cluster_size": [Interval(Integral, 1, None, closed="left")],
        "lambda_unlabeled": [Interval(Real, 0, None, closed="left")],
        "lambda_hierarchy": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"alternating", "adam"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        # each start is a full solve: more than this is a typo, not a search
        "n_init": [Interval(Integral, 1, MAX_N_INIT, closed="both")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        hierarchy=None,
        n_novel_classes=None,
        *,
        lambda_unlabeled=1.0,
        lambda_hierarchy=0.05,
        solver="alternating",
        n_neighbors=3,
        n_init=10,
        novelty_level=0.05,
        min_cluster_size=5,
        learning_rate=0.01,
        max_iter=100,
        tol=1e-4,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        _store_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to labeled and unlabeled samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 is kept (see the Notes).
        y : array-like of shape (n_samples,)
            Leaf labels of the known classes; ``-1`` marks unlabeled samples
            (scikit-learn's semi-supervised convention). With string labels
            the marker may be the string ``"-1"`` (as
            :func:`~skdeep.datasets.make_hierarchical_blobs` returns, so that
            ``y`` holds one type) or the integer ``-1`` in an object array.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y_index, tree, known = self._check_fit_data(X, y)
        solution = self._fit_scaled(X, self._standardize(X), y_index, tree, known)
        self.n_iter_ = solution.n_iter
        assignments = self._discover(X, y_index, tree, known)
        self.labels_ = self.classes_[assignments]
        self.node_labels_ = self.class_nodes_[assignments]
        return self

    def _discover(self, X, y_index, tree, known):
        """The novelty test, the novel clusters kept and their names in the tree.

        Sets ``discovered_classes_``, ``class_nodes_`` and the test's private
        state (the leaves a sample may take, the calibrated margin). Returns
        the leaf index of each training sample: its label when labeled, the
        best leaf the test allows otherwise.
        """
        self._known, self.novelty_margin_ = known, 0.0
        scores = self._evidence(X)
        labeled = y_index >= 0
        refit = None
        Xs = self._scaled(X)
        if self.n_novel_classes == "auto":

            def refit(active):
                model = copy.copy(self)
                model._refit(Xs, y_index, tree, known, active)
                s = model._evidence(X)
                terms = model._criterion()
                dens = model._criterion_scores(Xs, y_index, active)
                if dens is not None:
                    terms.update(scores=dens[~labeled], log_norm=0.0)
                dens = s if dens is None else dens
                own = y_index[labeled]
                terms["ll_labeled"] = (
                    np.sum(dens[labeled][np.arange(own.size), own]
                           - terms["log_weights"][own])
                    + terms["log_norm"] * own.size)
                return (s[~labeled], model._cross_fitted(
                    X, Xs, y_index, tree, known, active), terms, model)

        active, margin, model = select_novel(
            scores[~labeled], self._cross_fitted(
                X, Xs, y_index, tree, known, np.ones(known.size, dtype=bool)),
            known,
            level=self.novelty_level, min_cluster_size=self.min_cluster_size,
            auto=self.n_novel_classes == "auto", refit=refit,
            n_labeled=int(labeled.sum()),
            **self._criterion())
        if model is not None:  # the model refitted on the leaves kept
            self.__dict__.update(model.__dict__)
            scores = self._evidence(X)
        self._active, self.novelty_margin_ = active, margin
        order = rematch(self._leaf_centers(), tree, known, self._active,
                        self.n_neighbors)
        if not np.array_equal(order, np.arange(order.size)):
            self._permute_leaves(order, tree)
            self._active, scores = self._active[order], scores[:, order]
        novel_found = self._active & ~known
        self.discovered_classes_ = self.classes_[novel_found]
        self.n_novel_classes_ = int(novel_found.sum())
        self.class_nodes_ = as_label_array(tree_names(
            self._leaf_centers(), tree, known, self._active, self.n_neighbors))
        assignments = y_index.copy()
        if (~labeled).any():
            allowed = gate(scores[~labeled], known, self._active,
                           self.novelty_margin_)
            assignments[~labeled] = np.argmax(allowed, axis=1)
        return assignments

    def _criterion_scores(self, Xs, y_index, active):
        """Per-sample, per-leaf log-densities that ``n_novel_classes="auto"``
        judges the model by, when they are not the evidences (``None``)."""
        return None

    def _cross_fitted(self, X, Xs, y_index, tree, known, active):
        """The labeled samples' evidences under models fitted with their labels
        hidden (:func:`~._novelty.calibration_folds`): each fold's samples are
        refitted as unlabeled samples, free to join any ``active`` leaf and
        to pull a novel prototype toward them as the unlabeled samples of
        known classes do, so that their gaps are exchangeable with those of
        the unlabeled known samples. The labels left in each refit carry
        the labeled mass of the fit (:func:`~._novelty.fold_weights`).
        Samples alone in their class are left out; the rows come fold by
        fold, not in sample order (only their quantiles and counts are
        used)."""
        folds = calibration_folds(y_index)
        out = []
        for fold in range(folds.max() + 1):
            hidden = folds == fold
            y_fold = np.where(hidden, -1, y_index)
            model = copy.copy(self)
            model._refit(Xs, y_fold, tree, known, active,
                         fold_weights(y_index, hidden))
            out.append(model._evidence(X[hidden]))
        return (np.concatenate(out) if out
                else np.empty((0, len(self.classes_))))

    def _gated_scores(self, X):
        """The evidences of :meth:`_evidence` with the leaves the novelty test
        closes to each sample at ``-inf``."""
        return gate(self._evidence(X, relative=True), self._known, self._active,
                    self.novelty_margin_)

    def _check_fit_data(self, X, y):
        """Validate ``X``/``y`` and build the tree; set the class attributes.

        Returns
        -------
        X : ndarray, float64 or float32 (kept)
        y_index : ndarray of int
            Leaf index of each labeled sample (``classes_`` order), -1 elsewhere.
        tree : LabelTree
        known : ndarray of bool
            The leaves that carry labeled samples.
        """
        check_y_given(self, y)
        X, _ = validate_data(self, X, y, dtype=FLOAT_DTYPES, multi_output=True)
        y, labeled = check_semi_supervised_y(y, X.shape[0])
        n_unlabeled = int(np.sum(~labeled))
        auto = self.n_novel_classes == "auto"
        if (self.hierarchy is None and self.n_novel_classes is not None
                and not auto and self.n_novel_classes > n_unlabeled):
            # checked before the flat tree (one leaf per novel class) is built
            raise ValueError(
                f"n_novel_classes={self.n_novel_classes} cannot exceed the number "
                f"of unlabeled samples ({n_unlabeled}): each novel class needs "
                "unlabeled samples to be found."
            )
        _check_outliers(X)
        tree, y_lab, known = resolve_classes(
            self.hierarchy, self.n_novel_classes, y[labeled],
            bool((~labeled).any()), max_auto=self._max_auto(y[labeled], n_unlabeled),
        )
        y_index = np.full(X.shape[0], -1, dtype=np.intp)
        y_index[labeled] = y_lab
        classes = as_label_array([tree.nodes[leaf] for leaf in tree.leaves])
        self.classes_ = classes
        self.known_classes_ = classes[known]
        self.novel_classes_ = classes[~known]
        self.hierarchy_ = dict(tree.edges)
        return X, y_index, tree, known

    def _max_auto(self, y_labeled, n_unlabeled):
        """The most novel classes ``n_novel_classes="auto"`` considers without a
        tree: :data:`AUTO_MIN_NOVEL` or the number of known classes, whichever
        is larger, and no more than the unlabeled samples can fill at
        ``min_cluster_size`` each."""
        n_known = len({plain_name(v) for v in y_labeled})
        return min(max(AUTO_MIN_NOVEL, n_known),
                   n_unlabeled // self.min_cluster_size)

    def _standardize(self, X):
        """``(X - shift) / scale`` with ``scale`` a power of two; sets ``_shift``
        and ``_scale``.

        Every squared distance is computed on the centred, rescaled data, so data
        of any finite scale (``1e154`` or ``1e-300``) neither overflow nor
        underflow; a power of two rescales without rounding.
        """
        shift = np.mean(X, axis=0, dtype=np.float64)
        with np.errstate(over="ignore"):
            spread = float(np.max(np.abs(X - shift.astype(X.dtype)), initial=0.0))
        if not np.isfinite(spread):  # X - shift overflowed: scale first
            spread = float(np.max(np.abs(X)))
        scale = 2.0 ** np.round(np.log2(spread)) if spread > 0 else 1.0
        self._shift, self._scale = shift, float(scale)
        return self._scaled(X)

    def _scaled(self, X):
        """``X`` in the units of the fit (see :meth:`_standardize`), dtype kept."""
        shift = (self._shift / self._scale).astype(X.dtype)
        return X / X.dtype.type(self._scale) - shift

    def _hkmeans(self, X, y_index, tree, known, monitor):
        """The h-k-means solution with this estimator's parameters."""
        return hkmeans(
            X, y_index, tree, known,
            lambda_unlabeled=self.lambda_unlabeled,
            lambda_hierarchy=self.lambda_hierarchy,
            solver=self.solver,
            n_neighbors=self.n_neighbors,
            n_init=self.n_init,
            novelty_level=self.novelty_level,
            learning_rate=self.learning_rate,
            random_state=self.random_state,
            monitor=monitor,
            n_jobs=self.n_jobs,
            select=None if self.novelty_level is None else gated_objective(
                X, y_index, known, *term_weights(y_index, self.lambda_unlabeled),
                self.novelty_level, self.min_cluster_size),
        )

    def _check_X(self, X):
        """Validate ``X`` for a fitted model; float32 is kept."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)

    def _scaled_X(self, X):
        """Validate ``X`` for a fitted model and put it in the units of the fit."""
        return self._scaled(self._check_X(X))

    def _score_targets(self, y, n_samples):
        """Class index (``classes_`` order) of each labeled sample of ``y``, -1
        for the unlabeled ones; ``None`` when ``y`` is ``None``.

        The labels follow :meth:`fit`: ``-1`` (or ``"-1"``) marks unlabeled
        samples, and a label must be one of ``classes_``.
        """
        if y is None:
            return None
        y, labeled = check_semi_supervised_y(y, n_samples)
        position = {plain_name(leaf): k for k, leaf in enumerate(self.classes_)}
        index = np.full(n_samples, -1, dtype=np.intp)
        for i in np.flatnonzero(labeled):
            label = plain_name(y[i])
            k = position.get(label)
            if k is None:
                raise ValueError(
                    f"y contains the label {label!r}, which is not a leaf of the "
                    f"fitted tree (classes_: {self.classes_.tolist()[:10]}); "
                    "-1 marks unlabeled samples."
                )
            index[i] = k
        return index

    def _own_class_values(self, values, per_class, y):
        """``values`` (one per sample, over all classes), with each labeled sample
        of ``y`` taking its own class's column of ``per_class`` instead.

        What :meth:`score` measures with ``y``: the labeled samples on the class
        the fit clamps them to, the unlabeled ones (and all, without ``y``) on
        every class.
        """
        index = self._score_targets(y, per_class.shape[0])
        if index is not None:
            labeled = np.flatnonzero(index >= 0)
            values[labeled] = per_class[labeled, index[labeled]]
        return values

    def predict(self, X):
        """Leaf of each sample, known or novel.

        The leaf of the nearest prototype for
        :class:`~skdeep.cluster.NovelClassKMeans`, of the most probable
        component for :class:`~skdeep.cluster.HierarchicalGMM`, among the
        leaves the novelty test leaves open to the sample: a novel leaf only
        when the sample passes the test into it, never a novel leaf whose
        cluster the fit dropped (not in ``discovered_classes_``). A sample far
        outside the data goes to the leaf whose centre lies furthest in its
        direction, as the exact distances or posterior do.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The leaf name of each sample, one of ``classes_``.
        """
        best = np.argmax(self._gated_scores(X), axis=1)  # checks the fit first
        return self.classes_[best]

    def predict_node(self, X):
        """Name of each sample in the tree: a known leaf, a novel leaf, or the
        ancestor below which a novel sample sits unnamed.

        A sample is novel when it passes the novelty test (see the Notes of
        the estimator); its cluster's name is then its novel leaf when the
        tree tells that leaf apart from the other novel leaves, an internal
        node of the tree otherwise (``class_nodes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.

        Returns
        -------
        nodes : ndarray of shape (n_samples,)
            Node names of the tree.
        """
        best = np.argmax(self._gated_scores(X), axis=1)
        return self.class_nodes_[best]

    def fit_predict(self, X, y):
        """Fit and return ``labels_``: given labels, predicted leaves elsewhere.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Leaf names: the given label of labeled samples, the predicted (known
            or novel) leaf of unlabeled ones.
        """
        return self.fit(X, y).labels_
