"""Metrics on named labels (no matching)."""

import numpy as np

from ._cluster import check_label_pair


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
    y_true, y_pred = check_label_pair(y_true, y_pred, dtype=object)
    if labels is not None:
        keep = np.isin(y_true, np.asarray(labels, dtype=object))
        y_true, y_pred = y_true[keep], y_pred[keep]
    if y_true.shape[0] == 0:
        raise ValueError("no sample to score: y_true is empty or has none of labels.")
    return float(np.mean(y_true == y_pred))
