"""The torch backend: the deep factorization of :mod:`._model` in torch.

The schedule of :mod:`._schedule` runs as one call of the package's training
loop, :func:`skdeep.utils._training.train`, one full-batch epoch per
iteration, on one flat parameter tensor (:class:`_Packed`), with torch's
optimisers for the first-order phases and the package's L-BFGS
(:func:`_lbfgs`). The model's arithmetic depends on the device:

- on a GPU, and on a CPU for large problems, torch's
  (:class:`_DeviceArithmetic`): the same observed-entry
  computation as the numpy backend, the design ``B`` (the model with ``U_0``
  the identity, by the shared :func:`~skdeep.utils._tensor_algebra.reconstruct`)
  and the model at the observed entries ``(i, j)`` as ``U_0[i] . B[:, j]``;
  the gradient of the Tucker model of a 3-way tensor (the default) is formed
  by hand, the other models' by autograd;
- on a CPU for small problems (``HOST_ARITHMETIC_MAX_WORK``), the numpy
  backend's, on numpy views of the parameter tensor
  (:class:`_HostArithmetic`): torch's dispatch of its small operations
  costs more than the operations themselves there.

Either way the gradients reach the optimisers without a backward pass
(:class:`_CachedLoss`). torch is imported inside the functions, so importing
this module never imports torch.
"""

import warnings
from dataclasses import replace
from functools import reduce

import numpy as np

from ..utils._optimizers import OPTIMIZERS
from ..utils._tensor_algebra import reconstruct
from ..utils._torch import import_torch, to_numpy
from ..utils._training import TrainingStep, train
from ._growth import growth_rounds
from ._lbfgs import LBFGSMemory
from ._numpy_backend import NumpyModel, _flat, blas_threads, chain_gradients
from ._polish import PolishStart
from ._schedule import monitored_after_escape, schedule


class _TorchView:
    """What the training callback sees of the torch model after an update."""

    def __init__(self, torch, arithmetic, loss, packed):
        self._torch = torch
        self._arithmetic = arithmetic
        self._loss = loss
        self._packed = packed
        self._parts = {}

    def predict(self, entries):
        """The model at the given :class:`~._model.ObservedEntries`."""
        key = id(entries)
        if key not in self._parts:
            # the entries keep the id valid
            self._parts[key] = (entries, self._arithmetic.part(entries))
        with self._torch.no_grad():
            return self._arithmetic.predict(self._parts[key][1], self._loss.forward())

    def snapshot(self):
        """Copies of the layers and the core as numpy arrays."""
        with self._torch.no_grad():
            layers, core = self._packed.unpack()
            layers = [[to_numpy(A).copy() for A in mode] for mode in layers]
            return layers, None if core is None else to_numpy(core).copy()


def _lbfgs(torch, params, loss):
    """The package's L-BFGS (:mod:`._lbfgs`) as a torch optimiser of one tensor.

    A ``step(closure)`` is one iteration, as an epoch of the numpy backend:
    the direction from the memory, a strong-Wolfe line search from a first
    step of unit length (then 1), the new curvature pair. ``stalled`` turns
    true when the line search finds no decrease (the phase then ends). The
    closure gives the loss at the iteration's start (the loop records it);
    the line search's trials ask the cached loss (:class:`_CachedLoss`)
    directly, without the autograd round trip of a closure. On the CPU the
    vectors are numpy arrays sharing the tensors' memory (the numpy
    backend's arithmetic, without the dispatch of some 60 small torch
    operations per iteration); on a GPU they stay on the device.
    """
    on_cpu = params[0].device.type == "cpu"

    def vector(tensor):
        return tensor.numpy() if on_cpu else tensor

    def tensor(vector):
        return torch.from_numpy(vector) if on_cpu else vector

    def value_and_grad():
        value, (grad,) = loss.evaluate()
        return float(value), vector(grad.reshape(-1))

    class LBFGS(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})
            (self.flat,) = self.param_groups[0]["params"]
            self.memory = LBFGSMemory()
            self.stalled = False

        @torch.no_grad()
        def step(self, closure):
            flat = self.flat
            closure()  # the loss the loop records, kept by the cached loss
            start = vector(flat.detach().clone())
            value, grad = value_and_grad()

            def evaluate(point):
                flat.copy_(tensor(point))
                return (*value_and_grad(), None)

            reached = self.memory.iterate(start, value, grad, evaluate)
            if reached is None:  # no decrease possible
                flat.copy_(tensor(start))
                self.stalled = True
            else:
                flat.copy_(tensor(reached[0]))
            return value

    return LBFGS(params)


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


