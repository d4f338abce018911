"""The numpy backend: the deep factorization with hand-derived gradients.

The loss is evaluated at the observed entries as ``U_0[i] . B[:, j]`` (see
:mod:`._model`); the residuals ``R`` form a sparse matrix, ``dL/dU_0 = R @ B.T``
and ``dL/dB = U_0.T @ R``, and ``dL/dB`` is pulled back to the other factors (and
the Tucker core) by the dense formulas of :func:`factor_gradients` on a tensor
whose first size is ``c_0`` instead of ``n_0``, then to the layers of each
product by :func:`chain_gradients`. Cost and memory: O(observed entries x
``c_0`` + ``c_0`` x the other sizes + parameters); the dense tensor is
formed only when a large share of a small one is observed (a table with
a few missing values: three BLAS products are then faster than the
sampled ones, see :meth:`._model.ObservedEntries.squared_error_gradients`).

Training runs the schedule of :mod:`._schedule` through the package's loop
control (:class:`~skdeep.utils._loop.LoopControl`, the decisions of
:func:`~skdeep.utils._training.train`): the same epochs, phases, stopping rule
and early stopping as the torch backend, with numpy optimisers. Nothing here
imports torch.
"""

from dataclasses import replace
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from ..utils._adam import NumpyAdam
from ..utils._loop import BestWeights, LoopControl
from ..utils._tensor_algebra import mode_dot, reconstruct, tt_cores, unfold
from ._growth import growth_rounds
from ._lbfgs import LBFGSMemory
from ._model import ObservedEntries, chain, design_matrix
from ._optim import NumpyINNA, NumpyMomentum, optimizer_options
from ._polish import PolishStart
from ._schedule import monitored_after_escape, schedule

# Below this many entries of the design, BLAS threads cost more than they save
# (L-BFGS's vector operations above all; many times more on a busy machine):
# the training runs on one BLAS thread.
_THREADED_WORK = 2**22


def blas_threads(width, entries):
    """One BLAS thread for a training on ``entries`` when its forward pass
    (the design's ``width`` x columns entries) is small work (a context)."""
    small = width * entries.unfolded_shape[1] < _THREADED_WORK
    return threadpool_limits(limits=1 if small else None, user_api="blas")


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


class Forward:
    """The model at the parameters of one point, as a loss needs it.

    ``factors``: those of modes 1 and up (``factors[0]`` is None); ``design``:
    the design of mode 0; ``half``: the Tucker-3 intermediate of the fast
    path (else None). The mode-0 unfolding is ``first @ first_design``:
    ``U_0 @ design``, or, when mode 0's inner layers are absorbed into the
    design (``inner = A_02 ... A_0L``), ``A_01 @ (inner @ design)``.
    ``product``: that dense unfolding once a loss on dense entries computed
    it (see :meth:`._model.ObservedEntries.squared_error_gradients`): the
    held-out loss at the same point reads its entries there instead of
    computing them again.
    """

    __slots__ = ("factors", "design", "half", "first", "inner", "first_design",
                 "product")

    def __init__(self, factors, design, half, first, inner=None):
        self.factors, self.design, self.half = factors, design, half
        self.first, self.inner = first, inner
        self.first_design = design if inner is None else inner @ design
        self.product = None


