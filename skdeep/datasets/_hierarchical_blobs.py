"""Gaussian blobs on the leaves of a lineage tree, with novel classes held out."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._label_tree import LabelTree, as_label_array, parse_hierarchy
from ..utils._validation import UNLABELED, check_simulation_size

# Largest tree (number of nodes, root excluded) the simulator builds: a balanced
# tree of depth 12 and branching 4 would have 22 million nodes, take minutes and
# pass 8 GB.
MAX_TREE_NODES = 100_000


def _n_tree_nodes(depth, branching, cap=MAX_TREE_NODES):
    """Nodes of a balanced tree below the root, counted up to just past ``cap``."""
    total, level = 0, 1
    for _ in range(depth):
        level *= branching
        total += level
        if total > cap:
            break
    return total


def _random_tree(depth, branching):
    """Balanced tree; node names are paths such as ``"c1.0.2"``, the root is
    ``"root"``."""
    edges = {}
    level = ["root"]
    for _ in range(depth):
        nxt = []
        for parent in level:
            for k in range(branching):
                child = f"c{k}" if parent == "root" else f"{parent}.{k}"
                edges[child] = parent
                nxt.append(child)
        level = nxt
    return edges


def _tree_edges(hierarchy, depth, branching, n_features):
    """The edges of the given tree, or of the balanced one drawn, after checking
    their size against the caps."""
    if hierarchy is None:
        n_nodes = _n_tree_nodes(depth, branching)
        if n_nodes > MAX_TREE_NODES:
            raise ValueError(
                f"depth={depth} and branching={branching} give a tree of more than "
                f"{MAX_TREE_NODES:,} nodes (the cap MAX_TREE_NODES); use a smaller "
                "depth or branching."
            )
        check_simulation_size(n_nodes * n_features, "n_tree_nodes * n_features")
        return _random_tree(depth, branching)
    if len(hierarchy) > MAX_TREE_NODES:
        raise ValueError(
            f"hierarchy has {len(hierarchy):,} edges, more than the cap "
            f"MAX_TREE_NODES={MAX_TREE_NODES:,}."
        )
    check_simulation_size(len(hierarchy) * n_features, "n_tree_nodes * n_features")
    return parse_hierarchy(hierarchy)


def _class_sizes(n_samples, n_leaves, imbalance, rng):
    """Sizes of the classes: equal, or spread over a ratio ``imbalance`` in a
    random order of the leaves."""
    if imbalance == 1.0:
        sizes = np.full(n_leaves, n_samples // n_leaves)
        sizes[: n_samples % n_leaves] += 1
        return sizes
    ranks = rng.permutation(n_leaves) / max(n_leaves - 1, 1)
    share = imbalance ** -ranks
    sizes = np.floor(n_samples * share / share.sum()).astype(int)
    sizes[np.argsort(-share)[: n_samples - sizes.sum()]] += 1
    return sizes


def _label_names(leaves):
    """The leaves as a label array of one type, and the marker of unlabeled samples.

    Integer leaves give an int64 array and ``-1``; string leaves an object array
    of strings and ``"-1"``, so that ``y`` never mixes strings and integers.
    """
    names = as_label_array(leaves)  # as the estimators' classes_
    if names.dtype.kind == "i":
        return names, UNLABELED
    if all(isinstance(leaf, str) for leaf in leaves):
        return names, str(UNLABELED)
    kinds = sorted({type(leaf).__name__ for leaf in leaves})
    raise TypeError(
        "hierarchy leaves must be all strings or all integers, so that the "
        f"labels have one type; got leaves of types {kinds}."
    )


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "hierarchy": [dict, list, None],
        "depth": [Interval(Integral, 1, None, closed="left")],
        "branching": [Interval(Integral, 2, None, closed="left")],
        "n_novel": [Interval(Integral, 0, None, closed="left")],
        "labeled_fraction": [Interval(Real, 0, 1, closed="right")],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "shrink": [Interval(Real, 0, None, closed="neither")],
        "cluster_std": [Interval(Real, 0, None, closed="neither")],
        "imbalance": [Interval(Real, 1, None, closed="left")],
        "tail_df": [Interval(Real, 2, None, closed="neither"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_hierarchical_blobs(
    n_samples=1000,
    n_features=10,
    *,
    hierarchy=None,
    depth=3,
    branching=2,
    n_novel=2,
    labeled_fraction=0.5,
    scale=4.0,
    shrink=0.5,
    cluster_std=1.0,
    imbalance=1.0,
    tail_df=None,
    random_state=None,
):
    """Gaussian blobs whose centres follow a lineage tree, some leaves novel.

    The root centre is the origin; each child centre is its parent's plus a
    Gaussian offset of standard deviation ``scale * shrink ** (depth - 1)`` per
    feature, so siblings deep in the tree are closer than distant cousins. Each
    leaf is a class with isotropic noise of standard deviation ``cluster_std``
    (Gaussian, or Student-t with ``tail_df`` degrees of freedom: heavy tails);
    classes have (nearly) equal sizes, or sizes spread over a ratio
    ``imbalance`` between the largest and the smallest.
    ``n_novel`` leaves are drawn as novel classes: their samples are all
    unlabeled. A fraction ``labeled_fraction`` of the samples of the other (known)
    leaves keep their label.

    Parameters
    ----------
    n_samples : int, default=1000
        Total number of samples.
    n_features : int, default=10
        Dimension.
    hierarchy : dict or list of (child, parent) pairs, default=None
        A given tree (``{child: parent}``); ``None`` draws a balanced tree of the
        given ``depth`` and ``branching`` with nodes named by their path
        (``"c1.0"`` is the first child of ``"c1"``).
    depth : int, default=3
        Depth of the random tree.
    branching : int, default=2
        Children per internal node of the random tree.
    n_novel : int, default=2
        Number of novel leaves; must leave at least one known leaf.
    labeled_fraction : float, default=0.5
        Fraction of the known classes' samples that keep their label.
    scale : float, default=4.0
        Offset standard deviation of the root's children.
    shrink : float, default=0.5
        Factor applied to the offset scale at each level down.
    cluster_std : float, default=1.0
        Standard deviation of the samples around their leaf centre.
    imbalance : float >= 1, default=1.0
        Ratio of the largest to the smallest class size. Leaf sizes are
        proportional to ``imbalance ** (-k / (n_leaves - 1))`` for ``k = 0, ...,
        n_leaves - 1`` in a random order of the leaves, so novel classes may be
        small or large; ``1`` gives equal sizes.
    tail_df : float > 2 or None, default=None
        ``None``: Gaussian noise. A number: Student-t noise with ``tail_df``
        degrees of freedom, rescaled to standard deviation ``cluster_std``
        (e.g. 3 for heavy tails with the same spread).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Samples.
    y : ndarray of shape (n_samples,)
        Leaf labels of the labeled samples and a marker for the unlabeled
        ones, of the type of the leaf names so that ``y`` holds labels of one
        type (``np.unique(y)`` works): with string leaves (the random tree's)
        an object array of strings with ``"-1"`` for unlabeled samples; with
        integer leaves an int64 array with ``-1``. Both markers are what
        :func:`skdeep.utils.unlabeled_mask` and the estimators of
        :mod:`skdeep.cluster` read as unlabeled.
    y_true : ndarray of shape (n_samples,)
        True leaf of every sample, of the dtype of ``y``.
    hierarchy : dict
        The tree, ``{child: parent}``; the novel leaves are in it by name.
    novel : list
        The novel leaves.

    Raises
    ------
    ValueError
        When an argument is out of its range (e.g. a negative size, ``NaN`` or
        infinite ``scale``, ``labeled_fraction`` outside ``(0, 1]``), when
        ``n_novel`` leaves no known leaf, when the tree has more than
        ``MAX_TREE_NODES = 100_000`` nodes (``depth=12, branching=4`` would
        have 22 million), or when ``n_samples * n_features`` or
        ``n_nodes * n_features`` pass 10**8 entries (800 MB of float64).
        These caps are checked before anything is allocated.
    TypeError
        When an argument has the wrong type (e.g. a float ``n_samples``), or
        when the leaves of a given ``hierarchy`` mix strings and integers.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.datasets import make_hierarchical_blobs
    >>> from skdeep.utils import unlabeled_mask
    >>> X, y, y_true, tree, novel = make_hierarchical_blobs(
    ...     n_samples=200, n_features=5, depth=2, n_novel=1, random_state=0)
    >>> X.shape, len(tree), len(novel)
    ((200, 5), 6, 1)
    >>> np.unique(y).tolist()
    ['-1', 'c0.0', 'c0.1', 'c1.1']
    >>> bool(np.all(unlabeled_mask(y) == (y == "-1")))
    True
    """
    check_simulation_size(n_samples * n_features, "n_samples * n_features")
    edges = _tree_edges(hierarchy, depth, branching, n_features)
    rng = check_random_state(random_state)
    tree = LabelTree(edges)
    leaves = [tree.nodes[i] for i in tree.leaves]
    if n_novel >= len(leaves):
        raise ValueError(
            f"n_novel={n_novel} must be smaller than the number of leaves "
            f"({len(leaves)}) so that some classes are known."
        )
    names, marker = _label_names(leaves)
    centers = np.zeros((tree.n_nodes, n_features))
    for node in range(1, tree.n_nodes):  # preorder: parents first
        std = scale * shrink ** (tree.depth[node] - 1)
        centers[node] = centers[tree.parent[node]] + rng.normal(
            scale=std, size=n_features)
    sizes = _class_sizes(n_samples, len(leaves), imbalance, rng)
    which = np.repeat(np.arange(len(leaves)), sizes)
    if tail_df is None:
        noise = rng.normal(scale=cluster_std, size=(n_samples, n_features))
    else:
        noise = rng.standard_t(tail_df, size=(n_samples, n_features))
        noise *= cluster_std / np.sqrt(tail_df / (tail_df - 2.0))
    X = centers[tree.leaves][which] + noise
    novel_idx = np.sort(rng.choice(len(leaves), size=n_novel, replace=False))
    novel = [leaves[i] for i in novel_idx]
    y_true = names[which]
    y = y_true.copy()
    is_novel = np.isin(which, novel_idx)
    y[is_novel] = marker
    known_rows = np.flatnonzero(~is_novel)
    n_hidden = known_rows.size - int(round(labeled_fraction * known_rows.size))
    y[rng.choice(known_rows, size=n_hidden, replace=False)] = marker
    perm = rng.permutation(n_samples)
    return X[perm], y[perm], y_true[perm], dict(edges), novel