def _sampled(torch, first, design, part):
    """``U_0[i] . B[:, j]`` at the part's entries, on its pattern."""
    return torch.sparse.sampled_addmm(part.pattern, first, design, beta=0.0).values()


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
            return _sampled(torch, first, design, part)

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

    The L-BFGS step (:func:`_lbfgs`) evaluates the loss at the start of
    every call, where its line search of the previous call already did, and the
    validation loss after the step is taken at that point too. The forward
    pass, the value and the gradients of the last point evaluated are kept:
    a call at that point returns them (one evaluation per epoch instead of
    two), and :meth:`forward` gives the kept forward. Elsewhere (after a first-order
    step) :meth:`forward` computes the forward of the new point, which the
    next call, at that point, differentiates: one forward pass per epoch, as
    the numpy backend's.

    The gradients are those of ``loss_of(forward)`` by
    :func:`torch.autograd.grad` (the forward then keeps its graph), or, with
    ``gradient``, ``gradient(forward) -> (value, grads)`` computed without
    autograd (the forward is then computed without a graph). A call,
    ``loss(batch) -> (value, grads)``, is the ``gradient`` of the training
    steps (:class:`~skdeep.utils._training.TrainingStep`): the loop writes
    the gradients to the parameters without a backward pass.
    """

    def __init__(self, torch, params, forward, loss_of, gradient=None):
        self.torch = torch
        self.params = params
        self._forward = forward
        self.loss_of = loss_of
        self.gradient = gradient
        self.point = None
        self.pending = None  # (versions, forward, with its graph for autograd)

    def moved(self, *args):
        """Forget the point: an optimiser has stepped (a hook of its ``step``).

        The cheap test of :meth:`_at_point` reads the parameters' version
        counters, which a fused optimiser's kernel does not increment.
        """
        self.point = self.pending = None

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

    def _compute_forward(self):
        if self.gradient is None:
            with self.torch.enable_grad():
                return self._forward()
        with self.torch.no_grad():
            return self._forward()

    def forward(self):
        """The forward pass (detached) at the current parameters."""
        if self._at_point():
            return self.kept_forward
        forward = self._compute_forward()
        self.pending = ([p._version for p in self.params], forward)
        return _detached(forward)

    def __call__(self, batch):
        return self.evaluate()

    def evaluate(self):
        """``(value, grads)`` at the current parameters, kept for the point."""
        torch = self.torch
        if not self._at_point():
            pending, self.pending = self.pending, None
            if pending is not None and pending[0] == [p._version for p in self.params]:
                forward = pending[1]
            else:
                forward = self._compute_forward()
            if self.gradient is None:
                with torch.enable_grad():
                    loss = self.loss_of(forward)
                    grads = torch.autograd.grad(loss, self.params)
                value = loss.detach()
            else:
                with torch.no_grad():
                    value, grads = self.gradient(forward)
            self.point = [p.detach().clone() for p in self.params]
            self.versions = [p._version for p in self.params]
            self.kept_forward = _detached(forward)
            self.value, self.grads = value, grads
        return self.value, self.grads


def _detached(forward):
    if not isinstance(forward, tuple):  # the host arithmetic's numpy Forward
        return forward
    return tuple(part.detach() if hasattr(part, "detach") else part
                 for part in forward)


def _tucker3_design(core, factors):
    """``B[a, (i, j)] = sum_bc G[a, b, c] U_1[i, b] U_2[j, c]``, as a view of
    ``B.T``.

    Two plain products, ``H[b, (j, a)] = sum_c U_2[j, c] G[a, b, c]`` (after a
    core-sized transpose) and ``B.T = U_1 H``, both wide (on a CPU faster
    than a batched product). ``B.T`` contiguous is the layout the sampled
    product and the sparse product ``R @ B.T`` of the gradient read fastest
    (a third less time than from ``B``).
    """
    c0, c1, c2 = core.shape
    n2 = factors[2].shape[0]
    half = factors[2] @ core.permute(2, 0, 1).reshape(c2, c0 * c1)
    half = half.reshape(n2, c0, c1).permute(2, 0, 1).reshape(c1, n2 * c0)
    return (factors[1] @ half).reshape(-1, c0).T


def _tucker3_gradients(core, factors, grad_design):
    """Gradients of ``<G_B, B>`` (``B`` of :func:`_tucker3_design`) wrt ``U_1``,
    ``U_2`` and the core; ``grad_design`` is ``G_B.T``, ``(n_1 n_2, c_0)``.

    By plain products on unfoldings, with three transposed copies of
    design- or core-sized arrays (those copies, more than the products,
    are the cost on a CPU; MKL's float64 products of a tall operand by a
    narrow one cost about twice those of the wide ones on some CPUs).
    """
    c0, c1, c2 = core.shape
    n1, n2 = factors[1].shape[0], factors[2].shape[0]
    core_t = core.transpose(1, 2).reshape(c0 * c2, c1)  # G[(a, c), b]
    # G_B as [j, (i, a)]
    grad_t = grad_design.reshape(n1, n2, c0).transpose(0, 1).reshape(n2, n1 * c0)
    # M[i, (a, c)] = sum_j G_B[a, i, j] U_2[j, c]
    projected = (factors[2].T @ grad_t).reshape(c2, n1, c0).permute(1, 2, 0)
    projected = projected.reshape(n1, c0 * c2)
    grad_1 = projected @ core_t
    grad_core = (factors[1].T @ projected).reshape(c1, c0, c2).transpose(0, 1)
    # L[i, (a, c)] = sum_b U_1[i, b] G[a, b, c]
    partial = factors[1] @ core_t.T
    grad_2 = grad_t @ partial.reshape(n1 * c0, c2)
    return [grad_1, grad_2], grad_core


def _tucker3_loss_gradient(torch, part):
    """``gradient(forward) -> (loss, (grad,))`` of the Tucker-3 model, by hand.

    The mean squared error at the part's entries and its gradient with
    respect to the flat parameter, by the formulas of the numpy backend
    (the residuals' sparse products, :func:`_tucker3_gradients`, the chain
    rule of the layers): what autograd computes, without building and
    walking its graph, which on a CPU cost about as much as the products
    themselves in the Adam epochs. ``forward`` is ``(U_0, B, (layers, core,
    factors))``.
    """
    scale = 2.0 / part.size

    def gradient(forward):
        first, design, (layers, core, factors) = forward
        diff = _sampled(torch, first, design, part) - part.values
        residual = scale * diff
        grad_first = part.matrix(residual) @ design.T
        grads_U, grad_core = _tucker3_gradients(
            core, factors, part.matrix(residual, transpose=True) @ first
        )
        grads = []
        for mode, grad in zip(layers, [grad_first, *grads_U]):
            grads += chain_gradients(mode, grad)
        grads.append(grad_core)
        # written into one vector of the flat parameter's layout (a
        # transposed gradient copied once)
        flat = torch.empty(sum(grad.numel() for grad in grads), dtype=diff.dtype,
                           device=diff.device)
        start = 0
        for grad in grads:
            flat[start:start + grad.numel()].view(grad.shape).copy_(grad)
            start += grad.numel()
        return torch.dot(diff, diff) / part.size, (flat,)

    return gradient


class _Packed:
    """The layers (one list per mode) and the core as views of one parameter.

    One flat parameter: L-BFGS (:func:`_lbfgs`) and the cached loss loop
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

    def numpy_views(self):
        """``(layers, core)``: numpy views of the flat parameter (on a CPU)."""
        flat = self.module.flat.detach().numpy()
        return self._split([
            part.reshape(shape) for part, shape in
            zip(np.split(flat, np.cumsum(self.sizes)[:-1]), self.shapes)
        ])

    def _split(self, views):
        layers, start = [], 0
        for count in self.mode_sizes:
            layers.append(views[start:start + count])
            start += count
        return layers, views[-1] if self.has_core else None

    def unpack(self):
        """``(layers, core)``: views of the flat parameter."""
        # one split (its backward is one concatenation, not a zero-filled
        # copy of the whole vector per slice)
        return self._split([
            part.view(shape) for part, shape in
            zip(self.module.flat.split(self.sizes), self.shapes)
        ])


