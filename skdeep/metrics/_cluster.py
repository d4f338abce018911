"""Clustering metrics."""

from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils._param_validation import validate_params

from ..utils._matching import hungarian_match
from ..utils._validation import check_label_array


def check_label_pair(y_true, y_pred, dtype=None):
    """Two 1-D label arrays of equal length, as arrays (shared by the label metrics).

    Each array holds numbers or strings, not a mix (see
    :func:`~skdeep.utils._validation.check_label_array`); ``dtype=object`` returns
    object arrays.
    """
    y_true = check_label_array(y_true, "y_true")
    y_pred = check_label_array(y_pred, "y_pred")
    if dtype is not None:
        y_true, y_pred = y_true.astype(dtype), y_pred.astype(dtype)
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: {y_true.shape[0]} and "
            f"{y_pred.shape[0]}."
        )
    return y_true, y_pred


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def cluster_accuracy(y_true, y_pred):
    """Accuracy of a clustering after the best one-to-one matching of labels.

    Cluster labels are arbitrary, so each predicted cluster is paired with one true
    class by the Hungarian algorithm on the contingency table, and the accuracy of
    that pairing is returned. Clusters left unpaired (more clusters than classes)
    count as errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    accuracy : float
        In ``[0, 1]``; 1 when the partitions are equal up to a renaming.

    Raises
    ------
    ValueError
        When the arrays are not 1-D, are empty, differ in length or hold ``NaN``.
    TypeError
        When an array mixes labels of different types (e.g. ints and strings),
        which cannot be sorted.

    Examples
    --------
    >>> from skdeep.metrics import cluster_accuracy
    >>> cluster_accuracy([0, 0, 1, 1, 2], ["b", "b", "a", "a", "a"])
    0.8
    """
    y_true, y_pred = check_label_pair(y_true, y_pred)
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty.")
    table = contingency_matrix(y_true, y_pred)
    rows, cols = hungarian_match(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.shape[0])