class NumpyModel:
    """The deep factorization trained with hand-derived gradients in numpy.

    ``layers`` is a list (one entry per mode) of lists of layer matrices; ``core``
    is the Tucker core or ``None``; both are copied unless ``copy=False``.
    The arrays are updated in place by the optimisers; :meth:`forward`
    computes what a loss needs from the current values (the loops pass it
    on, so that one forward serves the validation loss after an update and
    the gradient of the next).
    """

    def __init__(self, model, layers, core, tt_ranks, copy=True):
        # ``copy=False`` keeps float64 arrays as given: the torch backend's
        # model on numpy views of its parameter tensor
        array = np.array if copy else np.asarray
        self.model = model
        self.layers = [[array(A, dtype=np.float64) for A in mode] for mode in layers]
        self.core = None if core is None else array(core, dtype=np.float64)
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

    def load(self, state):
        """Write a :meth:`snapshot` back into the parameter arrays."""
        layers, core = state
        saved = [A for mode in layers for A in mode] + ([] if core is None else [core])
        for param, value in zip(self.parameters(), saved):
            param[...] = value

    def flat(self):
        """All the parameters as one vector."""
        return _flat(self.parameters())

    def set_flat(self, x):
        """Write the vector ``x`` (of :meth:`flat`'s layout) into the parameters."""
        start = 0
        for p in self.parameters():
            p[...] = x[start : start + p.size].reshape(p.shape)
            start += p.size

    def reconstruct(self):
        return reconstruct(self.model, self.factors(), self.core, self.tt_ranks)

    def _fast_tucker3(self):
        return self.model == "tucker" and len(self.layers) == 3

    def _tucker2(self):
        return self.model == "tucker" and len(self.layers) == 2

    def _absorbs(self):
        """Whether mode 0's inner layers go into the design (:class:`Forward`).

        Their products cost ``n_0 w c_0`` per evaluation (forward and
        gradients) as a chain, ``m w c_0`` absorbed (``m`` the size of a
        sample): cheaper when the samples are more than a sample's entries
        (a table of many rows).
        """
        sample_size = int(np.prod([mode[0].shape[0] for mode in self.layers[1:]]))
        return len(self.layers[0]) > 1 and self.layers[0][0].shape[0] > sample_size

    def forward(self):
        """The :class:`Forward` of the current parameters."""
        rest = [chain(mode) for mode in self.layers[1:]]
        if self._absorbs():
            first, inner = self.layers[0][0], chain(self.layers[0][1:])
        else:
            first, inner = chain(self.layers[0]), None
        half = None
        if self._tucker2():  # a matrix: B = G U_1^T, one product
            design = self.core @ rest[0].T
        elif self._fast_tucker3():
            # B[a, i, j] = sum_bc G[a, b, c] U_1[i, b] U_2[j, c] by batched BLAS
            c0, c1, c2 = self.core.shape
            half = (self.core.reshape(c0 * c1, c2) @ rest[1].T).reshape(c0, c1, -1)
            design = np.matmul(rest[0][None], half).reshape(c0, -1)
        else:  # the width of mode 0 stands for its factor
            design = design_matrix(self.model, [self.layers[0][-1], *rest],
                                   self.core, self.tt_ranks)
        return Forward([None, *rest], design, half, first, inner)

    def _tucker3_gradients(self, factors, half, grad_design):
        """Gradients of ``<grad_design, B>`` wrt ``U_1``, ``U_2`` and the core."""
        core = self.core
        c0, c1, c2 = core.shape
        n1, n2 = factors[1].shape[0], factors[2].shape[0]
        g = grad_design.reshape(c0, n1, n2)
        grad_1 = np.matmul(g, half.transpose(0, 2, 1)).sum(axis=0)
        left = np.matmul(factors[1][None], core)  # (c0, n1, c2)
        grad_2 = g.reshape(c0 * n1, n2).T @ left.reshape(c0 * n1, c2)
        right = (g.reshape(c0 * n1, n2) @ factors[2]).reshape(c0, n1, c2)
        grad_core = np.matmul(factors[1].T[None], right)
        return [None, grad_1, grad_2], grad_core

    def predict(self, entries, forward=None):
        """The model at the given :class:`~._model.ObservedEntries`."""
        forward = self.forward() if forward is None else forward
        if forward.product is not None:  # the loss's dense product, same point
            return entries.gather(forward.product)
        return entries.predict(forward.first, forward.first_design)

    def loss(self, entries, forward=None):
        """Mean squared error at the entries."""
        diff = self.predict(entries, forward) - entries.values
        return float(diff @ diff) / entries.size

    def loss_and_gradients(self, entries, mask=None, n_observed=None, forward=None):
        """Mean squared error on the observed entries and its gradients.

        ``entries`` is an :class:`~._model.ObservedEntries`, or a dense tensor
        with the boolean ``mask`` of its observed entries (``n_observed`` is
        then ignored: it is ``mask.sum()``). ``forward``: the
        :meth:`forward` of the current parameters, if already computed.
        """
        if mask is not None:
            entries = ObservedEntries.from_mask(entries, mask)
        forward = self.forward() if forward is None else forward
        factors, design, half = forward.factors, forward.design, forward.half
        loss, grad_first, grad_design, product = entries.squared_error_gradients(
            forward.first, forward.first_design
        )
        if product is not None:
            forward.product = product
        if forward.inner is None:
            grads = chain_gradients(self.layers[0], grad_first)
        else:  # through the absorbed inner layers
            grads = [grad_first, *chain_gradients(self.layers[0][1:],
                                                  grad_design @ design.T)]
            grad_design = forward.inner.T @ grad_design
        if self._tucker2():
            grads_U = [None, grad_design.T @ self.core]
            grad_core = grad_design @ factors[1]
        elif half is not None:
            grad_design = grad_design.reshape(design.shape[0], *entries.shape[1:])
            grads_U, grad_core = self._tucker3_gradients(factors, half, grad_design)
        else:
            grad_design = grad_design.reshape(design.shape[0], *entries.shape[1:])
            grads_U, grad_core = factor_gradients(
                self.model, [None, *factors[1:]], self.core, grad_design, self.tt_ranks
            )
        for mode, g in zip(self.layers[1:], grads_U[1:]):
            grads += chain_gradients(mode, g)
        if grad_core is not None:
            grads.append(grad_core)
        return loss, grads


