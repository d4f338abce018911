"""The numba sums of one DriPP EM iteration on the truncated-Gaussian kernel.

Delays between target and driver events are exact (continuous): the pairs whose
delay falls in the kernel support ``[lower, upper]`` are found once by a linear
merge (:func:`skdeep.utils._event_pairs.find_pairs`), and every EM iteration is
:func:`pair_exponents`, NumPy's ``exp``, :func:`covered_intensity`, NumPy's
``log`` and :func:`em_update` (E-step sums, compensator and M-step). The kernel's
vectorised density, distribution function and normaliser, which the simulator
and the metrics share, are in :mod:`skdeep.utils._truncnorm`; the scalar,
compiled forms the sums need are here.
"""

import math

import numpy as np
from numba import njit

_LOG_SQRT_2PI = math.log(math.sqrt(2.0 * math.pi))


@njit(cache=True, nogil=True)
def _log_ndtr(x):
    # log Phi(x): erfc is accurate down to x = -37 (Phi ~ 1e-300); below, the
    # asymptotic series of the Mills ratio (relative error < 1e-13)
    if x > -37.0:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2.0)))
    r = 1.0 / (x * x)
    series = 1.0 - r * (1.0 - 3.0 * r * (1.0 - 5.0 * r * (1.0 - 7.0 * r)))
    return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log(series)


@njit(cache=True, nogil=True)
def _log_diff_ndtr_scalar(a, b):
    # log(Phi(b) - Phi(a)) for a <= b, on the tail where the masses are small
    if b <= a:
        return -np.inf
    if a > 0.0:
        hi = _log_ndtr(-a)
        lo = _log_ndtr(-b)
    else:
        hi = _log_ndtr(b)
        lo = _log_ndtr(a)
    return hi + math.log1p(-math.exp(lo - hi))


@njit(cache=True, nogil=True)
def kernel_log_norms(mean, std, lower, upper):
    """``log Z_p`` and ``-log(sigma_p sqrt(2 pi) Z_p)`` of each kernel.

    The kernel is ``exp(-z^2 / 2 + log_norm)``: normalising in log space keeps it
    finite (and the EM free of divisions by zero) for kernels far outside their
    support, e.g. when every latency sits at ``lower``.
    """
    log_mass = np.empty(mean.size)
    log_norm = np.empty(mean.size)
    for p in range(mean.size):
        log_mass[p] = _log_diff_ndtr_scalar(
            (lower - mean[p]) / std[p], (upper - mean[p]) / std[p]
        )
        log_norm[p] = -(math.log(std[p]) + _LOG_SQRT_2PI + log_mass[p])
    return log_mass, log_norm


@njit(cache=True, nogil=True)
def pair_intensity(target_idx, delay, driver, n_targets, baseline, alpha, mean, std,
                   log_norm):
    """Intensity at each target event: ``mu + sum of alpha_p kappa_p(delay)``.

    ``log_norm[p]`` is ``-log(std_p sqrt(2 pi) Z_p)`` with ``Z_p`` the truncated
    mass (:func:`kernel_log_norms`).
    """
    lam = np.full(n_targets, baseline)
    for k in range(delay.size):
        p = driver[k]
        z = (delay[k] - mean[p]) / std[p]
        lam[target_idx[k]] += alpha[p] * math.exp(log_norm[p] - 0.5 * z * z)
    return lam


# Fast-math: only ``reassoc``, which lets LLVM vectorise the reductions (the speed
# of these loops). ``contract`` (FMA) and ``arcp``/``afn`` (approximate division
# and functions) made a process that compiles the kernels and one that loads them
# from numba's cache disagree in the last bits (the JIT and the cached object
# code did not contract and approximate the same operations), which broke the
# bit-for-bit reproducibility the project promises. No no-NaN/no-inf flags:
# log(0) = -inf must stay valid.
_FASTMATH = {"reassoc"}


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


