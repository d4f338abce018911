"""Deep Tucker, tensor-train and CP models in numpy, with hand-derived gradients.

Each factor matrix of :mod:`._model` is a product of ``depth`` matrices
``U_i = A_i1 @ A_i2 @ ... @ A_iL`` (the deep, over-parametrised factor).

Training touches the observed entries only. The mode-0 unfolding of every model
is ``U_0 @ B``, where the *design* ``B`` (``c_0`` x the product of the other
sizes) is the model with ``U_0`` replaced by the identity. The loss is evaluated
at the observed entries ``(i, j)`` as ``U_0[i] . B[:, j]`` (a numba kernel); the
residuals ``R`` form a sparse matrix, ``dL/dU_0 = R @ B.T`` and
``dL/dB = U_0.T @ R``, and ``dL/dB`` is pulled back to the other factors (and the
Tucker core) by the dense formulas of :func:`factor_gradients` on a tensor whose
first size is ``c_0`` instead of ``n_0``, then to the layers of each product by
:func:`chain_gradients`. Cost and memory: O(observed entries x ``c_0`` +
``c_0`` x the other sizes + parameters); the dense tensor is never formed.
"""

from functools import reduce

import numpy as np
from numba import njit
from scipy import sparse

from ..metrics import effective_rank
from ..utils._adam import NumpyAdam
from ..utils._iteration import IterationMonitor
from ._model import cp_operands, mode_dot, reconstruct, tt_cores, unfold

# Number of correction pairs kept by L-BFGS.
LBFGS_MEMORY = 10


def chain(layers):
    """The product ``A_1 @ A_2 @ ... @ A_L`` of a deep factor's layers."""
    return reduce(np.matmul, layers)


def chain_gradients(layers, grad):
    """Gradients of ``<grad, A_1 ... A_L>`` with respect to every layer ``A_k``.

    ``dA_k = (A_1 ... A_{k-1})^T grad (A_{k+1} ... A_L)^T``, with prefix and
    suffix products computed once each.
    """
    n_layers = len(layers)
    if n_layers == 1:
        return [grad]
    prefix = [None] * n_layers
    suffix = [None] * n_layers
    for k in range(1, n_layers):
        prefix[k] = layers[0] if k == 1 else prefix[k - 1] @ layers[k - 1]
    for k in range(n_layers - 2, -1, -1):
        suffix[k] = (
            layers[-1] if k == n_layers - 2 else layers[k + 1] @ suffix[k + 1]
        )
    grads = []
    for k in range(n_layers):
        g = grad if prefix[k] is None else prefix[k].T @ grad
        if suffix[k] is not None:
            g = g @ suffix[k].T
        grads.append(g)
    return grads


def _tt_left(cores):
    """Left partial products: ``left[k]`` is ``(prod n_{<k}, r_{k-1})``."""
    left = [np.ones((1, 1), dtype=cores[0].dtype)]
    for core in cores[:-1]:
        r0, n, r1 = core.shape
        left.append((left[-1] @ core.reshape(r0, n * r1)).reshape(-1, r1))
    return left


def _tt_right(cores):
    """Right partial products: ``right[k]`` is ``(r_k, prod n_{>k})``."""
    right = [None] * len(cores)
    right[-1] = np.ones((1, 1), dtype=cores[0].dtype)
    for k in range(len(cores) - 1, 0, -1):
        r0, n, r1 = cores[k].shape
        right[k - 1] = (cores[k].reshape(r0 * n, r1) @ right[k]).reshape(r0, -1)
    return right


def factor_gradients(model, factors, core, residual, tt_ranks=None):
    """Pull ``residual = dL/dT`` back to the factor matrices and the core.

    A factor given as ``None`` is the identity (the design ``B`` is the model
    with ``U_0`` the identity); its gradient is returned as ``None``.
    Returns ``(grads_of_factors, grad_of_core)``; the core gradient is ``None``
    for CP and TT.
    """
    order = len(factors)
    if model == "tucker":
        grads = []
        for i in range(order):
            projected = residual
            for j, U in enumerate(factors):
                if j != i and U is not None:
                    projected = mode_dot(projected, U.T, j)
            # dT/dU_i: T_(i) = U_i G_(i) (kron of the others)^T
            grads.append(
                None
                if factors[i] is None
                else unfold(projected, i) @ unfold(core, i).T
            )
        # the last projection lacks only mode ``order - 1``
        grad_core = mode_dot(projected, factors[-1].T, order - 1)
        return grads, grad_core
    if model == "cp":
        # an identity U_0 ties the residual's first index to the rank index
        subscripts = list(range(order))
        if factors[0] is None:
            subscripts[0] = order
        grads = []
        for i in range(order):
            if factors[i] is None:
                grads.append(None)
                continue
            operands = []
            for j, U in enumerate(factors):
                if j != i and U is not None:
                    operands += [U, [j, order]]
            grads.append(
                np.einsum(residual, subscripts, *operands, [i, order], optimize=True)
            )
        return grads, None
    identity = [f is None for f in factors]
    factors = [
        np.eye(tt_ranks[k] * tt_ranks[k + 1]) if f is None else f
        for k, f in enumerate(factors)
    ]
    cores = tt_cores(factors, tt_ranks)
    left, right = _tt_left(cores), _tt_right(cores)
    grads = []
    for k, core_k in enumerate(cores):
        if identity[k]:
            grads.append(None)
            continue
        r0, n, r1 = core_k.shape
        n_left = left[k].shape[0]
        # dC_k[a, i, b] = sum_{l, r} R[l, i, r] left[l, a] right[b, r]
        tmp = left[k].T @ residual.reshape(n_left, -1)
        g = (tmp.reshape(r0 * n, -1) @ right[k].T).reshape(r0, n, r1)
        grads.append(g.transpose(1, 0, 2).reshape(n, r0 * r1))
    return grads, None


