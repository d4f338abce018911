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

    Parameters
    ----------
    y : array-like
        Labels, integers or strings; ``-1`` marks an unlabeled sample.

    Returns
    -------
    mask : ndarray of bool of the shape of ``y``
        True where the sample is unlabeled.

    Examples
    --------
    >>> from skdeep.utils import unlabeled_mask
    >>> unlabeled_mask(["B cell", -1, "T cell"]).tolist()
    [False, True, False]
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


# --- Arguments of the public functions (metrics and simulators) ------------------

# The largest array a simulator may allocate, in entries (800 MB of float64).
MAX_SIMULATED_ENTRIES = 10**8


def check_array_arg(
    value, name, *, ndim=None, allow_nan=False, allow_inf=False, allow_empty=False
):
    """Validate an array argument of a public function, naming it in errors.

    The array is read as float64 without writing on the caller's data. Strings,
    complex numbers, sparse matrices, ragged sequences, the wrong number of
    dimensions, empty arrays and non-finite values are rejected with a message
    that names the argument and says what was expected.

    Parameters
    ----------
    value : array-like
        The argument.
    name : str
        Its name, used in the error messages.
    ndim : int, tuple of int or None, default=None
        Accepted numbers of dimensions; ``None`` accepts any.
    allow_nan : bool, default=False
        Whether ``NaN`` entries are accepted.
    allow_inf : bool, default=False
        Whether infinite entries are accepted.
    allow_empty : bool, default=False
        Whether an array with no entry is accepted.

    Returns
    -------
    array : ndarray of float64
        The argument as an array (a view of the caller's array when it is
        already float64; callers must not write on it).

    Raises
    ------
    TypeError
        For sparse matrices and values that are not array-like.
    ValueError
        For non-numeric, complex, ragged, misshaped, empty or non-finite input.
    """
    import scipy.sparse

    if scipy.sparse.issparse(value):
        raise TypeError(
            f"{name} must be a dense array, got a sparse matrix; convert it with "
            ".toarray()."
        )
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}.")
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(
            f"{name} must be a rectangular array of real numbers ({exc})."
        ) from exc
    if np.iscomplexobj(raw) or (
        raw.dtype == object
        and any(isinstance(v, (complex, np.complexfloating)) for v in raw.ravel())
    ):
        raise ValueError(
            f"{name} must be real-valued, got complex numbers (dtype {raw.dtype})."
        )
    try:
        array = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of real numbers, got a value that is not one "
            f"({exc})."
        ) from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, numbers.Integral) else tuple(ndim)
        if array.ndim not in allowed:
            expected = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"{name} must be {expected}, got an array of shape {array.shape}."
            )
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}.")
    if not allow_nan and np.isnan(array).any():
        raise ValueError(f"{name} must be finite, but it contains NaN.")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} must be finite, but it contains infinity.")
    return array


def _label_kind(value):
    if isinstance(value, (str, np.str_, bytes)):
        return "str"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def check_label_array(y, name, *, allow_empty=True):
    """Validate a 1-D array of class labels, naming it in errors.

    Labels must be all numbers or all strings, as scikit-learn's
    :func:`~sklearn.utils.multiclass.unique_labels` requires: a mix cannot be
    sorted (``1 < "a"`` fails) and would make ``1`` and ``"1"`` two classes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels.
    name : str
        Its name, used in the error messages.
    allow_empty : bool, default=True
        Whether zero labels are accepted.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        The labels (an object array when they are not numeric).

    Raises
    ------
    TypeError
        For sparse input, scalars and labels mixing types.
    ValueError
        For arrays that are not 1-D, empty arrays (unless allowed) and ``NaN``
        or infinite labels.
    """
    import scipy.sparse

    if scipy.sparse.issparse(y):
        raise TypeError(f"{name} must be a dense 1-D array of labels, got a sparse "
                        "matrix.")
    if isinstance(y, (str, bytes)) or not any(
        hasattr(y, attr) for attr in ("__len__", "shape", "__array__")
    ):
        raise TypeError(f"{name} must be a 1-D array of labels, got {y!r}.")
    # an object array keeps the type of each label: np.asarray([1, "a"]) would
    # silently turn 1 into "1"
    array = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of labels, got an array of shape "
            f"{array.shape}."
        )
    if not allow_empty and array.shape[0] == 0:
        raise ValueError(f"{name} must not be empty.")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or infinity as a label.")
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must hold numbers or strings as labels, got complex "
                        "numbers.")
    if array.dtype.kind == "O":
        kinds = {_label_kind(v) for v in array}
        if len(kinds) > 1:
            raise TypeError(
                f"{name} mixes labels of different types ({', '.join(sorted(kinds))})"
                ", which cannot be compared or sorted; use labels of one type."
            )
        if kinds - {"str", "number"}:
            raise TypeError(
                f"{name} must hold numbers or strings as labels, got "
                f"{kinds.pop()}."
            )
        if kinds == {"number"} and any(
            isinstance(v, (float, np.floating)) and not np.isfinite(v) for v in array
        ):
            raise ValueError(f"{name} must not contain NaN or infinity as a label.")
        if not isinstance(y, np.ndarray):
            array = np.asarray(y)  # the dtype numpy gives the labels
            if array.dtype.kind == "c":
                raise TypeError(f"{name} must hold numbers or strings as labels, "
                                "got complex numbers.")
    return array


def label_kind(y):
    """``"str"`` or ``"number"``: the type of the labels of a checked array."""
    if y.dtype.kind in "USO":
        return "str" if y.size == 0 or _label_kind(y.flat[0]) == "str" else "number"
    return "number"


def check_simulation_size(n_entries, description, cap=MAX_SIMULATED_ENTRIES):
    """Refuse a simulation whose largest array would pass ``cap`` entries.

    Called before any allocation, so that a typo (``n_samples=10**9``) fails at
    once with a clear message rather than after minutes of swapping.

    Parameters
    ----------
    n_entries : int
        Number of entries of the largest array the simulation allocates.
    description : str
        What the array is, in terms of the arguments (e.g.
        ``"n_samples * n_features"``), used in the message.
    cap : int, default=MAX_SIMULATED_ENTRIES
        The largest accepted number of entries.

    Raises
    ------
    ValueError
        When ``n_entries > cap``.
    """
    if n_entries > cap:
        raise ValueError(
            f"{description} = {n_entries:,} exceeds the cap of {cap:,} entries "
            f"({cap * 8 / 1e9:.1f} GB of float64); reduce these arguments."
        )