class _FirstOrder:
    """Adam, INNA, SGD with momentum or plain gradient descent.

    One full-batch update per epoch.

    The step of update ``t`` (from 0) is ``learning_rate / (1 + decay * t)``;
    one object serves every phase of its kind, so the count goes on.
    """

    def __init__(self, kind, params, learning_rate, decay, options=None):
        self.params = params
        self.adam = None
        if kind == "adam":
            self.adam = NumpyAdam(params, learning_rate)
        elif kind == "inna":
            self.adam = NumpyINNA(params, **optimizer_options(kind, options))
        elif kind == "sgd":
            self.adam = NumpyMomentum(params, **optimizer_options(kind, options))
        self.learning_rate = learning_rate
        self.decay = decay
        self.n_updates = 0

    def run(self, net, entries, control, monitored):
        """Epochs until the phase is over (``control`` decides)."""
        forward = net.forward()
        while True:
            loss, grads = net.loss_and_gradients(entries, forward=forward)
            lr = self.learning_rate / (1.0 + self.decay * self.n_updates)
            self.n_updates += 1
            if self.adam is not None:
                self.adam.step(grads, learning_rate=lr)
            else:
                for p, g in zip(self.params, grads):
                    p -= lr * g
            forward = net.forward()
            if control.end_epoch(loss, monitored=monitored(forward)):
                return


class _LBFGS:
    """L-BFGS (:mod:`._lbfgs`) on the flattened parameters: one iteration per epoch.

    Every run (phase) starts with an empty memory: a polish or a growth
    round starts from a changed model. The epoch's loss is that of the
    iterate the iteration started from (the loss before the update, as for
    the other optimisers). When the line search finds no decrease (the
    working precision is reached), the phase ends.
    """

    def run(self, net, entries, control, monitored):
        lbfgs = LBFGSMemory()
        x = net.flat()
        loss, grads = net.loss_and_gradients(entries, forward=net.forward())
        grad = _flat(grads)
        while True:
            reached = lbfgs.iterate(x, loss, grad, partial(_evaluate, net, entries))
            if reached is None:  # no decrease possible
                net.set_flat(x)
                control.end_phase()
                return
            point, value, new_grad, forward = reached
            net.set_flat(point)
            if control.end_epoch(loss, monitored=monitored(forward)):
                return
            x, loss, grad = point, value, new_grad


