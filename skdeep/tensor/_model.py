"""The deep factorization shared by the numpy and torch backends.

Each factor matrix of the Tucker, CP or TT model (see
:mod:`skdeep.utils._tensor_algebra`) is a product of ``depth`` matrices
``U_i = A_i1 @ A_i2 @ ... @ A_iL`` (the deep, over-parametrised factor).

Training touches the observed entries only. The mode-0 unfolding of every model
is ``U_0 @ B``, where the *design* ``B`` (``c_0`` x the product of the other
sizes) is the model with ``U_0`` replaced by the identity; the model at the
observed entries ``(i, j)`` is ``U_0[i] . B[:, j]``. This module holds what both
backends and the fold-in of new samples use: the initialisation, the observed
entries, the design and the effective ranks tracked in ``history_``.
"""

from functools import reduce

import numpy as np
from numba import njit
from scipy import sparse

from ..metrics import effective_rank
from ..utils._tensor_algebra import AUTO_RANK, mode_dot, reconstruct, tt_cores, unfold

# The squared-error gradients go through the dense unfolding (three BLAS
# products) when at least this share of it is observed and it has at most
# DENSE_MAX_SIZE entries; else through the observed entries only (a sampled
# product and two sparse ones). Measured for widths of about 32 on one core:
# dense is 1.5-2.7 times faster at 20 % observed, 3-4 times at 40-60 %, and
# slower below 10 %.
DENSE_MIN_FRACTION = 0.15
DENSE_MAX_SIZE = 2**23


def layer_widths(shape, widths):
    """Inner width ``w_i`` of the deep factors ``(n_i x w_i)(w_i x w_i)...(w_i x c_i)``.

    ``w_i = min(n_i, max(c_i, AUTO_RANK))``: full width (``n_i``) on small modes,
    as in the papers, and bounded on large ones, so that no layer is
    ``n_i x n_i`` and the cost stays linear in ``n_i``.
    """
    return [min(n, max(c, AUTO_RANK)) for n, c in zip(shape, widths)]


def initial_layers(shape, widths, depth, init_scale, model, rng):
    """Small Gaussian layers (and Tucker core): the papers' initialisation.

    Every mode ``i`` gets ``depth`` layers ``(n_i x w_i)(w_i x w_i)...(w_i x
    c_i)`` (see :func:`layer_widths`) of independent ``N(0, init_scale^2)``
    entries, drawn from ``rng`` mode after mode, then the core.
    """
    layers = []
    for n, w, c in zip(shape, layer_widths(shape, widths), widths):
        sizes = [n] + [w] * (depth - 1) + [c]
        layers.append(
            [
                init_scale * rng.standard_normal((sizes[k], sizes[k + 1]))
                for k in range(depth)
            ]
        )
    core = (
        init_scale * rng.standard_normal(tuple(widths)) if model == "tucker" else None
    )
    return layers, core


def observed_index(X):
    """Flat indices of the observed entries (at least one).

    A sample (slice along axis 0) with no observed entry takes no part in
    the training (its row of the first layer of ``U_0`` gets no gradient);
    it is completed as at ``transform``, from the typical fitted row, as
    scikit-learn's imputers complete an empty row from the column
    statistics.
    """
    observed = ~np.isnan(X)
    if not observed.any():
        raise ValueError("X has no observed entry: every value is NaN.")
    return np.flatnonzero(observed)


def robust_scale(values):
    """Root mean square of ``values``, safe for any finite magnitude (1 if zero)."""
    values = np.asarray(values, dtype=np.float64)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak == 0.0:
        return 1.0
    rms = float(np.sqrt(np.mean((values / peak) ** 2)))
    return peak * rms if rms > 0 else peak


def chain(layers):
    """The product ``A_1 @ A_2 @ ... @ A_L`` of a deep factor's layers."""
    return reduce(np.matmul, layers)


def design_matrix(model, factors, core=None, tt_ranks=None):
    """The design ``B`` (``c_0 x prod n_{>0}``): the model with ``U_0 = I``.

    The mode-0 unfolding of the model is ``factors[0] @ B``; the same
    :func:`~skdeep.utils._tensor_algebra.reconstruct` call as the torch backend.
    """
    width = factors[0].shape[1]
    eye = np.eye(width, dtype=factors[0].dtype)
    return reconstruct(model, [eye, *factors[1:]], core, tt_ranks).reshape(width, -1)


@njit(cache=True, nogil=True)
def sampled_products(A, Bt, rows, cols):  # pragma: no cover (numba)
    """``out[k] = A[rows[k]] . Bt[cols[k]]``: the model at the listed entries."""
    out = np.empty(rows.shape[0])
    width = A.shape[1]
    for k in range(rows.shape[0]):
        i = rows[k]
        j = cols[k]
        total = 0.0
        for c in range(width):
            total += A[i, c] * Bt[j, c]
        out[k] = total
    return out


