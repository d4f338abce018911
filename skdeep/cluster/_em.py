"""MAP-EM of the h-GMM (:class:`~skdeep.cluster.HierarchicalGMM`), as pure
functions on arrays."""

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from ._ncd_kernels import cluster_sums, squared_distances


class EMSolution(NamedTuple):
    """What the h-GMM EM computes."""

    means: np.ndarray  # (n_leaves, n_features), float64
    variances: np.ndarray  # (n_features,) shared diagonal covariance, float64
    weights: np.ndarray  # (n_leaves,) mixing weights, float64
    assignments: np.ndarray  # leaf index per sample: given label or most probable
    loss_curve: np.ndarray  # negative mean log-posterior per iteration
    n_iter: int
    converged: bool


def _log_joint(X, means, var, weights):
    """``log(w_k N(x | mu_k, diag(var)))`` for every sample and component, in the
    dtype of ``X``."""
    scale = 1.0 / np.sqrt(var)
    d2 = squared_distances(X * scale.astype(X.dtype, copy=False),
                           (means * scale).astype(X.dtype, copy=False))
    log_norm = -0.5 * (X.shape[1] * np.log(2 * np.pi) + np.sum(np.log(var)))
    with np.errstate(divide="ignore"):  # a closed component: weight zero
        log_w = np.log(weights)
    return (log_w[None, :] + log_norm).astype(X.dtype, copy=False) - 0.5 * d2


def _check_variances(var, reg_covar):
    """Raise a clear error for a zero variance (a constant feature, reg_covar=0)."""
    # The data are standardised (|x| <= 1 about), so a variance below eps**2 is
    # rounding noise on a constant feature.
    bad = np.flatnonzero(~(var > np.finfo(np.float64).eps ** 2))
    if bad.size:
        raise ValueError(
            f"HierarchicalGMM: feature(s) {bad[:10].tolist()} have zero variance "
            f"within the components (a constant feature, e.g. a gene never "
            f"expressed) and reg_covar={reg_covar} adds nothing; drop these "
            "features or set reg_covar > 0."
        )


def em(X, y_index, known, centers, assignments, *, reg_covar, priors=None,
       kappa=0.0, refit_known=True, monitor, active=None, weights=None):
    """MAP-EM of the h-GMM from its h-k-means start.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    y_index : ndarray of int of shape (n_samples,)
        Leaf index of each labeled sample, -1 elsewhere; labeled samples keep
        their class (clamped responsibilities).
    known : ndarray of bool of shape (n_leaves,)
    centers, assignments : ndarray
        The h-k-means start: prototypes and the leaf of each sample.
    reg_covar : float
        Added to the variances.
    priors : ndarray of shape (n_novel, n_features) or None
        The prior centre of each novel mean (in ``HierarchicalGMM``: its parent
        node's centre in the h-k-means start).
    kappa : float
        Strength of the hierarchy prior on the novel means: the prior of novel
        mean ``mu_l`` is ``N(priors[l], diag(var) / kappa)``, worth ``kappa``
        samples at the prior. ``0`` is plain maximum-likelihood EM.
    refit_known : bool
        Update the known means from their labeled samples and the
        responsibilities of the unlabeled ones (semi-supervised EM); ``False``
        keeps them at the means of their labeled samples.
    active : ndarray of bool or None
        The components open to the unlabeled samples; the others keep a zero
        weight (``n_novel_classes="auto"`` refits without a removed one).
    weights : ndarray of shape (n_samples,) or None
        Weights of the labeled samples (the entries of the unlabeled ones
        are not read; they weigh 1): a labeled sample counts ``weights[i]``
        times in the likelihood, the means and the variances (the
        cross-fitted novelty test keeps the labeled mass of the fit when
        some labels are hidden). ``None``: unit weights.
    monitor : IterationMonitor
        Records the negative mean log-posterior (log-likelihood plus the log
        prior of the novel means, over ``n_samples``) of each iteration and
        stops EM by skdeep's one rule (``HierarchicalGMM`` gives it the scale
        1: ``tol`` is per sample), or at ``max_iter`` iterations.

    Returns
    -------
    solution : EMSolution
    """
    labeled = y_index >= 0
    w_lab = None if weights is None else np.asarray(
        weights, dtype=np.float64)[labeled]
    lab_sums, lab_counts = cluster_sums(X[labeled], y_index[labeled], len(known),
                                        w_lab)
    means = centers.copy()
    # Known means start at the class means of their labeled samples.
    means[known] = lab_sums[known] / lab_counts[known, None]
    novel_idx = np.flatnonzero(~known)
    if priors is None or not novel_idx.size:
        priors, kappa = np.zeros((novel_idx.size, X.shape[1])), 0.0
    resid = X - means[assignments].astype(X.dtype, copy=False)
    if w_lab is None:
        n_total = float(X.shape[0])
        var = np.mean(resid**2, axis=0, dtype=np.float64) + reg_covar
        x_sq = np.einsum("ij,ij->j", X, X, dtype=np.float64)
    else:  # every sample's weight: its labeled weight, 1 when unlabeled
        sw = np.ones(X.shape[0])
        sw[labeled] = w_lab
        n_total = float(sw.sum())
        var = np.einsum("ij,ij,i->j", resid, resid, sw,
                        dtype=np.float64) / n_total + reg_covar
        x_sq = np.einsum("ij,ij,i->j", X, X, sw, dtype=np.float64)
    _check_variances(var, reg_covar)
    if labeled.all():
        counts = lab_counts + 1.0
    else:
        counts = np.bincount(assignments[~labeled], minlength=len(known)) + 1.0
    mix = _close(counts, active)
    converged = False
    for _ in range(monitor.max_iter):
        ll, resp = _e_step(X, y_index, means, var, mix, w_lab)
        if kappa:
            ll += _log_prior(means[novel_idx], priors, var, kappa)
        monitor.record(-ll / n_total)
        if monitor.converged():
            converged = True
            break
        means, mix, var = _m_step(
            X, resp, means, labeled=labeled, novel=~known, priors=priors,
            kappa=kappa, refit_known=refit_known, reg_covar=reg_covar, x_sq=x_sq,
            n_total=n_total)
        mix = _close(mix, active)
    labels = y_index.copy()
    if not labeled.all():
        labels[~labeled] = np.argmax(
            _log_joint(X[~labeled], means, var, mix), axis=1)
    return EMSolution(means, var, mix, labels, monitor.loss_curve(),
                      monitor.n_iter, converged)


