"""Input validation shared by the estimators, on top of scikit-learn's own tools.

Estimators call :func:`sklearn.utils.validation.validate_data` for 2-D inputs and
declare their parameters in ``_parameter_constraints``; the helpers here cover what
several skdeep estimators need beyond that.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight
from sklearn.utils.validation import validate_data as _sklearn_validate_data

# The checks of public functions' arguments and the size and scale bounds live in
# their own modules; they are part of the package's one validation namespace.
from ._arguments import check_array_arg, check_label_array, label_kind
from ._limits import (
    MAX_SIMULATED_ENTRIES,
    MAX_TENSOR_BYTES,
    check_layer_sizes,
    check_simulation_size,
    check_step_size,
    check_tensor_size,
    max_abs_scale,
    power_of_two_scale,
)

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


def check_y_given(estimator, y):
    """Raise the error of an estimator that needs ``y`` when ``y`` is None.

    The message follows scikit-learn's wording for estimators whose
    ``target_tags.required`` is True ("requires y to be passed") and recalls
    skdeep's semi-supervised convention.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted; its class name starts the message.
    y : object
        The target passed to ``fit``.

    Raises
    ------
    ValueError
        When ``y`` is None.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdeep.utils._validation import check_y_given
    >>> check_y_given(DummyClassifier(), None)
    Traceback (most recent call last):
    ...
    ValueError: DummyClassifier requires y to be passed, but the target y is None; \
