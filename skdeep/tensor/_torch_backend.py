"""The deep factorizations of :mod:`._numpy_backend` in torch, trained by autograd.

torch is imported by the caller through :func:`skdeep.utils._torch.import_torch`
and passed in, so importing this module never imports torch.
"""

from functools import reduce


def _mode_dot(torch, tensor, matrix, mode):
    return torch.movedim(torch.tensordot(matrix, tensor, dims=([1], [mode])), 0, mode)


def _reconstruct(torch, model, factors, core, tt_ranks):
    order = len(factors)
    if model == "tucker":
        tensor = core
        for i, U in enumerate(factors):
            tensor = _mode_dot(torch, tensor, U, i)
        return tensor
    if model == "cp":
        operands = []
        for i, U in enumerate(factors):
            operands += [U, [i, order]]
        return torch.einsum(*operands, list(range(order)))
    shape = tuple(U.shape[0] for U in factors)
    left = None
    for k, U in enumerate(factors):
        core_k = U.reshape(U.shape[0], tt_ranks[k], tt_ranks[k + 1]).permute(1, 0, 2)
        r0, n, r1 = core_k.shape
        flat = core_k.reshape(r0, n * r1)
        left = flat if left is None else left @ flat
        left = left.reshape(-1, r1)
    return left.reshape(shape)


def train_torch(
    torch,
    device,
    model,
    layers,
    core,
    tt_ranks,
    data,
    train_mask,
    optimizer,
    learning_rate,
    decay,
    max_iter,
    callback,
    betas=(0.9, 0.999),
    eps=1e-8,
):
    """Train the same model as :func:`._numpy_backend.train_numpy` with autograd.

    ``layers``/``core`` are numpy arrays (the shared initialisation); the callback
    receives the loss and a function returning the reconstruction as a numpy
    array (called only when the callback needs it). Returns
    ``(n_iter, layers, core)`` with the trained parameters as numpy arrays.
    """
    from ..utils._torch import to_numpy

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
    target = torch.tensor(data, dtype=dtype, device=device)
    mask = torch.tensor(train_mask, device=device)
    target = torch.where(mask, target, torch.zeros((), dtype=dtype, device=device))
    n_observed = int(train_mask.sum())
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=learning_rate, betas=betas, eps=eps)
    else:
        opt = torch.optim.SGD(params, lr=learning_rate)

    def forward():
        factors = [reduce(torch.matmul, mode) for mode in params_layers]
        tensor = _reconstruct(torch, model, factors, params_core, tt_ranks)
        diff = torch.where(mask, tensor - target, torch.zeros_like(tensor))
        return torch.sum(diff**2) / n_observed, tensor

    n_iter = max_iter
    for it in range(1, max_iter + 1):
        opt.zero_grad(set_to_none=True)
        loss, tensor = forward()
        if callback(it - 1, float(loss.detach()), lambda t=tensor: to_numpy(t)):
            n_iter = it - 1
            break
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = learning_rate / (1.0 + decay * (it - 1))
        opt.step()
    else:
        with torch.no_grad():
            loss, tensor = forward()
        callback(max_iter, float(loss), lambda t=tensor: to_numpy(t))
    trained_layers = [[to_numpy(A) for A in mode] for mode in params_layers]
    trained_core = None if params_core is None else to_numpy(params_core)
    return n_iter, trained_layers, trained_core
