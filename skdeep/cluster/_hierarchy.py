"""Label trees for novel class discovery: parsing, checks and tree algebra.

A hierarchy is given as a ``{child: parent}`` mapping or a list of ``(child, parent)``
edges. Its leaves are the classes, known and novel. Prototypes are parametrised
along the tree: ``centre(leaf) = sum of the offsets of the leaf and its ancestors``,
i.e. ``C = A @ E`` with ``A`` the (leaf x node) ancestor matrix built here.
"""

import numbers
from collections.abc import Mapping

import numpy as np

from ..utils._validation import UNLABELED


class LabelTree:
    """A rooted tree over hashable node names, nodes in depth-first preorder.

    Attributes
    ----------
    nodes : list
        Node names, root first; every parent comes before its children.
    parent : ndarray of int
        Index of each node's parent (``-1`` for the root).
    depth : ndarray of int
        Number of edges from the root.
    leaves : ndarray of int
        Indices of the leaves (nodes without children), in preorder.
    """

    def __init__(self, edges):
        self.edges = edges
        children = {}
        for child, parent in edges.items():
            children.setdefault(parent, []).append(child)
        parents = set(edges.values())
        roots = [node for node in _ordered_nodes(edges) if node not in edges]
        if not roots:
            raise ValueError(
                "hierarchy is cyclic: every node has a parent, so there is no root."
            )
        if len(roots) > 1:
            raise ValueError(
                "hierarchy must be a single connected tree, found several roots: "
                f"{roots[:5]}."
            )
        root = roots[0]
        nodes, parent, depth = [], [], []
        index = {}
        stack = [(root, -1, 0)]
        while stack:
            node, par, dep = stack.pop()
            index[node] = len(nodes)
            nodes.append(node)
            parent.append(par)
            depth.append(dep)
            # Reversed so that children come out in their given order.
            for child in reversed(children.get(node, [])):
                stack.append((child, index[node], dep + 1))
        if len(nodes) != len(edges) + 1:
            unreached = [n for n in edges if n not in index]
            raise ValueError(
                "hierarchy is cyclic or disconnected: nodes "
                f"{unreached[:5]} cannot be reached from the root {root!r}."
            )
        self.root = root
        self.nodes = nodes
        self.index = index
        self.parent = np.asarray(parent, dtype=np.intp)
        self.depth = np.asarray(depth, dtype=np.intp)
        self.leaves = np.asarray(
            [i for i, node in enumerate(nodes) if node not in parents], dtype=np.intp
        )

    @property
    def n_nodes(self):
        return len(self.nodes)

    def ancestor_matrix(self):
        """``A[l, j] = 1`` when node ``j`` is leaf ``l`` or one of its ancestors."""
        A = np.zeros((len(self.leaves), self.n_nodes))
        for row, leaf in enumerate(self.leaves):
            node = leaf
            while node >= 0:
                A[row, node] = 1.0
                node = self.parent[node]
        return A

    def leaf_distances(self):
        """Path lengths (number of edges) between every pair of leaves."""
        A = self.ancestor_matrix()
        # Common ancestors of two leaves = depth of their lowest common one + 1.
        common = A @ A.T
        depth = self.depth[self.leaves].astype(float)
        return depth[:, None] + depth[None, :] - 2.0 * (common - 1.0)


def _ordered_nodes(edges):
    seen = {}
    for child, parent in edges.items():
        seen.setdefault(child, None)
        seen.setdefault(parent, None)
    return list(seen)


def _is_unlabeled_name(node):
    return (
        isinstance(node, numbers.Number) and not isinstance(node, bool)
        and node == UNLABELED
    ) or node == str(UNLABELED)


def parse_hierarchy(hierarchy):
    """Validate ``hierarchy`` and return its ``{child: parent}`` edges as a dict."""
    if isinstance(hierarchy, Mapping):
        pairs = list(hierarchy.items())
    else:
        try:
            pairs = [tuple(edge) for edge in hierarchy]
        except TypeError as exc:
            raise TypeError(
                "hierarchy must be a {child: parent} mapping or a list of "
                f"(child, parent) pairs, got {type(hierarchy).__name__}."
            ) from exc
        if any(len(edge) != 2 for edge in pairs):
            raise ValueError(
                "hierarchy must be a list of (child, parent) pairs; found an edge "
                "that is not a pair."
            )
    if not pairs:
        raise ValueError("hierarchy is empty: give at least one (child, parent) edge.")
    edges = {}
    for child, parent in pairs:
        child, parent = _plain(child), _plain(parent)
        for node in (child, parent):
            try:
                hash(node)
            except TypeError as exc:
                raise TypeError(
                    f"hierarchy node names must be hashable, got {node!r}."
                ) from exc
            if _is_unlabeled_name(node):
                raise ValueError(
                    "hierarchy uses -1 as a node name; -1 marks unlabeled samples."
                )
        if child == parent:
            raise ValueError(f"hierarchy is cyclic: {child!r} is its own parent.")
        if child in edges and edges[child] != parent:
            raise ValueError(
                f"hierarchy gives node {child!r} two parents: {edges[child]!r} and "
                f"{parent!r}; a tree has one parent per node."
            )
        edges[child] = parent
    return edges


def _plain(node):
    """NumPy scalars become Python ones so that names compare and print simply."""
    return node.item() if isinstance(node, np.generic) else node


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


def as_label_array(names):
    """Leaf names as an array: integers when all are integers, objects otherwise."""
    if names and all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in names
    ):
        return np.asarray(names, dtype=np.int64)
    out = np.empty(len(names), dtype=object)
    out[:] = names
    return out


def resolve_classes(hierarchy, n_novel_classes, y_labeled, has_unlabeled):
    """Build the label tree and split its leaves into known and novel classes.

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
    labels = [_plain(v) for v in y_labeled]
    try:
        seen = list(dict.fromkeys(labels))
        if hierarchy is None:
            seen = sorted(seen)
    except TypeError as exc:
        raise TypeError(
            "y mixes label types that cannot be compared (e.g. integers and strings)."
        ) from exc
    if hierarchy is None:
        if n_novel_classes is None:
            n_novel = 1 if has_unlabeled else 0
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
    if hierarchy is not None and n_novel_classes is not None and (
        n_novel_classes != n_novel
    ):
        raise ValueError(
            f"n_novel_classes={n_novel_classes} but the hierarchy has {n_novel} "
            "leaves without labeled samples (its novel classes)."
        )
    if has_unlabeled and n_novel == 0:
        raise ValueError(
            "y has unlabeled samples but the hierarchy has no novel leaf (every leaf "
            "has labeled samples): add the novel classes to the hierarchy, or set "
            "n_novel_classes >= 1 with hierarchy=None."
        )
    y_index = np.fromiter((leaf_pos[v] for v in labels), dtype=np.intp,
                          count=len(labels))
    return tree, y_index, known