def _evaluate(net, entries, point):
    """The loss, its flat gradient and the forward pass at ``point``."""
    net.set_flat(point)
    forward = net.forward()
    value, grads = net.loss_and_gradients(entries, forward=forward)
    return value, _flat(grads), forward


def _flat(arrays):
    """The arrays (parameters, or their gradients) as one vector."""
    return np.concatenate([a.ravel() for a in arrays])


def train_numpy(net, entries, optimizer, *, estimator, learning_rate, decay,
                optimizer_options=None, validation=None, callback=None,
                convergence_hint="increase max_iter", switch_tol=None, polish=False,
                **loop):
    """Train ``net`` on ``entries`` by the schedule of ``optimizer``.

    Parameters
    ----------
    net : NumpyModel
        The model, trained in place.
    entries : ObservedEntries
        The training entries.
    optimizer : {"adam-lbfgs", "adam", "gd", "sgd", "inna"}
        The schedule of :func:`._schedule.schedule`.
    estimator : estimator
        The estimator being fitted (messages, ``verbose``).
    learning_rate, decay : float
        Step of the first-order optimisers, ``learning_rate / (1 + decay
        * t)``.
    optimizer_options : dict or None, default=None
        The options of ``"inna"`` or ``"sgd"`` (see
        :func:`._optim.optimizer_options`).
    validation : ObservedEntries or None, default=None
        Early stopping: their mean squared error after every epoch is the
        monitored value, and the parameters of its best epoch are restored.
    callback : callable or None, default=None
        ``callback(epoch, loss, net)`` after every epoch (the model after the
        update: ``predict(entries)``, ``snapshot()``); True stops the run.
    convergence_hint : str
        Advice of the ``ConvergenceWarning``.
    switch_tol : float or None, default=None
        The tolerance that ends the L-BFGS phase of the polished schedule
        (see :func:`._schedule.schedule`).
    polish : bool, default=False
        End with the polish phase and the rank growth rounds (see
        :func:`._schedule.schedule`).
    **loop
        ``max_iter``, ``tol``, ``n_iter_no_change``, ``scale``,
        ``print_every`` of :class:`~skdeep.utils._loop.LoopControl`.

    Returns
    -------
    result : TrainingResult
        As :func:`~skdeep.utils._training.train` returns it.
    """
    optimizers = {}  # one per kind: a kind in two phases goes on
    phases = []
    plan = schedule(optimizer, entries.mean_square(), net.model,
                    tol=loop.get("tol"), n_iter_no_change=loop.get("n_iter_no_change"),
                    held_out_mean_square=(None if validation is None
                                          else validation.mean_square()),
                    switch_tol=switch_tol, polish=polish,
                    growth_rounds=growth_rounds(net.core) if polish else 0)
    for planned in plan:
        kind = planned.steps
        if kind not in optimizers:
            optimizers[kind] = (
                _LBFGS() if kind == "lbfgs"
                else _FirstOrder(kind, net.parameters(), learning_rate, decay,
                                 optimizer_options)
            )
        phases.append(replace(planned, steps=optimizers[kind]))
        if isinstance(planned.on_start, PolishStart):
            planned.on_start.bind(net.snapshot, net.load, entries)
    best = None if validation is None else BestWeights(net.snapshot, net.load)
    control = LoopControl(
        estimator, phases, best=best, **loop,
        callback=None if callback is None else (
            lambda epoch: callback(epoch, control.monitor.losses[-1], net)
        ),
    )

    def monitored(forward):
        if validation is None:
            return None
        return monitored_after_escape(phases, lambda: net.loss(validation, forward))

    with blas_threads(net.layers[0][-1].shape[1], entries):
        while not control.stopped:
            phases[control.phase].steps.run(net, entries, control, monitored)
    best_iteration = control.finish(hint=convergence_hint)
    return control.result(validation is not None, best_iteration)
