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


@validate_params(
    {
        "y_true": ["array-like"],
        "y_node": ["array-like"],
        "hierarchy": [dict],
        "novel": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def hierarchical_naming_scores(y_true, y_node, hierarchy, novel):
    """How well novel samples are named in a tree, and how often known ones are
    called novel.

    ``y_node`` names each sample by a node of ``hierarchy``: a known leaf, a
    novel leaf, or an internal node (a novel sample left unnamed below it, as
    :meth:`skdeep.cluster.NovelClassKMeans.predict_node` returns).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True leaf of each sample.
    y_node : array-like of shape (n_samples,)
        Predicted node of each sample.
    hierarchy : dict
        The tree, ``{child: parent}``.
    novel : array-like
        The novel leaves; the other leaves of the tree are the known ones.

    Returns
    -------
    scores : dict
        ``"leaf"``: the fraction of novel samples named by their true leaf;
        ``"ancestor"``: of novel samples named by their true leaf or by one
        of its ancestors other than the root (named as novel, at a node that
        holds the truth); ``"false_novel"``: the fraction of samples of known
        leaves not named by a known leaf. ``NaN`` where no sample is scored.

    Raises
    ------
    ValueError
        When the arrays are not 1-D, differ in length, or hold ``NaN``.

    Examples
    --------
    >>> from skdeep.metrics import hierarchical_naming_scores
    >>> tree = {"a": "ab", "b": "ab", "ab": "r", "c": "r"}
    >>> scores = hierarchical_naming_scores(
    ...     ["a", "a", "b", "c"], ["a", "ab", "ab", "b"], tree, novel=["a", "b"])
    >>> scores["leaf"], scores["ancestor"], scores["false_novel"]
    (0.3333333333333333, 1.0, 1.0)
    """
    y_true = check_label_array(y_true, "y_true").astype(object)
    y_node = np.asarray(y_node, dtype=object)
    if y_node.ndim != 1 or y_node.shape != y_true.shape:
        raise ValueError(
            f"y_node must be 1-D of the length of y_true ({y_true.shape[0]}), "
            f"got shape {y_node.shape}.")
    parents = dict(hierarchy)
    # the tree's novel leaves may mix types with its internal nodes' names
    novel = {v.item() if isinstance(v, np.generic) else v for v in novel}
    leaves = set(parents) - set(parents.values())
    known = leaves - novel
    is_novel = np.array([v in novel for v in y_true.tolist()], dtype=bool)

    def holds(node, leaf):
        # node is the leaf or one of its ancestors below the root
        while leaf in parents:
            if leaf == node:
                return True
            leaf = parents[leaf]
        return False

    nodes, truth = y_node.tolist(), y_true.tolist()
    leaf = [n == t for n, t, v in zip(nodes, truth, is_novel) if v]
    anc = [holds(n, t) and n not in known
           for n, t, v in zip(nodes, truth, is_novel) if v]
    false = [n not in known for n, v in zip(nodes, is_novel) if not v]
    return {name: float(np.mean(v)) if v else float("nan")
            for name, v in (("leaf", leaf), ("ancestor", anc),
                            ("false_novel", false))}
