import numpy as np
import pytest

from skdeep.metrics import missing_entry_error


def test_missing_entry_error_scores_only_the_missing_entries():
    rng = np.random.RandomState(0)
    X_true = rng.standard_normal((6, 5))
    X = X_true.copy()
    missing = rng.rand(6, 5) < 0.4
    X[missing] = np.nan
    X_filled = np.where(missing, 0.5 * X_true, 100.0)  # observed entries ignored
    assert missing_entry_error(X_true, X_filled, X) == pytest.approx(0.5)
    assert missing_entry_error(X_true, np.where(missing, 0.0, X), X) == 1.0


def test_missing_entry_error_bad_input():
    X = np.ones((2, 2))
    with pytest.raises(ValueError, match="same shape"):
        missing_entry_error(X, np.ones((2, 3)), X)
    with pytest.raises(ValueError, match="no missing"):
        missing_entry_error(X, X, X)
    with pytest.raises(ValueError, match="undefined"):
        missing_entry_error(np.zeros((2, 2)), X, np.full((2, 2), np.nan))
