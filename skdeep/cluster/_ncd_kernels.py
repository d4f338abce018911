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


@njit(cache=True)
def cluster_sums(X, labels, n_clusters):
    """Per-cluster sums of the rows of ``X`` and per-cluster counts."""
    n, d = X.shape
    sums = np.zeros((n_clusters, d))
    counts = np.zeros(n_clusters)
    for i in range(n):
        k = labels[i]
        counts[k] += 1.0
        for j in range(d):
            sums[k, j] += X[i, j]
    return sums, counts


@njit(cache=True)
def unit_residual_sums(X, centers, labels):
    """Per-cluster sums of ``(x - c) / ||x - c||`` and the total distance.

    ``-sum`` is the gradient of ``sum_i ||x_i - c_{labels_i}||`` with respect to the
    centres (the non-squared loss of the reference implementation).
    """
    n, d = X.shape
    k_max = centers.shape[0]
    sums = np.zeros((k_max, d))
    total = 0.0
    diff = np.empty(d)
    for i in range(n):
        k = labels[i]
        norm = 0.0
        for j in range(d):
            diff[j] = X[i, j] - centers[k, j]
            norm += diff[j] * diff[j]
        norm = np.sqrt(norm)
        total += norm
        if norm > 1e-12:
            for j in range(d):
                sums[k, j] += diff[j] / norm
    return sums, total
