"""Adam for numpy parameters updated in place (for the solvers without torch)."""

import numpy as np


class NumpyAdam:
    """Adam (Kingma and Ba, 2015) on a list of numpy arrays, updated in place.

    Parameters
    ----------
    params : list of ndarray
        The parameters; :meth:`step` writes into these arrays.
    learning_rate : float
        Step size (may be changed per step, e.g. by a schedule).
    betas : tuple of float, default=(0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default=1e-8
        Added to the denominator.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._adam import NumpyAdam
    >>> x = np.array([3.0])
    >>> adam = NumpyAdam([x], learning_rate=0.1)
    >>> for _ in range(200):
    ...     adam.step([2 * x])              # gradient of x ** 2
    >>> bool(abs(x[0]) < 0.1)
    True
    """

    def __init__(self, params, learning_rate, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.learning_rate = learning_rate
        self.betas = betas
        self.eps = eps
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]
        self.n_steps = 0

    def step(self, grads, learning_rate=None):
        """One update of every parameter from its gradient."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        self.n_steps += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1**self.n_steps, 1.0 - b2**self.n_steps
        for p, g, m, v in zip(self.params, grads, self.first, self.second):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
