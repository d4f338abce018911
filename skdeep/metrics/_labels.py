"""Metrics on named labels (no matching)."""

import numpy as np
from sklearn.utils._param_validation import validate_params

from ..utils._validation import check_label_array, label_kind
from ._cluster import check_label_pair


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def direct_label_accuracy(y_true, y_pred, labels=None):
    """Fraction of samples whose predicted *name* equals the true one.

    Unlike :func:`cluster_accuracy`, no matching is done: a method that discovers a
    novel class must also give it the right name (e.g. a leaf of a lineage tree).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, in the same vocabulary.
    labels : array-like or None, default=None
        Score only the samples whose true label is in ``labels`` (e.g. the novel
        classes); ``None`` scores all samples.

    Returns
    -------
    accuracy : float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        When the arrays are not 1-D, differ in length, hold ``NaN``, or no sample
        is left to score.
    TypeError
        When an array mixes labels of different types, or ``y_true`` and
        ``y_pred`` hold different types (numbers and strings never match).

    Examples
    --------
    >>> from skdeep.metrics import direct_label_accuracy
    >>> direct_label_accuracy(["a", "b", "c", "c"], ["a", "c", "c", "b"])
    0.5
    >>> direct_label_accuracy(["a", "b", "c", "c"], ["a", "c", "c", "b"], labels=["c"])
    0.5
    """
    y_true, y_pred = check_label_pair(y_true, y_pred)
    if y_true.size and y_pred.size and label_kind(y_true) != label_kind(y_pred):
        raise TypeError(
            f"y_true holds {label_kind(y_true)} labels and y_pred "
            f"{label_kind(y_pred)} labels; they must share one vocabulary."
        )
    y_true, y_pred = y_true.astype(object), y_pred.astype(object)
    if labels is not None:
        labels = check_label_array(labels, "labels")
        keep = np.isin(y_true, labels.astype(object))
        y_true, y_pred = y_true[keep], y_pred[keep]
    if y_true.shape[0] == 0:
        raise ValueError("no sample to score: y_true is empty or has none of labels.")
    return float(np.mean(y_true == y_pred))
