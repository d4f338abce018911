import numpy as np
import pytest

from skdeep.metrics import effective_rank


def test_effective_rank_of_known_spectra():
    assert effective_rank(np.eye(4)) == pytest.approx(4.0)
    assert effective_rank(np.outer([1.0, 2.0, 3.0], [1.0, -1.0])) == pytest.approx(1.0)
    assert effective_rank(np.zeros((3, 2))) == 0.0
    # two singular values 3 and 1: p = (3/4, 1/4)
    p = np.array([0.75, 0.25])
    expected = np.exp(-np.sum(p * np.log(p)))
    assert effective_rank(np.diag([3.0, 1.0])) == pytest.approx(expected)


def test_effective_rank_is_scale_and_rotation_invariant():
    rng = np.random.RandomState(0)
    A = rng.standard_normal((6, 4))
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    value = effective_rank(A)
    assert 1.0 < value < 4.0
    assert effective_rank(10 * A) == pytest.approx(value)
    assert effective_rank(Q @ A) == pytest.approx(value)


@pytest.mark.parametrize(
    "matrix, match",
    [(np.ones(3), "2-D"), (np.array([[np.nan, 1.0]]), "finite"),
     (np.ones((0, 2)), "empty")],
)
def test_effective_rank_bad_input(matrix, match):
    with pytest.raises(ValueError, match=match):
        effective_rank(matrix)