def _until_either(first, second):
    """``until`` that holds when either does (both asked every epoch)."""
    if second is None:
        return first

    def until(epoch, loss):
        first_ends, second_ends = first(epoch, loss), second(epoch, loss)
        return first_ends or second_ends

    return until


def _adam(torch, params, learning_rate):
    """:class:`torch.optim.Adam`, by its fused kernel where the device has one.

    The same update (up to rounding) in one kernel instead of about ten
    (on a CPU, half the time of an Adam step of a completion's parameters).
    """
    try:
        return torch.optim.Adam(params, lr=learning_rate, fused=True)
    except (RuntimeError, ValueError):  # no fused kernel for these parameters
        return torch.optim.Adam(params, lr=learning_rate)


def _phases(torch, plan, params, loss, learning_rate, decay, estimator):
    """The torch steps of the planned phases (one step per optimiser name).

    The optimiser the user named (``"adam"``, ``"sgd"`` or ``"inna"``) is built
    by the torch estimators' one factory, with ``optimizer_params``.
    """
    steps = {}
    phases = []
    for planned in plan:
        kind, until = planned.steps, planned.until
        if kind == "lbfgs":  # a fresh memory for every phase, as in numpy
            optimizer = _lbfgs(torch, params, loss)
            steps[kind] = TrainingStep(optimizer, None, gradient=loss)
            until = _until_either(
                lambda epoch, loss, optimizer=optimizer: optimizer.stalled,
                planned.until)
        elif kind not in steps:
            if kind == estimator.optimizer and kind in OPTIMIZERS:
                optimizer = estimator._make_optimizer(params)
            elif kind == "gd":
                optimizer = torch.optim.SGD(params, lr=learning_rate)
            else:  # the escape Adam of "adam-lbfgs"
                optimizer = _adam(torch, params, learning_rate)
            optimizer.register_step_post_hook(loss.moved)
            steps[kind] = TrainingStep(
                optimizer, None, gradient=loss,
                scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(
                    o, lambda epoch: 1.0 / (1.0 + decay * epoch)
                ),
            )
        phases.append(replace(planned, steps=[steps[kind]], until=until))
    return phases


