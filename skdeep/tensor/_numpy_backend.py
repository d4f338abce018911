"""Deep Tucker, tensor-train and CP models in numpy, with hand-derived gradients.

Each factor matrix of :mod:`._model` is a product of ``depth`` matrices
``U_i = A_i1 @ A_i2 @ ... @ A_iL`` (the deep, over-parametrised factor). The
gradient of a loss with respect to the reconstruction, ``R = dL/dT``, is pulled
back to the factors (and the Tucker core) by the formulas below, then to the
layers of each product by :func:`chain_gradients`.
"""

from functools import reduce

import numpy as np

from ..metrics import effective_rank
from ..utils._adam import NumpyAdam
from ..utils._iteration import IterationMonitor
from ._model import cp_operands, mode_dot, reconstruct, tt_cores, unfold


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

    Returns ``(grads_of_factors, grad_of_core)``; the core gradient is ``None``
    for CP and TT.
    """
    order = len(factors)
    if model == "tucker":
        grads = []
        for i in range(order):
            projected = residual
            for j, U in enumerate(factors):
                if j != i:
                    projected = mode_dot(projected, U.T, j)
            # dT/dU_i: T_(i) = U_i G_(i) (kron of the others)^T
            grads.append(unfold(projected, i) @ unfold(core, i).T)
        # the last projection lacks only mode ``order - 1``
        grad_core = mode_dot(projected, factors[-1].T, order - 1)
        return grads, grad_core
    if model == "cp":
        grads = [
            np.einsum(
                residual,
                list(range(order)),
                *cp_operands(factors, skip=i),
                [i, order],
                optimize=True,
            )
            for i in range(order)
        ]
        return grads, None
    cores = tt_cores(factors, tt_ranks)
    left, right = _tt_left(cores), _tt_right(cores)
    grads = []
    for k, core_k in enumerate(cores):
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


def effective_ranks(tensor):
    """Effective rank of every mode unfolding of ``tensor``."""
    return np.array([effective_rank(unfold(tensor, i)) for i in range(tensor.ndim)])


class NumpyModel:
    """The deep factorization trained with hand-derived gradients in numpy.

    ``layers`` is a list (one entry per mode) of lists of layer matrices; ``core``
    is the Tucker core or ``None``.
    """

    def __init__(self, model, layers, core, tt_ranks):
        self.model = model
        self.layers = [[np.array(A) for A in mode] for mode in layers]
        self.core = None if core is None else np.array(core)
        self.tt_ranks = tt_ranks

    def parameters(self):
        params = [A for mode in self.layers for A in mode]
        if self.core is not None:
            params.append(self.core)
        return params

    def factors(self):
        return [chain(mode) for mode in self.layers]

    def reconstruct(self):
        return reconstruct(self.model, self.factors(), self.core, self.tt_ranks)

    def loss_and_gradients(self, data, mask, n_observed):
        """Mean squared error on the observed entries and its gradients."""
        factors = self.factors()
        tensor = reconstruct(self.model, factors, self.core, self.tt_ranks)
        diff = np.where(mask, tensor - data, 0.0)
        loss = float(np.sum(diff**2)) / n_observed
        residual = (2.0 / n_observed) * diff
        grads_U, grad_core = factor_gradients(
            self.model, factors, self.core, residual, self.tt_ranks
        )
        grads = []
        for mode, g in zip(self.layers, grads_U):
            grads += chain_gradients(mode, g)
        if grad_core is not None:
            grads.append(grad_core)
        return loss, grads


def train_numpy(
    model,
    data,
    train_mask,
    *,
    estimator,
    optimizer,
    learning_rate,
    decay,
    max_iter,
    callback,
    print_every=1,
    convergence_hint="increase max_iter",
):
    """Full-batch gradient descent or Adam on the observed entries.

    The numpy twin of :func:`skdeep.utils._training.train` with one full-batch
    step: iteration ``it`` evaluates the loss and its gradients, updates the
    parameters with the step ``learning_rate / (1 + decay * (it - 1))``, then
    calls ``callback(it, loss, get_tensor)`` (``get_tensor()`` returns the
    reconstruction after the update), which returns True to stop. Returns the
    :class:`~skdeep.utils._iteration.IterationMonitor` holding the loss curve.
    """
    params = model.parameters()
    n_observed = int(train_mask.sum())
    adam = NumpyAdam(params, learning_rate) if optimizer == "adam" else None
    monitor = IterationMonitor(estimator, max_iter=max_iter, print_every=print_every)
    converged = False
    for it in range(1, max_iter + 1):
        loss, grads = model.loss_and_gradients(data, train_mask, n_observed)
        lr = learning_rate / (1.0 + decay * (it - 1))
        if adam is not None:
            adam.step(grads, learning_rate=lr)
        else:
            for p, g in zip(params, grads):
                p -= lr * g
        monitor.record(loss)
        if callback(it, loss, model.reconstruct):
            converged = True
            break
    monitor.finish(converged, hint=convergence_hint)
    return monitor
