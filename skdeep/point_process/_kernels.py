"""Truncated-Gaussian kernel and the numba sums of one DriPP EM iteration.

Delays between target and driver events are exact (continuous): the pairs whose
delay falls in the kernel support ``[lower, upper]`` are found once by a linear
merge (:func:`find_pairs`), and every EM iteration is
:func:`pair_exponents`, NumPy's ``exp``, :func:`covered_intensity`, NumPy's
``log`` and :func:`em_update` (E-step sums, compensator and M-step).
"""

import math

import numpy as np
from numba import njit
from scipy.special import ndtr

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def truncnorm_mass(mean, std, lower, upper):
    """Gaussian mass of ``[lower, upper]``: the normalising constant of the kernel."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    return ndtr((upper - mean) / std) - ndtr((lower - mean) / std)


def truncnorm_pdf(x, mean, std, lower, upper):
    """Density of a Gaussian truncated to ``[lower, upper]``, zero outside.

    Parameters
    ----------
    x : array-like
        Delays at which to evaluate the kernel.
    mean, std : float
        Mean and standard deviation of the untruncated Gaussian.
    lower, upper : float
        Support of the kernel.

    Returns
    -------
    pdf : ndarray of the shape of ``x``
    """
    x = np.asarray(x, dtype=np.float64)
    z = (x - mean) / std
    norm = std * _SQRT_2PI * truncnorm_mass(mean, std, lower, upper)
    out = np.exp(-0.5 * z * z) / norm
    return np.where((x >= lower) & (x <= upper), out, 0.0)


def truncnorm_cdf(x, mean, std, lower, upper):
    """Cumulative distribution function of the truncated Gaussian kernel."""
    x = np.clip(np.asarray(x, dtype=np.float64), lower, upper)
    low = ndtr((lower - mean) / std)
    return (ndtr((x - mean) / std) - low) / truncnorm_mass(mean, std, lower, upper)


def find_pairs(target, driver, lower, upper):
    """Target/driver pairs whose delay ``target - driver`` is in ``[lower, upper]``.

    Both arrays are sorted, so the targets following driver event ``j`` within the
    support form a contiguous block ``[start_j, stop_j)`` (the bounds
    ``searchsorted`` would give, ``side="left"`` for ``lower`` and ``"right"`` for
    ``upper``); both bounds only move forward, so one linear merge finds them all.

    Returns
    -------
    target_idx : ndarray of int64
        Index of the target event of each pair, in (driver event, target) order.
    delay : ndarray of float64
        Its delay.
    """
    return _merge_pairs(
        np.ascontiguousarray(target, dtype=np.float64),
        np.ascontiguousarray(driver, dtype=np.float64), float(lower), float(upper),
    )


@njit(cache=True, nogil=True)
def _merge_pairs(target, driver, lower, upper):
    # first pass: the block bounds of each driver event; second: fill the pairs
    start = np.empty(driver.size, dtype=np.int64)
    stop = np.empty(driver.size, dtype=np.int64)
    i = 0
    j = 0
    n_pairs = 0
    for k in range(driver.size):
        lo = driver[k] + lower
        hi = driver[k] + upper
        while i < target.size and target[i] < lo:
            i += 1
        while j < target.size and target[j] <= hi:
            j += 1
        start[k] = i
        stop[k] = max(i, j)
        n_pairs += stop[k] - i
    target_idx = np.empty(n_pairs, dtype=np.int64)
    delay = np.empty(n_pairs)
    n = 0
    for k in range(driver.size):
        for t in range(start[k], stop[k]):
            target_idx[n] = t
            delay[n] = target[t] - driver[k]
            n += 1
    return target_idx, delay


@njit(cache=True, nogil=True)
def pair_intensity(target_idx, delay, driver, n_targets, baseline, alpha, mean, std,
                   norm):
    """Intensity at each target event: ``mu + sum of alpha_p kappa_p(delay)``.

    ``norm[p]`` is ``1 / (std_p sqrt(2 pi) Z_p)`` with ``Z_p`` the truncated mass.
    """
    lam = np.full(n_targets, baseline)
    for k in range(delay.size):
        p = driver[k]
        z = (delay[k] - mean[p]) / std[p]
        lam[target_idx[k]] += alpha[p] * norm[p] * math.exp(-0.5 * z * z)
    return lam


# fast-math without the no-NaN/no-inf assumptions: log(0) = -inf must stay valid
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def union_measure(starts, length, end_time):
    """Lebesgue measure of the union of ``[s, s + length]`` clipped to ``[0, T]``."""
    if starts.size == 0:
        return 0.0
    # stable sort (timsort for floats) is linear on a few concatenated sorted runs
    starts = np.sort(starts, kind="stable")
    s = np.clip(starts, 0.0, end_time)
    e = np.clip(starts + length, 0.0, end_time)
    # intervals sorted by start: each adds what lies past the furthest end so far
    reach = np.concatenate(([-np.inf], np.maximum.accumulate(e)[:-1]))
    return float(np.clip(e - np.maximum(s, reach), 0.0, None).sum())


@njit(cache=True, nogil=True)
def _ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# The fitted EM loop is split in three compiled passes around NumPy's ``exp`` and
# ``log``: NumPy evaluates them with SIMD loops several times faster than the scalar
# libm calls a numba loop makes, and those calls were most of an iteration.


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def pair_exponents(driver_ptr, delay, alpha, mean, std, lower, upper, out):
    """Write ``-(delay - m_p)^2 / (2 sigma_p^2)`` of each pair into ``out``.

    Pairs are grouped by driver, driver ``p`` owning ``driver_ptr[p]:driver_ptr[p
    + 1]``, so each block is a plain (vectorised) loop with scalar parameters.
    Returns the truncated mass ``Z_p`` and the factor ``alpha_p / (sigma_p sqrt(2
    pi) Z_p)`` of each driver: a pair's kernel term is ``coef[p] * exp(out[k])``.
    """
    n_drivers = alpha.size
    mass = np.empty(n_drivers)
    coef = np.empty(n_drivers)
    for p in range(n_drivers):
        mass[p] = _ndtr((upper - mean[p]) / std[p]) - _ndtr((lower - mean[p]) / std[p])
        coef[p] = alpha[p] / (std[p] * _SQRT_2PI * mass[p])
        scale = -0.5 / (std[p] * std[p])
        m = mean[p]
        # loop over slices from 0: with ``k`` provably >= 0 numba drops its
        # negative-index wraparound and LLVM vectorises (~7x faster)
        block = delay[driver_ptr[p]:driver_ptr[p + 1]]
        dst = out[driver_ptr[p]:driver_ptr[p + 1]]
        for k in range(block.size):
            d = block[k] - m
            dst[k] = scale * d * d
    return mass, coef


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def covered_intensity(driver_ptr, slot, value, baseline, coef, lam):
    """Intensity at the targets that have pairs (``slot`` numbers them).

    ``value`` holds ``exp`` of the exponents and is scaled in place into the
    kernel terms ``alpha_p kappa_p(delay)``.
    """
    lam[:] = baseline
    for p in range(coef.size):
        c = coef[p]
        block = value[driver_ptr[p]:driver_ptr[p + 1]]
        to = slot[driver_ptr[p]:driver_ptr[p + 1]]
        for k in range(block.size):
            v = c * block[k]
            block[k] = v
            lam[to[k]] += v


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _covered_sums(driver_ptr, slot, value, delay, lam, log_lam, mean):
    # E-step sums over the covered targets only (the others have lambda = mu);
    # ``lam`` is overwritten by its inverse, the per-driver loops then multiply.
    # error_model="numpy": no zero check on 1 / lam, so that loop vectorises
    sum_log_lam = 0.0
    inv_sum = 0.0
    for i in range(lam.size):
        sum_log_lam += log_lam[i]
        lam[i] = 1.0 / lam[i]
        inv_sum += lam[i]
    n_drivers = mean.size
    resp = np.zeros(n_drivers)
    resp_delay = np.zeros(n_drivers)
    resp_sq = np.zeros(n_drivers)
    for p in range(n_drivers):
        # scalar accumulators: no store-to-load chain through resp[p]
        m = mean[p]
        r_sum = 0.0
        rd_sum = 0.0
        rsq_sum = 0.0
        lo, hi = driver_ptr[p], driver_ptr[p + 1]
        block, to, lag = value[lo:hi], slot[lo:hi], delay[lo:hi]
        for k in range(block.size):
            r = block[k] * lam[to[k]]
            d = lag[k] - m
            r_sum += r
            rd_sum += r * lag[k]
            rsq_sum += r * d * d
        resp[p] = r_sum
        resp_delay[p] = rd_sum
        resp_sq[p] = rsq_sum
    return sum_log_lam, inv_sum, resp, resp_delay, resp_sq


@njit(cache=True, nogil=True)
def em_update(driver_ptr, slot, value, delay, lam, log_lam, n_free, n_full,
              partial, partial_driver, total_time, baseline, alpha, mean, std,
              mass, lower, upper, std_floor):
    """Log-likelihood of the current parameters and the next ones, from the kernel
    terms (:func:`covered_intensity`) and the logs of the covered intensities.

    Allain et al. 2022, Section 3 and its appendix. The ``n_free`` targets
    without pairs enter through ``lambda = mu``. ``n_full[p]`` counts the driver
    events whose whole support lies before the end of their realisation;
    ``partial`` holds the time left after the others, so that ``sum_j K_p(T -
    t_j^p)`` (the driver part of the compensator) is ``n_full[p] + sum
    K_p(partial)``.
    """
    n_drivers = alpha.size
    sum_log_lam, inv_sum, resp, resp_delay, resp_sq = _covered_sums(
        driver_ptr, slot, value, delay, lam, log_lam, mean
    )
    if n_free > 0:
        sum_log_lam += n_free * math.log(baseline)
        inv_sum += n_free / baseline
    resp_base = baseline * inv_sum
    # expected number of events triggered per unit alpha: sum_j K_p(T - t_j^p)
    n_eff = n_full.astype(np.float64)
    for k in range(partial.size):
        p = partial_driver[k]
        x = min(max(partial[k], lower), upper)
        low = _ndtr((lower - mean[p]) / std[p])
        n_eff[p] += (_ndtr((x - mean[p]) / std[p]) - low) / mass[p]
    loglik = sum_log_lam - baseline * total_time
    for p in range(n_drivers):
        loglik -= alpha[p] * n_eff[p]

    # M-step: closed forms for mu and alpha, fixed-point updates of m and sigma
    # with the truncation terms C, dC/dm, dC/dsigma
    new_alpha = np.zeros(n_drivers)
    new_mean = mean.copy()
    new_std = std.copy()
    for p in range(n_drivers):
        if n_eff[p] > 0:
            new_alpha[p] = max(resp[p] / n_eff[p], 0.0)
        if resp[p] <= 0:
            continue
        a = (lower - mean[p]) / std[p]
        b = (upper - mean[p]) / std[p]
        c = std[p] * _SQRT_2PI * mass[p]
        ea = math.exp(-0.5 * a * a)
        eb = math.exp(-0.5 * b * b)
        c_m = ea - eb
        c_s = a * ea - b * eb + c / std[p]
        if c > 0:
            new_mean[p] = resp_delay[p] / resp[p] - std[p] ** 2 * c_m / c
        if c_s > 0:
            new_std[p] = max((c / c_s * resp_sq[p] / resp[p]) ** (1.0 / 3.0),
                             std_floor)
    return loglik, resp_base / total_time, new_alpha, new_mean, new_std
