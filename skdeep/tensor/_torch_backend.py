"""The torch backend: the deep factorization of :mod:`._model`, by autograd.

The same observed-entry computation as the numpy backend: the design ``B`` (the
model with ``U_0`` the identity, by the shared
:func:`~skdeep.utils._tensor_algebra.reconstruct`) and the model at the observed
entries ``(i, j)`` as ``U_0[i] . B[:, j]``; autograd does the rest. The schedule
of :mod:`._schedule` runs as one call of the package's training loop,
:func:`skdeep.utils._training.train`, one full-batch epoch per iteration. torch
is imported inside the functions, so importing this module never imports torch.
"""

import warnings
from dataclasses import replace
from functools import reduce

import numpy as np

from ..utils._optimizers import OPTIMIZERS
from ..utils._tensor_algebra import reconstruct
from ..utils._torch import import_torch, to_numpy
from ..utils._training import TrainingStep, train
from ._numpy_backend import LBFGS_MEMORY
from ._polish import PolishStart
from ._schedule import monitored_after_escape, schedule

# L-BFGS iterations (with a strong-Wolfe line search) per epoch of the loop:
# one, as the numpy backend, so that ``max_iter`` and the window of the
# stopping rule count the same iterations (at 20 per epoch, the window of
# ``n_iter_no_change`` epochs made the torch fits run 5-8 times as long).
_TORCH_LBFGS_INNER = 1
# Evaluations of the loss allowed to one L-BFGS iteration's line search.
_TORCH_LBFGS_EVALS = 25
# A relative decrease of the loss over ``_STALL_WINDOW`` L-BFGS epochs at most
# this is a stall (over a window: near a saddle one iteration's progress is
# tiny, but the iterations go on and leave it).
_NO_PROGRESS = 1e-10
_STALL_WINDOW = 20


class _TorchView:
    """What the training callback sees of the torch model after an update."""

    def __init__(self, torch, predict, packed, device):
        self._torch = torch
        self._predict = predict
        self._packed = packed
        self._device = device
        self._parts = {}

    def predict(self, entries):
        """The model at the given :class:`~._model.ObservedEntries`."""
        key = id(entries)
        if key not in self._parts:
            # the entries keep the id valid
            self._parts[key] = (entries, _Part(self._torch, entries, self._device))
        with self._torch.no_grad():
            return to_numpy(self._predict(self._parts[key][1])).astype("float64")

    def snapshot(self):
        """Copies of the layers and the core as numpy arrays."""
        with self._torch.no_grad():
            layers, core = self._packed.unpack()
            layers = [[to_numpy(A).copy() for A in mode] for mode in layers]
            return layers, None if core is None else to_numpy(core).copy()


