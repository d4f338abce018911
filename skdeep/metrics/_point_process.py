"""Errors of estimated point-process intensities."""

import numpy as np

from ..point_process._kernels import truncnorm_pdf

_KEYS = ("baseline", "alpha", "kernel_mean", "kernel_std")


def _read_params(params, name):
    if hasattr(params, "baseline_"):  # a fitted DriPP
        return {
            "baseline": params.baseline_,
            "alpha": params.alpha_,
            "kernel_mean": params.kernel_mean_,
            "kernel_std": params.kernel_std_,
            "lower": params.lower,
            "upper": params.upper,
        }
    try:
        out = {key: params[key] for key in _KEYS}
    except (KeyError, TypeError) as exc:
        raise TypeError(
            f"{name} must be a fitted DriPP or a dict with keys {_KEYS} (and "
            "optionally 'lower', 'upper')."
        ) from exc
    out["lower"] = params.get("lower")
    out["upper"] = params.get("upper")
    return out


def intensity_error(params_true, params_pred, *, lower=None, upper=None,
                    multioutput="max", n_points=2000):
    """Relative sup-norm error of the driven intensity, driver by driver.

    For each driver ``p``, the error is
    ``sup_x |(mu + alpha_p kappa_p(x)) - (mu_hat + alpha_hat_p kappa_hat_p(x))|``
    divided by ``sup_x (mu + alpha_p kappa_p(x))``, the figure DriPP's paper
    reports (Allain et al. 2022, Section 4). The supremum is taken on a fine grid
    of the kernel supports and outside them.

    Parameters
    ----------
    params_true, params_pred : dict or fitted DriPP
        Parameters with keys ``baseline``, ``alpha``, ``kernel_mean``,
        ``kernel_std`` and optionally ``lower`` and ``upper`` (as returned by
        :func:`~skdeep.datasets.make_driven_events`), or a fitted
        :class:`~skdeep.point_process.DriPP`.
    lower, upper : float, default=None
        Kernel support of both, when the parameters do not give it.
    multioutput : {"max", "raw_values"}, default="max"
        Return the largest error over drivers, or one error per driver.
    n_points : int, default=2000
        Size of the evaluation grid on the supports.

    Returns
    -------
    error : float or ndarray of shape (n_drivers,)

    Examples
    --------
    >>> from skdeep.metrics import intensity_error
    >>> truth = dict(baseline=0.8, alpha=[0.8], kernel_mean=[0.4],
    ...              kernel_std=[0.2], lower=0.03, upper=0.8)
    >>> estimate = dict(truth, baseline=0.7)
    >>> round(float(intensity_error(truth, estimate)), 3)
    0.04
    """
    true = _read_params(params_true, "params_true")
    pred = _read_params(params_pred, "params_pred")
    supports = []
    for params in (true, pred):
        low = params["lower"] if params["lower"] is not None else lower
        high = params["upper"] if params["upper"] is not None else upper
        if low is None or high is None:
            raise ValueError(
                "lower and upper are needed when the parameters do not give them."
            )
        if not 0 <= low < high:
            raise ValueError(f"need 0 <= lower < upper, got {low} and {high}.")
        supports.append((float(low), float(high)))
    if multioutput not in ("max", "raw_values"):
        raise ValueError(
            f"multioutput must be 'max' or 'raw_values', got {multioutput!r}."
        )
    arrays = {}
    for tag, params in (("true", true), ("pred", pred)):
        arrays[tag] = [np.atleast_1d(np.asarray(params[k], dtype=np.float64))
                       for k in _KEYS[1:]]
    n_drivers = arrays["true"][0].size
    if any(a.size != n_drivers for tag in arrays for a in arrays[tag]):
        raise ValueError("params_true and params_pred must have as many drivers.")
    lo = min(s[0] for s in supports)
    hi = max(s[1] for s in supports)
    # the supports themselves, and one point outside where only baselines remain
    grid = np.concatenate(
        (np.linspace(lo, hi, n_points), [s for pair in supports for s in pair],
         [hi + 1.0])
    )
    # both peaks: at the kernel means, or at the support ends beyond them
    peaks = [
        np.clip(arrays[tag][1], *support) for tag, support in zip(arrays, supports)
    ]
    grid = np.concatenate([grid, *peaks])
    errors = np.empty(n_drivers)
    for p in range(n_drivers):
        curves = []
        for (tag, params), (low, high) in zip(
            (("true", true), ("pred", pred)), supports
        ):
            alpha, mean, std = (a[p] for a in arrays[tag])
            curves.append(
                float(params["baseline"])
                + alpha * truncnorm_pdf(grid, mean, std, low, high)
            )
        errors[p] = np.max(np.abs(curves[0] - curves[1])) / np.max(curves[0])
    return errors if multioutput == "raw_values" else float(errors.max())
