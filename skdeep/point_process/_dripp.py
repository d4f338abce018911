"""Driven point processes (DriPP) fitted by expectation-maximisation."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._event_pairs import find_pairs
from ..utils._iteration import ITERATION_CONSTRAINTS, IterationMonitor
from ..utils._truncnorm import truncnorm_cdf, truncnorm_pdf
from ._events import _as_times, _check_realisations, _Events
from ._inhibition import (
    NegativePart,
    inhibitory_m_step,
    split_terms,
    start_positive,
)
from ._kernels import (
    covered_intensity,
    em_update,
    kernel_log_norms,
    pair_exponents,
    pair_intensity,
)
from ._start import STD_FLOOR, initialise


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
        The fit stops when the log-likelihood per target event increases by at
        most ``tol`` over one iteration (the first iteration is measured from the
        initial parameters): skdeep's one stopping rule with the number of target
        events as the scale of the objective, which does not depend on the time
        unit.
    init : {"smart_start", "random"} or dict, default="smart_start"
        ``"smart_start"`` starts from the empirical delays (the paper's
        initialisation): the baseline from the target events outside every kernel
        support, ``alpha_p`` from the excess rate of events inside the supports of
        driver ``p`` times ``upper - lower`` (the paper's excess rate made a
        number of events per driver event), and ``m_p``, ``sigma_p`` from the mean
        and standard deviation of the delays. ``"random"`` draws them uniformly
        (the baseline relative to the mean rate of the target), using
        ``random_state``. A dict
        with keys ``"baseline"``, ``"alpha"``, ``"kernel_mean"`` and
        ``"kernel_std"`` (a float or one value per driver each; the dict
        :func:`~skdeep.datasets.make_driven_events` returns works) starts from
        these values, like dripp's ``init_params``.
    alpha_pos : bool, default=True
        Keep every ``alpha_p >= 0`` (excitatory drivers, the paper's EM). With
        ``False`` a driver may inhibit the target (``alpha_p < 0``): the
        inhibited baseline is clipped at zero, which keeps the model a valid point
        process for every parameter (see Notes), and every parameter takes a
        damped Newton step on the log-likelihood at each iteration.
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

    The fit runs on times divided by ``upper - lower`` and the floor of
    ``sigma_p`` is ``1e-5 (upper - lower)``: fitting times, ``lower``, ``upper``
    and ``end_time`` multiplied by ``c`` gives ``baseline_ / c``, the same
    ``alpha_`` (a number of events per driver event), ``kernel_mean_ * c``,
    ``kernel_std_ * c``, the same ``n_iter_`` and a log-likelihood lower by
    ``n_events log(c)``, for any finite ``c``.

    With ``alpha_pos=False`` the intensity is
    ``lambda(t) = max(0, b(t)) + sum_{alpha_p > 0} alpha_p sum_j kappa_p(t -
    t_j^p)`` with ``b(t) = mu + sum_{alpha_q < 0} alpha_q sum_j kappa_q(t -
    t_j^q)``: inhibition suppresses the spontaneous activity, down to zero where
    the supports of inhibitory events overlap, the model that
    :func:`~skdeep.datasets.make_driven_events` simulates. Where ``b >= 0`` it is
    the paper's linear intensity. The compensator adds ``int max(0, -b)``,
    integrated on a grid of step ``(upper - lower) / 48`` (exact where a bound
    shows ``b >= 0``); an inhibitory kernel's ``sigma_q`` is kept above two grid
    steps, so that the grid resolves it. The original dripp code only stops
    clipping ``alpha``; its multiplicative update cannot move a negative
    ``alpha`` towards the maximum (it keeps its sign and the fixed point repels
    it), hence the Newton step, which also lets an ``alpha`` change sign.

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

    def _unit(self):
        """The internal time unit, ``upper - lower``: every computation runs on
        times divided by it, so that the fit does not depend on the time unit of
        the data (and stays in floating-point range for any finite one)."""
        lower, upper = float(self.lower), float(self.upper)
        if lower >= upper:
            raise ValueError(
                f"lower must be smaller than upper, got lower={self.lower} and "
                f"upper={self.upper}."
            )
        unit = upper - lower
        if not (np.isfinite(unit) and unit > 0):
            raise ValueError(
                f"upper - lower must be a positive finite number, got "
                f"lower={self.lower} and upper={self.upper}."
            )
        return unit

    def _scaled_events(self, data, end_times):
        """``_Events`` of the realisations in the internal unit, the realisations
        with times in that unit (new arrays: the caller's are only read) and the
        unit."""
        unit = self._unit()
        with np.errstate(over="ignore"):
            scaled_end = end_times / unit
        if not np.all(np.isfinite(scaled_end)):
            raise ValueError(
                f"end_time / (upper - lower) overflows (end_time up to "
                f"{end_times.max():g}, upper - lower = {unit:g}): the kernel "
                "support is too narrow for the duration of the realisations."
            )
        events = _Events(data, end_times, float(self.lower), float(self.upper),
                         unit)
        scaled = [(target / unit, [d / unit for d in drivers])
                  for target, drivers in data]
        return events, scaled, unit

    def _em_iteration(self, events, params, work):
        """Log-likelihood of ``params`` and the next EM parameters.

        ``work`` holds the buffers reused by every iteration: one value per pair,
        the intensity and its log at each covered target.
        """
        baseline, alpha, mean, std = params
        lower, upper = events.lower, events.upper
        std_floor = STD_FLOOR * (upper - lower)
        value, lam, log_lam = work
        log_mass, log_norm = kernel_log_norms(mean, std, lower, upper)
        pair_exponents(events.driver_ptr, events.delay, mean, std, log_norm, value)
        # NumPy's SIMD exp and log are several times faster than numba's libm calls
        np.exp(value, out=value)
        covered_intensity(events.driver_ptr, events.slot, value, baseline, alpha, lam)
        clipped = 0.0
        if not self.alpha_pos and np.any(alpha < 0):
            # the clipped intensity max(0, b) + e (see _inhibition) and the
            # clipped part of its compensator
            b, e = split_terms(events.slot, value, events.pair_driver,
                               events.n_covered, baseline, alpha)
            np.add(np.maximum(b, 0.0), e, out=lam)
            clipped = events.negative_part(baseline, alpha, mean, std).sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(lam, out=log_lam)
        loglik, *nexts, _, _ = em_update(
            events.driver_ptr, events.slot, value, events.delay, lam, log_lam,
            events.n_targets - events.n_covered, events.n_full, events.partial,
            events.partial_driver, events.total_time, baseline, alpha, mean, std,
            log_mass, lower, upper, std_floor,
        )
        loglik -= clipped
        if self.alpha_pos:
            return (loglik, *nexts)
        # a driver may inhibit: every parameter takes the damped Newton step of
        # the floor (see _inhibition), which lets alpha change sign (the
        # paper's multiplicative update cannot). ``lam`` now holds 1 / lambda
        # and ``value`` the terms alpha_p kappa_p
        nexts = inhibitory_m_step(
            events, events.negative_part, params, nexts, np.arange(alpha.size),
            value, lam, std_floor,
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
        self._unit()
        data, end_times = _check_realisations(X, end_time)
        # the fit runs with times in units of upper - lower (see ``_unit``)
        events, data, unit = self._scaled_events(data, end_times)
        params = initialise(self, events, data, unit)
        params = (float(params[0]), *(np.asarray(v, float) for v in params[1:]))
        if not self.alpha_pos:
            events.negative_part = NegativePart(data, events)
            params = start_positive(events, params,
                                    events.negative_part.min_std)
        work = (np.empty(events.delay.size), np.empty(events.n_covered),
                np.empty(events.n_covered))
        # each pass returns the log-likelihood of ``params`` and the next EM
        # parameters: the value of iteration k is that of the parameters after k
        # updates, so the last recorded value is that of the fitted parameters
        loglik, *next_params = self._em_iteration(events, params, work)
        # tol is per target event (a unit-free scale); the stopping rule watches
        # the log-likelihood in the internal unit, which differs from the one in
        # the data's unit by the constant n_targets * log(unit)
        monitor = IterationMonitor(
            self, scale=max(events.n_targets, 1), initial=-loglik
        )
        shift = events.n_targets * np.log(unit)
        converged = False
        while monitor.n_iter < self.max_iter:
            params = tuple(next_params)
            loglik, *next_params = self._em_iteration(events, params, work)
            monitor.record(shift - loglik, monitored=-loglik)
            if monitor.converged():
                converged = True
                break
        monitor.finish(converged, hint="increase max_iter or tol")
        baseline, alpha, mean, std = params
        # back to the time unit of the data
        self.baseline_ = baseline / unit
        self.alpha_ = alpha
        self.kernel_mean_ = mean * unit
        self.kernel_std_ = std * unit
        self.n_drivers_ = events.n_drivers
        self.n_iter_ = monitor.n_iter
        self.loss_curve_ = monitor.loss_curve()
        return self

    def _events(self, X, end_time):
        """The events of ``X`` and the fitted parameters, in the internal unit."""
        check_is_fitted(self)
        data, end_times = _check_realisations(X, end_time, self.n_drivers_)
        events, scaled, unit = self._scaled_events(data, end_times)
        params = (self.baseline_ * unit, self.alpha_, self.kernel_mean_ / unit,
                  self.kernel_std_ / unit)
        if np.any(self.alpha_ < 0):
            events.negative_part = NegativePart(scaled, events)
        return events, params, unit

    def _compensator(self, events, params):
        """Expected number of target events in each realisation."""
        baseline, alpha, mean, std = params
        expected = baseline * events.end_times
        for p, rem in enumerate(events.remaining):
            if alpha[p] == 0:
                continue  # whatever its kernel (even one far off the support)
            k = truncnorm_cdf(rem, mean[p], std[p], events.lower, events.upper)
            expected = expected + alpha[p] * np.bincount(
                events.driver_owner[p], weights=k, minlength=events.end_times.size
            )
        if np.any(alpha < 0):
            # where the inhibited floor b is clipped at 0
            expected = expected + events.negative_part(*params)
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
        events, params, unit = self._events(X, end_time)
        _, log_norm = kernel_log_norms(params[2], params[3], events.lower,
                                       events.upper)
        baseline, alpha, mean, std = params
        lam = pair_intensity(
            events.target_idx, events.delay, events.pair_driver, events.n_targets,
            baseline, np.minimum(alpha, 0.0), mean, std, log_norm,
        )
        if np.any(alpha < 0):
            # the clipped intensity max(0, b) + e
            np.maximum(lam, 0.0, out=lam)
        lam += pair_intensity(
            events.target_idx, events.delay, events.pair_driver, events.n_targets,
            0.0, np.maximum(alpha, 0.0), mean, std, log_norm,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            # an event where an inhibited intensity is 0 has likelihood 0
            log_lam = np.log(np.maximum(lam, 0.0))
        per_realisation = np.bincount(
            events.target_owner, weights=log_lam, minlength=events.end_times.size
        )
        # back to the data's unit: lambda scales as 1 / unit at each event
        n_events = np.bincount(events.target_owner, minlength=events.end_times.size)
        return (per_realisation - n_events * np.log(unit)
                - self._compensator(events, params))

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
        events, params, _ = self._events(X, end_time)
        return self._compensator(events, params)

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
        # the floor b (baseline and inhibitions) clipped at 0, then excitations
        floor = np.full(t.size, float(self.baseline_))
        lam_sorted = np.zeros(t.size)
        for p, driver in enumerate(drivers):
            driver = _as_times(driver, f"drivers[{p}]")
            idx, delay = find_pairs(t_sorted, driver, self.lower, self.upper)
            values = self.alpha_[p] * truncnorm_pdf(
                delay, self.kernel_mean_[p], self.kernel_std_[p], self.lower,
                self.upper,
            )
            np.add.at(floor if self.alpha_[p] < 0 else lam_sorted, idx, values)
        lam_sorted += np.maximum(floor, 0.0)
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
