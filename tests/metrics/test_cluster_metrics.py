import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from skdeep.metrics import cluster_accuracy, hierarchical_naming_scores
from skdeep.utils._matching import hungarian_match


def test_cluster_accuracy_invariant_to_renaming():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, size=200)
    renamed = np.array(["d", "a", "c", "b"])[y]
    assert cluster_accuracy(y, renamed) == 1.0


def test_cluster_accuracy_matches_brute_force():
    from itertools import permutations

    rng = np.random.RandomState(1)
    y_true = rng.randint(0, 3, size=50)
    y_pred = rng.randint(0, 3, size=50)
    best = max(
        accuracy_score(y_true, np.array(perm)[y_pred])
        for perm in permutations(range(3))
    )
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(best)


def test_cluster_accuracy_extra_clusters_count_as_errors():
    assert cluster_accuracy([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(0.75)


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [([0, 1], [0], "different lengths"), ([], [], "empty"), ([[0]], [[0]], "1-D")],
)
def test_cluster_accuracy_errors(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        cluster_accuracy(y_true, y_pred)


def test_hungarian_match_minimises_and_maximises():
    cost = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    rows, cols = hungarian_match(cost, maximize=False)
    assert cost[rows, cols].sum() == 5.0
    rows, cols = hungarian_match(cost, maximize=True)
    assert cost[rows, cols].sum() == 11.0
    with pytest.raises(ValueError, match="finite"):
        hungarian_match([[np.nan]])
    with pytest.raises(ValueError, match="2-D"):
        hungarian_match([1.0, 2.0])


def test_hierarchical_naming_scores_against_a_count():
    tree = {"a": "ab", "b": "ab", "ab": "r", "c": "cd", "d": "cd", "cd": "r"}
    y_true = ["a", "a", "a", "b", "c", "c", "d", "d"]
    # novel a, b: named right at the leaf (1), at the parent (2), at the
    # root (no credit), as a known leaf (no credit); known c, d: one called
    # novel ("ab"), one by a novel leaf ("a"), two right
    y_node = ["a", "ab", "r", "ab", "c", "ab", "a", "d"]
    scores = hierarchical_naming_scores(y_true, y_node, tree, novel=["a", "b"])
    assert scores["leaf"] == pytest.approx(1 / 4)
    assert scores["ancestor"] == pytest.approx(3 / 4)
    assert scores["false_novel"] == pytest.approx(2 / 4)
    y_node[3] = "c"  # a novel sample under a known name: no credit
    scores = hierarchical_naming_scores(y_true, y_node, tree, novel=["a", "b"])
    assert scores["ancestor"] == pytest.approx(2 / 4)
    # integer leaves with string internal nodes
    tree = {0: "loops", 6: "loops", 1: "strokes", 7: "strokes",
            "loops": "root", "strokes": "root"}
    scores = hierarchical_naming_scores([0, 6, 1], ["loops", 6, 1], tree,
                                        novel=[0])
    assert scores == {"leaf": 0.0, "ancestor": 1.0, "false_novel": 0.0}
    with pytest.raises(ValueError, match="y_node"):
        hierarchical_naming_scores([0, 6], [0], tree, novel=[0])
