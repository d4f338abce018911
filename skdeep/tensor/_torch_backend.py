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

from ..utils._tensor_algebra import reconstruct
from ..utils._torch import import_torch, to_numpy
from ..utils._training import TrainingStep, train
from ._numpy_backend import LBFGS_MEMORY
from ._schedule import schedule

# L-BFGS iterations (with a strong-Wolfe line search) per epoch of the loop.
_TORCH_LBFGS_INNER = 20
# A relative decrease of the loss over an L-BFGS epoch at most this is a stall.
_NO_PROGRESS = 1e-10


class _TorchView:
    """What the training callback sees of the torch model after an update."""

    def __init__(self, torch, predict, module, device):
        self._torch = torch
        self._predict = predict
        self._module = module
        self._device = device
        self._indices = {}

    def predict(self, entries):
        """The model at the given :class:`~._model.ObservedEntries`."""
        key = id(entries)
        if key not in self._indices:
            self._indices[key] = (
                entries,  # keeps the id valid
                self._torch.as_tensor(entries.rows, device=self._device),
                self._torch.as_tensor(entries.cols, device=self._device),
            )
        _, rows, cols = self._indices[key]
        with self._torch.no_grad():
            return to_numpy(self._predict(rows, cols)).astype("float64")

    def snapshot(self):
        """Copies of the layers and the core as numpy arrays."""
        layers = [[to_numpy(A).copy() for A in mode] for mode in self._module.layers]
        core = getattr(self._module, "core", None)
        return layers, None if core is None else to_numpy(core).copy()


class _EndOnStall:
    """``until`` of the L-BFGS phase: it ends when L-BFGS can go no further.

    A failed line search leaves the point where it is, or nearly (a relative
    decrease of the loss over an epoch of at most ``_NO_PROGRESS``): L-BFGS
    restarts from steepest descent once; stalled again at once, the phase
    ends.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.previous = None
        self.restarted = False

    def __call__(self, epoch, loss):
        stalled = (
            self.previous is not None
            and self.previous - loss <= _NO_PROGRESS * abs(self.previous)
        )
        self.previous = loss
        if stalled and self.restarted:
            return True
        self.restarted = stalled
        if stalled:
            self.optimizer.state.clear()
        return False


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


def _phases(torch, plan, params, loss, n_entries, learning_rate, decay):
    """The torch steps of the planned phases (one step per optimiser name)."""
    steps = {}
    phases = []
    for planned in plan:
        kind, until = planned.steps, planned.until
        if kind == "lbfgs":
            optimizer = torch.optim.LBFGS(
                params, lr=1.0, max_iter=_TORCH_LBFGS_INNER,
                history_size=LBFGS_MEMORY, tolerance_grad=1e-12,
                tolerance_change=1e-12, line_search_fn="strong_wolfe",
            )
            # the sum of squares: torch's L-BFGS skips curvature pairs with an
            # absolute ``y.s <= 1e-10``, which the mean would make too small
            steps[kind] = TrainingStep(optimizer, loss, scale=float(n_entries))
            until = _EndOnStall(optimizer)
        elif kind not in steps:
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
    arguments are those of :func:`~._numpy_backend.train_numpy`. An epoch of
    the L-BFGS phase is up to ``_TORCH_LBFGS_INNER`` iterations of
    :class:`torch.optim.LBFGS` with a strong-Wolfe line search (called one
    iteration at a time, its line search stalls with a zero step on these
    models). Returns ``(result, layers, core)``: the
    :class:`~skdeep.utils._training.TrainingResult` and the trained (or, with
    early stopping, best) parameters as numpy arrays.
    """
    torch = import_torch()
    module = _module(torch, layers, core, device)
    width = module.layers[0][-1].shape[1]
    eye = torch.eye(width, dtype=torch.float64, device=device)

    def predict(rows, cols):
        factors = [reduce(torch.matmul, mode) for mode in module.layers]
        design = reconstruct(
            model, [eye, *factors[1:]], getattr(module, "core", None), tt_ranks
        ).reshape(width, -1)
        return (factors[0][rows] * design[:, cols].T).sum(dim=1)

    def on_device(part):
        return (
            torch.as_tensor(part.rows, device=device),
            torch.as_tensor(part.cols, device=device),
            torch.as_tensor(part.values, dtype=torch.float64, device=device),
            part.size,
        )

    def mean_squared_error(rows, cols, values, size):
        diff = predict(rows, cols) - values
        return torch.sum(diff**2) / size

    train_part = on_device(entries)
    phases = _phases(
        torch, schedule(optimizer, entries.mean_square()), list(module.parameters()),
        lambda batch: mean_squared_error(*train_part), entries.size,
        learning_rate, decay,
    )
    validation_loss = None
    if validation is not None:
        validation_part = on_device(validation)
        validation_loss = lambda: mean_squared_error(*validation_part)  # noqa: E731
    view = _TorchView(torch, predict, module, device)
    result = train(
        phases,
        # the observed values are one sample: a leading axis of size one
        (train_part[2][None],),
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
