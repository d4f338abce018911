"""L-BFGS on a flat vector, one iteration at a time, for both backends.

The L-BFGS phases of the schedule (see :mod:`._schedule`): the two-loop
recursion over the last ``memory`` curvature pairs, scaled by the newest
pair's ``s.y / y.y``, and a line search for the strong Wolfe conditions
(bracketing, then zooming by safeguarded cubic interpolation; Nocedal and
Wright, *Numerical Optimization*, algorithms 3.5 and 3.6). The numpy
backend runs it on numpy arrays, the torch backend on a tensor, wrapped as
a torch optimiser (``_torch_backend._lbfgs``): the backends take the same
steps. It replaced scipy's L-BFGS-B in numpy, whose bound-constrained step
(a generalised Cauchy point and a subspace minimisation, over every
parameter at every evaluation) took 40 % of a fit of digits as an imputer
for no bound at all: here the direction costs one two-loop per iteration,
and a trial point of the line search one vector update. In torch it
replaced :class:`torch.optim.LBFGS` (the same method, with other details of
its line search and of its end), so that the two backends take the same
steps.
"""

import math

import numpy as np
from scipy.linalg.blas import daxpy

# Number of curvature pairs kept.
LBFGS_MEMORY = 10
# Sufficient decrease and curvature constants of the strong Wolfe conditions.
ARMIJO = 1e-4
CURVATURE = 0.9
# Evaluations of one line search at most.
MAX_EVALUATIONS = 25
# A curvature pair is kept only when ``s.y`` is at least this share of
# ``|s| |y|``: a flatter pair would make the inverse Hessian ill-conditioned.
MIN_CURVATURE = 1e-10
# Extrapolation of the bracketing phase: the next trial step lies between
# these multiples of the last one.
EXTRAPOLATE = (1.1, 10.0)
# A zoom trial closer than this share of the interval to its ends is moved to
# its middle (the interpolation then makes no progress).
ZOOM_MARGIN = 0.1


class LBFGSMemory:
    """The last ``memory`` curvature pairs and the direction they give.

    The vectors are numpy arrays or torch tensors (on any device): only
    ``@``, unary ``-``, ``*=`` and :func:`_axpy` are used.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._lbfgs import LBFGSMemory
    >>> A = np.diag([1.0, 10.0])  # f(x) = x.A x / 2, gradient A x
    >>> lbfgs = LBFGSMemory(memory=5)
    >>> for s in np.eye(2):
    ...     _ = lbfgs.update(s, A @ s)
    >>> np.allclose(lbfgs.direction(np.array([1.0, 10.0])), [-1.0, -1.0])
    True
    """

    def __init__(self, memory=LBFGS_MEMORY):
        self.memory = memory
        self.pairs = []  # (s, y, 1 / s.y), the oldest first
        self.first = True  # no iteration taken yet

    def iterate(self, x, value, grad, evaluate):
        """One iteration from ``x``, whose ``value`` and ``grad`` are given.

        ``evaluate(point) -> (value, grad, extra)``. The direction from the
        pairs, a strong-Wolfe line search along it from a first step of
        unit length (as L-BFGS-B's), then of 1, and the new pair. Returns
        ``(point, value, grad, extra)`` of the point reached, or None when
        the line search finds no decrease (the working precision is
        reached).
        """
        direction = self.direction(grad)
        slope = float(grad @ direction)
        if not slope < 0:
            return None
        step = 1.0
        if self.first:
            step = 1.0 / max(math.sqrt(float(direction @ direction)), 1e-300)

        def along(step):
            point = x + step * direction
            trial_value, trial_grad, extra = evaluate(point)
            return (trial_value, float(trial_grad @ direction), trial_grad,
                    (point, extra))

        trial = strong_wolfe(along, value, slope, step)
        if trial.step == 0.0:
            return None
        point, extra = trial.payload
        self.update(point - x, trial.grad - grad)
        self.first = False
        return point, trial.value, trial.grad, extra

    def update(self, s, y):
        """Keep the pair ``(s, y)`` if its curvature is positive enough."""
        sy = float(s @ y)
        if not sy > MIN_CURVATURE * (float(s @ s) * float(y @ y)) ** 0.5:
            return False
        self.pairs.append((s, y, 1.0 / sy))
        if len(self.pairs) > self.memory:
            del self.pairs[0]
        return True

    def direction(self, grad):
        """``-H grad``, ``H`` the inverse Hessian the pairs estimate."""
        q = -grad  # a new array, updated in place
        alphas = []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * float(s @ q)
            _axpy(-alpha, y, q)
            alphas.append(alpha)
        if not self.pairs:
            return q
        s, y, rho = self.pairs[-1]
        q *= 1.0 / (rho * float(y @ y))  # s.y / y.y
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            _axpy(alpha - rho * float(y @ q), s, q)
        return q


