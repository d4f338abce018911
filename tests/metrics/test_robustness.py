"""certified_accuracy: its definition, its bounds and its argument checks."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from skdeep.metrics import certified_accuracy


class _Certified:
    """A stand-in with fixed predictions and radii."""

    def __init__(self, pred, radius):
        self.pred, self.radius = np.asarray(pred), np.asarray(radius, dtype=float)

    def predict(self, X):
        return self.pred

    def certified_radius(self, X):
        return self.radius


X6 = np.zeros((6, 2))
Y6 = np.array([0, 1, 1, 0, 2, 2])
STUB = _Certified(pred=[0, 1, 0, 0, 2, 1], radius=[0.1, 2.0, 5.0, 0.0, 1.0, 3.0])


def test_counts_the_correct_samples_with_a_larger_radius():
    # correct: samples 0, 1, 3, 4 with radii 0.1, 2.0, 0.0, 1.0
    assert certified_accuracy(STUB, X6, Y6, 0.0) == pytest.approx(3 / 6)
    assert certified_accuracy(STUB, X6, Y6, 0.5) == pytest.approx(2 / 6)
    assert certified_accuracy(STUB, X6, Y6, 1.0) == pytest.approx(1 / 6)  # strict
    assert certified_accuracy(STUB, X6, Y6, 2.0) == 0.0


def test_several_eps_give_one_accuracy_each():
    eps = [0.0, 0.5, 1.0, 2.0]
    got = certified_accuracy(STUB, X6, Y6, eps)
    assert isinstance(got, np.ndarray) and got.shape == (4,)
    np.testing.assert_allclose(got, [certified_accuracy(STUB, X6, Y6, e) for e in eps])
    assert isinstance(certified_accuracy(STUB, X6, Y6, 0.5), float)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_on_a_lipschitz_classifier_it_is_below_the_accuracy_and_decreasing():
    pytest.importorskip("torch")
    from skdeep.neural import LipschitzClassifier

    X, y = make_blobs(n_samples=200, centers=[[-2, 0], [2, 0]], random_state=0)
    clf = LipschitzClassifier(hidden_layer_sizes=(8,), max_iter=30, device="cpu",
                              random_state=0).fit(X, y)
    eps = np.linspace(0, 4, 9)
    acc = certified_accuracy(clf, X, y, eps)
    assert np.all(np.diff(acc) <= 0)
    assert acc[0] <= clf.score(X, y)
    assert acc[0] > 0.9 and acc[-1] < 0.5  # the classes are 4 apart


def test_string_labels():
    stub = _Certified(pred=["a", "b"], radius=[1.0, 1.0])
    assert certified_accuracy(stub, np.zeros((2, 1)), ["a", "a"], 0.5) == 0.5


@pytest.mark.parametrize(
    "estimator, y, eps, error, message",
    [
        (LogisticRegression(), Y6, 0.5, TypeError, "certified_radius"),
        (STUB, Y6, -0.1, ValueError, "eps must be non-negative"),
        (STUB, Y6, np.nan, ValueError, "eps must be finite"),
        (STUB, Y6, [[0.1]], ValueError, "eps must be 1-D"),
        (STUB, Y6[:5], 0.5, ValueError, "y has 5 labels but X has 6 rows"),
        (STUB, Y6, "a", ValueError, "eps"),
    ],
)
def test_bad_arguments_are_named(estimator, y, eps, error, message):
    with pytest.raises(error, match=message):
        certified_accuracy(estimator, X6, y, eps)