def sample_design(model, factors, core=None, tt_ranks=None):
    """The matrix ``B`` such that the mode-0 unfolding of the model is ``U_0 @ B``."""
    order = len(factors)
    if model == "tucker":
        tensor = core
        for i in range(1, order):
            tensor = mode_dot(tensor, factors[i], i)
        return unfold(tensor, 0)
    if model == "cp":
        rank = factors[0].shape[1]
        if order == 1:
            return np.ones((rank, 1), dtype=factors[0].dtype)
        operands = cp_operands(factors[1:])
        # the subscripts of _cp_operands start at 0: shift them to 1..order-1
        operands = [
            op if k % 2 == 0 else [op[0] + 1, order] for k, op in enumerate(operands)
        ]
        kr = np.einsum(*operands, [order, *range(1, order)], optimize=True)
        return kr.reshape(rank, -1)
    cores = tt_cores(factors, tt_ranks)
    return _tt_right(cores)[0]


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


@njit(cache=True, nogil=True)
def _sampled_products(A, Bt, rows, cols):  # pragma: no cover (numba)
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


def design_matrix(model, factors, core=None, tt_ranks=None):
    """The design ``B`` (``c_0 x prod n_{>0}``): the model with ``U_0 = I``.

    The mode-0 unfolding of the model is ``factors[0] @ B``; the same
    :func:`~._model.reconstruct` call as the torch backend.
    """
    width = factors[0].shape[1]
    eye = np.eye(width, dtype=factors[0].dtype)
    return reconstruct(model, [eye, *factors[1:]], core, tt_ranks).reshape(width, -1)


class NumpyModel:
    """The deep factorization trained with hand-derived gradients in numpy.

    ``layers`` is a list (one entry per mode) of lists of layer matrices; ``core``
    is the Tucker core or ``None``.
    """

    def __init__(self, model, layers, core, tt_ranks):
        self.model = model
        self.layers = [[np.array(A, dtype=np.float64) for A in mode] for mode in layers]
        self.core = None if core is None else np.array(core, dtype=np.float64)
        self.tt_ranks = tt_ranks

    def parameters(self):
        params = [A for mode in self.layers for A in mode]
        if self.core is not None:
            params.append(self.core)
        return params

    def factors(self):
        return [chain(mode) for mode in self.layers]

    def snapshot(self):
        """Copies of the layers and the core."""
        layers = [[A.copy() for A in mode] for mode in self.layers]
        return layers, None if self.core is None else self.core.copy()

    def reconstruct(self):
        return reconstruct(self.model, self.factors(), self.core, self.tt_ranks)

    def _fast_tucker3(self):
        return self.model == "tucker" and len(self.layers) == 3

    def _forward(self, entries):
        factors = self.factors()
        if self._fast_tucker3():
            # B[a, i, j] = sum_bc G[a, b, c] U_1[i, b] U_2[j, c] by batched BLAS
            c0, c1, c2 = self.core.shape
            half = (self.core.reshape(c0 * c1, c2) @ factors[2].T).reshape(c0, c1, -1)
            design = np.matmul(factors[1][None], half).reshape(c0, -1)
            self._half = half
        else:
            design = design_matrix(self.model, factors, self.core, self.tt_ranks)
        predictions = _sampled_products(
            factors[0], np.ascontiguousarray(design.T), entries.rows, entries.cols
        )
        return factors, design, predictions

    def _tucker3_gradients(self, factors, grad_design):
        """Gradients of ``<grad_design, B>`` wrt ``U_1``, ``U_2`` and the core."""
        core, half = self.core, self._half
        c0, c1, c2 = core.shape
        n1, n2 = factors[1].shape[0], factors[2].shape[0]
        g = grad_design.reshape(c0, n1, n2)
        grad_1 = np.matmul(g, half.transpose(0, 2, 1)).sum(axis=0)
        left = np.matmul(factors[1][None], core)  # (c0, n1, c2)
        grad_2 = g.reshape(c0 * n1, n2).T @ left.reshape(c0 * n1, c2)
        right = (g.reshape(c0 * n1, n2) @ factors[2]).reshape(c0, n1, c2)
        grad_core = np.matmul(factors[1].T[None], right)
        return [None, grad_1, grad_2], grad_core

    def predict(self, entries):
        """The model at the given :class:`ObservedEntries`."""
        return self._forward(entries)[2]

    def loss_and_gradients(self, entries, mask=None, n_observed=None):
        """Mean squared error on the observed entries and its gradients.

        ``entries`` is an :class:`ObservedEntries`, or a dense tensor with the
        boolean ``mask`` of its observed entries (``n_observed`` is then
        ignored: it is ``mask.sum()``).
        """
        if mask is not None:
            entries = ObservedEntries.from_mask(entries, mask)
        factors, design, predictions = self._forward(entries)
        diff = predictions - entries.values
        loss = float(diff @ diff) / entries.size
        residual = entries.sparse((2.0 / entries.size) * diff)
        grad_first = np.asarray(residual @ design.T)
        grad_design = np.asarray(residual.T @ factors[0]).T
        grad_design = grad_design.reshape(design.shape[0], *entries.shape[1:])
        if self._fast_tucker3():
            grads_U, grad_core = self._tucker3_gradients(factors, grad_design)
        else:
            grads_U, grad_core = factor_gradients(
                self.model, [None, *factors[1:]], self.core, grad_design, self.tt_ranks
            )
        grads_U[0] = grad_first
        grads = []
        for mode, g in zip(self.layers, grads_U):
            grads += chain_gradients(mode, g)
        if grad_core is not None:
            grads.append(grad_core)
        return loss, grads


