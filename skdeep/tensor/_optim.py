"""The momentum optimisers of the numpy backend, and their options.

The same updates as :class:`skdeep.utils.INNA` and :class:`torch.optim.SGD` with
momentum, on numpy arrays updated in place, so that ``optimizer="inna"`` and
``"sgd"`` run on both backends of :class:`~skdeep.tensor.TensorCompleter` with
the same iterates (up to rounding). Nothing here imports torch.
"""


import numpy as np

from ..utils._optimizers import SGD_MOMENTUM, check_hyper_parameter

# The options ``optimizer_params`` may give, per optimiser, and their defaults
# (those of skdeep.utils.INNA and of make_optimizer's "sgd").
DEFAULT_OPTIONS = {
    "inna": {"alpha": 0.5, "beta": 0.1, "decay_power": 0.0, "weight_decay": 0.0},
    "sgd": {"momentum": SGD_MOMENTUM},
}


def optimizer_options(kind, options):
    """The options of optimiser ``kind``: its defaults updated by ``options``.

    Raises a ValueError naming a key ``kind`` does not take (any key for an
    optimiser without options) or a value that is not a finite real >= 0 (a
    TypeError for a value that is not a real number).

    Examples
    --------
    >>> from skdeep.tensor._optim import optimizer_options
    >>> optimizer_options("inna", {"beta": 0.3})
    {'alpha': 0.5, 'beta': 0.3, 'decay_power': 0.0, 'weight_decay': 0.0}
    >>> optimizer_options("adam", None)
    {}
    """
    options = {} if options is None else options
    known = DEFAULT_OPTIONS.get(kind, {})
    unknown = sorted(set(options) - set(known), key=str)
    if unknown:
        takes = (f"its options are {list(known)}" if known else
                 "only 'inna' and 'sgd' take options")
        raise ValueError(
            f"optimizer={kind!r} does not take the option(s) "
            f"{', '.join(repr(key) for key in unknown)} of optimizer_params; "
            f"{takes}."
        )
    for key, value in options.items():
        check_hyper_parameter(f"optimizer_params[{key!r}]", value)
    return {**known, **{key: float(value) for key, value in options.items()}}


class NumpyINNA:
    """INNA (:class:`skdeep.utils.INNA`) on numpy arrays updated in place.

    With ``g_k`` the gradient at ``theta_k`` (plus ``weight_decay * theta_k``)
    and ``gamma_k = learning_rate / (k + 1) ** decay_power``:
    ``theta_{k+1} = theta_k + gamma_k (w_k - alpha theta_k - beta g_k)``,
    ``w_{k+1} = w_k - gamma_k g_k``, from ``w_0 = alpha theta_0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._optim import NumpyINNA
    >>> x = np.array([3.0])
    >>> inna = NumpyINNA([x], alpha=0.5, beta=0.1)
    >>> for _ in range(300):
    ...     inna.step([2 * (x - 1.0)], learning_rate=0.1)
    >>> bool(abs(x[0] - 1.0) < 1e-3)
    True
    """

    def __init__(self, params, alpha=0.5, beta=0.1, decay_power=0.0,
                 weight_decay=0.0):
        self.params = params
        self.alpha, self.beta = alpha, beta
        self.decay_power, self.weight_decay = decay_power, weight_decay
        self.w = None
        self.n_steps = 0

    def step(self, grads, learning_rate):
        """One INNA step of every parameter with its gradient in ``grads``."""
        if self.w is None:
            self.w = [self.alpha * p for p in self.params]
        gamma = learning_rate / (self.n_steps + 1) ** self.decay_power
        for p, g, w in zip(self.params, grads, self.w):
            if self.weight_decay:
                g = g + self.weight_decay * p
            # theta <- theta + gamma (w - alpha theta - beta g), from the old w
            p += gamma * (w - self.alpha * p - self.beta * g)
            w -= gamma * g
        self.n_steps += 1


class NumpyMomentum:
    """SGD with momentum as :class:`torch.optim.SGD` (no dampening, not Nesterov).

    ``b_0 = g_0``, ``b_k = momentum * b_{k-1} + g_k``, ``theta -= lr * b_k``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._optim import NumpyMomentum
    >>> x = np.array([3.0])
    >>> sgd = NumpyMomentum([x], momentum=0.9)
    >>> for _ in range(300):
    ...     sgd.step([2 * (x - 1.0)], learning_rate=0.01)
    >>> bool(abs(x[0] - 1.0) < 1e-3)
    True
    """

    def __init__(self, params, momentum=SGD_MOMENTUM):
        self.params = params
        self.momentum = momentum
        self.buffers = None

    def step(self, grads, learning_rate):
        """One step of every parameter with its gradient in ``grads``."""
        if self.buffers is None:
            self.buffers = [np.array(g, dtype=np.float64) for g in grads]
        else:
            for b, g in zip(self.buffers, grads):
                b *= self.momentum
                b += g
        for p, b in zip(self.params, self.buffers):
            p -= learning_rate * b