# On a CPU, below this many entries of the design (the forward pass's work,
# width times the product of the other sizes), the model's arithmetic is the
# numpy backend's on numpy views of the parameter tensor; above, torch's
# sampled products are the faster. Default Tucker fits (widths 30-32),
# torch / numpy CPU time (one thread): 30^3 at 10 % (design 27000 entries)
# 1.66 with torch's arithmetic, 1.29 with numpy's; 60^3 at 5 % (115200)
# 1.18 and 1.14; 100^3 at 5 % (320000) 0.71 and 0.94. The tests move it
# to check both.
HOST_ARITHMETIC_MAX_WORK = 2**17


class _HostArithmetic:
    """The model's arithmetic on a CPU: the numpy backend's :class:`NumpyModel`
    on numpy views of the flat parameter.

    torch's dispatch of the some 40 small operations of an evaluation costs
    more than the operations on a completion's sizes (about twice numpy's
    time at 30^3); the loop, the optimisers and the parameter stay torch's.
    The entries are used as they are.
    """

    def __init__(self, torch, packed, model, tt_ranks):
        self.torch = torch
        layers, core = packed.numpy_views()
        self.net = NumpyModel(model, layers, core, tt_ranks, copy=False)
        self.forward = self.net.forward

    def part(self, entries):
        return entries

    def gradient(self, entries):
        torch = self.torch

        def gradient(forward):
            value, grads = self.net.loss_and_gradients(entries, forward=forward)
            return (torch.tensor(value, dtype=torch.float64),
                    (torch.from_numpy(_flat(grads)),))

        return gradient

    def mean_squared_error(self, entries, forward):
        return self.net.loss(entries, forward)

    def predict(self, entries, forward):
        return self.net.predict(entries, forward)


