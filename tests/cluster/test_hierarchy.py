import numpy as np
import pytest

from skdeep.cluster._hierarchy import resolve_classes
from skdeep.datasets import make_hierarchical_blobs
from skdeep.utils import unlabeled_mask
from skdeep.utils._label_tree import LabelTree, parse_hierarchy

TREE = {"a": "ab", "b": "ab", "c": "cd", "d": "cd", "ab": "r", "cd": "r"}


def test_tree_order_ancestors_and_distances():
    tree = LabelTree(parse_hierarchy(TREE))
    assert tree.nodes == ["r", "ab", "a", "b", "cd", "c", "d"]
    assert [tree.nodes[i] for i in tree.leaves] == ["a", "b", "c", "d"]
    A = tree.ancestor_matrix()
    # Leaf "c" = root + "cd" + "c".
    np.testing.assert_array_equal(A[2], [1, 0, 0, 0, 1, 1, 0])
    D = tree.leaf_distances()
    np.testing.assert_array_equal(D[0], [0, 2, 4, 4])
    np.testing.assert_array_equal(D, D.T)


def test_edge_list_equals_mapping():
    edges = list(TREE.items())
    assert parse_hierarchy(edges) == parse_hierarchy(TREE)


@pytest.mark.parametrize(
    "hierarchy, match",
    [
        ({"a": "b", "b": "a"}, "cyclic"),
        ({"a": "a"}, "cyclic"),
        ({"a": "r", "b": "c", "c": "b"}, "cyclic or disconnected"),
        ({"a": "r", "b": "s"}, "single connected tree"),
        ([("a", "r"), ("a", "s")], "two parents"),
        ([("a", "r", "x")], "pairs"),
        ({}, "empty"),
        ({-1: "r"}, "-1"),
    ],
)
def test_bad_hierarchy(hierarchy, match):
    with pytest.raises(ValueError, match=match):
        parse_hierarchy(hierarchy) if match in ("two parents", "pairs", "empty", "-1") \
            else LabelTree(parse_hierarchy(hierarchy))


def test_resolve_classes_flat_and_given():
    y = np.array(["b", "a", "b"], dtype=object)
    tree, y_index, known = resolve_classes(None, None, y, has_unlabeled=True)
    leaves = [tree.nodes[i] for i in tree.leaves]
    assert leaves == ["a", "b", "novel_0"]
    np.testing.assert_array_equal(y_index, [1, 0, 1])
    np.testing.assert_array_equal(known, [True, True, False])
    # Fully labeled with the default: no novel leaf.
    tree, _, known = resolve_classes(None, None, y, has_unlabeled=False)
    assert known.all()
    tree, _, known = resolve_classes(TREE, None, y, has_unlabeled=True)
    np.testing.assert_array_equal(known, [True, True, False, False])


def test_simulator_ground_truth():
    X, y, y_true, tree, novel = make_hierarchical_blobs(
        n_samples=403, n_features=3, depth=2, branching=3, n_novel=2,
        labeled_fraction=0.25, random_state=0,
    )
    assert X.shape == (403, 3) and len(novel) == 2
    leaves = {c for c in tree if c not in set(tree.values())}
    assert len(leaves) == 9 and set(y_true) == leaves and set(novel) <= leaves
    unlabeled = unlabeled_mask(y)
    # Novel classes are never labeled; labels agree with the truth.
    assert unlabeled[np.isin(y_true, novel)].all()
    np.testing.assert_array_equal(y[~unlabeled], y_true[~unlabeled])
    known_rows = ~np.isin(y_true, novel)
    frac = (~unlabeled).sum() / known_rows.sum()
    assert abs(frac - 0.25) < 0.01
    # Siblings are closer than leaves of different subtrees (offsets shrink).
    X2, _, yt2, tree2, _ = make_hierarchical_blobs(
        n_samples=4000, n_features=20, depth=2, branching=2, n_novel=0,
        shrink=0.3, random_state=1)
    means = {leaf: X2[yt2 == leaf].mean(0) for leaf in set(yt2)}
    sib = np.linalg.norm(means["c0.0"] - means["c0.1"])
    cousin = np.linalg.norm(means["c0.0"] - means["c1.0"])
    assert sib < cousin
    # Same seed, same data.
    X3 = make_hierarchical_blobs(n_samples=403, n_features=3, depth=2, branching=3,
                                 n_novel=2, labeled_fraction=0.25, random_state=0)[0]
    np.testing.assert_array_equal(X, X3)


def test_simulator_bad_n_novel():
    with pytest.raises(ValueError, match="n_novel"):
        make_hierarchical_blobs(n_samples=50, depth=1, branching=2, n_novel=2)
