"""Numerical kernels of novel class discovery (numba and vectorised numpy).

They take ``X`` in float32 or float64 as given (numba compiles one version per
dtype); the numba sums accumulate in float64, so a float32 ``X`` loses no digits
over many samples.
"""

import numpy as np
from numba import njit


def squared_distances(X, centers, x_sq=None):
    """Squared Euclidean distances of shape (n_samples, n_centers), via one GEMM
    in the dtype of the inputs (pass ``centers`` in the dtype of ``X``)."""
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    d2 = X @ (-2.0 * centers.T)
    d2 += x_sq[:, None]
    d2 += np.einsum("ij,ij->i", centers, centers)[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def cluster_sums(X, labels, n_clusters, weights=None):
    """Per-cluster sums of the rows of ``X`` and per-cluster counts, each row
    counted ``weights[i]`` times (once when ``weights`` is ``None``)."""
    if weights is None:
        weights = np.ones(X.shape[0])
    return _weighted_cluster_sums(X, labels, n_clusters, weights)


@njit(cache=True)
def _weighted_cluster_sums(X, labels, n_clusters, weights):
    n, d = X.shape
    sums = np.zeros((n_clusters, d))
    counts = np.zeros(n_clusters)
    for i in range(n):
        k = labels[i]
        w = weights[i]
        counts[k] += w
        for j in range(d):
            sums[k, j] += w * X[i, j]
    return sums, counts


def unit_residual_sums(X, centers, labels, weights=None):
    """Per-cluster sums of ``w_i (x_i - c) / ||x_i - c||`` and the total
    ``sum_i w_i ||x_i - c||`` (``w_i = weights[i]``, 1 when ``weights`` is
    ``None``).

    ``-sum`` is the gradient of ``sum_i w_i ||x_i - c_{labels_i}||`` with
    respect to the centres (the non-squared loss of the reference
    implementation).
    """
    if weights is None:
        weights = np.ones(X.shape[0])
    return _weighted_unit_residual_sums(X, centers, labels, weights)


@njit(cache=True)
def _weighted_unit_residual_sums(X, centers, labels, weights):
    n, d = X.shape
    k_max = centers.shape[0]
    sums = np.zeros((k_max, d))
    total = 0.0
    diff = np.empty(d)
    for i in range(n):
        k = labels[i]
        w = weights[i]
        norm = 0.0
        for j in range(d):
            diff[j] = X[i, j] - centers[k, j]
            norm += diff[j] * diff[j]
        norm = np.sqrt(norm)
        total += w * norm
        if norm > 1e-12:
            for j in range(d):
                sums[k, j] += w * diff[j] / norm
    return sums, total


#: Rows of the fit's (standardised) data beyond this absolute value are scored
#: by :func:`far_row_scores`: their squared norm would swamp (or overflow) the
#: differences between the components.
FAR_ROW = 2.0**20


def far_row_scores(X, lin, const):
    """``x @ lin.T + const`` minus its row maximum, without overflow.

    The part of ``-d(x, c_k) / 2`` (or of a Gaussian log-joint) that differs
    between components, for rows of any finite size: each row is divided by a
    power of two near its largest entry, the scores are compared there and
    multiplied back (a gap too large for float64 becomes ``-inf``, never NaN).
    The row maximum is 0; ``argmax`` and the softmax are those of the exact
    scores.
    """
    X = np.asarray(X, dtype=np.float64)
    size = np.max(np.abs(X), axis=1, initial=0.0)
    s = np.exp2(np.ceil(np.log2(np.maximum(size, 1.0))))
    g = (X / s[:, None]) @ lin.T + const[None, :] / s[:, None]
    g -= g.max(axis=1, keepdims=True)
    with np.errstate(over="ignore"):
        return g * s[:, None]


def with_far_rows(X, scores, lin, const):
    """``scores`` with the rows of ``X`` beyond :data:`FAR_ROW` replaced by
    :func:`far_row_scores` (float64 then): the exact differences between
    components where the squared norm of the row would swamp or overflow
    them. ``lin`` and ``const`` give the linear part of the scores."""
    far = ~(np.max(np.abs(X), axis=1, initial=0.0) <= FAR_ROW)
    if far.any():
        scores = scores.astype(np.float64)
        scores[far] = far_row_scores(X[far], lin, const)
    return scores
