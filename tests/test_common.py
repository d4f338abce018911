"""The contract every skdeep estimator honours.

``parametrize_with_checks`` runs scikit-learn's own estimator checks; the tests
below add what a user of a research estimator relies on: clone, pickling,
determinism under ``random_state``, inputs left untouched and pandas output.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeep.utils import all_estimators
from skdeep.utils._test_common import (
    construct_instance,
    expected_failed_checks,
    make_test_data,
)

ESTIMATOR_CLASSES = [cls for _, cls in all_estimators()]
INSTANCES = [construct_instance(cls) for cls in ESTIMATOR_CLASSES]
# Estimators whose input is not a 2-D array (e.g. point processes on lists of event
# times) cannot run sklearn's checks; they test the same contract in their own tests.
TABULAR = [est for est in INSTANCES if get_tags(est).input_tags.two_d_array]
IDS = [type(est).__name__ for est in INSTANCES]
TABULAR_IDS = [type(est).__name__ for est in TABULAR]

OUTPUT_METHODS = (
    "predict",
    "predict_proba",
    "decision_function",
    "transform",
    "score_samples",
)


def test_all_estimators_found():
    names = {cls.__name__ for cls in ESTIMATOR_CLASSES}
    assert names, "no estimator discovered"
    assert all(name[0].isupper() for name in names)


@parametrize_with_checks(TABULAR, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _fit(estimator, X, y):
    return estimator.fit(X) if y is None else estimator.fit(X, y)


def _outputs(estimator, X):
    out = {}
    for method in OUTPUT_METHODS:
        if hasattr(estimator, method):
            out[method] = np.asarray(getattr(estimator, method)(X))
    assert out, f"{type(estimator).__name__} exposes no output method"
    return out


def _assert_same_outputs(first, second):
    assert first.keys() == second.keys()
    for method in first:
        if first[method].dtype.kind in "fc":
            np.testing.assert_allclose(first[method], second[method], err_msg=method)
        else:
            np.testing.assert_array_equal(first[method], second[method], err_msg=method)


@pytest.mark.parametrize("estimator", TABULAR, ids=TABULAR_IDS)
def test_clone_keeps_params_and_drops_fit(estimator):
    X, y = make_test_data(estimator)
    fitted = _fit(clone(estimator), X, y)
    cloned = clone(fitted)
    assert cloned.get_params() == estimator.get_params()
    assert not any(
        attr.endswith("_") and not attr.startswith("_") for attr in vars(cloned)
    ), "clone kept fitted attributes"


@pytest.mark.parametrize("estimator", TABULAR, ids=TABULAR_IDS)
def test_pickle_round_trip(estimator):
    X, y = make_test_data(estimator)
    fitted = _fit(clone(estimator), X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    _assert_same_outputs(_outputs(fitted, X), _outputs(restored, X))


@pytest.mark.parametrize("estimator", TABULAR, ids=TABULAR_IDS)
def test_same_random_state_same_result(estimator):
    X, y = make_test_data(estimator)
    first = _fit(clone(estimator), X, y)
    second = _fit(clone(estimator), X, y)
    _assert_same_outputs(_outputs(first, X), _outputs(second, X))


@pytest.mark.parametrize("estimator", TABULAR, ids=TABULAR_IDS)
def test_inputs_not_mutated(estimator):
    X, y = make_test_data(estimator)
    X_before = X.copy()
    y_before = None if y is None else np.array(y, copy=True)
    fitted = _fit(clone(estimator), X, y)
    _outputs(fitted, X)
    np.testing.assert_array_equal(X, X_before)
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


TRANSFORMERS = [est for est in TABULAR if hasattr(est, "transform")]


@pytest.mark.parametrize(
    "estimator", TRANSFORMERS, ids=[type(e).__name__ for e in TRANSFORMERS]
)
def test_set_output_pandas(estimator):
    pd = pytest.importorskip("pandas")
    X, y = make_test_data(estimator)
    columns = [f"col_{i}" for i in range(X.shape[1])]
    X_df = pd.DataFrame(X, columns=columns)
    transformer = clone(estimator).set_output(transform="pandas")
    out = transformer.fit_transform(X_df) if y is None else transformer.fit_transform(
        X_df, y
    )
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_array_equal(
        out.columns, transformer.get_feature_names_out()
    )
    np.testing.assert_array_equal(transformer.feature_names_in_, columns)
