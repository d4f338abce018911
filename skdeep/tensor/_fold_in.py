"""Folding new samples in: their mode-0 rows with the other factors fixed.

With the other factors fixed the model is linear in a sample's row ``u`` of
``U_0``: ``x = u B + noise``, ``B`` the design (see :mod:`._model`). The fitted
rows give a Gaussian prior (their mean and covariance) and the fit's error a
noise variance; a sample's row is then its posterior mean.
"""

import numpy as np
from scipy import linalg

# Floor of the fold-in noise variance (on unit-RMS data).
MIN_NOISE_VARIANCE = 1e-12


def gaussian_prior(rows):
    """Mean and covariance of the fitted mode-0 rows ``(n, c_0)``."""
    mean = rows.mean(axis=0)
    centred = rows - mean
    return mean, centred.T @ centred / rows.shape[0]


def noise_variance(rows, design, entries):
    """Mean squared error of ``rows @ design`` at ``entries`` (floored)."""
    residual = entries.predict(rows, design) - entries.values
    return max(float(residual @ residual) / entries.size, MIN_NOISE_VARIANCE)


def fold_in_rows(flat, design, mean, covariance, noise):
    """Posterior-mean mode-0 rows of samples ``flat`` (``NaN`` where missing).

    Under the Gaussian prior ``N(mean, covariance)`` the posterior mean is a
    ridge solution in the prior's whitened coordinates,
    ``u = m + L (C C^T + s^2 I)^{-1} C (x_o - m B_o)`` with
    ``Sigma = L L^T``, ``C = L^T B_o`` and ``B_o`` the columns of the
    observed entries; it keeps the fit's low-rank bias (directions the
    fitted rows do not use get no weight) and gives a sample with nothing
    observed the typical row ``m``. Samples sharing a pattern of observed
    entries share one solve.

    Parameters
    ----------
    flat : ndarray of shape (n_samples, prod of the other sizes)
        The samples, on the scale of the fit, ``NaN`` where missing.
    design : ndarray of shape (c_0, prod of the other sizes)
        The design ``B``.
    mean, covariance : ndarray
        The prior of :func:`gaussian_prior`.
    noise : float
        The noise variance.

    Returns
    -------
    rows : ndarray of shape (n_samples, c_0)
    """
    n_samples = flat.shape[0]
    observed = ~np.isnan(flat)
    values, vectors = np.linalg.eigh(covariance)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    rows = np.tile(mean, (n_samples, 1))
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
    identity = noise * np.eye(root.shape[1])
    for k, pattern in enumerate(patterns):
        if not pattern.any():
            continue  # nothing observed: the typical row
        members = order[bounds[k] : bounds[k + 1]]
        design_o = design[:, pattern]
        whitened = root.T @ design_o
        target = flat[np.ix_(members, pattern)] - mean @ design_o
        gram = whitened @ whitened.T + identity
        z = linalg.solve(gram, whitened @ target.T, assume_a="pos")
        rows[members] += (root @ z).T
    return rows
