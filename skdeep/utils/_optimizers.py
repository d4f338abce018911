"""The one factory of the torch optimisers that the estimators offer.

Every torch estimator that lets the user pick its optimiser declares
``"optimizer": [StrOptions(set(OPTIMIZERS))]`` in its ``_parameter_constraints``
and builds it with :func:`make_optimizer`. Importing this module never imports
torch.
"""

import math
import numbers
from functools import partial

__all__ = ["DEFAULT_LEARNING_RATES", "OPTIMIZERS", "epoch_decay", "make_optimizer"]

# The accepted names, for ``_parameter_constraints`` (``StrOptions(set(OPTIMIZERS))``).
OPTIMIZERS = ("adam", "sgd", "inna")

# The step size ``learning_rate=None`` stands for: torch's default for Adam, the
# usual 0.01 for SGD with momentum and the authors' default for INNA.
DEFAULT_LEARNING_RATES = {"adam": 1e-3, "sgd": 1e-2, "inna": 0.1}

# Momentum of "sgd" unless ``options`` says otherwise.
SGD_MOMENTUM = 0.9

# The keyword arguments ``options`` may hold, per optimiser.
_OPTIONS = {
    "adam": ("betas", "eps", "weight_decay", "amsgrad"),
    "sgd": ("momentum", "dampening", "nesterov", "weight_decay"),
    "inna": ("alpha", "beta", "decay_power", "weight_decay"),
}


def check_hyper_parameter(name, value, prefix=""):
    """Refuse a hyper-parameter that is not a finite real >= 0, naming it.

    ``prefix`` goes before the name in the messages (e.g. ``"INNA's "``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{prefix}{name} must be a real number, got {type(value).__name__}."
        )
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{prefix}{name} must be a finite number >= 0, got {value!r}.")


def make_optimizer(name, params, learning_rate=None, options=None):
    """Build the torch optimiser ``name`` of ``params``.

    Parameters
    ----------
    name : {"adam", "sgd", "inna"}
        :class:`torch.optim.Adam`; :class:`torch.optim.SGD` with momentum
        (0.9 unless ``options`` gives another ``momentum``); or
        :class:`~skdeep.utils.INNA` (defaults ``alpha=0.5``, ``beta=0.1``,
        ``decay_power=0``).
    params : iterable of torch.Tensor or of dict
        The parameters, or parameter groups (dicts with a ``"params"`` key and
        their own hyper-parameters, e.g. a group ``"lr"``).
    learning_rate : float or None, default=None
        Step size of the groups that give none; ``None`` takes
        ``DEFAULT_LEARNING_RATES[name]`` (1e-3, 1e-2 and 0.1).
    options : dict or None, default=None
        Other keyword arguments of the optimiser: ``betas``, ``eps``,
        ``weight_decay``, ``amsgrad`` for ``"adam"``; ``momentum``,
        ``dampening``, ``nesterov``, ``weight_decay`` for ``"sgd"``;
        ``alpha``, ``beta``, ``decay_power``, ``weight_decay`` for ``"inna"``.

    Returns
    -------
    optimizer : torch.optim.Optimizer

    Raises
    ------
    ValueError
        If ``name`` is unknown, if ``options`` holds a key ``name`` does not
        take (the error names it), or if a value is out of range.
    TypeError
        If ``options`` is not a dict.

    Examples
    --------
    >>> import torch
    >>> from skdeep.utils._optimizers import make_optimizer
    >>> layer = torch.nn.Linear(3, 1)
    >>> optimizer = make_optimizer("inna", layer.parameters(), 0.05,
    ...                            options={"alpha": 0.5, "beta": 0.1})
    >>> type(optimizer).__name__, optimizer.param_groups[0]["lr"]
    ('INNA', 0.05)
    >>> make_optimizer("sgd", layer.parameters()).param_groups[0]["momentum"]
    0.9
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}.")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        raise TypeError(
            f"optimizer options must be a dict or None, got {type(options).__name__}."
        )
    unknown = sorted(set(options) - set(_OPTIONS[name]), key=str)
    if unknown:
        hint = (" (give the step size as learning_rate)"
                if "lr" in unknown or "learning_rate" in unknown else "")
        raise ValueError(
            f"optimizer={name!r} does not take the option(s) "
            f"{', '.join(repr(key) for key in unknown)}{hint}; its options are "
            f"{list(_OPTIONS[name])}."
        )
    lr = DEFAULT_LEARNING_RATES[name] if learning_rate is None else learning_rate
    if name == "inna":
        from ._inna import INNA

        return INNA(params, lr=lr, **options)

    from ._torch import import_torch

    torch = import_torch()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, **{"momentum": SGD_MOMENTUM, **options})
    return torch.optim.Adam(params, lr=lr, **options)


def _decay_factor(epoch, power):
    return (epoch + 1.0) ** -power


def epoch_decay(power=0.5):
    """A scheduler factory dividing the step by ``(epoch + 1) ** power``.

    The step-size decay of the INNA paper's experiments (``power=0.5``), for the
    ``scheduler`` of :class:`~skdeep.utils._training.TrainingStep`, which calls
    it on the optimiser and steps the scheduler once per epoch.

    Parameters
    ----------
    power : float, default=0.5
        Decay power (>= 0; 0 keeps the step constant).

    Returns
    -------
    factory : callable
        ``factory(optimizer)`` returns a
        :class:`torch.optim.lr_scheduler.LambdaLR`. It pickles.

    Examples
    --------
    >>> import torch
    >>> from skdeep.utils._optimizers import epoch_decay, make_optimizer
    >>> optimizer = make_optimizer("inna", [torch.zeros(1, requires_grad=True)], 0.1)
    >>> scheduler = epoch_decay(0.5)(optimizer)
    >>> for _ in range(3):
    ...     optimizer.step()
    ...     scheduler.step()
    >>> round(optimizer.param_groups[0]["lr"], 6)    # 0.1 / sqrt(4)
    0.05
    """
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not (
        power >= 0 and power != float("inf")
    ):
        raise ValueError(f"power must be a finite number >= 0, got {power!r}.")
    return partial(_lambda_lr, power=float(power))


def _lambda_lr(optimizer, power):
    from ._torch import import_torch

    torch = import_torch()
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(_decay_factor, power=power)
    )