def train_numpy(
    model,
    entries,
    *,
    estimator,
    optimizer,
    learning_rate,
    decay,
    max_iter,
    callback,
    warmup_done=None,
    print_every=1,
    convergence_hint="increase max_iter",
):
    """Full-batch gradient descent, Adam, or Adam then L-BFGS on the observed entries.

    The numpy twin of :func:`skdeep.utils._training.train` with one full-batch
    step: iteration ``it`` evaluates the loss and its gradients on ``entries``
    (an :class:`ObservedEntries`), updates the parameters with the step
    ``learning_rate / (1 + decay * (it - 1))``, then calls
    ``callback(it, loss, model)`` (the model after the update: its
    ``predict(entries)`` and ``snapshot()``), which returns True to stop.

    With ``optimizer="adam-lbfgs"``, Adam runs until ``warmup_done(loss)`` is
    True, then the remaining iterations are those of
    :func:`scipy.optimize.minimize`'s L-BFGS-B on the flattened parameters (one
    iteration, possibly several loss evaluations of its line search, per
    callback; ``loss`` is then the loss of the iterate the iteration started
    from). Returns the :class:`~skdeep.utils._iteration.IterationMonitor`
    holding the loss curve.
    """
    params = model.parameters()
    adam = NumpyAdam(params, learning_rate) if optimizer != "gd" else None
    monitor = IterationMonitor(estimator, max_iter=max_iter, print_every=print_every)
    converged = False
    switch = False
    it = 0
    while it < max_iter:
        it += 1
        loss, grads = model.loss_and_gradients(entries)
        if optimizer == "adam-lbfgs" and warmup_done(loss):
            it -= 1  # this evaluation starts the L-BFGS phase
            switch = True
            break
        lr = learning_rate / (1.0 + decay * (it - 1))
        if adam is not None:
            adam.step(grads, learning_rate=lr)
        else:
            for p, g in zip(params, grads):
                p -= lr * g
        monitor.record(loss)
        if callback(it, loss, model):
            converged = True
            break
    if switch:
        converged = _lbfgs(model, entries, params, it, max_iter, monitor, callback)
    monitor.finish(converged, hint=convergence_hint)
    return monitor


def _lbfgs(model, entries, params, it, max_iter, monitor, callback):
    """L-BFGS-B iterations ``it + 1 .. max_iter``; True when ``callback`` stopped."""
    from scipy.optimize import minimize

    sizes = [p.size for p in params]
    offsets = np.cumsum([0, *sizes])

    def unpack(x):
        for p, start, stop in zip(params, offsets[:-1], offsets[1:]):
            p[...] = x[start:stop].reshape(p.shape)

    def loss_and_grad(x):
        unpack(x)
        loss, grads = model.loss_and_gradients(entries)
        return loss, np.concatenate([g.ravel() for g in grads])

    x0 = np.concatenate([p.ravel() for p in params])
    state = {"it": it, "loss": loss_and_grad(x0)[0], "stopped": False}

    def step_done(intermediate_result):
        state["it"] += 1
        loss_before = state["loss"]
        state["loss"] = float(intermediate_result.fun)
        unpack(intermediate_result.x)
        monitor.record(loss_before)
        if callback(state["it"], loss_before, model) or not np.isfinite(
            state["loss"]
        ):
            state["stopped"] = True
            raise StopIteration
        if state["it"] >= max_iter:
            raise StopIteration

    if it < max_iter:
        result = minimize(
            loss_and_grad,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=step_done,
            options=dict(
                maxiter=max_iter - it,
                maxfun=10 * (max_iter - it),
                maxcor=LBFGS_MEMORY,
                ftol=0.0,
                gtol=0.0,
            ),
        )
        if not state["stopped"] and state["it"] < max_iter:
            # L-BFGS-B ended by itself (no progress possible): converged
            unpack(result.x)
            return True
    # the parameters are those of the last callback
    return state["stopped"]
