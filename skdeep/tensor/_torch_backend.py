"""The deep factorizations of :mod:`._numpy_backend` in torch, trained by autograd.

Training goes through the package's one loop, :func:`skdeep.utils._training.train`,
with one full-batch step. torch is imported inside the function, so importing
this module never imports torch.
"""

from functools import reduce

from ..utils._torch import import_torch, to_numpy
from ..utils._training import TrainingStep, train
from ._model import reconstruct


def train_torch(
    device,
    model,
    layers,
    core,
    tt_ranks,
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
    """Train the same model as :func:`._numpy_backend.train_numpy` with autograd.

    ``layers``/``core`` are numpy arrays (the shared initialisation); the
    callback receives the iteration, the loss and a function returning the
    reconstruction after the update as a numpy array (called only when the
    callback needs it). Returns ``(result, layers, core)``: the
    :class:`~skdeep.utils._training.TrainingResult` and the trained parameters
    as numpy arrays.
    """
    torch = import_torch()
    dtype = torch.float64 if data.dtype.itemsize == 8 else torch.float32
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
    mask = torch.tensor(train_mask, device=device)
    target = torch.tensor(data, dtype=dtype, device=device)
    target = torch.where(mask, target, torch.zeros((), dtype=dtype, device=device))
    n_observed = int(train_mask.sum())

    def forward():
        factors = [reduce(torch.matmul, mode) for mode in params_layers]
        return reconstruct(model, factors, params_core, tt_ranks)

    def loss(batch):
        target, mask = batch[0][0], batch[1][0]  # the single sample
        diff = torch.where(mask, forward() - target, torch.zeros_like(target))
        return torch.sum(diff**2) / n_observed

    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=learning_rate)
    else:
        opt = torch.optim.SGD(params, lr=learning_rate)
    step = TrainingStep(
        opt,
        loss,
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(
            o, lambda epoch: 1.0 / (1.0 + decay * epoch)
        ),
    )

    def get_tensor():
        with torch.no_grad():
            return to_numpy(forward())

    result = train(
        [step],
        # the tensor is one sample: a leading axis of size one, full batch
        (target[None], mask[None]),
        estimator=estimator,
        max_iter=max_iter,
        n_iter_no_change=None,
        device=device,
        callback=lambda it, res: callback(it, float(res.loss_curve[-1]), get_tensor),
        convergence_hint=convergence_hint,
        print_every=print_every,
    )
    trained_layers = [[to_numpy(A) for A in mode] for mode in params_layers]
    trained_core = None if params_core is None else to_numpy(params_core)
    return result, trained_layers, trained_core
