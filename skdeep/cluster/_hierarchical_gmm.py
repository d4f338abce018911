"""Gaussian mixture refinement of hierarchical novel class discovery (h-GMM)."""

from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._iteration import IterationMonitor
from ._base import _BaseHierarchicalClusterer, _extended_init
from ._em import _log_joint, em
from ._ncd_kernels import with_far_rows

# The h-k-means start runs with NovelClassKMeans' defaults (max_iter and tol are
# EM's here); it is silent, and a start stopped early is fine: EM goes on from it.
_START_MAX_ITER, _START_TOL = 100, 1e-4


class HierarchicalGMM(_BaseHierarchicalClusterer):
    """Hierarchical Gaussian mixture (h-GMM) for novel class discovery.

    One Gaussian component per leaf of the label tree, with a shared diagonal
    covariance. EM estimates the means, the mixing weights and the covariance,
    starting from :class:`NovelClassKMeans` (its ``n_init`` starts and its
    naming) with the known means at the means of their labeled samples.
    Labeled samples keep their class: their responsibilities are clamped to it;
    the unlabeled samples also move the known means (semi-supervised EM, as
    they move the known prototypes of h-k-means) unless
    ``known_means="labeled"``. The hierarchy acts in EM too: each
    novel mean has a Gaussian prior ``N(prior_l, diag(var) / kappa)`` centred
    at the centre of its parent node in the h-k-means start (where the
    h-k-means penalty shrinks that leaf), worth
    ``kappa = lambda_hierarchy * n_samples / n_leaves`` samples: a novel leaf
    holding its share of the samples has its mean shrunk toward that centre by
    about ``1 / (1 + lambda_hierarchy)``, as the h-k-means penalty shrinks its
    offset. EM (a MAP-EM) so keeps the naming of its start.

    Parameters
    ----------
    hierarchy : dict, list of (child, parent) pairs or None, default=None
        The label tree; see :class:`NovelClassKMeans`.
    n_novel_classes : int, "auto" or None, default=None
        See :class:`NovelClassKMeans`. With ``"auto"`` the criterion is the
        BIC of the mixture: novel components are removed (from those that
        pass the novelty test), EM run again without each, while ``-2 log L
        + (n_features + 1) * n_novel * log(n_samples)`` decreases, ``L`` the
        likelihood of the samples (labeled ones in their class, unlabeled
        ones under the novelty test) under the refitted mixture (a novel
        component costs its mean and its weight).
    lambda_unlabeled, lambda_hierarchy, solver, n_neighbors, n_init, \
novelty_level, min_cluster_size, learning_rate :
        Parameters of the :class:`NovelClassKMeans` initialisation (same defaults:
        1.0, 0.05, "alternating", 3, 10, 0.05, 5, 0.01); the novelty test
        (``novelty_level``, ``min_cluster_size``) applies to the fitted
        mixture as to the prototypes, with the log-joint
        ``log w_k N(x | mu_k)`` as the evidence; ``lambda_hierarchy`` also sets
        the strength of the prior on the novel means.
    max_iter : int, default=100
        Maximum number of EM iterations (the initialisation runs with its own
        default of 100); a fit that reaches it warns with a
        :class:`~sklearn.exceptions.ConvergenceWarning`.
    tol : float, default=1e-4
        EM stops when the negative mean log-likelihood per sample decreases by
        at most ``tol`` over one iteration: skdeep's one stopping rule with the
        scale 1, so that ``tol`` is per sample, in nats (the objective is a
        mean and can cross zero).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.
    n_jobs : int, default=None
        Number of jobs running the ``n_init`` starts of the initialisation in
        parallel through joblib (threads by default; any backend set with
        :func:`joblib.parallel_config`, e.g. ``"dask"``). The result does not
        depend on it.
    verbose : int, default=0
        Print the negative mean log-likelihood at each EM iteration, and a
        summary, when positive.
    known_means : {"refit", "labeled"}, default="refit"
        ``"refit"``: EM updates the known means too, from their labeled samples
        and the responsibilities of the unlabeled ones. ``"labeled"``: they stay
        at the means of their labeled samples (the h-GMM of the paper). With
        few labeled samples in a class the labeled mean is a noisy anchor; on
        real single-cell data ``"refit"`` was the better of the two
        for the matched accuracy (``benchmarks/bench_ncd.py --real``: 0.738
        against 0.731), not for the naming of novel cells (0.50 against 0.53
        at the leaf).
    reg_covar : float, default=1e-6
        Added to the variances, as in :class:`sklearn.mixture.GaussianMixture`,
        but unit-free: it is added to the variances of ``X`` centred and
        divided by a power of two near its largest absolute deviation. With
        ``reg_covar=0`` a constant feature (e.g. a gene never expressed) raises
        a ``ValueError`` instead of returning a NaN model.

    Attributes
    ----------
    classes_, known_classes_, novel_classes_ : ndarray
        All leaves, those with labeled samples and the novel ones.
    means_ : ndarray of shape (n_classes, n_features)
        Component means, rows in ``classes_`` order.
    covariances_ : ndarray of shape (n_features,)
        The shared diagonal covariance.
    weights_ : ndarray of shape (n_classes,)
        Mixing weights, estimated from the unlabeled samples (from the labeled ones
        when all samples are labeled): the mixture describes new, unlabeled data.
    hierarchy_ : dict
        The tree used.
    labels_ : ndarray of shape (n_samples,)
        Class of each training sample: its given label when labeled (EM clamps
        labeled samples to their class), ``predict`` of the sample otherwise
        (its most probable leaf among those the novelty test allows).
    node_labels_, discovered_classes_, n_novel_classes_, class_nodes_ :
        Names in the tree and the novel classes kept; see
        :class:`NovelClassKMeans`.
    novelty_margin_ : float
        The calibrated margin of the novelty test, in nats of the log-joint.
    lower_bound_ : float
        Mean log-posterior per training sample at the last iteration: the
        log-likelihood (the mixture density for unlabeled samples, the density
        of their class for labeled ones; with unlabeled samples the mixing
        weights describe those only) plus the log prior of the novel means,
        over ``n_samples``. EM does not decrease it.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        The objective EM minimises (float64): ``-lower_bound_`` after each
        iteration, the negative mean log-posterior (log-likelihood plus the
        log prior of the novel means, per sample). It never increases.
    converged_ : bool
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    NovelClassKMeans : the h-k-means initialisation.
    sklearn.mixture.GaussianMixture : the unsupervised mixture.

    Notes
    -----
    Sibling novel leaves cannot be told apart by the tree (same prior): their
    names are a coin flip, only their parent is identified. The fit works on
    rescaled data (see :class:`NovelClassKMeans`); when the variances of ``X``
    themselves leave the float64 range (``X`` around ``1e-300`` or ``1e154``)
    it raises a ``ValueError`` rather than return a NaN model.

    float32 data stay float32 in the passes over the samples (log-densities,
    responsibilities); the per-component statistics are float64 and the fitted
    arrays are returned in the dtype of ``X``.

    :meth:`predict_proba` is the posterior over the leaves the novelty test
    leaves open to each sample (a novel leaf has probability zero where the
    sample does not pass the test, and a dropped novel leaf everywhere);
    :meth:`score_samples`, :meth:`score` and :meth:`bic` describe the fitted
    mixture, all components included.

    Held-out validation (``benchmarks/bench_ncd_real.py``): see the user
    guide for the per-configuration tables on scanpy's ``pbmc68k_reduced``
    and ``krumsiek11`` and scikit-learn's digits.

    References
    ----------
    .. [1] M. Senoussi, T. Artières, P. Villoutreix, "Hierarchical novel class
       discovery for single-cell transcriptomic profiles", 2024 (h-GMM: EM over
       the novel components, known means fixed, initialised by h-k-means:
       ``known_means="labeled"``). The default refit of the known means, the
       shared diagonal covariance and the MAP prior on the novel means are
       choices of this implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.cluster import HierarchicalGMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.normal(m, 0.3, (20, 2)) for m in (0, 6, 3)])
    >>> y = np.array(["a"] * 20 + ["b"] * 20 + [-1] * 20, dtype=object)
    >>> y[[0, 20]] = -1
    >>> hierarchy = {"a": "root", "b": "root", "c": "root"}
    >>> gmm = HierarchicalGMM(hierarchy, random_state=0).fit(X, y)
    >>> gmm.predict([[3.1, 2.9]])
    array(['c'], dtype=object)
    >>> gmm.predict_proba([[3.1, 2.9]]).round(2)
    array([[0., 0., 1.]])
    """

    _parameter_constraints: dict = {
        **_BaseHierarchicalClusterer._parameter_constraints,
        "known_means": [StrOptions({"refit", "labeled"})],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
    }

    # the parameters of the base, then its own (keyword-only)
    __init__ = _extended_init(_BaseHierarchicalClusterer, known_means="refit",
                              reg_covar=1e-6)

    def _fit_scaled(self, X, Xs, y_index, tree, known):
        """EM on the standardised data from the h-k-means start; sets the
        mixture."""
        start, self._priors, self._kappa = self._em_start(Xs, y_index, tree,
                                                          known)
        # tol is per sample: the objective is a mean log-likelihood, whose
        # decrease the rule compares with tol * 1
        monitor = IterationMonitor(self, scale=1.0)
        solution = self._em(Xs, y_index, known, start.centers,
                            start.assignments, monitor)
        monitor.finish(solution.converged)
        self._set_mixture(solution, Xs, y_index, X.dtype)
        # Log-densities of X are those of X / scale minus d log(scale).
        log_jacobian = X.shape[1] * np.log(self._scale)
        self.loss_curve_ = solution.loss_curve + log_jacobian
        self.lower_bound_ = -float(self.loss_curve_[-1])
        self.converged_ = solution.converged
        return solution

    def _em(self, Xs, y_index, known, centers, assignments, monitor,
            active=None, weights=None):
        return em(Xs, y_index, known, centers, assignments,
                  reg_covar=self.reg_covar, priors=self._priors,
                  kappa=self._kappa, refit_known=self.known_means == "refit",
                  monitor=monitor, active=active, weights=weights)

    def _set_mixture(self, solution, Xs, y_index, dtype):
        """The fitted mixture of an EM ``solution`` (a closed component keeps
        a negligible weight, so that its log stays finite)."""
        with np.errstate(over="ignore", under="ignore"):
            covariances = solution.variances * np.float64(self._scale) ** 2
        if not np.all(np.isfinite(covariances) & (covariances > 0)):
            raise ValueError(
                "HierarchicalGMM: the variances of X (about "
                f"{self._scale:.3g}**2) cannot be represented in float64; "
                "rescale X (e.g. with StandardScaler)."
            )
        self._means_scaled, self._var_scaled = solution.means, solution.variances
        means = solution.means * self._scale + self._shift
        self.means_ = means.astype(dtype, copy=False)
        self.covariances_ = covariances.astype(dtype, copy=False)
        weights = np.maximum(solution.weights, 10 * np.finfo(float).eps)
        self.weights_ = (weights / weights.sum()).astype(dtype, copy=False)

    def _refit(self, Xs, y_index, tree, known, active, weights=None):
        """EM again from the fitted mixture with only the ``active``
        components open to the unlabeled samples (``n_novel_classes="auto"``,
        the cross-fitted novelty test); ``weights`` (or ``None``) weigh the
        labeled samples."""
        lj = _log_joint(Xs, self._means_scaled, self._var_scaled,
                        self.weights_.astype(np.float64))
        lj[:, ~active] = -np.inf
        assignments = np.where(y_index >= 0, y_index, np.argmax(lj, axis=1))
        solution = self._em(Xs, y_index, known, self._means_scaled, assignments,
                            IterationMonitor(self, scale=1.0, verbose=0), active,
                            weights)
        self._set_mixture(solution, Xs, y_index, self.means_.dtype)

    def _em_start(self, Xs, y_index, tree, known):
        """The h-k-means start of EM, and the prior of the novel means."""
        start = self._hkmeans(Xs, y_index, tree, known, IterationMonitor(
            self, max_iter=_START_MAX_ITER, tol=_START_TOL, verbose=0))
        novel = ~known
        # The prior of a novel mean sits where h-k-means' own penalty pulls that
        # leaf: its parent's centre in the start (the prototype minus the leaf's
        # offset). Not at novel_priors (the mean of the nearest known
        # prototypes, the anchor of the naming): that point can lie far from
        # every novel cluster, and a pull toward it let EM drain both novel
        # components into their known siblings.
        leaf_offsets = start.offsets[np.asarray(tree.leaves)]
        priors = (start.centers - leaf_offsets)[novel] if novel.any() else None
        kappa = self.lambda_hierarchy * Xs.shape[0] / len(known)
        return start, priors, kappa

    def _evidence(self, X, relative=False):
        """The log-joint of each component; ``relative``: minus its row
        maximum, finite for far samples too (:meth:`_relative_scores`)."""
        return self._relative_scores(X) if relative else self._class_scores(X)

    def _criterion(self):
        """BIC of ``n_novel_classes="auto"``: a novel component costs its mean
        and its weight."""
        return dict(n_params=self.n_features_in_ + 1, soft=True,
                    log_weights=np.log(self.weights_.astype(np.float64)),
                    log_norm=0.0)  # the log-joint is normalised

    def _leaf_centers(self):
        return self._means_scaled

    def _permute_leaves(self, order, tree):
        """Leaf ``l`` takes the component fitted as ``order[l]``."""
        self._means_scaled = self._means_scaled[order]
        self.means_ = self.means_[order]
        self.weights_ = self.weights_[order]

    def _class_scores(self, X):
        """Log-joint ``log(w_k N(x | mu_k))`` in the units of the fit (a
        constant shift for every component; see :meth:`score_samples`)."""
        return _log_joint(self._scaled_X(X), self._means_scaled, self._var_scaled,
                          self.weights_.astype(np.float64))

    def _relative_scores(self, X):
        """Log-joint minus its row maximum, finite for far samples too.

        Rows within :data:`~._ncd_kernels.FAR_ROW` of the fit's units take
        the log-joint; farther rows, whose squared norm would swamp (or
        overflow to ``inf`` in) the differences between components, take the
        exact differences
        ``x . mu_k / var - |mu_k|^2 / (2 var) + log w_k`` computed without the
        common ``|x|^2`` term (:func:`~._ncd_kernels.far_row_scores`).
        """
        Xs = self._scaled_X(X)
        var, means = self._var_scaled, self._means_scaled
        log_w = np.log(self.weights_.astype(np.float64))
        with np.errstate(over="ignore", invalid="ignore"):
            lj = _log_joint(Xs, means, var, self.weights_.astype(np.float64))
            if lj.size:
                lj = lj - lj.max(axis=1, keepdims=True)
        return with_far_rows(Xs, lj, means / var,
                             log_w - 0.5 * np.sum(means**2 / var, axis=1))

    def predict_proba(self, X):
        """Posterior probability of each leaf.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order; rows sum to one, for any finite
            sample (a sample far outside the data has probability about one
            for one component, see :meth:`predict`).
        """
        lj = self._gated_scores(X)
        return np.exp(lj - logsumexp(lj, axis=1)[:, None])

    def score_samples(self, X):
        """Log density of the mixture at each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x)`` of each sample under the fitted mixture; ``-inf``
            for a sample so far out that its log density is below the float64
            range.
        """
        check_is_fitted(self)
        log_jacobian = float(self.n_features_in_ * np.log(self._scale))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return logsumexp(self._class_scores(X), axis=1) - log_jacobian

    def score(self, X, y=None):
        """Mean log-likelihood per sample (higher is better).

        Without ``y``: the mean of :meth:`score_samples`, the log density of
        the mixture, as :meth:`sklearn.mixture.GaussianMixture.score`. With
        ``y`` (what :class:`~sklearn.model_selection.GridSearchCV` passes): the
        log-likelihood EM maximises, per sample: the density of its own
        component, ``log N(x | mean_y, covariance)``, for a labeled sample, the
        mixture density for an unlabeled one (``-1``). The prior on the novel
        means is not part of it (it would change with ``lambda_hierarchy``).

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
            Mean log-likelihood per sample, in the units of ``X`` (log density).

        Notes
        -----
        On held-out samples the score measures how well the components
        describe new data, which :class:`~sklearn.model_selection.GridSearchCV`
        can use to tune e.g. ``reg_covar``, ``known_means`` or ``n_init``. It
        does not see the naming of the novel components, which is what
        ``lambda_hierarchy`` is for (the prior pulls the novel means away
        from their samples, so the score tends to favour a small
        ``lambda_hierarchy``), and like any likelihood it rewards more
        components (``n_novel_classes``) on data with more structure than the
        tree holds; :meth:`bic` penalises their number.

        Examples
        --------
        On three simulated classes, one of them novel:

        >>> import numpy as np
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.cluster import HierarchicalGMM
        >>> from skdeep.datasets import make_hierarchical_blobs
        >>> X, y, _, hierarchy, _ = make_hierarchical_blobs(
        ...     90, 2, depth=1, branching=3, n_novel=1, random_state=0)
        >>> gmm = HierarchicalGMM(hierarchy, random_state=0).fit(X, y)
        >>> bool(np.isclose(gmm.score(X), gmm.score_samples(X).mean()))
        True
        >>> grid = {"reg_covar": [1e-6, 1.0]}
        >>> GridSearchCV(gmm, grid, cv=3).fit(X, y).best_params_
        {'reg_covar': 1e-06}
        """
        log_joint = self._class_scores(X)
        # a labeled sample: the density of its own component, without its weight
        log_weights = np.log(self.weights_.astype(np.float64))
        log_density = self._own_class_values(
            logsumexp(log_joint, axis=1), log_joint - log_weights, y)
        log_jacobian = float(self.n_features_in_ * np.log(self._scale))
        return float(np.mean(log_density, dtype=np.float64) - log_jacobian)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        Counts every mean (the known ones are estimated from labels too), the
        shared diagonal covariance and the free mixing weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, with the features seen during fit.

        Returns
        -------
        bic : float
            ``-2 log L + n_params log n_samples``.
        """
        X = self._check_X(X)
        k, d = self.means_.shape
        n_params = k * d + d + k - 1
        return float(-2.0 * self.score(X) * X.shape[0] + n_params * np.log(X.shape[0]))
