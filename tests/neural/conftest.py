"""Shared fixtures of the deep estimators' tests."""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning


@pytest.fixture
def one_quiet_thread():
    """One torch thread (tiny matrices: more threads only contend with the
    pytest-xdist workers) and no ConvergenceWarning from short fits."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
    torch.set_num_threads(before)