def _axpy(a, x, y):
    """``y += a x`` in place, without a temporary (half the memory traffic).

    ``x`` and ``y`` are numpy arrays (by BLAS) or torch tensors.
    """
    if hasattr(y, "add_"):
        y.add_(x, alpha=a)
    elif y.dtype == np.float64 and x.dtype == np.float64 and y.flags.c_contiguous:
        daxpy(x, y, a=a)
    else:
        y += a * x
    return y


class _Trial:
    """A point of the line search: its step, value, slope and payload."""

    __slots__ = ("step", "value", "slope", "grad", "payload")

    def __init__(self, step, value, slope, grad=None, payload=None):
        self.step, self.value, self.slope = step, value, slope
        self.grad, self.payload = grad, payload


def _cubic_step(a, b, low, high):
    """Minimiser in ``[low, high]`` of the cubic through trials ``a`` and ``b``.

    The cubic matches both values and slopes; without a finite minimiser (or
    with a non-finite value) the middle of the interval.
    """
    values = (a.value, b.value, a.slope, b.slope)
    if not np.all(np.isfinite(values)) or a.step == b.step:
        return (low + high) / 2
    d1 = a.slope + b.slope - 3 * (a.value - b.value) / (a.step - b.step)
    discriminant = d1 * d1 - a.slope * b.slope
    if discriminant < 0:
        return (low + high) / 2
    d2 = np.copysign(np.sqrt(discriminant), b.step - a.step)
    denominator = b.slope - a.slope + 2 * d2
    if denominator == 0:
        return (low + high) / 2
    step = b.step - (b.step - a.step) * (b.slope + d2 - d1) / denominator
    return float(np.clip(step, low, high)) if np.isfinite(step) else (low + high) / 2


def strong_wolfe(evaluate, value, slope, step, max_evaluations=MAX_EVALUATIONS):
    """A step along a descent direction that satisfies the strong Wolfe conditions.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(step) -> (value, slope, grad, payload)`` at the point
        ``x + step * direction``; ``slope`` is the directional derivative.
    value, slope : float
        The value and the (negative) directional derivative at ``step = 0``.
    step : float
        The first trial step.
    max_evaluations : int
        The evaluations allowed.

    Returns
    -------
    trial : _Trial
        The step found, or the lowest point of sufficient decrease met when
        the evaluations run out; its ``step`` is 0 when there is none (no
        decrease is possible along the direction at the working precision).

    Examples
    --------
    >>> from skdeep.tensor._lbfgs import strong_wolfe
    >>> f = lambda t: ((t - 3.0) ** 2, 2 * (t - 3.0), None, None)  # along +1
    >>> strong_wolfe(f, 9.0, -6.0, step=1.0).step  # meets both conditions
    1.0
    >>> trial = strong_wolfe(f, 9.0, -6.0, step=10.0)  # too long: zoom
    >>> round(trial.step, 6), round(trial.value, 6)
    (3.0, 0.0)
    """
    start = _Trial(0.0, value, slope)
    best = start  # the lowest point of sufficient decrease
    previous, low, high = start, None, None
    for _ in range(max_evaluations):
        trial = _Trial(step, *evaluate(step))
        decrease = (np.isfinite(trial.value)
                    and trial.value <= value + ARMIJO * step * slope)
        if decrease and trial.value < best.value:
            best = trial
        if decrease and abs(trial.slope) <= -CURVATURE * slope:
            return trial
        if high is None:  # bracketing: is a step of the conditions in reach?
            rose = previous is not start and trial.value >= previous.value
            if not decrease or rose:
                low, high = previous, trial
            elif trial.slope >= 0:
                low, high = trial, previous
            else:  # still going down: extrapolate
                step = _cubic_step(previous, trial, EXTRAPOLATE[0] * step,
                                   EXTRAPOLATE[1] * step)
                previous = trial
                continue
        elif not decrease or trial.value >= low.value:
            high = trial
        else:
            if trial.slope * (high.step - low.step) >= 0:
                high = low
            low = trial
        # zoom: a trial between the ends, away from them
        lower, upper = sorted((low.step, high.step))
        if upper - lower <= np.finfo(float).eps * max(upper, 1e-300):
            break
        margin = ZOOM_MARGIN * (upper - lower)
        step = _cubic_step(low, high, lower, upper)
        if not lower + margin <= step <= upper - margin:
            step = (lower + upper) / 2
    return best
