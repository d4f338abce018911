import numpy as np
import pytest

from skdeep.utils._validation import check_semi_supervised_y, unlabeled_mask


def test_unlabeled_mask_integers_and_strings():
    np.testing.assert_array_equal(unlabeled_mask([0, -1, 2, -1]), [0, 1, 0, 1])
    y = np.array(["a", -1, "b", "-1"], dtype=object)
    np.testing.assert_array_equal(unlabeled_mask(y), [0, 1, 0, 1])


def test_check_semi_supervised_y_copies_and_masks():
    y = np.array([1, -1, 0])
    out, labeled = check_semi_supervised_y(y, 3)
    np.testing.assert_array_equal(labeled, [True, False, True])
    out[0] = 7
    assert y[0] == 1, "the caller's labels were modified"


def test_check_semi_supervised_y_string_labels_become_object():
    out, labeled = check_semi_supervised_y(np.array(["a", "-1", "b"]), 3)
    assert out.dtype == object
    np.testing.assert_array_equal(labeled, [True, False, True])


@pytest.mark.parametrize(
    "y, n, match",
    [
        (None, 3, "y is required"),
        ([0, 1], 3, "inconsistent numbers of samples"),
        ([[0, 1], [1, 0], [0, 0]], 3, "1-D"),
        ([0.0, np.nan, 1.0], 3, "NaN"),
        ([0.5, 1.0, 2.0], 3, "non-integer"),
    ],
)
def test_check_semi_supervised_y_errors(y, n, match):
    with pytest.raises(ValueError, match=match):
        check_semi_supervised_y(y, n)


def test_check_semi_supervised_y_rejects_complex():
    with pytest.raises(TypeError, match="integer or string"):
        check_semi_supervised_y(np.array([1j, 2j, 0j]), 3)


# -- check_y_given ---------------------------------------------------------------------
def test_check_y_given_names_the_estimator():
    from sklearn.dummy import DummyClassifier

    from skdeep.utils._validation import check_y_given

    check_y_given(DummyClassifier(), [0, 1])  # no error
    with pytest.raises(ValueError, match="DummyClassifier requires y to be passed"):
        check_y_given(DummyClassifier(), None)


# -- class and sample weights ----------------------------------------------------------
def test_class_weight_vector_matches_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    from skdeep.utils._validation import class_weight_vector

    y = np.array(["b", "a", "b", "c", "b", "a"])
    classes, y_index = np.unique(y, return_inverse=True)
    for class_weight in ("balanced", {"a": 2.0, "c": 0.5}, None):
        np.testing.assert_array_equal(
            class_weight_vector(class_weight, classes, y_index),
            compute_class_weight(class_weight, classes=classes, y=y),
        )
    # a dict naming every class may carry extra labels (a class absent here)
    np.testing.assert_array_equal(
        class_weight_vector({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, classes, y_index),
        [1.0, 2.0, 3.0],
    )
    with pytest.raises(ValueError, match=r"class_weight has labels \['d'\]"):
        class_weight_vector({"d": 2.0}, classes, y_index)


def test_combined_sample_weight():
    from skdeep.utils._validation import combined_sample_weight

    y_index, classes = np.array([0, 0, 0, 1]), np.array([3, 7])
    weight = np.array([1.0, 2.0, 0.0, 1.0])
    before = weight.copy()
    out = combined_sample_weight(y_index, classes, class_weight={7: 3.0},
                                 sample_weight=weight)
    np.testing.assert_array_equal(out, [1.0, 2.0, 0.0, 3.0])
    out[:] = -1
    np.testing.assert_array_equal(weight, before)
    out = combined_sample_weight(y_index, classes, sample_weight=weight)
    assert out is not weight
    np.testing.assert_array_equal(combined_sample_weight(y_index, classes), np.ones(4))
    for bad, match in [
        ([1.0, -1.0, 1.0, 1.0], "[Nn]egative"),
        ([0.0, 0.0, 0.0, 0.0], "at least one non-zero"),
        ([1.0, 1.0], "sample_weight"),
        (["a", "b", "c", "d"], "sample_weight"),
    ]:
        with pytest.raises(ValueError, match=match):
            combined_sample_weight(y_index, classes, sample_weight=bad)


# -- validation_split ------------------------------------------------------------------
def test_validation_split_sizes_and_determinism():
    from skdeep.utils._validation import validation_split

    train, val = validation_split(20, 0.25, random_state=0)
    assert val.size == 5 and train.size == 15
    np.testing.assert_array_equal(np.sort(np.r_[train, val]), np.arange(20))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    again = validation_split(20, 0.25, random_state=0)
    np.testing.assert_array_equal(again[1], val)
    # one draw of the caller's RandomState
    rng = np.random.RandomState(0)
    np.testing.assert_array_equal(validation_split(20, 0.25, rng)[1], val)


def test_validation_split_stratified_is_train_test_split():
    from sklearn.model_selection import train_test_split

    from skdeep.utils._validation import validation_split

    y = np.repeat([0, 1, 2, 3], 10)
    train, val = validation_split(40, 0.2, np.random.RandomState(1), stratify=y)
    np.testing.assert_array_equal(np.bincount(y[val]), [2, 2, 2, 2])
    seed = np.random.RandomState(1).randint(np.iinfo(np.int32).max)
    ref_train, ref_val = train_test_split(np.arange(40), test_size=0.2, stratify=y,
                                          random_state=seed)
    np.testing.assert_array_equal(val, np.sort(ref_val))
    np.testing.assert_array_equal(train, np.sort(ref_train))


def test_validation_split_by_group():
    from skdeep.utils._validation import validation_split

    groups = np.r_[np.zeros(30, int), np.ones(10, int), np.full(1, 2)]
    train, val = validation_split(41, 0.2, 0, groups=groups)
    np.testing.assert_array_equal(np.bincount(groups[val], minlength=3), [6, 2, 0])
    assert set(groups[train]) == {0, 1, 2}  # every group keeps training samples


@pytest.mark.parametrize(
    "n, fraction, kwargs, match",
    [
        (10, 0.01, {}, "leaves no validation"),
        (3, 0.9, {}, "leaves no validation or no training"),
        (4, 0.2, {"groups": [0, 1, 2, 3]}, "leaves no validation"),
        (20, 0.2, {"stratify": np.repeat(np.arange(10), 2)}, "stratified"),
        (20, 0.2, {"stratify": np.zeros(20), "groups": np.zeros(20)}, "not both"),
    ],
)
def test_validation_split_errors(n, fraction, kwargs, match):
    from skdeep.utils._validation import validation_split

    with pytest.raises(ValueError, match=match):
        validation_split(n, fraction, 0, **kwargs)
