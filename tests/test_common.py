"""The contract every skdeep estimator honours.

``parametrize_with_checks`` runs scikit-learn's own estimator checks on the
estimators that take 2-D arrays. The tests below run on every estimator,
including those whose input is not a 2-D array (DriPP's lists of event times), and
add what a user of a research estimator relies on: clone and pickling, bit-for-bit
determinism (also with ``n_jobs=2``), inputs left untouched, the iteration
contract, pandas output, and one sweep of bad inputs.
"""

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
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
IDS = [type(est).__name__ for est in INSTANCES]
TABULAR = [est for est in INSTANCES if get_tags(est).input_tags.two_d_array]
TABULAR_IDS = [type(est).__name__ for est in TABULAR]
ITERATIVE = [est for est in INSTANCES if "max_iter" in est.get_params()]
PARALLEL = [est for est in INSTANCES if "n_jobs" in est.get_params()]

OUTPUT_METHODS = (
    "predict",
    "predict_proba",
    "decision_function",
    "transform",
    "score_samples",
)


def _ids(estimators):
    return [type(est).__name__ for est in estimators]


def test_all_estimators_found():
    names = {cls.__name__ for cls in ESTIMATOR_CLASSES}
    assert {"CDLTransformer", "DriPP", "TensorCompleter"} <= names
    assert all(name[0].isupper() for name in names)


@parametrize_with_checks(TABULAR, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    # The checks fit at tiny sizes and iteration counts on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# The estimators whose optimiser the user picks (the torch estimators), each also
# checked with INNA, the inertial Newton optimiser.
PICKS_OPTIMIZER = [est for est in INSTANCES if "optimizer_params" in est.get_params()]
WITH_INNA = [clone(est).set_params(optimizer="inna") for est in PICKS_OPTIMIZER]


@parametrize_with_checks(WITH_INNA, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator_with_inna(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "inna"])
@pytest.mark.parametrize("estimator", PICKS_OPTIMIZER, ids=_ids(PICKS_OPTIMIZER))
def test_every_torch_estimator_trains_with_each_optimizer(
    estimator, optimizer, monkeypatch
):
    pytest.importorskip("torch")
    from skdeep.utils import _optimizers, _torch_base

    built = []

    def spy(name, *args, **kwargs):
        built.append(name)
        return _optimizers.make_optimizer(name, *args, **kwargs)

    monkeypatch.setattr(_torch_base, "make_optimizer", spy)
    est = clone(estimator).set_params(optimizer=optimizer)
    if "backend" in est.get_params():  # TensorCompleter: its torch backend
        est.set_params(backend="torch", device="cpu")
    if "backbone" in est.get_params():  # NystromNet: a network to train
        est.set_params(backbone="mlp", hidden_layer_sizes=(16,))
    X, y = make_test_data(est)
    _fit(est, X, y)
    # built by the one factory, with the optimiser asked for
    assert built and set(built) == {optimizer}
    # trained without diverging
    curve = np.asarray(est.loss_curve_)
    assert np.all(np.isfinite(curve))
    assert curve[-1] <= curve[0] + 1e-6 * abs(curve[0])
    assert all(np.all(np.isfinite(out)) for out in _outputs(est, X).values())


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X) if y is None else estimator.fit(X, y)


def _outputs(estimator, X):
    out = {}
    for method in OUTPUT_METHODS:
        if hasattr(estimator, method):
            out[method] = np.asarray(getattr(estimator, method)(X))
    assert out, f"{type(estimator).__name__} exposes no output method"
    return out


def _assert_identical_outputs(first, second):
    assert first.keys() == second.keys()
    for method in first:
        np.testing.assert_array_equal(first[method], second[method], err_msg=method)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_clone_keeps_params_and_drops_fit(estimator):
    X, y = make_test_data(estimator)
    fitted = _fit(clone(estimator), X, y)
    cloned = clone(fitted)
    assert cloned.get_params() == estimator.get_params()
    assert not any(
        attr.endswith("_") and not attr.startswith("_") for attr in vars(cloned)
    ), "clone kept fitted attributes"


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_pickle_round_trip(estimator):
    X, y = make_test_data(estimator)
    fitted = _fit(clone(estimator), X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    _assert_identical_outputs(_outputs(fitted, X), _outputs(restored, X))


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_same_random_state_same_result_bit_for_bit(estimator):
    X, y = make_test_data(estimator)
    first = _fit(clone(estimator), X, y)
    second = _fit(clone(estimator), X, y)
    _assert_identical_outputs(_outputs(first, X), _outputs(second, X))


@pytest.mark.parametrize("estimator", PARALLEL, ids=_ids(PARALLEL))
def test_n_jobs_does_not_change_the_result(estimator):
    X, y = make_test_data(estimator)
    serial = _fit(clone(estimator).set_params(n_jobs=1), X, y)
    parallel = _fit(clone(estimator).set_params(n_jobs=2), X, y)
    _assert_identical_outputs(_outputs(serial, X), _outputs(parallel, X))


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_inputs_not_mutated(estimator):
    X, y = make_test_data(estimator)
    X_before = copy.deepcopy(X)
    y_before = None if y is None else np.array(y, copy=True)
    fitted = _fit(clone(estimator), X, y)
    _outputs(fitted, X)
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X, X_before)
    else:  # nested lists of arrays (event times)
        for got, expected in zip(_flatten(X), _flatten(X_before)):
            np.testing.assert_array_equal(got, expected)
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


