"""The one iteration contract of skdeep's iterative estimators, and its stopping rule.

Every iterative estimator takes ``max_iter``, ``tol`` and ``verbose``, and exposes
``n_iter_`` and ``loss_curve_`` (the objective it minimises, one finite value per
iteration; the negative log-likelihood for EM). :class:`IterationMonitor` keeps
the curve, prints progress in one format, decides convergence and raises the
:class:`~sklearn.exceptions.ConvergenceWarning` that names ``max_iter``.

The stopping rule (the one meaning of ``tol``)
---------------------------------------------
A fit has converged when the monitored objective (the training objective, or the
validation loss of a fit that holds some data out) has decreased by at most
``tol * scale`` over the last ``n_iter_no_change`` iterations::

    min(values[:-n_iter_no_change]) - min(values[-n_iter_no_change:]) <= tol * scale

``n_iter_no_change`` is the estimator's parameter of that name where it has one
(the torch estimators, whose stochastic objective needs patience) and 1 for the
deterministic solvers (EM, alternating minimisation). ``scale`` is fixed once per
fit so that ``tol`` does not depend on the units of the data: by default the
absolute value of the first monitored value (``tol`` is then a decrease relative
to where the fit started); an estimator whose objective can cross zero passes a
scale of the data instead and says so in its ``tol`` entry (the number of
samples for a mean log-likelihood, the observation time for a point process).
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._warnings import warn

_TINY = np.finfo(np.float64).tiny

#: The constraints of the iteration contract's parameters, merged into the
#: ``_parameter_constraints`` of every iterative estimator (declared once here).
ITERATION_CONSTRAINTS = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
}


def relative_decrease(previous, current):
    """``(previous - current) / max(|previous|, tiny)``: the usual stopping ratio."""
    return (previous - current) / max(abs(previous), _TINY)


def has_converged(values, tol, scale=None, n_iter_no_change=1):
    """The stopping rule on a sequence of monitored values (see the module doc).

    Parameters
    ----------
    values : sequence of float
        The monitored objective, one value per iteration so far.
    tol : float or None
        Tolerance; ``None`` never converges.
    scale : float or None, default=None
        Scale of the objective; ``None`` takes ``|values[0]|``.
    n_iter_no_change : int, default=1
        Length of the window over which the decrease is measured.

    Returns
    -------
    converged : bool

    Examples
    --------
    >>> from skdeep.utils._iteration import has_converged
    >>> has_converged([10.0, 5.0, 4.99], tol=1e-2)  # 0.01 <= 1e-2 * 10
    True
    >>> has_converged([10.0, 5.0, 4.9, 4.85], tol=1e-2, n_iter_no_change=2)
    False
    """
    window = int(n_iter_no_change)
    n = len(values)
    if tol is None or n <= window:
        return False
    if scale is None:
        scale = abs(values[0])
    if isinstance(values, Curve):  # the running minimum: O(window), not O(n)
        before = values.minima[n - window - 1]
    else:
        before = min(values[:-window])
    decrease = before - min(values[n - window:])
    return bool(decrease <= tol * max(float(scale), _TINY))


class Curve(list):
    """A growing list of monitored values with their running minima.

    The stopping rule compares the minimum before the window with the one in
    it; kept up to date by :meth:`append`, the first costs nothing, and a rule
    asked after every iteration costs ``O(n_iter_no_change)`` instead of
    ``O(n_iter)`` (quadratic over a fit of thousands of iterations). Only
    ``append`` keeps the minima: grow it by nothing else.

    Examples
    --------
    >>> from skdeep.utils._iteration import Curve, has_converged
    >>> curve = Curve([10.0, 5.0])
    >>> curve.append(4.99)
    >>> curve.minima, has_converged(curve, tol=1e-2)
    ([10.0, 5.0, 4.99], True)
    """

    def __init__(self, values=()):
        super().__init__()
        self.minima = []
        for value in values:
            self.append(value)

    def append(self, value):
        value = float(value)
        super().append(value)
        self.minima.append(min(self.minima[-1], value) if self.minima else value)


class IterationMonitor:
    """Records one objective value per iteration, prints progress, stops, warns.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted; its class name prefixes every message, and
        its ``max_iter``, ``tol``, ``verbose`` and ``n_iter_no_change`` (1 when it
        has none) are read when not given.
    max_iter, tol, verbose, n_iter_no_change : optional
        Override the estimator's parameters (e.g. for a nested solver).
    scale : float or None, default=None
        Scale of the objective in the stopping rule (see the module doc);
        ``None`` takes the absolute first monitored value.
    initial : float or None, default=None
        The objective before the first iteration (e.g. at an EM's starting
        parameters), when the solver knows it: the first iteration's decrease
        is then measured from it. It is not part of the loss curve.
    print_every : int, default=1
        With ``verbose == 1``, print one line every ``print_every`` iterations
        (and the last one); ``verbose >= 2`` prints every iteration.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from skdeep.utils._iteration import IterationMonitor
    >>> monitor = IterationMonitor(KMeans(max_iter=5, tol=0.1, verbose=0))
    >>> for loss in [4.0, 2.0, 1.9]:
    ...     monitor.record(loss)
    ...     if monitor.converged():
    ...         break
    >>> monitor.n_iter  # 2.0 - 1.9 <= 0.1 * 4.0
    3
    """

    def __init__(self, estimator, *, max_iter=None, tol=None, verbose=None,
                 n_iter_no_change=None, scale=None, initial=None, print_every=1):
        self.name = type(estimator).__name__
        self.max_iter = estimator.max_iter if max_iter is None else max_iter
        self.tol = getattr(estimator, "tol", None) if tol is None else tol
        self.verbose = int(estimator.verbose if verbose is None else verbose)
        if n_iter_no_change is None:
            n_iter_no_change = getattr(estimator, "n_iter_no_change", None) or 1
        self.n_iter_no_change = int(n_iter_no_change)
        self.scale = scale
        self.print_every = max(int(print_every), 1)
        self.losses = []
        self.monitored = Curve([] if initial is None else [initial])
        self.terms = {}
        self._start = time.perf_counter()

    @property
    def n_iter(self):
        """Number of iterations recorded so far."""
        return len(self.losses)

    def record(self, loss, *, monitored=None, **terms):
        """Record the objective after one more iteration (and named extra terms).

        ``monitored`` is the value the stopping rule watches when it is not the
        objective itself (the validation loss of an early-stopped fit).
        """
        self.losses.append(float(loss))
        self.monitored.append(float(loss if monitored is None else monitored))
        for key, value in terms.items():
            self.terms.setdefault(key, []).append(float(value))
        if self.verbose and (
            self.verbose >= 2
            or self.n_iter % self.print_every == 0
            or self.n_iter == self.max_iter
        ):
            self.print_line(self.n_iter, loss, **terms)

    def print_line(self, iteration, loss, **terms):
        """Print one progress line in the shared format."""
        extra = "".join(f"  {key} {value:.6e}" for key, value in terms.items())
        print(
            f"[{self.name}] iteration {iteration:5d}  loss {loss:.6e}{extra}  "
            f"({time.perf_counter() - self._start:.2f} s)",
            flush=True,
        )

    def converged(self):
        """Whether the stopping rule (see the module doc) holds now."""
        return has_converged(
            self.monitored, self.tol, self.scale, self.n_iter_no_change
        )

    def relative_decrease(self):
        """Relative decrease of the objective over the last iteration (inf at first)."""
        if len(self.losses) < 2:
            return np.inf
        return relative_decrease(self.losses[-2], self.losses[-1])

    def loss_curve(self):
        """The recorded objective as a float64 array of length ``n_iter``."""
        return np.asarray(self.losses, dtype=np.float64)

    def term_curves(self):
        """The recorded extra terms, each as an array of length ``n_iter``."""
        return {key: np.asarray(values) for key, values in self.terms.items()}

    def finish(self, converged, hint="increase max_iter"):
        """Print the summary and warn when the fit stopped at ``max_iter``.

        Parameters
        ----------
        converged : bool
            Whether the stopping criterion was met before ``max_iter``.
        hint : str
            What the user can do; appended to the warning.
        """
        if self.verbose:
            state = "converged" if converged else "stopped at max_iter"
            print(
                f"[{self.name}] {state} after {self.n_iter} iterations "
                f"({time.perf_counter() - self._start:.2f} s)",
                flush=True,
            )
        if not converged:
            tol = "" if self.tol is None else f" (tol={self.tol})"
            warn(
                f"{self.name} did not converge: it stopped at "
                f"max_iter={self.max_iter} iterations{tol}; {hint}.",
                ConvergenceWarning,
            )
