"""Multilinear algebra of the Tucker, CP and tensor-train models.

One factor matrix per mode, ``U_i`` of shape ``(n_i, c_i)``:

- Tucker: ``T = G x_1 U_1 ... x_d U_d`` with a core ``G`` of shape ``ranks``;
- CP: ``T = sum_r U_1[:, r] o ... o U_d[:, r]`` (``c_i = rank``);
- TT: the core of mode ``k`` has shape ``(r_{k-1}, n_k, r_k)``; its mode-2
  unfolding, of shape ``(n_k, r_{k-1} r_k)``, is the factor ``U_k``.

:func:`reconstruct` works on numpy arrays and on torch tensors alike, so the
numpy and torch backends of :class:`~skdeep.tensor.TensorCompleter` and the
simulator :func:`~skdeep.datasets.make_low_rank_tensor` share one definition.
:func:`reconstruct` and :func:`resolve_ranks` are public as
``skdeep.tensor.reconstruct`` and ``skdeep.tensor.resolve_ranks``.
"""

import math
import numbers

import numpy as np

MODELS = ("tucker", "tt", "cp")

# ``ranks="auto"``: no factor is wider than this (over-parametrised for the
# low-rank data the method targets, and a cost linear in every size).
AUTO_RANK = 32


def _is_torch(array):
    return type(array).__module__.split(".")[0] == "torch"


def _moveaxis(array, source, destination):
    if _is_torch(array):
        return array.movedim(source, destination)
    return np.moveaxis(array, source, destination)


def _permute(array, axes):
    return array.permute(*axes) if _is_torch(array) else array.transpose(axes)


def _einsum(*operands):
    if _is_torch(operands[0]):
        import torch

        return torch.einsum(*operands)
    return np.einsum(*operands, optimize=True)


def unfold(tensor, mode):
    """Mode-``mode`` unfolding, of shape ``(n_mode, prod of the other sizes)``."""
    return _moveaxis(tensor, mode, 0).reshape(tensor.shape[mode], -1)


def mode_dot(tensor, matrix, mode):
    """The mode-``mode`` product ``tensor x_mode matrix`` (``matrix`` is ``(m, n)``)."""
    if _is_torch(tensor):
        import torch

        product = torch.tensordot(matrix, tensor, dims=([1], [mode]))
    else:
        product = np.tensordot(matrix, tensor, axes=(1, mode))
    return _moveaxis(product, 0, mode)


def tt_cores(factors, tt_ranks):
    """TT cores ``(r_{k-1}, n_k, r_k)`` from the factors ``(n_k, r_{k-1} r_k)``."""
    return [
        _permute(U.reshape(U.shape[0], tt_ranks[k], tt_ranks[k + 1]), (1, 0, 2))
        for k, U in enumerate(factors)
    ]


def cp_operands(factors, skip=None):
    """``einsum`` operands of the CP model in sublist form (mode ``skip`` left out)."""
    order = len(factors)
    operands = []
    for i, U in enumerate(factors):
        if i != skip:
            operands += [U, [i, order]]
    return operands


def reconstruct(model, factors, core=None, tt_ranks=None):
    """The full tensor of a model from its factor matrices (and Tucker core).

    Parameters
    ----------
    model : {"tucker", "tt", "cp"}
        The factorization.
    factors : list of array
        One factor matrix per mode, ``(n_i, c_i)`` (numpy arrays or torch
        tensors).
    core : array or None, default=None
        The Tucker core of shape ``(c_1, ..., c_d)``; ignored otherwise.
    tt_ranks : tuple of int or None, default=None
        The TT ranks ``(1, r_1, ..., r_{d-1}, 1)`` for ``model="tt"``.

    Returns
    -------
    tensor : array of shape ``(n_1, ..., n_d)``
        Of the same kind (numpy or torch) as the factors.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor import reconstruct
    >>> factors = [np.ones((3, 1)), np.arange(4.0).reshape(4, 1)]
    >>> reconstruct("cp", factors).shape
    (3, 4)
    """
    order = len(factors)
    if model == "tucker":
        tensor = core
        for i, U in enumerate(factors):
            tensor = mode_dot(tensor, U, i)
        return tensor
    if model == "cp":
        return _einsum(*cp_operands(factors), list(range(order)))
    shape = tuple(U.shape[0] for U in factors)
    left = None
    for core_k in tt_cores(factors, tt_ranks):
        r0, n, r1 = core_k.shape
        flat = core_k.reshape(r0, n * r1)
        left = (flat if left is None else left @ flat).reshape(-1, r1)
    return left.reshape(shape)