class _EndOnStall:
    """``until`` of the L-BFGS phase: it ends when L-BFGS can go no further.

    A failed line search leaves the point where it is, or nearly: when the
    loss has decreased by at most ``_NO_PROGRESS`` (relative) over the last
    ``_STALL_WINDOW`` epochs, L-BFGS restarts from steepest descent once;
    stalled again for a window, the phase ends.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.losses = []
        self.restarted = False

    def __call__(self, epoch, loss):
        self.losses.append(loss)
        if len(self.losses) <= _STALL_WINDOW:
            return False
        before = self.losses[-1 - _STALL_WINDOW]
        if before - loss > _NO_PROGRESS * abs(before):
            return False
        if self.restarted:
            return True
        self.restarted = True
        self.optimizer.state.clear()
        self.losses = [loss]
        return False


class _Part:
    """Observed entries on the device, as the sparsity patterns (CSR) of the
    unfolding and of its transpose."""

    def __init__(self, torch, entries, device):

        def tensor(array, dtype=torch.int64):
            return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype,
                                   device=device)

        n_rows, n_cols = entries.unfolded_shape
        # the entries come in row-major order (increasing flat index): the
        # CSR order of the unfolding; the transpose's is by column
        order = np.argsort(entries.cols, kind="stable")
        self.torch = torch
        self.shape = (n_rows, n_cols)
        self.values = tensor(entries.values, torch.float64)
        self.size = entries.size
        self.indptr, self.cols = tensor(entries.indptr), tensor(entries.cols)
        self.t_order = tensor(order)
        self.t_indptr = tensor(
            np.searchsorted(entries.cols[order], np.arange(n_cols + 1))
        )
        self.t_cols = tensor(entries.rows[order])
        self.pattern = self.matrix(self.values)

    def matrix(self, values, transpose=False):
        """The CSR matrix with ``values`` (in the entries' order) at the entries."""
        torch = self.torch
        with warnings.catch_warnings():
            # torch flags its CSR layout as beta at every construction
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
            if transpose:
                return torch.sparse_csr_tensor(
                    self.t_indptr, self.t_cols, values[self.t_order],
                    size=self.shape[::-1], check_invariants=False,
                )
            return torch.sparse_csr_tensor(self.indptr, self.cols, values,
                                           size=self.shape, check_invariants=False)


def _sampled_product(torch):
    """``f(U_0, B, part) = U_0[i] . B[:, j]`` at the part's entries ``(i, j)``.

    Forward by :func:`torch.sparse.sampled_addmm` on the entries' pattern
    (gathering the rows of ``U_0`` and ``B.T`` costs ten times as much on a
    CPU); backward by two sparse products, the residuals times ``B.T`` and
    their transpose times ``U_0``, as in the numpy backend.
    """

    class SampledProduct(torch.autograd.Function):
        @staticmethod
        def forward(ctx, first, design, part):
            ctx.save_for_backward(first, design)
            ctx.part = part
            return torch.sparse.sampled_addmm(
                part.pattern, first, design, beta=0.0
            ).values()

        @staticmethod
        def backward(ctx, grad):
            first, design = ctx.saved_tensors
            part = ctx.part
            grad_first = part.matrix(grad) @ design.T
            grad_design = (part.matrix(grad, transpose=True) @ first).T
            return grad_first, grad_design, None

    return SampledProduct.apply


class _CachedLoss:
    """The training loss and the forward pass, not recomputed at the same point.

    :class:`torch.optim.LBFGS` evaluates the loss at the start of every call,
    where its line search of the previous call already did, and the
    validation loss after the step is taken at that point too. The forward
    pass, the value and the gradients (by :func:`torch.autograd.grad`) of the
    last point evaluated are kept: a call at that point returns the value
    through a node whose backward gives the kept gradients (one evaluation
    per epoch instead of two), and :meth:`forward` gives the kept forward.
    Elsewhere (after a first-order step) :meth:`forward` builds the graph of
    the new point, which the next call, at that point, differentiates: one
    forward pass per epoch, as the numpy backend's.
    """

    def __init__(self, torch, params, forward, loss_of):
        self.torch = torch
        self.params = params
        self._forward = forward
        self.loss_of = loss_of
        self.point = None
        self.pending = None  # (versions, forward with its graph)
        self.replay = _replay(torch)

    def _at_point(self):
        if self.point is None:
            return False
        # no in-place change since the check: the same point (a cheap test
        # first; L-BFGS moves and restores the parameters in its line search)
        versions = [p._version for p in self.params]
        if versions == self.versions:
            return True
        with self.torch.no_grad():
            same = all(self.torch.equal(p, q) for p, q in zip(self.params, self.point))
        if same:
            self.versions = versions
        return same

    def forward(self):
        """The forward pass (detached) at the current parameters."""
        if self._at_point():
            return self.kept_forward
        with self.torch.enable_grad():
            forward = self._forward()
        self.pending = ([p._version for p in self.params], forward)
        return tuple(part.detach() for part in forward)

    def __call__(self, batch):
        torch = self.torch
        if not self._at_point():
            pending, self.pending = self.pending, None
            with torch.enable_grad():
                if pending is not None and pending[0] == [p._version
                                                          for p in self.params]:
                    forward = pending[1]
                else:
                    forward = self._forward()
                loss = self.loss_of(forward)
                grads = torch.autograd.grad(loss, self.params)
            self.point = [p.detach().clone() for p in self.params]
            self.versions = [p._version for p in self.params]
            self.kept_forward = tuple(part.detach() for part in forward)
            self.value, self.grads = loss.detach(), grads
        return self.replay(self.value, self.grads, *self.params)


def _replay(torch):
    """``f(value, grads, *params) = value``, whose backward gives ``grads``."""

    class Replay(torch.autograd.Function):
        @staticmethod
        def forward(ctx, value, grads, *params):
            ctx.grads = grads
            return value.clone()

        @staticmethod
        def backward(ctx, grad):
            return (None, None, *(grad * g for g in ctx.grads))

    return Replay.apply


def _tucker3_design(core, factors):
    """``B[a, (i, j)] = sum_bc G[a, b, c] U_1[i, b] U_2[j, c]`` by two products.

    Both are plain matrix products (torch's batched products in float64 on a
    CPU, and their backward, cost about twice as much); only the core-sized
    and ``c_0 n_1 c_2``-sized intermediates are transposed.
    """
    c0, _, c2 = core.shape
    # T[a, c, i] = sum_b G[a, b, c] U_1[i, b]
    partial = (core.transpose(1, 2).reshape(c0 * c2, -1) @ factors[1].T)
    partial = partial.reshape(c0, c2, -1).transpose(1, 2).reshape(-1, c2)
    return (partial @ factors[2].T).reshape(c0, -1)


class _Packed:
    """The layers (one list per mode) and the core as views of one parameter.

    One flat parameter: :class:`torch.optim.LBFGS` and the cached loss loop
    over the parameters several times per iteration (clones, directional
    steps, comparisons), and on the small problems of a completion that
    Python work, done once instead of once per layer, is a good part of an
    iteration.
    """

    def __init__(self, torch, layers, core, device):
        arrays = [A for mode in layers for A in mode]
        if core is not None:
            arrays.append(core)
        self.shapes = [A.shape for A in arrays]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]
        self.mode_sizes = [len(mode) for mode in layers]
        self.has_core = core is not None
        self.torch = torch
        self.module = torch.nn.Module()
        self.module.flat = torch.nn.Parameter(torch.cat([
            torch.as_tensor(A, dtype=torch.float64, device=device).reshape(-1)
            for A in arrays
        ]))

    def load(self, state):
        """Write numpy ``(layers, core)`` of the same shapes into the parameter."""
        torch = self.torch
        layers, core = state
        arrays = [A for mode in layers for A in mode] + ([] if core is None else [core])
        flat = np.concatenate([np.ravel(A) for A in arrays])
        with torch.no_grad():
            self.module.flat.copy_(torch.as_tensor(flat, dtype=self.module.flat.dtype,
                                                   device=self.module.flat.device))

    def unpack(self):
        """``(layers, core)``: views of the flat parameter."""
        # one split (its backward is one concatenation, not a zero-filled
        # copy of the whole vector per slice)
        views = [
            part.view(shape) for part, shape in
            zip(self.module.flat.split(self.sizes), self.shapes)
        ]
        layers, start = [], 0
        for count in self.mode_sizes:
            layers.append(views[start:start + count])
            start += count
        return layers, views[-1] if self.has_core else None


