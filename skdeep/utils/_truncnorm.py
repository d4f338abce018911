"""The truncated Gaussian: density, distribution function and normaliser.

A Gaussian of mean ``mean`` and standard deviation ``std`` truncated to
``[lower, upper]`` and renormalised there: the kernel of DriPP's driven
intensity, which the estimator (:mod:`skdeep.point_process`), its simulator
(:func:`skdeep.datasets.make_driven_events`) and its error metric
(:func:`skdeep.metrics.intensity_error`) all evaluate. The normaliser is computed
in log space, so a kernel whose mean lies far outside its support keeps finite
values where the plain Gaussian mass underflows.

Examples
--------
>>> from skdeep.utils._truncnorm import truncnorm_cdf, truncnorm_pdf
>>> float(truncnorm_pdf(0.0, 0.0, 1.0, -1.0, 1.0)) > 0.3989  # above N(0, 1)'s peak
True
>>> float(truncnorm_pdf(2.0, 0.0, 1.0, -1.0, 1.0))  # outside the support
0.0
>>> round(float(truncnorm_cdf(0.0, 0.0, 1.0, -1.0, 1.0)), 12)
0.5
"""

import math

import numpy as np
from scipy.special import log_ndtr

_LOG_SQRT_2PI = math.log(math.sqrt(2.0 * math.pi))


def _log_diff_ndtr(a, b):
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, accurate in both tails.

    Works on the tail where the two masses are not rounded to 1: a kernel whose
    mean lies far outside ``[lower, upper]`` keeps a finite, exact normaliser
    where ``ndtr(b) - ndtr(a)`` underflows to 0.
    """
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    right = a > 0  # both in the right tail: mirror, Phi(b) - Phi(a) = Phi(-a) - Phi(-b)
    hi = np.where(right, log_ndtr(-a), log_ndtr(b))
    lo = np.where(right, log_ndtr(-b), log_ndtr(a))
    with np.errstate(divide="ignore", invalid="ignore"):
        return hi + np.log1p(-np.exp(lo - hi))


def truncnorm_log_mass(mean, std, lower, upper):
    """Logarithm of :func:`truncnorm_mass`, finite for any finite mean."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    return _log_diff_ndtr((lower - mean) / std, (upper - mean) / std)


def truncnorm_mass(mean, std, lower, upper):
    """Gaussian mass of ``[lower, upper]``: the normalising constant of the kernel."""
    return np.exp(truncnorm_log_mass(mean, std, lower, upper))


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
    # normalised in log space: finite even where the mass underflows
    log_mass = truncnorm_log_mass(mean, std, lower, upper)
    log_norm = np.log(std) + _LOG_SQRT_2PI + log_mass
    out = np.exp(-0.5 * z * z - log_norm)
    return np.where((x >= lower) & (x <= upper), out, 0.0)


def truncnorm_cdf(x, mean, std, lower, upper):
    """Cumulative distribution function of the truncated Gaussian kernel."""
    x = np.clip(np.asarray(x, dtype=np.float64), lower, upper)
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    a = (lower - mean) / std
    shape = np.broadcast(x, a).shape
    log_num = _log_diff_ndtr(np.broadcast_to(a, shape), (x - mean) / std)
    return np.exp(log_num - truncnorm_log_mass(mean, std, lower, upper))