def _full_ranks(shape, model):
    size = int(np.prod(shape))
    if model == "tucker":
        return tuple(shape)
    if model == "cp":
        return (max(shape),)
    # the largest TT ranks that can matter: min of the two unfolding sizes
    return tuple(
        int(min(np.prod(shape[: k + 1]), size // np.prod(shape[: k + 1])))
        for k in range(len(shape) - 1)
    )


def _auto_ranks(shape, model):
    full = _full_ranks(shape, model)
    if model != "tucker":
        return tuple(min(r, AUTO_RANK) for r in full)
    ranks = [min(n, AUTO_RANK) for n in shape]
    # a Tucker rank above the product of the others cannot be reached
    for i in range(len(ranks)):
        ranks[i] = min(ranks[i], int(np.prod(ranks[:i] + ranks[i + 1 :])))
    return tuple(ranks)


def _check_factor_sizes(ranks, shape, model):
    """Refuse ranks whose largest factor or core would not fit in memory."""
    from ._validation import check_tensor_size

    if model == "tucker":
        largest = max(math.prod(ranks), *(n * r for n, r in zip(shape, ranks)))
        what = f"the Tucker core and factors of ranks {ranks}"
    elif model == "cp":
        largest = max(shape) * ranks[0]
        what = f"the CP factors of rank {ranks[0]}"
    else:
        tt = (1, *ranks, 1)
        largest = max(tt[k] * n * tt[k + 1] for k, n in enumerate(shape))
        what = f"the TT cores of ranks {ranks}"
    check_tensor_size(8 * largest, what, "ranks")


def resolve_ranks(ranks, shape, model):
    """Check ``ranks`` for ``model`` on a tensor of ``shape`` and expand them.

    Parameters
    ----------
    ranks : "auto", "full", int or sequence of int
        Tucker ranks (one per mode), the CP rank, or the ``order - 1`` inner TT
        ranks; an int is used for every mode; ``"full"`` imposes no rank (the
        sizes for Tucker, the largest size for CP, the largest useful TT ranks);
        ``"auto"`` is ``"full"`` with every rank capped at ``AUTO_RANK`` (32).
    shape : tuple of int
        Shape of the tensor.
    model : {"tucker", "tt", "cp"}
        The factorization.

    Returns
    -------
    ranks : tuple of int
        One rank per mode (Tucker), the CP rank, or the inner TT ranks.
    widths : list of int
        Number of columns ``c_i`` of every mode's factor matrix.
    tt_ranks : tuple of int or None
        ``(1, r_1, ..., r_{d-1}, 1)`` for TT, ``None`` otherwise.

    Examples
    --------
    >>> from skdeep.tensor import resolve_ranks
    >>> resolve_ranks(2, (5, 4, 3), "tt")
    ((2, 2), [2, 4, 2], (1, 2, 2, 1))
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}.")
    order = len(shape)
    expected = {"tucker": order, "cp": 1, "tt": order - 1}[model]
    if isinstance(ranks, str):
        if ranks not in ("full", "auto"):
            raise ValueError(
                f"ranks must be 'auto', 'full', an int or a tuple, got {ranks!r}."
            )
        resolved = (
            _full_ranks(shape, model) if ranks == "full" else _auto_ranks(shape, model)
        )
    elif isinstance(ranks, numbers.Integral) and not isinstance(ranks, bool):
        resolved = (int(ranks),) * expected
    else:
        try:
            resolved = tuple(ranks)
        except TypeError as exc:
            raise TypeError(
                f"ranks must be 'auto', 'full', an int or a sequence of ints, "
                f"got {ranks!r}."
            ) from exc
        if not all(
            isinstance(r, numbers.Integral) and not isinstance(r, bool)
            for r in resolved
        ):
            raise TypeError(f"ranks must hold integers, got {ranks!r}.")
        if len(resolved) != expected:
            what = {
                "tucker": "one rank per mode",
                "cp": "a single rank",
                "tt": "order - 1 inner TT ranks",
            }[model]
            raise ValueError(
                f"ranks has {len(resolved)} entries but model={model!r} on a tensor of "
                f"order {order} needs {expected} entries ({what})."
            )
        resolved = tuple(int(r) for r in resolved)
    if any(r < 1 for r in resolved):
        raise ValueError(f"ranks must be positive, got {resolved}.")
    _check_factor_sizes(resolved, shape, model)
    if model == "tucker":
        return resolved, list(resolved), None
    if model == "cp":
        return resolved, [resolved[0]] * order, None
    tt_ranks = (1, *resolved, 1)
    return resolved, [tt_ranks[k] * tt_ranks[k + 1] for k in range(order)], tt_ranks