def _until_either(first, second):
    """``until`` that holds when either does (both asked every epoch)."""
    if second is None:
        return first

    def until(epoch, loss):
        first_ends, second_ends = first(epoch, loss), second(epoch, loss)
        return first_ends or second_ends

    return until


def _phases(torch, plan, params, loss, n_entries, learning_rate, decay, estimator):
    """The torch steps of the planned phases (one step per optimiser name).

    The optimiser the user named (``"adam"``, ``"sgd"`` or ``"inna"``) is built
    by the torch estimators' one factory, with ``optimizer_params``.
    """
    steps = {}
    phases = []
    for index, planned in enumerate(plan):
        kind, until = planned.steps, planned.until
        if index == 2:  # the rank growth (see ``schedule``): a fresh optimiser
            steps.pop(kind, None)
        if kind == "lbfgs":
            optimizer = torch.optim.LBFGS(
                params, lr=1.0, max_iter=_TORCH_LBFGS_INNER,
                max_eval=_TORCH_LBFGS_INNER + _TORCH_LBFGS_EVALS,
                history_size=LBFGS_MEMORY, tolerance_grad=1e-12,
                tolerance_change=1e-12, line_search_fn="strong_wolfe",
            )
            # the sum of squares: torch's L-BFGS skips curvature pairs with an
            # absolute ``y.s <= 1e-10``, which the mean would make too small
            steps[kind] = TrainingStep(optimizer, loss, scale=float(n_entries))
            until = _until_either(_EndOnStall(optimizer), planned.until)
        elif kind not in steps:
            if kind == estimator.optimizer and kind in OPTIMIZERS:
                optimizer = estimator._make_optimizer(params)
            else:  # plain gradient descent, or the escape Adam of "adam-lbfgs"
                optimizer = (torch.optim.SGD if kind == "gd" else torch.optim.Adam)(
                    params, lr=learning_rate
                )
            steps[kind] = TrainingStep(
                optimizer, loss,
                scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(
                    o, lambda epoch: 1.0 / (1.0 + decay * epoch)
                ),
            )
        phases.append(replace(planned, steps=[steps[kind]], until=until))
    return phases


