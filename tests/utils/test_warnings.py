"""skdeep's warnings name the line of the caller, not a library frame."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.cluster import HierarchicalGMM
from skdeep.datasets import make_hierarchical_blobs
from skdeep.utils._warnings import warn


def _caught(func):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func()
    return caught


def test_warn_points_at_the_first_frame_outside_the_libraries():
    caught = _caught(lambda: warn("look here", RuntimeWarning))
    assert len(caught) == 1
    assert caught[0].category is RuntimeWarning
    assert caught[0].filename == __file__


@pytest.mark.parametrize("in_pipeline", [False, True])
def test_convergence_warning_of_a_fit_points_at_the_calling_line(in_pipeline):
    # A fit stopped by max_iter warns from inside the iteration monitor, under
    # scikit-learn's _fit_context (and a Pipeline): the warning must still be
    # attributed to this file, the user's code.
    X, y, _, tree, _ = make_hierarchical_blobs(
        n_samples=120, n_features=4, depth=2, n_novel=1, random_state=0
    )
    model = HierarchicalGMM(tree, max_iter=1, random_state=0)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    caught = [
        w
        for w in _caught(lambda: model.fit(X, y))
        if issubclass(w.category, ConvergenceWarning)
    ]
    assert caught, "max_iter=1 should stop the EM before convergence"
    assert {w.filename for w in caught} == {__file__}
    assert np.all(np.isfinite(model.predict_proba(X)))
