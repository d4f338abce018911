"""Exact, vectorised simulation of driven point processes (DriPP's model)."""

from numbers import Integral, Real

import numpy as np
from scipy.stats import truncnorm
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._event_pairs import find_pairs
from ..utils._truncnorm import truncnorm_pdf
from ..utils._validation import MAX_SIMULATED_ENTRIES, check_array_arg


def _per_driver(value, n_drivers, name):
    arr = np.atleast_1d(check_array_arg(value, name))
    if arr.size == 1:
        arr = np.full(n_drivers, arr[0])
    if arr.shape != (n_drivers,):
        raise ValueError(
            f"{name} must be a float or one value per driver ({n_drivers}), got "
            f"{arr.size} values."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite.")
    return arr


def _thin(spontaneous, drivers, baseline, alpha, mean, std, lower, upper, rng):
    # keep each baseline event with probability max(0, b(t)) / mu, b the baseline
    # plus the inhibitory terms: the spontaneous part of the clipped intensity
    floor = np.full(spontaneous.size, float(baseline))
    for p, driver in enumerate(drivers):
        if alpha[p] >= 0:
            continue
        idx, delay = find_pairs(spontaneous, driver, lower, upper)
        terms = alpha[p] * truncnorm_pdf(delay, mean[p], std[p], lower, upper)
        np.add.at(floor, idx, terms)
    keep = rng.uniform(size=spontaneous.size) * baseline < floor
    return spontaneous[keep]


@validate_params(
    {
        "n_realisations": [Interval(Integral, 1, None, closed="left")],
        "end_time": [Interval(Real, 0, None, closed="neither")],
        "n_drivers": [Interval(Integral, 1, None, closed="left")],
        "baseline": [Interval(Real, 0, None, closed="left")],
        "alpha": [Real, "array-like"],
        "kernel_mean": [Real, "array-like"],
        "kernel_std": [Real, "array-like"],
        "lower": [Interval(Real, 0, None, closed="left")],
        "upper": [Interval(Real, 0, None, closed="neither")],
        "isi": ["array-like"],
        "kept_fraction": [Interval(Real, 0, 1, closed="right")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_driven_events(
    n_realisations=1,
    end_time=1000.0,
    n_drivers=2,
    baseline=0.8,
    alpha=0.8,
    kernel_mean=0.4,
    kernel_std=(0.2, 0.05),
    lower=0.03,
    upper=0.8,
    isi=(1.0, 1.4),
    kept_fraction=0.6,
    random_state=None,
):
    """Simulate a target process driven by stimuli, with its true parameters.

    Each driver is a stimulus train with inter-stimulus intervals drawn uniformly
    in ``isi``, of which a random ``kept_fraction`` of the events is kept. The
    target intensity is ``mu + sum_p alpha_p sum_j kappa_p(t - t_j^p)`` with
    truncated-Gaussian kernels on ``[lower, upper]`` (the model of
    :class:`~skdeep.point_process.DriPP`). The target events are drawn exactly
    through the cluster representation of the process: homogeneous Poisson
    baseline events, plus for each driver event a Poisson(``alpha_p``) number of
    events at independent truncated-Gaussian delays. No thinning loop is needed.

    A negative ``alpha_p`` makes driver ``p`` inhibitory (the model of
    ``DriPP(alpha_pos=False)``): the intensity is then

    .. math::

        \\lambda(t) = \\max(0, b(t)) + \\sum_{p: \\alpha_p > 0} \\alpha_p
        \\sum_j \\kappa_p(t - t_j^p), \\quad b(t) = \\mu + \\sum_{q: \\alpha_q < 0}
        \\alpha_q \\sum_j \\kappa_q(t - t_j^q):

    inhibition suppresses the spontaneous (baseline) events, which are thinned
    exactly, each kept with probability ``max(0, b(t)) / mu``, and leaves the
    events the excitatory drivers trigger. The setting must keep the intensity
    non-negative after an isolated stimulus, ``mu + sum_{alpha_p < 0} alpha_p
    max kappa_p >= 0``; where inhibitory supports overlap (``isi`` shorter than
    the support), ``b`` may still go below zero and is clipped there.

    Parameters
    ----------
    n_realisations : int, default=1
        Number of independent realisations.
    end_time : float, default=1000.0
        Duration of each realisation (events lie in ``[0, end_time]``).
    n_drivers : int, default=2
        Number of drivers ``P``.
    baseline : float, default=0.8
        Baseline intensity ``mu`` (>= 0).
    alpha : float or array-like of shape (n_drivers,), default=0.8
        Expected number of target events triggered by each driver event; a
        negative value is the expected number of events each driver event
        suppresses (an inhibitory driver).
    kernel_mean : float or array-like of shape (n_drivers,), default=0.4
        Means of the untruncated Gaussian kernels.
    kernel_std : float or array-like of shape (n_drivers,), default=(0.2, 0.05)
        Standard deviations of the kernels (> 0).
    lower, upper : float, default=0.03, 0.8
        Kernel support.
    isi : tuple of two floats, default=(1.0, 1.4)
        Range of the uniform inter-stimulus intervals of the drivers.
    kept_fraction : float, default=0.6
        Probability that each stimulus of a driver is kept.
    random_state : int, RandomState instance or None, default=None
        Seed of the simulation.

    Returns
    -------
    X : list of n_realisations lists
        Each ``[target, driver_1, ..., driver_P]`` of sorted event times, the
        input of :meth:`DriPP.fit <skdeep.point_process.DriPP.fit>`.
    params : dict
        The truth: ``baseline``, ``alpha``, ``kernel_mean``, ``kernel_std``,
        ``lower``, ``upper`` and ``end_time``.

    Raises
    ------
    ValueError
        When an argument is out of its range: a non-positive size or
        ``end_time``, a negative ``baseline``, ``NaN`` or infinite values,
        ``lower >= upper``, a non-positive ``kernel_std``, ``kept_fraction``
        outside ``(0, 1]``, an ``isi`` that is not ``0 < low <= high``,
        inhibitory drivers that make the intensity negative, or an expected
        number of events per realisation above 10**8.
    TypeError
        When an argument has the wrong type (e.g. a float ``n_drivers``).

    References
    ----------
    .. [1] C. Allain, A. Gramfort, T. Moreau. "DriPP: Driven Point Processes to
       Model Stimuli Induced Patterns in M/EEG Signals". ICLR 2022, Section 4.

    Examples
    --------
    >>> from skdeep.datasets import make_driven_events
    >>> X, params = make_driven_events(end_time=100, random_state=0)
    >>> target, driver_1, driver_2 = X[0]
    >>> params["alpha"]
    array([0.8, 0.8])
    """
    end_time = float(end_time)
    alpha, mean, std = _check_kernels(alpha, kernel_mean, kernel_std, n_drivers,
                                      baseline, lower, upper)
    isi_low, isi_high = _check_isi(isi)
    # the arrays drawn per realisation: baseline events and each driver's stimuli
    # with their children, checked before anything is allocated
    n_events = baseline * end_time + n_drivers * (end_time / isi_low + 1) * (
        1 + max(float(alpha.max()), 0.0)
    )
    if not n_events <= MAX_SIMULATED_ENTRIES:
        raise ValueError(
            f"end_time={end_time:g} with isi[0]={isi_low:g}, baseline={baseline:g} "
            f"and {n_drivers} drivers gives about {n_events:.3g} events per "
            f"realisation, more than the cap of {MAX_SIMULATED_ENTRIES:,}; reduce "
            "end_time or raise isi."
        )
    rng = check_random_state(random_state)
    kernels = (float(baseline), alpha, mean, std, lower, upper)
    X = [
        _realisation(rng, end_time, (isi_low, isi_high), kept_fraction, kernels)
        for _ in range(n_realisations)
    ]
    params = {
        "baseline": float(baseline),
        "alpha": alpha,
        "kernel_mean": mean,
        "kernel_std": std,
        "lower": float(lower),
        "upper": float(upper),
        "end_time": end_time,
    }
    return X, params


def _check_kernels(alpha, kernel_mean, kernel_std, n_drivers, baseline, lower,
                   upper):
    """The kernels' parameters, one per driver, and a non-negative intensity."""
    if not lower < upper:
        raise ValueError(
            "lower and upper must satisfy 0 <= lower < upper (a kernel support of "
            f"positive width), got lower={lower} and upper={upper}."
        )
    alpha = _per_driver(alpha, n_drivers, "alpha")
    mean = _per_driver(kernel_mean, n_drivers, "kernel_mean")
    std = _per_driver(kernel_std, n_drivers, "kernel_std")
    if np.any(std <= 0):
        raise ValueError(f"kernel_std must be positive, got {std.tolist()}.")
    if np.any(alpha < 0):
        peak = truncnorm.pdf(np.clip(mean, lower, upper), (lower - mean) / std,
                             (upper - mean) / std, loc=mean, scale=std)
        floor = baseline + np.sum(np.minimum(alpha, 0.0) * peak)
        if floor < 0:
            raise ValueError(
                "alpha: the inhibitory drivers make the intensity negative after a "
                f"stimulus (baseline + sum of alpha_p * max kappa_p = {floor:.3g} "
                "< 0); raise baseline or the negative alpha."
            )
    return alpha, mean, std


def _check_isi(isi):
    """``(low, high)``, the range of the inter-stimulus intervals."""
    isi_arr = check_array_arg(isi, "isi", ndim=1)
    if isi_arr.shape != (2,) or not 0 < isi_arr[0] <= isi_arr[1]:
        raise ValueError(
            "isi must be a range (low, high) of inter-stimulus intervals with "
            f"0 < low <= high, got {isi!r}."
        )
    return tuple(float(v) for v in isi_arr)


def _realisation(rng, end_time, isi, kept_fraction, kernels):
    """One realisation ``[target, driver_1, ..., driver_P]``: the drivers'
    stimuli, then the target by the cluster representation (thinned where a
    driver inhibits)."""
    baseline, alpha, mean, std, lower, upper = kernels
    n_stimuli = int(np.ceil(end_time / isi[0])) + 1
    a = (lower - mean) / std
    b = (upper - mean) / std
    drivers = []
    spontaneous = np.sort(rng.uniform(0, end_time,
                                      size=rng.poisson(baseline * end_time)))
    children = []
    for p in range(len(alpha)):
        times = np.cumsum(rng.uniform(isi[0], isi[1], size=n_stimuli))
        times = times[times <= end_time]
        times = times[rng.uniform(size=times.size) < kept_fraction]
        drivers.append(times)
        if alpha[p] <= 0:
            continue
        n_children = rng.poisson(alpha[p], size=times.size)
        delays = truncnorm.rvs(
            a[p], b[p], loc=mean[p], scale=std[p], size=int(n_children.sum()),
            random_state=rng,
        )
        children.append(np.repeat(times, n_children) + delays)
    if np.any(alpha < 0):
        spontaneous = _thin(spontaneous, drivers, baseline, alpha, mean, std,
                            lower, upper, rng)
    target = np.sort(np.concatenate([spontaneous, *children]))
    return [target[target <= end_time], *drivers]