def train_torch(layers, core, model, tt_ranks, entries, optimizer, *, device,
                estimator, learning_rate, decay, validation=None, callback=None,
                convergence_hint="increase max_iter", switch_tol=None, polish=False,
                **loop):
    """Train the same model as :func:`._numpy_backend.train_numpy` with autograd.

    ``layers``/``core`` are numpy arrays (the shared initialisation) and
    ``entries`` the :class:`~._model.ObservedEntries` trained on; the other
    arguments are those of :func:`~._numpy_backend.train_numpy` (the options
    of the optimiser are the estimator's ``optimizer_params``). An epoch of
    the L-BFGS phase is one iteration of :class:`torch.optim.LBFGS` with a
    strong-Wolfe line search (of up to ``_TORCH_LBFGS_EVALS`` evaluations:
    torch's default for one iteration allows none). Returns ``(result, layers,
    core)``: the :class:`~skdeep.utils._training.TrainingResult` and the
    trained (or, with early stopping, best) parameters as numpy arrays.
    """
    torch = import_torch()
    packed = _Packed(torch, layers, core, device)
    width = layers[0][-1].shape[1]
    eye = torch.eye(width, dtype=torch.float64, device=device)

    sampled_product = _sampled_product(torch)

    def forward():
        layers, core = packed.unpack()
        factors = [reduce(torch.matmul, mode) for mode in layers]
        if model == "tucker" and len(factors) == 3:
            design = _tucker3_design(core, factors)
        else:
            design = reconstruct(
                model, [eye, *factors[1:]], core, tt_ranks
            ).reshape(width, -1)
        return factors[0], design

    def on_device(part):
        return _Part(torch, part, device)

    def mean_squared_error(part, forward):
        diff = sampled_product(*forward, part) - part.values
        return torch.sum(diff**2) / part.size

    train_part = on_device(entries)
    plan = schedule(optimizer, entries.mean_square(), model, tol=loop.get("tol"),
                    n_iter_no_change=loop.get("n_iter_no_change"),
                    held_out_mean_square=(None if validation is None
                                          else validation.mean_square()),
                    switch_tol=switch_tol, polish=polish)
    params = list(packed.module.parameters())
    loss = _CachedLoss(torch, params, forward,
                       lambda forward: mean_squared_error(train_part, forward))
    phases = _phases(torch, plan, params, loss, entries.size, learning_rate, decay,
                     estimator)

    def predict(part):
        return sampled_product(*loss.forward(), part)

    validation_loss = None
    if validation is not None:
        validation_part = on_device(validation)
        def validation_loss():
            return monitored_after_escape(
                plan, lambda: mean_squared_error(validation_part, loss.forward())
            )
    view = _TorchView(torch, predict, packed, device)
    for planned in plan:
        if isinstance(planned.on_start, PolishStart):
            planned.on_start.bind(view.snapshot, packed.load)
    result = train(
        phases,
        # the observed values are one sample: a leading axis of size one
        (train_part.values[None],),
        estimator=estimator,
        modules=[packed.module],
        device=device,
        validation_loss=validation_loss,
        callback=None if callback is None else (
            lambda epoch, res: callback(epoch, float(res.loss_curve[-1]), view)
        ),
        convergence_hint=convergence_hint,
        **loop,
    )
    trained_layers, trained_core = view.snapshot()
    return result, trained_layers, trained_core
