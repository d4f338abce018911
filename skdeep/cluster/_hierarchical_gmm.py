"""Gaussian mixture refinement of hierarchical novel class discovery (h-GMM)."""

import warnings
from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._validation import FLOAT_DTYPES
from ._ncd_kernels import cluster_sums, squared_distances
from ._novel_class_kmeans import _COMMON_CONSTRAINTS, NovelClassKMeans, _prepare


class HierarchicalGMM(BaseEstimator):
    """Hierarchical Gaussian mixture (h-GMM) for novel class discovery.

    One Gaussian component per leaf of the label tree, with a shared diagonal
    covariance. The means of the known classes are the means of their labeled
    samples and stay fixed; EM estimates the means of the novel components, the
    mixing weights and the covariance, starting from :class:`NovelClassKMeans`
    (which places the novel components where the tree says). Labeled samples keep
    their class: their responsibilities are clamped to it.

    Parameters
    ----------
    hierarchy : dict, list of (child, parent) pairs or None, default=None
        The label tree; see :class:`NovelClassKMeans`.
    n_novel_classes : int or None, default=None
        See :class:`NovelClassKMeans`.
    lambda_unlabeled, lambda_hierarchy, solver, n_neighbors, learning_rate :
        Parameters of the :class:`NovelClassKMeans` initialisation (same defaults:
        1.0, 0.01, "alternating", 3, 0.1).
    reg_covar : float, default=1e-6
        Added to the variances, as in :class:`sklearn.mixture.GaussianMixture`.
    max_iter : int, default=100
        Maximum number of EM iterations (the initialisation runs with its own
        default of 100).
    tol : float, default=1e-4
        Stop when the mean log-likelihood per sample improves by less than ``tol``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.
    verbose : int, default=0
        Print the log-likelihood at each EM iteration when positive.

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
        Given label of labeled training samples, most probable leaf otherwise.
    lower_bound_ : float
        Mean log-likelihood per training sample at the last iteration: the
        mixture density for unlabeled samples, the density of their class for
        labeled ones (with unlabeled samples the mixing weights describe those
        only). EM does not decrease it.
    log_likelihood_curve_ : list of float
        ``lower_bound_`` after each iteration.
    converged_ : bool
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    NovelClassKMeans : the h-k-means initialisation.
    sklearn.mixture.GaussianMixture : the unsupervised mixture.

    References
    ----------
    .. [1] M. Senoussi, T. Artières, P. Villoutreix, "Hierarchical novel class
       discovery for single-cell transcriptomic profiles", 2024 (h-GMM: EM over
       the novel components, known means fixed, initialised by h-k-means).

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

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "reg_covar": [Interval(Real, 0, None, closed="left")],
    }

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
        reg_covar=1e-6,
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
        self.reg_covar = reg_covar
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
        """Fit the mixture by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float32 is accepted; computations run in float64).
        y : array-like of shape (n_samples,)
            Leaf labels of the known classes; ``-1`` marks unlabeled samples.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y_index, tree, known = _prepare(self, X, y)
        # The h-k-means start shares every parameter of its own (max_iter and tol
        # are EM's here, so the start keeps its defaults).
        shared = NovelClassKMeans().get_params().keys() - {"max_iter", "tol", "verbose"}
        init = NovelClassKMeans(**{name: getattr(self, name) for name in shared})
        init.classes_ = self.classes_
        with warnings.catch_warnings():
            # A not fully converged start is fine: EM goes on from it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            init._fit_prepared(X, y_index, tree, known)

        n, d = X.shape
        n_classes = len(self.classes_)
        labeled = y_index >= 0
        X_lab, X_unl = X[labeled], X[~labeled]
        lab_sums, lab_counts = cluster_sums(X_lab, y_index[labeled], n_classes)
        means = init.cluster_centers_.copy()
        # Known means: the class means of the labeled samples, fixed from now on.
        means[known] = lab_sums[known] / lab_counts[known, None]
        novel = ~known
        assign = self._init_assign(init.labels_)
        resid = X - means[assign]
        var = np.mean(resid**2, axis=0) + self.reg_covar
        if X_unl.shape[0]:
            counts = np.bincount(assign[~labeled], minlength=n_classes) + 1.0
        else:
            counts = lab_counts + 1.0
        weights = counts / counts.sum()

        lab_rows = np.flatnonzero(labeled)
        self.log_likelihood_curve_ = []
        self.converged_ = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            # E-step.
            log_joint = self._log_joint(X, means, var, weights)
            resp = np.zeros((n, n_classes))
            resp[lab_rows, y_index[labeled]] = 1.0
            ll_lab = log_joint[lab_rows, y_index[labeled]].sum()
            if X_unl.shape[0]:
                # The weights describe the unlabeled data (M-step below): a labeled
                # sample counts with its class density only, so that each EM step
                # maximises exactly the likelihood it reports.
                ll_lab -= np.log(weights)[y_index[labeled]].sum()
            ll_unl = 0.0
            if X_unl.shape[0]:
                lj = log_joint[~labeled]
                norm = logsumexp(lj, axis=1)
                ll_unl = norm.sum()
                resp[~labeled] = np.exp(lj - norm[:, None])
            ll = float((ll_lab + ll_unl) / n)
            self.log_likelihood_curve_.append(ll)
            if self.verbose:
                print(f"EM iteration {n_iter}: mean log-likelihood {ll:.6g}")
            if n_iter > 1 and ll - self.log_likelihood_curve_[-2] < self.tol:
                self.converged_ = True
                break
            # M-step: novel means, weights, shared diagonal covariance.
            nk = resp.sum(axis=0)
            sums = resp.T @ X
            update = novel & (nk > 10 * np.finfo(float).eps)
            means[update] = sums[update] / nk[update, None]
            if X_unl.shape[0]:
                wk = resp[~labeled].sum(axis=0)
            else:
                wk = nk.copy()
            weights = (wk + 10 * np.finfo(float).eps)
            weights /= weights.sum()
            sq = (np.einsum("ij,ij->j", X, X) - 2.0 * np.sum(means * sums, axis=0)
                  + nk @ means**2)
            var = np.maximum(sq / n, 0.0) + self.reg_covar
        if not self.converged_:
            warnings.warn(
                f"HierarchicalGMM did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol}); increase max_iter.",
                ConvergenceWarning,
            )
        self.means_ = means
        self.covariances_ = var
        self.weights_ = weights
        self.n_iter_ = n_iter
        self.lower_bound_ = self.log_likelihood_curve_[-1]
        labels = y_index.copy()
        if X_unl.shape[0]:
            labels[~labeled] = np.argmax(
                self._log_joint(X_unl, means, var, weights), axis=1)
        self.labels_ = self.classes_[labels]
        return self

    def _init_assign(self, init_labels):
        index = {name: k for k, name in enumerate(self.classes_.tolist())}
        return np.fromiter((index[v] for v in init_labels.tolist()), dtype=np.intp,
                           count=len(init_labels))

    @staticmethod
    def _log_joint(X, means, var, weights):
        """``log(w_k N(x | mu_k, diag(var)))`` for every sample and component."""
        scale = 1.0 / np.sqrt(var)
        d2 = squared_distances(X * scale, means * scale)
        log_norm = -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(np.log(var)))
        return np.log(weights)[None, :] + log_norm - 0.5 * d2

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        return np.asarray(X, dtype=np.float64)

    def _log_joint_X(self, X):
        X = self._check_X(X)
        return self._log_joint(X, self.means_, self.covariances_, self.weights_)

    def fit_predict(self, X, y):
        """Fit and return ``labels_``: given labels, predicted leaves elsewhere.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, y).labels_

    def predict(self, X):
        """Most probable leaf, known or novel.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        best = np.argmax(self._log_joint_X(X), axis=1)
        return self.classes_[best]

    def predict_proba(self, X):
        """Posterior probability of each leaf.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order; rows sum to one.
        """
        lj = self._log_joint_X(X)
        return np.exp(lj - logsumexp(lj, axis=1)[:, None])

    def score_samples(self, X):
        """Log density of the mixture at each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        return logsumexp(self._log_joint_X(X), axis=1)

    def score(self, X, y=None):
        """Mean log density of the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        Counts every mean (the known ones are estimated from labels too), the
        shared diagonal covariance and the free mixing weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        X = self._check_X(X)
        k, d = self.means_.shape
        n_params = k * d + d + k - 1
        return float(-2.0 * self.score(X) * X.shape[0] + n_params * np.log(X.shape[0]))
