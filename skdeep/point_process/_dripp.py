"""Driven point processes (DriPP) fitted by expectation-maximisation."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._event_pairs import find_pairs
from ..utils._iteration import ITERATION_CONSTRAINTS, IterationMonitor
from ..utils._truncnorm import truncnorm_cdf, truncnorm_pdf
from ._events import _as_times, _check_realisations, _Events
from ._inhibition import inhibitory_m_step, project_feasible
from ._kernels import (
    covered_intensity,
    em_update,
    kernel_log_norms,
    pair_exponents,
    pair_intensity,
    union_measure,
)

# floor of the kernel standard deviation, as in the paper's projected M-step
_STD_FLOOR = 1e-5
# the narrowest kernel support that the floor leaves room for (a support a
# hundred floors wide)
_MIN_WIDTH = 100 * _STD_FLOOR


class DriPP(BaseEstimator):
    """Driven temporal point process with truncated-Gaussian kernels, fitted by EM.

    A target process (e.g. the activations of a brain pattern) is driven by ``P``
    exogenous processes (e.g. stimuli) through the intensity

    .. math::

        \\lambda(t) = \\mu + \\sum_{p=1}^P \\alpha_p \\sum_{t_j^p \\le t}
        \\kappa_p(t - t_j^p),

    where :math:`\\kappa_p` is a Gaussian of mean :math:`m_p` and standard
    deviation :math:`\\sigma_p` truncated to ``[lower, upper]`` and normalised to
    integrate to one there. Drivers are not self-excited. The parameters are
    shared by all realisations.

    The fit follows the EM algorithm of Allain et al. (2022): responsibilities of
    the baseline and of every driver event for every target event (E-step), then
    closed-form updates of :math:`\\mu` and :math:`\\alpha_p` and the
    truncation-aware fixed-point updates of :math:`m_p` and :math:`\\sigma_p`
    (M-step), from the paper's "smart start". Delays are exact: the (target,
    driver) pairs inside the support are found once, and each iteration is one
    compiled pass over them.

    Parameters
    ----------
    lower : float, default=0.03
        Start of the kernel support, in the time unit of the data (>= 0).
    upper : float, default=0.5
        End of the kernel support (> ``lower``).
    max_iter : int, default=1000
        Maximum number of EM iterations.
    tol : float, default=1e-8
        The fit stops when the log-likelihood per unit time increases by at most
        ``tol`` over one iteration (the first iteration is measured from the
        initial parameters): skdeep's one stopping rule with the total observed
        time as the scale of the objective.
    init : {"smart_start", "random"} or dict, default="smart_start"
        ``"smart_start"`` starts from the empirical delays (the paper's
        initialisation): the baseline from the target events outside every kernel
        support, ``alpha_p`` from the rate of events inside the supports of driver
        ``p``, and ``m_p``, ``sigma_p`` from the mean and standard deviation of the
        delays. ``"random"`` draws them uniformly, using ``random_state``. A dict
        with keys ``"baseline"``, ``"alpha"``, ``"kernel_mean"`` and
        ``"kernel_std"`` (a float or one value per driver each; the dict
        :func:`~skdeep.datasets.make_driven_events` returns works) starts from
        these values, like dripp's ``init_params``.
    alpha_pos : bool, default=True
        Keep every ``alpha_p >= 0`` (excitatory drivers, the paper's EM). With
        ``False`` a driver may inhibit the target (``alpha_p < 0``): the model
        stays a valid point process because the parameters are kept where the
        intensity is non-negative at all times (see Notes); drivers with
        ``alpha_p <= 0`` are merged into the baseline and updated by a damped
        Newton step of a generalised EM, the others by the paper's updates.
    random_state : int, RandomState instance or None, default=None
        Seed of ``init="random"``; unused by the deterministic smart start.
    verbose : int, default=0
        Print the negative log-likelihood after each iteration when positive.

    Attributes
    ----------
    baseline_ : float
        Estimated baseline intensity :math:`\\mu`.
    alpha_ : ndarray of shape (n_drivers,)
        Estimated excitation of each driver.
    kernel_mean_ : ndarray of shape (n_drivers,)
        Estimated kernel means :math:`m_p`.
    kernel_std_ : ndarray of shape (n_drivers,)
        Estimated kernel standard deviations :math:`\\sigma_p`.
    n_drivers_ : int
        Number of drivers seen during fit.
    n_iter_ : int
        Number of EM iterations run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Negative log-likelihood of the training data (summed over the
        realisations) of the parameters after each EM iteration; EM makes it
        non-increasing, and its last value is ``-score_samples(X).sum()`` for the
        fitted parameters.

    Notes
    -----
    The kernel's normaliser ``Z_p`` (its Gaussian mass on ``[lower, upper]``) and
    the truncation corrections of the M-step are computed in log space, so a
    kernel whose mean leaves the support (e.g. latencies piled up at ``lower``)
    keeps finite values instead of dividing by an underflowed mass.

    ``end_time`` is requested by ``fit``, ``score`` and ``predict`` by default
    under scikit-learn's metadata routing: after
    ``sklearn.set_config(enable_metadata_routing=True)``,
    ``GridSearchCV(DriPP(), ...).fit(X, end_time=end_times)`` scores each test
    fold on its own windows. Without routing, scikit-learn passes ``end_time``
    to ``fit`` only, and ``score`` falls back to the last event of each test
    realisation.

    With ``alpha_pos=False``, the intensity is kept non-negative by the
    constraint ``mu + sum_{alpha_q < 0} alpha_q c_q max kappa_q >= 0`` (``c_q``:
    the most events of driver ``q`` whose supports overlap), which bounds the
    intensity from below at every time. It is exact for one inhibitory driver
    with non-overlapping supports (the paper's stimulus trains) and conservative
    otherwise: inhibitions deeper than the bound allows are not reachable. The
    original dripp code only stops clipping ``alpha``; its multiplicative update
    cannot move a negative ``alpha`` towards the maximum (it keeps its sign and
    the fixed point repels it), hence the Newton step.

    See Also
    --------
    skdeep.datasets.make_driven_events : Simulate data from this model.
    skdeep.metrics.intensity_error : Relative sup-norm error of the kernels.
    skdeep.point_process.events_to_realisations : Read MNE-style events.

    References
    ----------
    .. [1] C. Allain, A. Gramfort, T. Moreau. "DriPP: Driven Point Processes to
       Model Stimuli Induced Patterns in M/EEG Signals". ICLR 2022. Section 2 for
       the intensity and its truncated-Gaussian kernels, Section 3 for the
       negative log-likelihood, the EM updates (derived in the appendix) and the
       smart start.

    Examples
    --------
    >>> from skdeep.datasets import make_driven_events
    >>> from skdeep.point_process import DriPP
    >>> X, truth = make_driven_events(end_time=500, random_state=0)
    >>> model = DriPP(lower=truth["lower"], upper=truth["upper"]).fit(
    ...     X, end_time=truth["end_time"])
    >>> model.alpha_.shape
    (2,)
    >>> model.loss_curve_.shape == (model.n_iter_,)
    True
    """

    _parameter_constraints = {
        **ITERATION_CONSTRAINTS,
        "lower": [Interval(numbers.Real, 0, None, closed="left")],
        "upper": [Interval(numbers.Real, 0, None, closed="neither")],
        "init": [StrOptions({"smart_start", "random"}), dict],
        "alpha_pos": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        lower=0.03,
        upper=0.5,
        max_iter=1000,
        tol=1e-8,
        init="smart_start",
        alpha_pos=True,
        random_state=None,
        verbose=0,
    ):
        self.lower = lower
        self.upper = upper
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.alpha_pos = alpha_pos
        self.random_state = random_state
        self.verbose = verbose

    # end_time is part of the data (each realisation's window): requested by
    # default, so that metadata routing hands each CV fold its own windows
    __metadata_request__fit = {"end_time": True}
    __metadata_request__score = {"end_time": True}
    __metadata_request__predict = {"end_time": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of realisations of event times, not a 2-D array
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        return tags

    def _check_support(self):
        if self.lower >= self.upper:
            raise ValueError(
                f"lower must be smaller than upper, got lower={self.lower} and "
                f"upper={self.upper}."
            )
        if self.upper - self.lower < _MIN_WIDTH:
            # the kernel's standard deviation is floored at _STD_FLOOR (in the
            # time unit of the data): a narrower support cannot be fitted
            raise ValueError(
                f"upper - lower must be at least {_MIN_WIDTH:g} (in the time unit "
                f"of the data), got lower={self.lower} and upper={self.upper}; "
                "express the event times, lower and upper in a larger time unit "
                "(e.g. milliseconds instead of seconds)."
            )

    def _initialise(self, events, data):
        lower, upper = float(self.lower), float(self.upper)
        n_drivers = events.n_drivers
        if isinstance(self.init, dict):
            return self._user_init(n_drivers)
        if self.init == "random":
            rng = check_random_state(self.random_state)
            baseline = rng.uniform(0.15, 1.0)
            alpha = rng.uniform(0.15, 1.0, size=n_drivers)
            mean = rng.uniform(lower, upper, size=n_drivers)
            std = rng.uniform(0.05, 1.0, size=n_drivers) * (upper - lower)
            return baseline, alpha, mean, std
        # smart start: events outside all supports give the baseline ...
        length = upper - lower
        covered = sum(
            union_measure(np.concatenate(drivers) + lower, length, end)
            for (_, drivers), end in zip(data, events.end_times)
        )
        n_inside = events.n_covered
        free_time = events.total_time - covered
        if free_time > 0:
            baseline = (events.n_targets - n_inside) / free_time
        else:
            baseline = events.n_targets / events.total_time
        # ... and the delays inside the supports of each driver give the rest
        alpha = np.zeros(n_drivers)
        mean = np.full(n_drivers, (lower + upper) / 2)
        std = np.full(n_drivers, 0.95 * length / 4)
        for p in range(n_drivers):
            delay = events.delay[events.driver_ptr[p]:events.driver_ptr[p + 1]]
            if delay.size == 0:
                continue
            support_p = sum(
                union_measure(drivers[p] + lower, length, end)
                for (_, drivers), end in zip(data, events.end_times)
            )
            alpha[p] = delay.size / support_p - baseline
            if self.alpha_pos:
                alpha[p] = max(alpha[p], 0.0)
            mean[p] = delay.mean()
            std[p] = max(delay.std(), _STD_FLOOR)
        return baseline, alpha, mean, std

    def _user_init(self, n_drivers):
        keys = ("baseline", "alpha", "kernel_mean", "kernel_std")
        missing = [key for key in keys if key not in self.init]
        if missing:
            raise ValueError(
                f"init must hold the keys {list(keys)}; missing {missing}."
            )
        baseline = self.init["baseline"]
        if not isinstance(baseline, numbers.Real) or not (
            np.isfinite(baseline) and baseline > 0
        ):
            raise ValueError(
                f"init['baseline'] must be a positive float, got {baseline!r}."
            )
        values = []
        for key in keys[1:]:
            try:
                arr = np.broadcast_to(
                    np.asarray(self.init[key], dtype=np.float64), (n_drivers,)
                ).copy()
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"init[{key!r}] must be a float or {n_drivers} floats (one per "
                    f"driver), got {self.init[key]!r}."
                ) from exc
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"init[{key!r}] must be finite.")
            values.append(arr)
        alpha, mean, std = values
        if np.any(std < _STD_FLOOR):
            raise ValueError(
                f"init['kernel_std'] must be at least {_STD_FLOOR:g} (the floor of "
                f"the kernel's standard deviation, in the time unit of the data), "
                f"got {std.tolist()}."
            )
        if self.alpha_pos and np.any(alpha < 0):
            raise ValueError(
                "init['alpha'] must be non-negative with alpha_pos=True."
            )
        return float(baseline), alpha, mean, std

    def _em_iteration(self, events, params, work):
        """Log-likelihood of ``params`` and the next EM parameters.

        ``work`` holds the buffers reused by every iteration: one value per pair,
        the intensity and its log at each covered target.
        """
        baseline, alpha, mean, std = params
        lower, upper = float(self.lower), float(self.upper)
        value, lam, log_lam = work
        log_mass, log_norm = kernel_log_norms(mean, std, lower, upper)
        pair_exponents(events.driver_ptr, events.delay, mean, std, log_norm, value)
        # NumPy's SIMD exp and log are several times faster than numba's libm calls
        np.exp(value, out=value)
        covered_intensity(events.driver_ptr, events.slot, value, baseline, alpha, lam)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(lam, out=log_lam)
        loglik, *nexts, _, n_eff = em_update(
            events.driver_ptr, events.slot, value, events.delay, lam, log_lam,
            events.n_targets - events.n_covered, events.n_full, events.partial,
            events.partial_driver, events.total_time, baseline, alpha, mean, std,
            log_mass, lower, upper, _STD_FLOOR,
        )
        if self.alpha_pos:
            return (loglik, *nexts)
        # the floor takes the inhibitory drivers and those whose excitation is
        # not significant (fewer triggered events than one Poisson standard
        # deviation): there alpha may change sign, which the paper's
        # multiplicative update cannot do. Any such split keeps the EM monotone.
        inhibitory = np.flatnonzero(alpha * n_eff <= np.sqrt(n_eff))
        if len(inhibitory):
            # ``lam`` now holds 1 / lambda and ``value`` the terms alpha_p kappa_p
            nexts = inhibitory_m_step(
                events, params, nexts, inhibitory, value, lam, lower, upper,
                _STD_FLOOR,
            )
        return (loglik, *nexts)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, end_time=None):
        """Fit the parameters by EM.

        Parameters
        ----------
        X : list of realisations
            Each realisation is a list ``[target, driver_1, ..., driver_P]`` of
            sorted 1-D arrays of event times (tick's convention).
        y : None
            Ignored.
        end_time : float or array-like of shape (n_realisations,), default=None
            Duration of each realisation (observed on ``[0, end_time]``); default:
            its last event. An array is split with ``X`` by ``GridSearchCV``.

        Returns
        -------
        self : DriPP
            The fitted estimator.
        """
        self._check_support()
        data, end_times = _check_realisations(X, end_time)
        events = _Events(data, end_times, float(self.lower), float(self.upper))
        params = self._initialise(events, data)
        params = (float(params[0]), *(np.asarray(v, float) for v in params[1:]))
        if not self.alpha_pos:
            params = (params[0], project_feasible(
                *params, events.max_overlap, float(self.lower), float(self.upper)
            ), *params[2:])
        work = (np.empty(events.delay.size), np.empty(events.n_covered),
                np.empty(events.n_covered))
        # each pass returns the log-likelihood of ``params`` and the next EM
        # parameters: the value of iteration k is that of the parameters after k
        # updates, so the last recorded value is that of the fitted parameters
        loglik, *next_params = self._em_iteration(events, params, work)
        # tol is per unit time: the stopping rule's scale is the observed time
        monitor = IterationMonitor(
            self, scale=events.total_time, initial=-loglik
        )
        converged = False
        while monitor.n_iter < self.max_iter:
            params = tuple(next_params)
            loglik, *next_params = self._em_iteration(events, params, work)
            monitor.record(-loglik)
            if monitor.converged():
                converged = True
                break
        monitor.finish(converged, hint="increase max_iter or tol")
        self.baseline_, self.alpha_, self.kernel_mean_, self.kernel_std_ = params
        self.n_drivers_ = events.n_drivers
        self.n_iter_ = monitor.n_iter
        self.loss_curve_ = monitor.loss_curve()
        return self

    def _params(self):
        return self.baseline_, self.alpha_, self.kernel_mean_, self.kernel_std_

    def _events(self, X, end_time):
        check_is_fitted(self)
        data, end_times = _check_realisations(X, end_time, self.n_drivers_)
        return _Events(data, end_times, float(self.lower), float(self.upper))

    def _compensator(self, events):
        """Expected number of target events in each realisation."""
        expected = self.baseline_ * events.end_times
        for p, rem in enumerate(events.remaining):
            k = truncnorm_cdf(
                rem, self.kernel_mean_[p], self.kernel_std_[p], self.lower,
                self.upper,
            )
            expected = expected + self.alpha_[p] * np.bincount(
                events.driver_owner[p], weights=k, minlength=events.end_times.size
            )
        return expected

    def score_samples(self, X, end_time=None):
        """Log-likelihood of each realisation.

        Parameters
        ----------
        X : list of realisations
            As in :meth:`fit`.
        end_time : float or array-like of shape (n_realisations,), default=None
            As in :meth:`fit`.

        Returns
        -------
        loglik : ndarray of shape (n_realisations,)
            ``sum_i log lambda(t_i) - int_0^T lambda(t) dt`` for each realisation.
        """
        events = self._events(X, end_time)
        _, log_norm = kernel_log_norms(
            self.kernel_mean_, self.kernel_std_, float(self.lower), float(self.upper)
        )
        lam = pair_intensity(
            events.target_idx, events.delay, events.pair_driver, events.n_targets,
            *self._params(), log_norm,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            # an event where an inhibited intensity is 0 has likelihood 0
            log_lam = np.log(np.maximum(lam, 0.0))
        per_realisation = np.bincount(
            events.target_owner, weights=log_lam, minlength=events.end_times.size
        )
        return per_realisation - self._compensator(events)

    def score(self, X, y=None, end_time=None):
        """Mean log-likelihood per unit time (higher is better).

        Parameters
        ----------
        X : list of realisations
            As in :meth:`fit`.
        y : None
            Ignored.
        end_time : float or array-like of shape (n_realisations,), default=None
            As in :meth:`fit`.

        Returns
        -------
        score : float
            Total log-likelihood divided by the total duration.
        """
        events_time = _check_realisations(X, end_time)[1].sum()
        return float(self.score_samples(X, end_time).sum() / events_time)

    def predict(self, X, end_time=None):
        """Expected number of target events in each realisation given its drivers.

        Parameters
        ----------
        X : list of realisations
            As in :meth:`fit`; the target events are not used.
        end_time : float or array-like of shape (n_realisations,), default=None
            As in :meth:`fit`.

        Returns
        -------
        n_events : ndarray of shape (n_realisations,)
            The compensator ``int_0^T lambda(t) dt`` of each realisation.
        """
        return self._compensator(self._events(X, end_time))

    def intensity(self, t, drivers):
        """Intensity of the target process at times ``t`` given driver events.

        Parameters
        ----------
        t : array-like of shape (n_times,)
            Times at which to evaluate the intensity (any order).
        drivers : list of n_drivers array-like
            Sorted event times of each driver.

        Returns
        -------
        intensity : ndarray of shape (n_times,)
            ``lambda(t)`` at each time.
        """
        check_is_fitted(self)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 1 or not np.all(np.isfinite(t)):
            raise ValueError("t must be a 1-D array of finite times.")
        drivers = list(drivers)
        if len(drivers) != self.n_drivers_:
            raise ValueError(
                f"drivers must hold {self.n_drivers_} arrays, got {len(drivers)}."
            )
        order = np.argsort(t, kind="stable")
        t_sorted = t[order]
        lam_sorted = np.full(t.size, float(self.baseline_))
        for p, driver in enumerate(drivers):
            driver = _as_times(driver, f"drivers[{p}]")
            idx, delay = find_pairs(t_sorted, driver, self.lower, self.upper)
            values = self.alpha_[p] * truncnorm_pdf(
                delay, self.kernel_mean_[p], self.kernel_std_[p], self.lower,
                self.upper,
            )
            np.add.at(lam_sorted, idx, values)
        lam = np.empty_like(lam_sorted)
        lam[order] = lam_sorted
        return lam

    def kernel(self, delays):
        """Estimated kernels ``kappa_p`` evaluated at ``delays``.

        Parameters
        ----------
        delays : array-like of shape (n_delays,)
            Delays after a driver event, in the time unit of the data.

        Returns
        -------
        kernels : ndarray of shape (n_drivers, n_delays)
            ``kappa_p(delay)`` of each driver, zero outside ``[lower, upper]``.
        """
        check_is_fitted(self)
        return np.stack(
            [
                truncnorm_pdf(delays, m, s, self.lower, self.upper)
                for m, s in zip(self.kernel_mean_, self.kernel_std_)
            ]
        )
