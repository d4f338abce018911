"""The torch backend: the deep factorization of :mod:`._model`, by autograd.

The same observed-entry computation as the numpy backend: the design ``B`` (the
model with ``U_0`` the identity, by the shared
:func:`~skdeep.utils._tensor_algebra.reconstruct`) and the model at the observed
entries ``(i, j)`` as ``U_0[i] . B[:, j]``; autograd does the rest. The schedule
of :mod:`._schedule` runs as one call of the package's training loop,
:func:`skdeep.utils._training.train`, one full-batch epoch per iteration. torch
is imported inside the functions, so importing this module never imports torch.
"""

from dataclasses import replace
from functools import reduce

from ..utils._optimizers import OPTIMIZERS
from ..utils._tensor_algebra import reconstruct
from ..utils._torch import import_torch, to_numpy
from ..utils._training import TrainingStep, train
from ._numpy_backend import LBFGS_MEMORY
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

    def __init__(self, torch, predict, module, device):
        self._torch = torch
        self._predict = predict
        self._module = module
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
        layers = [[to_numpy(A).copy() for A in mode] for mode in self._module.layers]
        core = getattr(self._module, "core", None)
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
    """Observed entries on the device, with the sparse layouts of the gradient."""

    def __init__(self, torch, entries, device):
        import numpy as np

        def tensor(array, dtype=torch.int64):
            return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype,
                                   device=device)

        n_rows, n_cols = entries.unfolded_shape
        order = np.argsort(entries.cols, kind="stable")
        self.shape = (n_rows, n_cols)
        self.rows, self.cols = tensor(entries.rows), tensor(entries.cols)
        self.values = tensor(entries.values, torch.float64)
        self.size = entries.size
        # the (row-major, coalesced) indices of the sparse residuals, and
        # those of their transpose: the entries sorted by column
        self.indices = tensor(np.stack([entries.rows, entries.cols]))
        self.t_order = tensor(order)
        self.t_indices = tensor(np.stack([entries.cols[order], entries.rows[order]]))


def _sampled_product(torch):
    """``f(U_0, B.T, part) = U_0[i] . B[:, j]`` at the part's entries ``(i, j)``.

    Autograd of the gathers would scatter-add the gradient entry by entry; the
    backward here is two sparse products, the residuals times ``B.T``
    and their transpose times ``U_0``, as in the numpy backend.
    """

    class SampledProduct(torch.autograd.Function):
        @staticmethod
        def forward(ctx, first, design_t, part):
            ctx.save_for_backward(first, design_t)
            ctx.part = part
            return (first[part.rows] * design_t[part.cols]).sum(dim=1)

        @staticmethod
        def backward(ctx, grad):
            first, design_t = ctx.saved_tensors
            part = ctx.part
            residual = torch.sparse_coo_tensor(
                part.indices, grad, size=part.shape, is_coalesced=True,
                check_invariants=False,
            )
            transposed = torch.sparse_coo_tensor(
                part.t_indices, grad[part.t_order], size=part.shape[::-1],
                is_coalesced=True, check_invariants=False,
            )
            return residual @ design_t, transposed @ first, None

    return SampledProduct.apply


class _CachedLoss:
    """A loss that is not recomputed at the point of its last evaluation.

    :class:`torch.optim.LBFGS` evaluates the loss at the start of every call,
    where its line search of the previous call already did: one epoch cost
    two evaluations instead of one. The value and the gradients (by
    :func:`torch.autograd.grad`) of the last point are kept; the loss
    returned is ``value + sum((p - p.detach()) * grad)``, of that value and
    those gradients, so the training loop's ``backward`` gives them back for
    the cost of a product.
    """

    def __init__(self, torch, params, evaluate):
        self.torch = torch
        self.params = params
        self.evaluate = evaluate
        self.point = None

    def __call__(self, batch):
        torch = self.torch
        with torch.no_grad():
            same = self.point is not None and all(
                torch.equal(p, q) for p, q in zip(self.params, self.point)
            )
        if not same:
            loss = self.evaluate()
            grads = torch.autograd.grad(loss, self.params)
            self.point = [p.detach().clone() for p in self.params]
            self.value, self.grads = loss.detach(), grads
        linear = sum(
            ((p - p.detach()) * g).sum() for p, g in zip(self.params, self.grads)
        )
        return self.value + linear


def _module(torch, layers, core, device):
    """A module holding the layers (one list per mode) and the core."""
    module = torch.nn.Module()

    def parameter(array):
        return torch.nn.Parameter(
            torch.tensor(array, dtype=torch.float64, device=device)
        )

    module.layers = torch.nn.ModuleList(
        [torch.nn.ParameterList([parameter(A) for A in mode]) for mode in layers]
    )
    if core is not None:
        module.core = parameter(core)
    return module


def _phases(torch, plan, params, loss, n_entries, learning_rate, decay, estimator):
    """The torch steps of the planned phases (one step per optimiser name).

    The optimiser the user named (``"adam"``, ``"sgd"`` or ``"inna"``) is built
    by the torch estimators' one factory, with ``optimizer_params``.
    """
    steps = {}
    phases = []
    for planned in plan:
        kind, until = planned.steps, planned.until
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
            until = _EndOnStall(optimizer)
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
                convergence_hint="increase max_iter", **loop):
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
    module = _module(torch, layers, core, device)
    width = module.layers[0][-1].shape[1]
    eye = torch.eye(width, dtype=torch.float64, device=device)

    sampled_product = _sampled_product(torch)

    def predict(part):
        factors = [reduce(torch.matmul, mode) for mode in module.layers]
        design = reconstruct(
            model, [eye, *factors[1:]], getattr(module, "core", None), tt_ranks
        ).reshape(width, -1)
        return sampled_product(factors[0], design.T.contiguous(), part)

    def on_device(part):
        return _Part(torch, part, device)

    def mean_squared_error(part):
        diff = predict(part) - part.values
        return torch.sum(diff**2) / part.size

    train_part = on_device(entries)
    plan = schedule(optimizer, entries.mean_square(), model, tol=loop.get("tol"),
                    n_iter_no_change=loop.get("n_iter_no_change"))
    params = list(module.parameters())
    phases = _phases(
        torch, plan, params,
        _CachedLoss(torch, params, lambda: mean_squared_error(train_part)),
        entries.size,
        learning_rate, decay, estimator,
    )
    validation_loss = None
    if validation is not None:
        validation_part = on_device(validation)
        def validation_loss():
            return monitored_after_escape(
                plan, lambda: mean_squared_error(validation_part)
            )
    view = _TorchView(torch, predict, module, device)
    result = train(
        phases,
        # the observed values are one sample: a leading axis of size one
        (train_part.values[None],),
        estimator=estimator,
        modules=[module],
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
