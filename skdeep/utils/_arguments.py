"""Checks of the array arguments of public functions (metrics and simulators).

Estimators validate ``X`` and ``y`` with :func:`skdeep.utils._validation.validate_data`;
the functions of :mod:`skdeep.metrics` and :mod:`skdeep.datasets` check their
arguments here, with messages that name the argument.
"""

import numbers

import numpy as np


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
