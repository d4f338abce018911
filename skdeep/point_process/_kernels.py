"""Truncated-Gaussian kernel and the numba sums of one DriPP EM iteration.

Delays between target and driver events are exact (continuous): the pairs whose
delay falls in the kernel support ``[lower, upper]`` are found once with
``searchsorted`` (:func:`find_pairs`), and every EM iteration is one call of
:func:`em_iteration` (E-step sums over those pairs, compensator and M-step).
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
    support form a contiguous block ``[start_j, stop_j)`` found by ``searchsorted``.

    Returns
    -------
    target_idx : ndarray of int64
        Index of the target event of each pair.
    delay : ndarray of float64
        Its delay.
    """
    start = np.searchsorted(target, driver + lower, side="left")
    stop = np.searchsorted(target, driver + upper, side="right")
    counts = stop - start
    n_pairs = int(counts.sum())
    if n_pairs == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    driver_idx = np.repeat(np.arange(driver.size), counts)
    # position of each pair inside its block, added to the block's first target
    offsets = np.arange(n_pairs) - np.repeat(np.cumsum(counts) - counts, counts)
    target_idx = (start[driver_idx] + offsets).astype(np.int64)
    return target_idx, target[target_idx] - driver[driver_idx]


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


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def em_sums(target_idx, delay, driver, n_targets, baseline, alpha, mean, std, norm):
    """E-step of DriPP and the sufficient sums of its M-step, in two passes.

    Pairs are expected in target order (any order gives the same sums).

    Returns
    -------
    sum_log_lam : float
        ``sum_i log lambda(t_i)``, the event part of the log-likelihood of the
        current parameters.
    resp_base : float
        ``sum_i P_i0``, the responsibilities of the baseline.
    resp : ndarray of shape (n_drivers,)
        ``sum_{i,j} P_ij^p`` per driver.
    resp_delay : ndarray of shape (n_drivers,)
        ``sum P_ij^p (t_i - t_j^p)``.
    resp_sq : ndarray of shape (n_drivers,)
        ``sum P_ij^p (t_i - t_j^p - m_p)^2`` with the current means.
    """
    n_drivers = alpha.size
    coef = np.empty(n_drivers)
    scale = np.empty(n_drivers)
    for p in range(n_drivers):
        coef[p] = alpha[p] * norm[p]
        scale[p] = -0.5 / (std[p] * std[p])
    # pass 1: kernel value of each pair (kept for pass 2), then the intensities
    value = np.empty(delay.size)
    for k in range(delay.size):
        p = driver[k]
        d = delay[k] - mean[p]
        value[k] = coef[p] * math.exp(scale[p] * d * d)
    lam = np.full(n_targets, baseline)
    for k in range(delay.size):
        lam[target_idx[k]] += value[k]
    sum_log_lam = 0.0
    resp_base = 0.0
    for i in range(n_targets):
        sum_log_lam += math.log(lam[i])
        lam[i] = 1.0 / lam[i]  # keep the inverse: pass 2 then multiplies
        resp_base += lam[i]
    resp_base *= baseline
    # pass 2: responsibilities P_ij^p = value / lambda(t_i) and their sums
    resp = np.zeros(n_drivers)
    resp_delay = np.zeros(n_drivers)
    resp_sq = np.zeros(n_drivers)
    for k in range(delay.size):
        p = driver[k]
        d = delay[k] - mean[p]
        r = value[k] * lam[target_idx[k]]
        resp[p] += r
        resp_delay[p] += r * delay[k]
        resp_sq[p] += r * d * d
    return sum_log_lam, resp_base, resp, resp_delay, resp_sq


def union_measure(starts, length, end_time):
    """Lebesgue measure of the union of ``[s, s + length]`` clipped to ``[0, T]``."""
    if starts.size == 0:
        return 0.0
    starts = np.sort(starts)
    s = np.clip(starts, 0.0, end_time)
    e = np.clip(starts + length, 0.0, end_time)
    # intervals sorted by start: each adds what lies past the furthest end so far
    reach = np.concatenate(([-np.inf], np.maximum.accumulate(e)[:-1]))
    return float(np.clip(e - np.maximum(s, reach), 0.0, None).sum())


@njit(cache=True, nogil=True)
def _ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True, nogil=True)
def em_iteration(target_idx, delay, driver, n_targets, n_full, partial,
                 partial_driver, total_time, baseline, alpha, mean, std, lower,
                 upper, std_floor):
    """One EM iteration of DriPP: log-likelihood of the current parameters and the
    next ones (Allain et al. 2022, Section 3 and its appendix).

    ``n_full[p]`` counts the driver events whose whole support lies before the
    end of their realisation; ``partial`` holds the time left after the others,
    so that ``sum_j K_p(T - t_j^p)`` (the driver part of the compensator) is
    ``n_full[p] + sum K_p(partial)``.
    """
    n_drivers = alpha.size
    mass = np.empty(n_drivers)
    norm = np.empty(n_drivers)
    for p in range(n_drivers):
        mass[p] = _ndtr((upper - mean[p]) / std[p]) - _ndtr((lower - mean[p]) / std[p])
        norm[p] = 1.0 / (std[p] * _SQRT_2PI * mass[p])
    sum_log_lam, resp_base, resp, resp_delay, resp_sq = em_sums(
        target_idx, delay, driver, n_targets, baseline, alpha, mean, std, norm
    )
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