mark unlabeled samples with -1.
    """
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y "
            "is None; mark unlabeled samples with -1."
        )


# --- Class weights, sample weights and the validation split of early stopping -----


def encode_classes(y, estimator_name):
    """``(classes, y_index)`` of classification labels; at least two classes.

    The shared start of the supervised classifiers' ``fit`` (after
    ``validate_data``): the targets must be classes, and two at least.
    """
    check_classification_targets(y)
    classes, y_index = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"{estimator_name} needs samples of at least 2 classes in y; "
            f"got 1 class ({classes[0]!r})."
        )
    return classes, y_index


def class_weight_vector(class_weight, classes, y_index):
    """Weight of every class from a ``class_weight`` parameter.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
        ``None`` weighs every class 1; ``"balanced"`` weighs class ``k`` by
        ``n_samples / (n_classes * n_k)``, ``n_k`` its number of samples in
        ``y_index`` (as :func:`sklearn.utils.class_weight.compute_class_weight`);
        a dict maps labels to weights, the classes it omits weigh 1.
    classes : ndarray of shape (n_classes,)
        The class labels, in the order of the returned weights.
    y_index : ndarray of int of shape (n_samples,)
        Index in ``classes`` of every sample's label.

    Returns
    -------
    weights : ndarray of float64 of shape (n_classes,)

    Raises
    ------
    ValueError
        When a dict names labels that are not classes while some classes are
        left out of it (scikit-learn's rule: a dict naming every class may
        carry extra labels, such as a class absent from one fold).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._validation import class_weight_vector
    >>> classes, y_index = np.array(["a", "b"]), np.array([0, 0, 0, 1])
    >>> class_weight_vector("balanced", classes, y_index).tolist()
    [0.6666666666666666, 2.0]
    >>> class_weight_vector({"b": 3.0}, classes, y_index).tolist()
    [1.0, 3.0]
    """
    n_classes = len(classes)
    if class_weight is None:
        return np.ones(n_classes)
    if isinstance(class_weight, str):  # "balanced"
        counts = np.bincount(y_index, minlength=n_classes)
        return len(y_index) / (n_classes * counts)
    weights = np.ones(n_classes)
    class_list = np.asarray(classes).tolist()
    omitted = False
    for i, label in enumerate(class_list):
        if label in class_weight:
            weights[i] = class_weight[label]
        else:
            omitted = True
    unknown = [label for label in class_weight if label not in class_list]
    if unknown and omitted:
        raise ValueError(
            f"class_weight has labels {unknown} that are not among the classes "
            f"{class_list}."
        )
    return weights


def combined_sample_weight(y_index, classes, *, class_weight=None,
                           sample_weight=None):
    """Per-sample weights: ``sample_weight`` times the weight of each class.

    The one path from an estimator's ``class_weight`` parameter and the
    ``sample_weight`` argument of its ``fit`` to the weights of its loss.

    Parameters
    ----------
    y_index : ndarray of int of shape (n_samples,)
        Index in ``classes`` of every sample's label.
    classes : ndarray of shape (n_classes,)
        The class labels.
    class_weight : dict, "balanced" or None, default=None
        See :func:`class_weight_vector`.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        Non-negative weights, not all zero; ``None`` weighs every sample 1.

    Returns
    -------
    weights : ndarray of float64 of shape (n_samples,)
        A new array (the caller's ``sample_weight`` is never written on).

    Raises
    ------
    ValueError
        For negative, non-finite, misshaped or all-zero ``sample_weight``, and
        for the dicts :func:`class_weight_vector` rejects.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._validation import combined_sample_weight
    >>> y_index, classes = np.array([0, 0, 0, 1]), np.array([3, 7])
    >>> combined_sample_weight(y_index, classes, class_weight="balanced",
    ...                        sample_weight=[1.0, 1.0, 0.5, 1.0]).tolist()
    [0.6666666666666666, 0.6666666666666666, 0.3333333333333333, 2.0]
    """
    y_index = np.asarray(y_index)
    try:
        weights = _check_sample_weight(
            sample_weight, y_index, dtype=np.float64, ensure_non_negative=True
        )
    except (TypeError, ValueError) as exc:
        if "sample_weight" in str(exc).lower():
            raise
        raise ValueError(
            f"sample_weight must be an array of non-negative numbers: {exc}"
        ) from exc
    if not weights.sum() > 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if class_weight is not None:
        weights = weights * class_weight_vector(class_weight, classes, y_index)[
            y_index
        ]
    elif sample_weight is not None and weights is sample_weight:
        weights = weights.copy()
    return weights


def validation_split(n_samples, validation_fraction, random_state=None, *,
                     stratify=None, groups=None):
    """Indices of the training part and of the held-out part of early stopping.

    The one validation split of skdeep's estimators. The held-out part has
    ``round(validation_fraction * n)`` samples, drawn without replacement:

    - by default among the ``n_samples`` samples (``rng.choice``);
    - with ``stratify``, in proportion to its classes, by
      :class:`sklearn.model_selection.StratifiedShuffleSplit` (as the early
      stopping of :class:`~sklearn.neural_network.MLPClassifier`);
    - with ``groups``, in every group separately (``n`` is then the group's
      size, and a group keeps at least one training sample), so that each
      group, e.g. each modality of a multi-omics model, is held out in the
      same proportion.

    Parameters
    ----------
    n_samples : int
        Number of samples to split.
    validation_fraction : float in (0, 1)
        Fraction of the samples held out.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw; an estimator passes the ``RandomState`` of its fit, so
        the split is one draw in the fit's sequence.
    stratify : array-like of shape (n_samples,) or None, default=None
        Class labels to stratify the split by.
    groups : array-like of shape (n_samples,) or None, default=None
        Group of every sample, split separately. Not with ``stratify``.

    Returns
    -------
    train_idx : ndarray of int of shape (n_train,)
        Sorted indices of the training samples.
    val_idx : ndarray of int of shape (n_samples - n_train,)
        Sorted indices of the held-out samples.

    Raises
    ------
    ValueError
        When the split leaves no held-out or no training sample, or when a
        stratified split cannot give every class a place in both parts; the
        message names ``validation_fraction``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._validation import validation_split
    >>> train, val = validation_split(10, 0.2, random_state=0)
    >>> train.size, val.size
    (8, 2)
    >>> groups = np.array([0] * 6 + [1] * 4)
    >>> train, val = validation_split(10, 0.5, random_state=0, groups=groups)
    >>> np.bincount(groups[val]).tolist()
    [3, 2]
    """
    if stratify is not None and groups is not None:
        raise ValueError("validation_split takes stratify or groups, not both.")
    rng = check_random_state(random_state)
    n_samples = int(n_samples)
    if groups is not None:
        held_out = _held_out_by_group(np.asarray(groups), validation_fraction, rng)
        n_val = int(held_out.sum())
    else:
        n_val = int(round(validation_fraction * n_samples))
    if not 0 < n_val < n_samples:
        raise ValueError(
            f"validation_fraction={validation_fraction} leaves no validation or no "
            f"training sample among {n_samples}."
        )
    if stratify is not None:
        return _stratified_split(n_samples, n_val, stratify, rng, validation_fraction)
    if groups is None:
        held_out = np.zeros(n_samples, dtype=bool)
        held_out[rng.choice(n_samples, n_val, replace=False)] = True
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _held_out_by_group(groups, validation_fraction, rng):
    """Mask of ``round(fraction * size)`` samples of every group (at most all
    but one), drawn group after group in sorted order."""
    held_out = np.zeros(groups.shape[0], dtype=bool)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        n_val = min(int(round(validation_fraction * members.size)), members.size - 1)
        if n_val > 0:
            held_out[rng.choice(members, n_val, replace=False)] = True
    return held_out


def _stratified_split(n_samples, n_val, stratify, rng, validation_fraction):
    """Sorted ``(train, val)`` of sklearn's stratified shuffle split, seeded by
    one draw of ``rng``."""
    from sklearn.model_selection import StratifiedShuffleSplit

    splitter = StratifiedShuffleSplit(
        n_splits=1,
        test_size=n_val,
        random_state=int(rng.randint(np.iinfo(np.int32).max)),
    )
    try:
        train_idx, val_idx = next(splitter.split(np.zeros(n_samples), stratify))
    except ValueError as exc:
        raise ValueError(
            f"validation_fraction={validation_fraction} cannot hold out a "
            f"stratified validation set of {n_val} among {n_samples} samples: "
            f"{exc}"
        ) from exc
    return np.sort(train_idx), np.sort(val_idx)



__all__ = [
    "FLOAT_DTYPES",
    "MAX_SIMULATED_ENTRIES",
    "MAX_TENSOR_BYTES",
    "UNLABELED",
    "check_array_arg",
    "check_label_array",
    "check_layer_sizes",
    "check_semi_supervised_y",
    "check_simulation_size",
    "check_step_size",
    "check_tensor_size",
    "check_y_given",
    "class_weight_vector",
    "combined_sample_weight",
    "encode_classes",
    "label_kind",
    "max_abs_scale",
    "power_of_two_scale",
    "unlabeled_mask",
    "validate_data",
    "validation_split",
]
