"""Metrics on named labels (no matching)."""

import numpy as np


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

    Examples
    --------
    >>> from skdeep.metrics import direct_label_accuracy
    >>> direct_label_accuracy(["a", "b", "c", "c"], ["a", "c", "c", "b"])
    0.5
    >>> direct_label_accuracy(["a", "b", "c", "c"], ["a", "c", "c", "b"], labels=["c"])
    0.5
    """
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError("y_true and y_pred must be 1-D arrays.")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: {y_true.shape[0]} and "
            f"{y_pred.shape[0]}."
        )
    if labels is not None:
        keep = np.isin(y_true, np.asarray(labels, dtype=object))
        y_true, y_pred = y_true[keep], y_pred[keep]
    if y_true.shape[0] == 0:
        raise ValueError("no sample to score: y_true is empty or has none of labels.")
    return float(np.mean(y_true == y_pred))
