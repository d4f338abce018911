"""The one iteration contract of skdeep's iterative estimators.

Every iterative estimator takes ``max_iter``, ``tol`` and ``verbose``, and exposes
``n_iter_`` and ``loss_curve_`` (the objective it minimises, one finite value per
iteration; the negative log-likelihood for EM). :class:`IterationMonitor` keeps
the curve, prints progress in one format and raises the
:class:`~sklearn.exceptions.ConvergenceWarning` that names ``max_iter``.
"""

import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._warnings import warn


def relative_decrease(previous, current):
    """``(previous - current) / max(|previous|, tiny)``: the usual stopping ratio."""
    return (previous - current) / max(abs(previous), np.finfo(np.float64).tiny)


class IterationMonitor:
    """Records one objective value per iteration, prints progress and warns.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted; its class name prefixes every message, and
        its ``max_iter``, ``tol`` and ``verbose`` are read when not given.
    max_iter, tol, verbose : optional
        Override the estimator's parameters (e.g. for a nested solver).
    print_every : int, default=1
        With ``verbose == 1``, print one line every ``print_every`` iterations
        (and the last one); ``verbose >= 2`` prints every iteration.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from skdeep.utils._iteration import IterationMonitor
    >>> monitor = IterationMonitor(KMeans(max_iter=3, tol=0.1, verbose=0))
    >>> for loss in [4.0, 2.0, 1.9]:
    ...     monitor.record(loss)
    >>> monitor.n_iter, round(monitor.relative_decrease(), 3)
    (3, 0.05)
    """

    def __init__(self, estimator, *, max_iter=None, tol=None, verbose=None,
                 print_every=1):
        self.name = type(estimator).__name__
        self.max_iter = estimator.max_iter if max_iter is None else max_iter
        self.tol = getattr(estimator, "tol", None) if tol is None else tol
        self.verbose = int(estimator.verbose if verbose is None else verbose)
        self.print_every = max(int(print_every), 1)
        self.losses = []
        self.terms = {}
        self._start = time.perf_counter()

    @property
    def n_iter(self):
        """Number of iterations recorded so far."""
        return len(self.losses)

    def record(self, loss, **terms):
        """Record the objective after one more iteration (and named extra terms)."""
        self.losses.append(float(loss))
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