# The fitted EM loop is split in three compiled passes around NumPy's ``exp`` and
# ``log``: NumPy evaluates them with SIMD loops several times faster than the scalar
# libm calls a numba loop makes, and those calls were most of an iteration.


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def pair_exponents(driver_ptr, delay, mean, std, log_norm, out):
    """Write ``log_norm_p - (delay - m_p)^2 / (2 sigma_p^2)`` of each pair into ``out``.

    Pairs are grouped by driver, driver ``p`` owning ``driver_ptr[p]:driver_ptr[p
    + 1]``, so each block is a plain (vectorised) loop with scalar parameters;
    ``exp(out[k])`` is the kernel ``kappa_p`` at the pair's delay.
    """
    for p in range(mean.size):
        scale = -0.5 / (std[p] * std[p])
        m = mean[p]
        c = log_norm[p]
        # loop over slices from 0: with ``k`` provably >= 0 numba drops its
        # negative-index wraparound and LLVM vectorises (~7x faster)
        block = delay[driver_ptr[p]:driver_ptr[p + 1]]
        dst = out[driver_ptr[p]:driver_ptr[p + 1]]
        for k in range(block.size):
            d = block[k] - m
            dst[k] = c + scale * d * d


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def covered_intensity(driver_ptr, slot, value, baseline, alpha, lam):
    """Intensity at the targets that have pairs (``slot`` numbers them).

    ``value`` holds the kernels ``kappa_p`` of the pairs and is scaled in place
    into the terms ``alpha_p kappa_p(delay)``.
    """
    lam[:] = baseline
    for p in range(alpha.size):
        c = alpha[p]
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
def expected_children(n_full, partial, partial_driver, mean, std, log_mass, lower,
                      upper):
    """``sum_j K_p(T - t_j^p)``: the expected number of events each driver
    triggers per unit ``alpha_p`` (``K_p`` the kernel's CDF), from the driver
    events whose support ends inside the window (``n_full``) and the time left
    after the others (``partial``)."""
    n_eff = n_full.astype(np.float64)
    for k in range(partial.size):
        p = partial_driver[k]
        x = min(max(partial[k], lower), upper)
        if x > lower:
            log_k = _log_diff_ndtr_scalar(
                (lower - mean[p]) / std[p], (x - mean[p]) / std[p]
            ) - log_mass[p]
            n_eff[p] += math.exp(log_k)
    return n_eff


@njit(cache=True, nogil=True)
def truncation_terms(mean, std, log_mass, lower, upper):
    """``phi(a) / Z`` and ``phi(b) / Z`` of each kernel (``a``, ``b`` its
    standardised bounds), the truncation corrections of the M-step, computed in
    log space (finite where ``phi`` and ``Z`` both underflow)."""
    ra = np.empty(mean.size)
    rb = np.empty(mean.size)
    for p in range(mean.size):
        a = (lower - mean[p]) / std[p]
        b = (upper - mean[p]) / std[p]
        ra[p] = math.exp(-0.5 * a * a - _LOG_SQRT_2PI - log_mass[p])
        rb[p] = math.exp(-0.5 * b * b - _LOG_SQRT_2PI - log_mass[p])
    return ra, rb


@njit(cache=True, nogil=True)
def em_update(driver_ptr, slot, value, delay, lam, log_lam, n_free, n_full,
              partial, partial_driver, total_time, baseline, alpha, mean, std,
              log_mass, lower, upper, std_floor):
    """Log-likelihood of the current parameters and the next ones, from the kernel
    terms (:func:`covered_intensity`) and the logs of the covered intensities.

    Allain et al. 2022, Section 3 and its appendix. The ``n_free`` targets
    without pairs enter through ``lambda = mu``. ``n_full[p]`` counts the driver
    events whose whole support lies before the end of their realisation;
    ``partial`` holds the time left after the others, so that ``sum_j K_p(T -
    t_j^p)`` (the driver part of the compensator) is ``n_full[p] + sum
    K_p(partial)``. Also returns the responsibilities' sum of the baseline
    (``resp_base``), the inverse intensities (in ``lam``) and ``n_eff``, which
    the inhibitory M-step of ``alpha_pos=False`` reuses.
    """
    n_drivers = alpha.size
    sum_log_lam, inv_sum, resp, resp_delay, resp_sq = _covered_sums(
        driver_ptr, slot, value, delay, lam, log_lam, mean
    )
    if n_free > 0:
        sum_log_lam += n_free * math.log(baseline)
        inv_sum += n_free / baseline
    resp_base = baseline * inv_sum
    n_eff = expected_children(n_full, partial, partial_driver, mean, std, log_mass,
                              lower, upper)
    loglik = sum_log_lam - baseline * total_time
    for p in range(n_drivers):
        loglik -= alpha[p] * n_eff[p]

    # M-step: closed forms for mu and alpha, fixed-point updates of m and sigma
    # with the truncation terms C, dC/dm, dC/dsigma of the paper, written with
    # phi(a) / Z and phi(b) / Z: C_m / C = (phi(a) - phi(b)) / (sigma Z) and
    # sigma C_sigma / C = 1 + (a phi(a) - b phi(b)) / Z
    ra, rb = truncation_terms(mean, std, log_mass, lower, upper)
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
        new_mean[p] = resp_delay[p] / resp[p] - std[p] * (ra[p] - rb[p])
        ratio = 1.0 + a * ra[p] - b * rb[p]
        if ratio > 0:
            new_std[p] = max(
                (std[p] * resp_sq[p] / (resp[p] * ratio)) ** (1.0 / 3.0), std_floor
            )
    return (loglik, resp_base / total_time, new_alpha, new_mean, new_std, resp_base,
            n_eff)