class ObservedEntries:
    """Entries of the mode-0 unfolding ``(n_0, prod of the other sizes)``.

    Parameters
    ----------
    flat_index : ndarray of int
        Indices of the entries in the flattened tensor (C order), increasing.
    values : ndarray of float
        Their values.
    shape : tuple of int
        Shape of the tensor.
    """

    def __init__(self, flat_index, values, shape):
        n_cols = int(np.prod(shape[1:]))
        flat_index = np.asarray(flat_index, dtype=np.int64)
        self.shape = tuple(shape)
        self.unfolded_shape = (int(shape[0]), n_cols)
        self.rows = flat_index // n_cols
        self.cols = flat_index % n_cols
        self.values = np.asarray(values, dtype=np.float64)
        self.indptr = np.searchsorted(self.rows, np.arange(shape[0] + 1))
        self.size = int(flat_index.size)
        n_entries = self.unfolded_shape[0] * n_cols
        # the index in the unfolding: that in the tensor (C order)
        self.flat_index = flat_index
        self.dense = (n_entries <= DENSE_MAX_SIZE
                      and self.size >= DENSE_MIN_FRACTION * n_entries)
        self._dense_values = self._dense_mask = None

    @classmethod
    def from_mask(cls, data, mask):
        """The entries of dense ``data`` where ``mask`` is True."""
        flat = np.flatnonzero(mask)
        return cls(flat, np.asarray(data).ravel()[flat], np.shape(data))

    def sparse(self, values):
        """CSR matrix of the unfolded shape with ``values`` at the entries."""
        return sparse.csr_matrix(
            (values, self.cols, self.indptr), shape=self.unfolded_shape, copy=False
        )

    def squared_error_gradients(self, first, design):
        """Mean squared error of ``first @ design`` at the entries, and its gradients.

        Returns ``(loss, dL/dfirst, dL/ddesign, product)``; through the dense
        unfolding ``product = first @ design`` when enough of it is observed
        (see :data:`DENSE_MIN_FRACTION`), else through the entries only
        (``product`` is then None).
        """
        if not self.dense:
            diff = self.predict(first, design) - self.values
            residual = self.sparse((2.0 / self.size) * diff)
            grad_first = np.asarray(residual @ design.T)
            grad_design = np.asarray(residual.T @ first).T
            return float(diff @ diff) / self.size, grad_first, grad_design, None
        if self._dense_values is None:  # once: the values and the mask, dense
            self._dense_values = np.zeros(self.unfolded_shape)
            self._dense_values.ravel()[self.flat_index] = self.values
            self._dense_mask = np.zeros(self.unfolded_shape, dtype=bool)
            self._dense_mask.ravel()[self.flat_index] = True
        product = first @ design
        residual = product - self._dense_values
        residual *= self._dense_mask
        diff = residual.ravel()[self.flat_index]
        residual *= 2.0 / self.size
        grad_first = residual @ design.T
        grad_design = first.T @ residual
        return float(diff @ diff) / self.size, grad_first, grad_design, product

    def gather(self, unfolding):
        """The entries of the dense mode-0 ``unfolding``."""
        return unfolding.ravel()[self.flat_index]

    def mean_square(self):
        """Mean square of the values: the loss of the all-zero model (1 if 0)."""
        return float(self.values @ self.values) / self.size or 1.0

    def predict(self, first, design):
        """The model ``first @ design`` at the entries."""
        return sampled_products(
            first, np.ascontiguousarray(design.T), self.rows, self.cols
        )


def _gram_root(gram):
    """A square matrix ``W`` with ``W.T @ W == gram`` (``gram`` symmetric PSD)."""
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    return np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T


def effective_ranks(model, factors, core=None, tt_ranks=None):
    """Effective rank of every mode unfolding of the model, from its factors.

    The singular values of an unfolding are those of a small matrix built from
    square roots of the factors' Gram matrices (``W.T W = U.T U`` leaves
    ``U Z`` and ``W Z`` the same singular values), so the dense tensor is never
    formed.
    """
    order = len(factors)
    if model == "tucker":
        small = core
        for i, U in enumerate(factors):
            small = mode_dot(small, _gram_root(U.T @ U), i)
        return np.array([effective_rank(unfold(small, i)) for i in range(order)])
    if model == "cp":
        grams = [U.T @ U for U in factors]
        ranks = []
        for i, U in enumerate(factors):
            others = reduce(np.multiply, [g for j, g in enumerate(grams) if j != i])
            ranks.append(effective_rank(U @ _gram_root(others).T))
        return np.array(ranks)
    cores = tt_cores(factors, tt_ranks)
    left_grams = [np.ones((1, 1))]
    for C in cores[:-1]:
        left_grams.append(np.einsum("anb,ac,cnd->bd", C, left_grams[-1], C))
    right_grams = [np.ones((1, 1))]
    for C in cores[:0:-1]:
        right_grams.insert(0, np.einsum("anb,bd,cnd->ac", C, right_grams[0], C))
    ranks = []
    for C, gl, gr in zip(cores, left_grams, right_grams):
        M = np.einsum("anb,xa,yb->nxy", C, _gram_root(gl), _gram_root(gr))
        ranks.append(effective_rank(M.reshape(M.shape[0], -1)))
    return np.array(ranks)
