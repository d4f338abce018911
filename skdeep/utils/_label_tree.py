"""Label trees: the parsing, checks and tree algebra of a class hierarchy.

A hierarchy is given as a ``{child: parent}`` mapping or a list of ``(child,
parent)`` edges (:func:`parse_hierarchy` validates it); :class:`LabelTree` orders
its nodes (root first, depth-first) and gives the ancestor matrix and the path
lengths between leaves. The estimators of :mod:`skdeep.cluster` parametrise
their prototypes along such a tree (``C = A @ E``, ``A`` the leaf x node
ancestor matrix) and :func:`skdeep.datasets.make_hierarchical_blobs` draws its
blobs along one; both build it here.

Examples
--------
>>> from skdeep.utils._label_tree import LabelTree, parse_hierarchy
>>> tree = LabelTree(parse_hierarchy({"a": "ab", "b": "ab", "ab": "root",
...                                   "c": "root"}))
>>> tree.nodes
['root', 'ab', 'a', 'b', 'c']
>>> [tree.nodes[i] for i in tree.leaves]
['a', 'b', 'c']
>>> tree.leaf_distances()[0].tolist()  # path lengths from leaf "a"
[0.0, 2.0, 3.0]
"""

import numbers
from collections.abc import Mapping

import numpy as np

from ._validation import UNLABELED


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
        child, parent = plain_name(child), plain_name(parent)
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


def plain_name(node):
    """NumPy scalars become Python ones so that names compare and print simply."""
    return node.item() if isinstance(node, np.generic) else node


def as_label_array(names):
    """Leaf names as a label array: int64 when all are integers, objects otherwise.

    The one conversion of tree names to labels: the estimators' ``classes_`` and
    the simulator's ``y`` get the same type from the same tree.
    """
    if names and all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in names
    ):
        return np.asarray(names, dtype=np.int64)
    out = np.empty(len(names), dtype=object)
    out[:] = names
    return out
