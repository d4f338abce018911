"""The deep factorizations of :mod:`._numpy_backend` in torch, trained by autograd.

The same observed-entry computation as the numpy backend: the design ``B`` (the
model with ``U_0`` the identity, by the shared :func:`~._model.reconstruct`) and
the model at the observed entries ``(i, j)`` as ``U_0[i] . B[:, j]``; autograd
does the rest. Training goes through the package's one loop,
:func:`skdeep.utils._training.train`, with one full-batch step. torch is imported
inside the function, so importing this module never imports torch.
"""

from functools import reduce

import numpy as np

from ..utils._torch import import_torch, to_numpy
from ..utils._training import TrainingResult, TrainingStep, train
from ._model import reconstruct
from ._numpy_backend import LBFGS_MEMORY

# L-BFGS iterations (with a strong-Wolfe line search) per epoch of the loop.
_TORCH_LBFGS_INNER = 20


class _TorchView:
    """What the training callback sees of the torch model after an update."""

    def __init__(self, torch, predict, layers, core, device):
        self._torch = torch
        self._predict = predict
        self._layers = layers
        self._core = core
        self._device = device
        self._indices = {}

    def predict(self, entries):
        """The model at the given :class:`~._numpy_backend.ObservedEntries`."""
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
        layers = [[to_numpy(A).copy() for A in mode] for mode in self._layers]
        return layers, None if self._core is None else to_numpy(self._core).copy()


def train_torch(
    device,
    model,
    layers,
    core,
    tt_ranks,
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
    """Train the same model as :func:`._numpy_backend.train_numpy` with autograd.

    ``layers``/``core`` are numpy arrays (the shared initialisation) and
    ``entries`` the :class:`~._numpy_backend.ObservedEntries` trained on. With
    ``optimizer="adam-lbfgs"``, Adam runs until ``warmup_done(loss)`` is True,
    then :class:`torch.optim.LBFGS` with a strong-Wolfe line search for the
    remaining epochs of the training loop, each epoch up to
    ``_TORCH_LBFGS_INNER`` L-BFGS iterations (called one iteration at a time,
    its line search stalls with a zero step on these models). The
    callback receives the iteration, the loss (before the update) and a view of
    the model after the update (``predict(entries)``, ``snapshot()``). Returns
    ``(result, layers, core)``: the
    :class:`~skdeep.utils._training.TrainingResult` and the trained parameters
    as numpy arrays.
    """
    torch = import_torch()
    dtype = torch.float64
    params_layers = [
        [torch.tensor(A, dtype=dtype, device=device, requires_grad=True) for A in mode]
        for mode in layers
    ]
    params_core = (
        None
        if core is None
        else torch.tensor(core, dtype=dtype, device=device, requires_grad=True)
    )
    params = [A for mode in params_layers for A in mode]
    if params_core is not None:
        params.append(params_core)
    rows = torch.as_tensor(entries.rows, device=device)
    cols = torch.as_tensor(entries.cols, device=device)
    values = torch.as_tensor(entries.values, dtype=dtype, device=device)
    width = params_layers[0][-1].shape[1]
    eye = torch.eye(width, dtype=dtype, device=device)

    def predict(rows, cols):
        factors = [reduce(torch.matmul, mode) for mode in params_layers]
        design = reconstruct(model, [eye, *factors[1:]], params_core, tt_ranks)
        design = design.reshape(width, -1)
        return (factors[0][rows] * design[:, cols].T).sum(dim=1)

    def loss(batch):
        diff = predict(rows, cols) - batch[0][0]
        return torch.sum(diff**2) / entries.size

    view = _TorchView(torch, predict, params_layers, params_core, device)
    train_config = dict(
        estimator=estimator,
        n_iter_no_change=None,
        device=device,
        convergence_hint=convergence_hint,
        print_every=print_every,
    )
    # the observed values are one sample: a leading axis of size one
    data = (values[None],)
    phase = {"switch": False, "offset": 0, "last": [], "restarted": False}

    def first_phase(it, res):
        loss_value = float(res.loss_curve[-1])
        if callback(it, loss_value, view):
            return True
        # Adam, then L-BFGS from the next iteration (never at the last one,
        # which must end the run with its ConvergenceWarning)
        phase["switch"] = (
            optimizer == "adam-lbfgs" and it < max_iter and warmup_done(loss_value)
        )
        return phase["switch"]

    def total_loss(batch):
        # the sum of squares: torch's L-BFGS skips curvature pairs with an
        # absolute ``y.s <= 1e-10``, which the mean would make too small
        diff = predict(rows, cols) - batch[0][0]
        return torch.sum(diff**2)

    def second_phase(it, res):
        loss_value = float(res.loss_curve[-1]) / entries.size
        if callback(phase["offset"] + it, loss_value, view):
            return True
        # a failed line search leaves the point where it is: restart L-BFGS
        # from steepest descent once; stuck again, nothing more can be done
        stuck = bool(phase["last"]) and loss_value == phase["last"][-1]
        phase["last"] = [loss_value]
        if stuck and phase["restarted"]:
            return True
        phase["restarted"] = stuck
        if stuck:
            phase["lbfgs"].state.clear()
        return False

    if optimizer == "gd":
        opt = torch.optim.SGD(params, lr=learning_rate)
    else:
        opt = torch.optim.Adam(params, lr=learning_rate)
    step = TrainingStep(
        opt,
        loss,
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(
            o, lambda epoch: 1.0 / (1.0 + decay * epoch)
        ),
    )
    try:
        result = train([step], data, max_iter=max_iter, callback=first_phase,
                       **train_config)
        if phase["switch"]:
            phase["offset"] = result.n_iter
            lbfgs = torch.optim.LBFGS(
                params, lr=1.0, max_iter=_TORCH_LBFGS_INNER, history_size=LBFGS_MEMORY,
                tolerance_grad=1e-12, tolerance_change=1e-12,
                line_search_fn="strong_wolfe",
            )
            phase["lbfgs"] = lbfgs
            second = train(
                [TrainingStep(lbfgs, total_loss)],
                data,
                max_iter=max_iter - result.n_iter,
                reported_max_iter=max_iter,
                callback=second_phase,
                **train_config,
            )
            result = TrainingResult(
                n_iter=result.n_iter + second.n_iter,
                loss_curve=np.concatenate(
                    [result.loss_curve, second.loss_curve / entries.size]
                ),
                converged=second.converged,
            )
    except FloatingPointError as exc:
        raise ValueError(
            f"{type(estimator).__name__} diverged ({exc}): lower learning_rate "
            "or init_scale."
        ) from exc
    trained_layers = [[to_numpy(A) for A in mode] for mode in params_layers]
    trained_core = None if params_core is None else to_numpy(params_core)
    return result, trained_layers, trained_core
