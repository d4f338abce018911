"""Error of a completed tensor on the entries that were missing."""

import numpy as np
from sklearn.utils._param_validation import validate_params

from ..utils._validation import check_array_arg


@validate_params(
    {
        "X_true": ["array-like"],
        "X_filled": ["array-like"],
        "X_observed": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def missing_entry_error(X_true, X_filled, X_observed):
    """Relative error of a completion on the entries missing from the input.

    ``||X_filled[M] - X_true[M]|| / ||X_true[M]||`` where ``M`` marks the
    ``NaN`` entries of ``X_observed``: the figure the tensor-completion papers
    report (a zero fill of zero-mean data scores 1).

    Parameters
    ----------
    X_true : array-like
        The complete ground truth, finite.
    X_filled : array-like of the shape of ``X_true``
        The completion to score, finite.
    X_observed : array-like of the shape of ``X_true``
        The input of the completion, ``NaN`` where entries were missing.

    Returns
    -------
    error : float
        The relative error on the missing entries.

    Raises
    ------
    ValueError
        When an array is empty, not numeric, complex or not finite (``NaN`` is
        allowed in ``X_observed`` only), when the shapes differ, when
        ``X_observed`` has no missing entry, or when ``X_true`` is zero on them.
    TypeError
        When an array is sparse.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.metrics import missing_entry_error
    >>> X_true = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> X_observed = np.array([[1.0, np.nan], [3.0, np.nan]])
    >>> X_filled = np.array([[1.0, 2.0], [3.0, 2.0]])
    >>> round(missing_entry_error(X_true, X_filled, X_observed), 3)
    0.447
    """
    X_true = check_array_arg(X_true, "X_true")
    X_filled = check_array_arg(X_filled, "X_filled")
    X_observed = check_array_arg(X_observed, "X_observed", allow_nan=True)
    if not X_true.shape == X_filled.shape == X_observed.shape:
        raise ValueError(
            "X_true, X_filled and X_observed must have the same shape, got "
            f"{X_true.shape}, {X_filled.shape} and {X_observed.shape}."
        )
    missing = np.isnan(X_observed)
    if not missing.any():
        raise ValueError("X_observed has no missing (NaN) entry to score.")
    norm = np.linalg.norm(X_true[missing])
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(
            "X_true is zero (or overflows) on the missing entries; the relative "
            "error is undefined."
        )
    return float(np.linalg.norm(X_filled[missing] - X_true[missing]) / norm)