def _flatten(nested):
    if isinstance(nested, np.ndarray):
        return [nested]
    return [array for item in nested for array in _flatten(item)]


@pytest.mark.parametrize("estimator", ITERATIVE, ids=_ids(ITERATIVE))
def test_iteration_contract(estimator, capsys):
    X, y = make_test_data(estimator)
    params = {"max_iter": 1, "verbose": 1}
    if "tol" in estimator.get_params():
        params["tol"] = 0.0
    short = clone(estimator).set_params(**params)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        short.fit(X) if y is None else short.fit(X, y)
    assert short.n_iter_ == 1
    assert short.loss_curve_.shape == (short.n_iter_,)
    assert np.all(np.isfinite(short.loss_curve_))
    out = capsys.readouterr().out
    assert f"[{type(estimator).__name__}] iteration" in out

    fitted = _fit(clone(estimator), X, y)
    assert fitted.loss_curve_.shape == (fitted.n_iter_,)
    assert fitted.loss_curve_.dtype == np.float64
    assert np.all(np.isfinite(fitted.loss_curve_))


TRANSFORMERS = [est for est in TABULAR if hasattr(est, "transform")]


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=_ids(TRANSFORMERS))
def test_set_output_pandas(estimator):
    pd = pytest.importorskip("pandas")
    X, y = make_test_data(estimator)
    columns = [f"col_{i}" for i in range(X.shape[1])]
    X_df = pd.DataFrame(X, columns=columns)
    transformer = clone(estimator).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = (
            transformer.fit_transform(X_df)
            if y is None
            else transformer.fit_transform(X_df, y)
        )
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_array_equal(out.columns, transformer.get_feature_names_out())
    np.testing.assert_array_equal(transformer.feature_names_in_, columns)


# -- the bad-input sweep ---------------------------------------------------------
# Each case turns good data (X, y) into bad data and names what the error message
# must mention. The answer must be a ValueError or TypeError with such a message,
# the caller's arrays must not change, and the estimator must still fit afterwards.


def _with(X, index, value):
    X = np.array(X, dtype=np.result_type(X, type(value)))
    X[index] = value
    return X


BAD_X = {
    "inf in X": (lambda X: _with(X, (0, 0), np.inf), r"(?i)inf"),
    "NaN in X": (lambda X: _with(X, (0, 0), np.nan), r"(?i)nan"),
    "0 samples": (lambda X: X[:0], r"(?i)sample"),
    "0 features": (lambda X: X[:, :0], r"(?i)feature"),
    "1-D X": (lambda X: X[:, 0], r"(?i)(2d|2-d|1d|1-d|dimension|reshape)"),
    "strings": (lambda X: np.full(X.shape, "a"), r"X must hold numbers"),
    "complex": (lambda X: X + 1j, r"(?i)complex"),
    "sparse": (lambda X: sparse.csr_matrix(X), r"(?i)sparse"),
}

EXTREME_SCALES = (1e300, 1e154, 1e-154, 1e-300)


def _bad_x_cases():
    cases = []
    for est in TABULAR:
        tags = get_tags(est)
        for name, (make, pattern) in BAD_X.items():
            if name == "NaN in X" and tags.input_tags.allow_nan:
                continue
            if name == "sparse" and tags.input_tags.sparse:
                continue
            cases.append(pytest.param(est, name, make, pattern,
                                      id=f"{type(est).__name__}-{name}"))
    return cases


def _expect_clear_error(call, pattern):
    with pytest.raises((ValueError, TypeError)) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            call()
    assert re.search(pattern, str(info.value)), str(info.value)
    return str(info.value)


@pytest.mark.parametrize("estimator, case, make_bad, pattern", _bad_x_cases())
def test_bad_X_is_a_clear_error(estimator, case, make_bad, pattern):
    X, y = make_test_data(estimator)
    X_bad = make_bad(X)
    X_bad_before = X_bad.copy()
    est = clone(estimator)
    _expect_clear_error(lambda: est.fit(X_bad) if y is None else est.fit(X_bad, y),
                        pattern)
    if isinstance(X_bad, np.ndarray):
        np.testing.assert_array_equal(X_bad, X_bad_before)
    else:
        np.testing.assert_array_equal(X_bad.toarray(), X_bad_before.toarray())
    _outputs(_fit(est, X, y), X)  # still fits