class _DeviceArithmetic:
    """The model's arithmetic in torch, on the parameter's device.

    The design ``B`` by the shared
    :func:`~skdeep.utils._tensor_algebra.reconstruct` (by
    :func:`_tucker3_design` for the Tucker model of a 3-way tensor, whose
    gradient is then formed by hand) and the model at the entries by the
    sampled product; the other models' gradients go by autograd. The
    entries are moved to the device as :class:`_Part`.
    """

    def __init__(self, torch, packed, model, tt_ranks, device):
        self.torch, self.packed, self.device = torch, packed, device
        self.model, self.tt_ranks = model, tt_ranks
        self.by_hand = model == "tucker" and len(packed.mode_sizes) == 3
        self.width = packed.shapes[packed.mode_sizes[0] - 1][1]
        self.eye = torch.eye(self.width, dtype=torch.float64, device=device)
        self.sampled_product = _sampled_product(torch)

    def forward(self):
        torch = self.torch
        layers, core = self.packed.unpack()
        factors = [reduce(torch.matmul, mode) for mode in layers]
        if self.by_hand:
            design = _tucker3_design(core, factors)
            return factors[0], design, (layers, core, factors)
        design = reconstruct(
            self.model, [self.eye, *factors[1:]], core, self.tt_ranks
        ).reshape(self.width, -1)
        return factors[0], design

    def part(self, entries):
        return _Part(self.torch, entries, self.device)

    def gradient(self, part):
        """The gradient by hand, or None (autograd)."""
        return _tucker3_loss_gradient(self.torch, part) if self.by_hand else None

    def mean_squared_error(self, part, forward):
        diff = self.sampled_product(*forward[:2], part) - part.values
        return self.torch.sum(diff**2) / part.size

    def predict(self, part, forward):
        values = self.sampled_product(*forward[:2], part)
        return to_numpy(values).astype("float64")


def train_torch(layers, core, model, tt_ranks, entries, optimizer, *, device,
                estimator, learning_rate, decay, validation=None, callback=None,
                convergence_hint="increase max_iter", switch_tol=None, polish=False,
                **loop):
    """Train the same model as :func:`._numpy_backend.train_numpy` in torch.

    ``layers``/``core`` are numpy arrays (the shared initialisation) and
    ``entries`` the :class:`~._model.ObservedEntries` trained on; the other
    arguments are those of :func:`~._numpy_backend.train_numpy` (the options
    of the optimiser are the estimator's ``optimizer_params``). An epoch of
    the L-BFGS phase is one iteration of the numpy backend's L-BFGS on the
    flat parameter tensor (:func:`_lbfgs`). On a CPU and a small problem
    (``HOST_ARITHMETIC_MAX_WORK``) the model's arithmetic is the numpy
    backend's (:class:`_HostArithmetic`); elsewhere it is torch's
    (:class:`_DeviceArithmetic`). Returns ``(result, layers,
    core)``: the :class:`~skdeep.utils._training.TrainingResult` and the
    trained (or, with early stopping, best) parameters as numpy arrays.
    """
    torch = import_torch()
    packed = _Packed(torch, layers, core, device)
    width = layers[0][-1].shape[1]
    work = width * entries.unfolded_shape[1]
    if torch.device(device).type == "cpu" and work < HOST_ARITHMETIC_MAX_WORK:
        arithmetic = _HostArithmetic(torch, packed, model, tt_ranks)
    else:
        arithmetic = _DeviceArithmetic(torch, packed, model, tt_ranks, device)
    train_part = arithmetic.part(entries)
    plan = schedule(optimizer, entries.mean_square(), model, tol=loop.get("tol"),
                    n_iter_no_change=loop.get("n_iter_no_change"),
                    held_out_mean_square=(None if validation is None
                                          else validation.mean_square()),
                    switch_tol=switch_tol, polish=polish,
                    growth_rounds=growth_rounds(core) if polish else 0)
    params = list(packed.module.parameters())
    loss = _CachedLoss(
        torch, params, arithmetic.forward,
        lambda forward: arithmetic.mean_squared_error(train_part, forward),
        gradient=arithmetic.gradient(train_part),
    )
    phases = _phases(torch, plan, params, loss, learning_rate, decay,
                     estimator)

    validation_loss = None
    if validation is not None:
        validation_part = arithmetic.part(validation)

        def validation_loss():
            return monitored_after_escape(plan, lambda: arithmetic.mean_squared_error(
                validation_part, loss.forward()))

    view = _TorchView(torch, arithmetic, loss, packed)
    for planned in plan:
        if isinstance(planned.on_start, PolishStart):
            planned.on_start.bind(view.snapshot, packed.load, entries)
    with blas_threads(width, entries):
        result = train(
            phases,
            # the observed values are one sample: a leading axis of size one
            (torch.as_tensor(entries.values)[None],),
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
