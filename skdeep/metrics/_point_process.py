"""Errors of estimated point-process intensities."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._truncnorm import truncnorm_pdf
from ..utils._validation import check_array_arg

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
    except (KeyError, TypeError, IndexError) as exc:
        raise TypeError(
            f"{name} must be a fitted DriPP or a dict with keys {_KEYS} (and "
            "optionally 'lower', 'upper')."
        ) from exc
    out["lower"] = params.get("lower")
    out["upper"] = params.get("upper")
    return out


def _check_support(low, high, name):
    """``0 <= low < high``, both finite numbers; ``name`` says where they came from."""
    for side, value in (("lower", low), ("upper", high)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
            raise TypeError(f"{side} ({name}) must be a real number, got {value!r}.")
        if not np.isfinite(value):
            raise ValueError(f"{side} ({name}) must be finite, got {value!r}.")
    if not 0 <= low < high:
        raise ValueError(
            f"lower and upper ({name}) must satisfy 0 <= lower < upper (a support of "
            f"positive width), got lower={low} and upper={high}."
        )
    return float(low), float(high)


def _check_params(params, name):
    """Finite parameters of a driven intensity, one value per driver."""
    key = f"{name}['baseline']"
    baseline = check_array_arg(params["baseline"], key)
    if baseline.size != 1:
        raise ValueError(f"{key} must be one number, got shape {baseline.shape}.")
    baseline = float(baseline.reshape(()))
    if baseline < 0:
        raise ValueError(f"{key} must be non-negative, got {baseline}.")
    arrays = [
        check_array_arg(np.atleast_1d(params[k]), f"{name}['{k}']", ndim=1)
        for k in _KEYS[1:]
    ]
    if len({a.size for a in arrays}) != 1:
        raise ValueError(
            f"{name}: alpha, kernel_mean and kernel_std must have one value per "
            f"driver, got sizes {[a.size for a in arrays]}."
        )
    if np.any(arrays[2] <= 0):
        raise ValueError(
            f"{name}['kernel_std'] must be positive (a kernel of positive width), "
            f"got {arrays[2].tolist()}."
        )
    return baseline, arrays


@validate_params(
    {
        "params_true": "no_validation",
        "params_pred": "no_validation",
        "lower": [Interval(Real, 0, None, closed="left"), None],
        "upper": [Interval(Real, 0, None, closed="neither"), None],
        "multioutput": [StrOptions({"max", "raw_values"})],
        "n_points": [Interval(Integral, 2, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
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
        The largest relative error over drivers (``multioutput="max"``), or one
        per driver (``"raw_values"``).

    Raises
    ------
    TypeError
        When a parameter set is neither a fitted DriPP nor a dict with the keys
        above, or a support bound is not a number.
    ValueError
        When a support has zero or negative width (``lower >= upper``) or is not
        finite, a ``kernel_std`` is not positive, a parameter is ``NaN``,
        infinite, complex or not numeric, the two sets have different numbers of
        drivers, or the true intensity is zero everywhere.

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
    for params, name in ((true, "params_true"), (pred, "params_pred")):
        low = params["lower"] if params["lower"] is not None else lower
        high = params["upper"] if params["upper"] is not None else upper
        if low is None or high is None:
            raise ValueError(
                "lower and upper are needed when the parameters do not give them "
                f"({name} has no 'lower' or 'upper')."
            )
        given = params["lower"] is not None or params["upper"] is not None
        supports.append(
            _check_support(low, high, f"of {name}" if given else "given as arguments")
        )
    baselines, arrays = {}, {}
    for tag, params in (("true", true), ("pred", pred)):
        baselines[tag], arrays[tag] = _check_params(params, f"params_{tag}")
    n_drivers = arrays["true"][0].size
    if arrays["pred"][0].size != n_drivers:
        raise ValueError(
            "params_true and params_pred must have as many drivers, got "
            f"{n_drivers} and {arrays['pred'][0].size}."
        )
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
        for tag, (low, high) in zip(("true", "pred"), supports):
            alpha, mean, std = (a[p] for a in arrays[tag])
            curves.append(
                baselines[tag] + alpha * truncnorm_pdf(grid, mean, std, low, high)
            )
        peak = np.max(curves[0])
        if not peak > 0:
            raise ValueError(
                f"params_true: the true intensity of driver {p} is nowhere positive "
                "(baseline and alpha are zero); the relative error is undefined."
            )
        errors[p] = np.max(np.abs(curves[0] - curves[1])) / peak
    return errors if multioutput == "raw_values" else float(errors.max())
