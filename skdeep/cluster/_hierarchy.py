"""The label tree of novel class discovery: its classes, known and novel.

A hierarchy is given as a ``{child: parent}`` mapping or a list of ``(child, parent)``
edges (parsed and ordered by :mod:`skdeep.utils._label_tree`, which the simulator
shares). Its leaves are the classes, known and novel: :func:`resolve_classes`
builds the tree of a fit (the flat default one when none is given) and splits its
leaves by the labels seen. Prototypes are parametrised along the tree:
``centre(leaf) = sum of the offsets of the leaf and its ancestors``, i.e.
``C = A @ E`` with ``A`` the (leaf x node) ancestor matrix.
"""

import numpy as np

from ..utils._label_tree import LabelTree, parse_hierarchy, plain_name


def _free_name(base, taken):
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def flat_hierarchy(known, n_novel):
    """Flat tree: a root whose children are the known labels and ``n_novel`` novel
    leaves named ``novel_0, novel_1, ...`` (renamed if a label takes the name)."""
    taken = set(known)
    root = _free_name("root", taken)
    taken.add(root)
    novel = []
    k = 0
    while len(novel) < n_novel:
        name = f"novel_{k}"
        if name not in taken:
            novel.append(name)
        k += 1
    return {leaf: root for leaf in [*known, *novel]}


def resolve_classes(hierarchy, n_novel_classes, y_labeled, has_unlabeled,
                    max_auto=0):
    """Build the label tree and split its leaves into known and novel classes.

    With ``n_novel_classes="auto"`` the flat tree gets ``max_auto`` novel
    leaves (the most the fit may keep), and a given tree may have any number
    of novel leaves, none included: the fit decides how many hold a class.

    Returns
    -------
    tree : LabelTree
    y_index : ndarray of int
        Leaf index (in ``tree.leaves`` order) of each labeled sample.
    known : ndarray of bool
        True for the leaves that carry labeled samples.
    """
    if y_labeled.shape[0] == 0:
        raise ValueError(
            "y has no labeled sample: at least one sample needs a known class "
            "(-1 marks unlabeled samples)."
        )
    labels = [plain_name(v) for v in y_labeled]
    try:
        seen = list(dict.fromkeys(labels))
        if hierarchy is None:
            seen = sorted(seen)
    except TypeError as exc:
        raise TypeError(
            "y mixes label types that cannot be compared (e.g. integers and strings)."
        ) from exc
    auto = isinstance(n_novel_classes, str)  # "auto", validated by the estimator
    if hierarchy is None:
        if n_novel_classes is None:
            n_novel = 1 if has_unlabeled else 0
        elif auto:
            n_novel = max_auto if has_unlabeled else 0
        else:
            n_novel = n_novel_classes
        edges = flat_hierarchy(seen, n_novel)
    else:
        edges = parse_hierarchy(hierarchy)
    tree = LabelTree(edges)
    leaf_pos = {tree.nodes[node]: pos for pos, node in enumerate(tree.leaves)}
    for label in seen:
        if label not in tree.index:
            raise ValueError(
                f"y contains the label {label!r}, which is not a node of the hierarchy."
            )
        if label not in leaf_pos:
            raise ValueError(
                f"y contains the label {label!r}, an internal node of the hierarchy; "
                "labels must be leaves."
            )
    known = np.zeros(len(tree.leaves), dtype=bool)
    known[[leaf_pos[label] for label in seen]] = True
    n_novel = int((~known).sum())
    if hierarchy is not None and n_novel_classes is not None and not auto and (
        n_novel_classes != n_novel
    ):
        raise ValueError(
            f"n_novel_classes={n_novel_classes} but the hierarchy has {n_novel} "
            "leaves without labeled samples (its novel classes)."
        )
    if has_unlabeled and n_novel == 0 and not auto:
        raise ValueError(
            "y has unlabeled samples but the hierarchy has no novel leaf (every leaf "
            "has labeled samples): add the novel classes to the hierarchy, or set "
            "n_novel_classes >= 1 with hierarchy=None."
        )
    y_index = np.fromiter((leaf_pos[v] for v in labels), dtype=np.intp,
                          count=len(labels))
    return tree, y_index, known


def tree_neighbors(tree, known, n_neighbors, leaf):
    """The known leaves nearest to ``leaf`` in the tree (positions in
    ``tree.leaves``), itself excluded.

    Those of its nearest clade: the known leaves below its lowest ancestor
    that has any; of more than ``n_neighbors`` there, the ``n_neighbors``
    nearest by path length (every leaf tied with the last one included). The
    clade, not the path length alone, decides: in an unbalanced tree a leaf
    across the root can be fewer edges away than a cousin in the same
    lineage.
    """
    others = known.copy()
    others[leaf] = False
    if not others.any():
        return np.flatnonzero(known)
    A = tree.ancestor_matrix()
    node = tree.leaves[leaf]
    while True:
        node = tree.parent[node]
        below = others & (A[:, node] > 0)
        if below.any():
            break
    idx = np.flatnonzero(below)
    dist = tree.leaf_distances()[leaf, idx]
    cut = np.sort(dist, kind="stable")[min(n_neighbors, idx.size) - 1]
    return idx[dist <= cut]
