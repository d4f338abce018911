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