@pytest.mark.parametrize("estimator", TABULAR, ids=TABULAR_IDS)
def test_wrong_number_of_features_after_fit(estimator):
    X, y = make_test_data(estimator)
    fitted = _fit(clone(estimator), X, y)
    X_fewer = X[:, :-1]
    for method in OUTPUT_METHODS:
        if hasattr(fitted, method):
            _expect_clear_error(lambda m=method: getattr(fitted, m)(X_fewer),
                                r"(?i)feature")


SUPERVISED = [est for est in TABULAR if make_test_data(est)[1] is not None]


@pytest.mark.parametrize("estimator", SUPERVISED, ids=_ids(SUPERVISED))
def test_mismatched_y_length(estimator):
    X, y = make_test_data(estimator)
    _expect_clear_error(lambda: clone(estimator).fit(X, y[:-1]),
                        r"(?i)(inconsistent|length|number of samples)")


@pytest.mark.parametrize("scale", EXTREME_SCALES, ids=lambda s: f"{s:.0e}")
@pytest.mark.parametrize("estimator", TABULAR, ids=TABULAR_IDS)
def test_extreme_magnitudes_give_finite_outputs_or_a_clear_error(estimator, scale):
    # Squares overflow beyond 1e154 and underflow below 1e-154: an estimator
    # either scales internally and answers finite values, or says what is wrong.
    X, y = make_test_data(estimator)
    X_scaled = X * scale
    est = clone(estimator)
    try:
        fitted = _fit(est, X_scaled, y)
        outputs = _outputs(fitted, X_scaled)
    except (ValueError, TypeError) as exc:
        assert re.search(r"(?i)(scale|magnitude|overflow|underflow|finite|X)",
                         str(exc)), str(exc)
        return
    for method, values in outputs.items():
        if values.dtype.kind == "f":
            assert np.all(np.isfinite(values)), f"{method} gave non-finite values"


# -- the one stopping rule -----------------------------------------------------------
# Every iterative estimator stops through IterationMonitor.converged (the rule of
# skdeep.utils._iteration): a solver that records one more iteration after the rule
# held, or never asks the rule, decides convergence by hand.


@pytest.mark.parametrize("estimator", ITERATIVE, ids=_ids(ITERATIVE))
def test_every_iterative_estimator_stops_through_the_one_rule(estimator, monkeypatch):
    from skdeep.utils import _iteration

    answers = {}  # monitor id -> [(n_iter when asked, answer)]
    # the monitors asked, kept alive so that no later monitor reuses an id
    asked = []
    records_after_stop = []
    original_converged = _iteration.IterationMonitor.converged
    original_record = _iteration.IterationMonitor.record

    def converged(self):
        answer = original_converged(self)
        asked.append(self)
        answers.setdefault(id(self), []).append((self.n_iter, answer))
        return answer

    def record(self, *args, **kwargs):
        if any(answer for _, answer in answers.get(id(self), [])):
            records_after_stop.append(self.n_iter)
        return original_record(self, *args, **kwargs)

    monkeypatch.setattr(_iteration.IterationMonitor, "converged", converged)
    monkeypatch.setattr(_iteration.IterationMonitor, "record", record)
    X, y = make_test_data(estimator)
    fitted = _fit(clone(estimator).set_params(max_iter=500), X, y)
    assert answers, f"{type(estimator).__name__} never asks the stopping rule"
    assert not records_after_stop, "iterations went on after the rule held"
    assert fitted.n_iter_ >= 1


@pytest.mark.parametrize("estimator", ITERATIVE, ids=_ids(ITERATIVE))
def test_tol_has_the_documented_meaning(estimator, monkeypatch):
    # With an enormous tol any decrease is small enough: the rule holds as soon
    # as it can be evaluated, after one window beyond the first value. The
    # window is n_iter_no_change where the estimator has that parameter, else
    # the solver's fixed window (1 for EM and h-k-means).
    from skdeep.utils import _iteration

    windows = []
    original_init = _iteration.IterationMonitor.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        windows.append(self.n_iter_no_change)

    monkeypatch.setattr(_iteration.IterationMonitor, "__init__", init)
    X, y = make_test_data(estimator)
    params = estimator.get_params()
    loose = _fit(clone(estimator).set_params(tol=1e300, max_iter=500), X, y)
    assert windows, "the fit created no IterationMonitor"
    if "n_iter_no_change" in params:
        assert windows[-1] == params["n_iter_no_change"]
    assert loose.n_iter_ <= max(windows) + 1
    assert loose.loss_curve_.shape == (loose.n_iter_,)
