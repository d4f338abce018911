"""The labels the simulators return: one type, and a marker the estimators read."""

import numpy as np
import pytest
from sklearn.utils.multiclass import unique_labels

from skdeep.cluster import NovelClassKMeans
from skdeep.datasets import make_hierarchical_blobs, make_multiomics
from skdeep.utils import unlabeled_mask


def _one_type(y):
    return len({type(v) for v in y.tolist()}) == 1


def test_hierarchical_blobs_string_leaves_use_a_string_marker():
    X, y, y_true, tree, novel = make_hierarchical_blobs(
        200, 3, depth=2, n_novel=1, random_state=0)
    assert _one_type(y) and _one_type(y_true)
    assert y.dtype == y_true.dtype == object
    assert isinstance(y[0], str)
    # np.unique and scikit-learn's label checks sort the labels: a mix of
    # strings and integers raised TypeError there
    leaves = sorted(set(y_true.tolist()))
    assert np.unique(y_true).tolist() == leaves
    assert np.unique(y).tolist() == sorted({"-1", *leaves} - set(novel))
    assert unique_labels(y).tolist() == np.unique(y).tolist()
    unl = unlabeled_mask(y)
    np.testing.assert_array_equal(unl, y == "-1")
    # every novel sample is unlabeled, half of the known ones (the default)
    is_novel = np.isin(y_true, novel)
    assert unl[is_novel].all()
    assert unl[~is_novel].mean() == pytest.approx(0.5, abs=0.01)
    np.testing.assert_array_equal(y[~unl], y_true[~unl])


def test_hierarchical_blobs_integer_leaves_use_minus_one():
    tree = {1: 0, 2: 0, 3: 0, 4: 3, 5: 3}
    _, y, y_true, _, novel = make_hierarchical_blobs(
        100, 2, hierarchy=tree, n_novel=1, random_state=0)
    assert y.dtype == y_true.dtype == np.int64
    np.testing.assert_array_equal(unlabeled_mask(y), y == -1)
    assert set(np.unique(y_true).tolist()) == {1, 2, 4, 5}
    assert -1 in np.unique(y) and novel[0] not in np.unique(y)


def test_hierarchical_blobs_rejects_leaves_of_mixed_types():
    with pytest.raises(TypeError, match="all strings or all integers"):
        make_hierarchical_blobs(50, 2, hierarchy={1: "r", "a": "r", "b": "r"},
                                n_novel=1, random_state=0)


def test_the_same_draw_as_with_the_integer_marker():
    # only the marker changed: the estimators read "-1" as they read -1 in an
    # object array of strings, and fit the same model
    X, y, _, tree, _ = make_hierarchical_blobs(
        300, 4, depth=2, n_novel=1, random_state=0)
    y_int = y.copy()
    y_int[y == "-1"] = -1
    a = NovelClassKMeans(tree, n_init=2, random_state=0).fit(X, y)
    b = NovelClassKMeans(tree, n_init=2, random_state=0).fit(X, y_int)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.novel_classes_.tolist() == b.novel_classes_.tolist()


def test_multiomics_labels_are_integers():
    X, y, y_true, modality = make_multiomics(
        n_samples=100, n_features=(5, 4), labeled_fraction=0.3, random_state=0)
    assert y.dtype == y_true.dtype == np.int64
    assert np.unique(y).tolist() == [-1, *np.unique(y_true[y != -1]).tolist()]
    np.testing.assert_array_equal(unlabeled_mask(y), y == -1)
