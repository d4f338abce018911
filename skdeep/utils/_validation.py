"""Input validation shared by the estimators, on top of scikit-learn's own tools.

Estimators call :func:`sklearn.utils.validation.validate_data` for 2-D inputs and
declare their parameters in ``_parameter_constraints``; the helpers here cover what
several skdeep estimators need beyond that.
"""

import numbers

import numpy as np
from sklearn.utils.validation import validate_data as _sklearn_validate_data

# float64 by default; float32 is kept where the algorithm allows it.
FLOAT_DTYPES = (np.float64, np.float32)

UNLABELED = -1


def validate_data(estimator, X="no_validation", y="no_validation", **kwargs):
    """:func:`sklearn.utils.validation.validate_data` with errors naming ``X``.

    scikit-learn's messages for strings and complex numbers ("could not convert
    string to float") do not say which argument is wrong; this wrapper keeps
    them and says it. Every estimator of skdeep validates its arrays through it.
    """
    try:
        return _sklearn_validate_data(estimator, X, y, **kwargs)
    except ValueError as exc:
        message = str(exc)
        name = type(estimator).__name__
        if any(
            text in message
            for text in ("could not convert", "invalid literal", "bytes/strings")
        ):
            raise ValueError(
                f"X must hold numbers, but {name} got a value that is not one: "
                f"{message}"
            ) from exc
        if message.startswith("Complex data not supported"):
            raise ValueError(
                f"Complex data not supported: X must be real-valued for {name}."
            ) from exc
        raise


def unlabeled_mask(y):
    """Boolean mask of the samples marked unlabeled (``-1``) in ``y``.

    Works for integer labels and for object arrays of strings where the integer
    ``-1`` (or the string ``"-1"``) marks unlabeled samples, following scikit-learn's
    semi-supervised convention.
    """
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return y == UNLABELED
    return np.array(
        [
            (isinstance(v, numbers.Number) and v == UNLABELED) or v == str(UNLABELED)
            for v in y.ravel()
        ],
        dtype=bool,
    ).reshape(y.shape)


def check_semi_supervised_y(y, n_samples):
    """Validate semi-supervised targets where ``-1`` marks unlabeled samples.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels; integers, or strings in an object array. ``-1`` is unlabeled.
    n_samples : int
        Number of rows of ``X``.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        A copy of the labels (never a view of the caller's array).
    labeled : ndarray of bool of shape (n_samples,)
        True where the sample carries a label.
    """
    if y is None:
        raise ValueError("y is required: pass -1 for the unlabeled samples.")
    y = np.array(y, copy=True)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got an array of shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {n_samples} and "
            f"{y.shape[0]}."
        )
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; use -1 for unlabeled.")
        if np.any(y != np.round(y)):
            raise ValueError(
                "y has non-integer float values; labels must be integers or strings."
            )
        y = y.astype(np.int64)
    if y.dtype.kind not in "iuOU":
        raise TypeError(
            f"y must hold integer or string labels, got dtype {y.dtype}."
        )
    if y.dtype.kind == "U":
        y = y.astype(object)
    return y, ~unlabeled_mask(y)