def _close(weights, active):
    """``weights`` normalised, with the components not ``active`` at zero."""
    weights = np.where(active, weights, 0.0) if active is not None else weights
    return weights / weights.sum()


def _e_step(X, y_index, means, var, weights, w_lab=None):
    """Responsibilities (labeled samples clamped to their class, at their
    weight ``w_lab``; ``None``: 1) and the log-likelihood that the next
    M-step maximises."""
    labeled = y_index >= 0
    lab_rows, lab_class = np.flatnonzero(labeled), y_index[labeled]
    log_joint = _log_joint(X, means, var, weights)
    resp = np.zeros((X.shape[0], len(weights)), dtype=X.dtype)
    resp[lab_rows, lab_class] = 1.0 if w_lab is None else w_lab

    def labeled_sum(values):
        return (values.sum(dtype=np.float64) if w_lab is None
                else float(values.astype(np.float64) @ w_lab))

    ll = labeled_sum(log_joint[lab_rows, lab_class])
    if not labeled.all():
        # The weights describe the unlabeled data (M-step): a labeled sample
        # counts with its class density only, so that each EM step maximises
        # exactly the likelihood it reports.
        ll -= labeled_sum(np.log(weights[lab_class]))
        lj = log_joint[~labeled]
        norm = logsumexp(lj, axis=1)
        ll += norm.sum(dtype=np.float64)
        resp[~labeled] = np.exp(lj - norm[:, None])
    return ll, resp


def _log_prior(novel_means, priors, var, kappa):
    """Log density of the novel means under their priors ``N(prior, var / kappa)``."""
    dev = np.sum((novel_means - priors) ** 2 / var, axis=1)
    return np.sum(-0.5 * kappa * dev - 0.5 * np.sum(np.log(2 * np.pi * var / kappa)))


def _m_step(X, resp, means, *, labeled, novel, priors, kappa, refit_known,
            reg_covar, x_sq, n_total):
    """MAP means, mixing weights and the shared diagonal covariance from the
    responsibilities (``means`` is updated in place); ``x_sq`` holds the
    per-feature (weighted) sums of ``X**2``, ``n_total`` the samples'
    total weight."""
    novel_idx = np.flatnonzero(novel)
    nk = resp.sum(axis=0, dtype=np.float64)
    sums = (resp.T @ X).astype(np.float64, copy=False)
    # the prior (worth kappa samples) acts on the novel means only
    prior_counts = np.where(novel, kappa, 0.0)
    prior_sums = np.zeros_like(sums)
    prior_sums[novel_idx] = kappa * priors
    update = nk + prior_counts > 10 * np.finfo(float).eps
    if not refit_known:
        update &= novel
    means[update] = (sums[update] + prior_sums[update]) / (
        nk[update, None] + prior_counts[update, None])
    # the weights describe the unlabeled data (all data when all are labeled)
    wk = nk.copy() if labeled.all() else resp[~labeled].sum(axis=0, dtype=np.float64)
    weights = wk + 10 * np.finfo(float).eps
    weights /= weights.sum()
    sq = x_sq - 2.0 * np.sum(means * sums, axis=0) + nk @ means**2
    n_prior = 0
    if kappa:
        sq += kappa * np.sum((means[novel_idx] - priors) ** 2, axis=0)
        n_prior = novel_idx.size
    var = np.maximum(sq / (n_total + n_prior), 0.0) + reg_covar
    _check_variances(var, reg_covar)
    return means, weights, var
