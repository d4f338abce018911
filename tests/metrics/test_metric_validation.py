"""Bad arguments of the public metrics raise errors that name the argument."""

import numpy as np
import pytest
import scipy.sparse as sp

from skdeep.metrics import (
    cluster_accuracy,
    cross_modal_transfer_accuracy,
    dictionary_recovery_score,
    direct_label_accuracy,
    effective_rank,
    intensity_error,
    missing_entry_error,
    modality_mixing_score,
    modality_prediction_score,
    semi_supervised_scores,
)

rng = np.random.RandomState(0)
Z = rng.standard_normal((30, 2))
MOD = np.repeat([0, 1], 15)
Y = np.tile([0, 1, 2], 10)
Y_SEMI = np.where(np.arange(30) % 2, -1, Y)
D = rng.standard_normal((2, 3, 8))
X_TRUE = rng.standard_normal((4, 3))
X_OBS = np.where(X_TRUE > 0, np.nan, X_TRUE)
TRUTH = dict(baseline=0.8, alpha=[0.8], kernel_mean=[0.4], kernel_std=[0.2],
             lower=0.03, upper=0.8)
NO_SUPPORT = dict(baseline=0.8, alpha=[0.8], kernel_mean=[0.4], kernel_std=[0.2])
MIXED = np.array([1, "a", 2], dtype=object)


def _nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


# (function, args, kwargs, exception, regex on the argument's name)
BAD_INPUTS = [
    # labels
    (cluster_accuracy, ([0, 1, 2], MIXED), {}, TypeError, "y_pred mixes labels"),
    (cluster_accuracy, ([1, "a"], [0, 0]), {}, TypeError, "y_true mixes labels"),
    (cluster_accuracy, ([0, 1], [0]), {}, ValueError, "y_true and y_pred .*lengths"),
    (cluster_accuracy, ([], []), {}, ValueError, "y_true and y_pred are empty"),
    (cluster_accuracy, ([[0]], [[0]]), {}, ValueError, "y_true must be a 1-D"),
    (cluster_accuracy, ([np.nan, 1.0], [0, 1]), {}, ValueError, "y_true .*NaN"),
    (cluster_accuracy, ([None, None], [0, 1]), {}, TypeError, "y_true .*NoneType"),
    (cluster_accuracy, ("ab", [0, 1]), {}, ValueError, "'y_true'"),
    (direct_label_accuracy, (MIXED, [1, 2, 3]), {}, TypeError, "y_true mixes"),
    (direct_label_accuracy, ([0, 1], ["0", "1"]), {}, TypeError, "y_true .*y_pred"),
    (direct_label_accuracy, ([0, 1], [0, 1, 1]), {}, ValueError, "y_true and y_pred"),
    (direct_label_accuracy, (["a"], ["a"]), {"labels": [1, "a"]}, TypeError,
     "labels mixes"),
    (direct_label_accuracy, (["a"], ["a"]), {"labels": ["b"]}, ValueError, "labels"),
    # dictionaries
    (dictionary_recovery_score, (D + 1j, D), {}, ValueError, "D_true .*complex"),
    (dictionary_recovery_score, (D, D.astype(complex)), {}, ValueError,
     "D_est .*complex"),
    (dictionary_recovery_score, (D, D[:, :2]), {}, ValueError, "D_true and D_est"),
    (dictionary_recovery_score, (D[0, 0], D), {}, ValueError, "D_true must have"),
    (dictionary_recovery_score, (np.zeros((0, 5)), D[:, 0]), {}, ValueError,
     "D_true .*empty"),
    (dictionary_recovery_score, (_nan(D), D), {}, ValueError, "D_true .*NaN"),
    (dictionary_recovery_score, (D, [["a", "b"]]), {}, ValueError,
     "D_est .*real numbers"),
    # effective rank and completion
    (effective_rank, (np.eye(2) + 1j,), {}, ValueError, "matrix .*complex"),
    (effective_rank, (np.ones(3),), {}, ValueError, "matrix must be 2-D"),
    (effective_rank, (np.ones((0, 2)),), {}, ValueError, "matrix .*empty"),
    (effective_rank, ([[np.inf]],), {}, ValueError, "matrix .*infinity"),
    (effective_rank, ([[1, "a"]],), {}, ValueError, "matrix .*real numbers"),
    (effective_rank, ([[1, 2], [3]],), {}, ValueError, "matrix .*rectangular"),
    (effective_rank, (sp.eye(3).tocsr(),), {}, TypeError, "matrix"),
    (missing_entry_error, (X_TRUE, _nan(X_TRUE), X_OBS), {}, ValueError,
     "X_filled .*NaN"),
    (missing_entry_error, (_nan(X_TRUE), X_TRUE, X_OBS), {}, ValueError,
     "X_true .*NaN"),
    (missing_entry_error, (X_TRUE, X_TRUE, X_OBS[:2]), {}, ValueError,
     "X_true, X_filled and X_observed .*shape"),
    (missing_entry_error, (X_TRUE, X_TRUE, X_TRUE), {}, ValueError,
     "X_observed has no missing"),
    (missing_entry_error, (X_TRUE[:0], X_TRUE[:0], X_OBS[:0]), {}, ValueError,
     "X_true .*empty"),
    (missing_entry_error, (X_TRUE, X_TRUE, X_OBS * np.inf), {}, ValueError,
     "X_observed .*infinity"),
    # point-process intensity
    (intensity_error, (TRUTH, dict(TRUTH, lower=0.8)), {}, ValueError,
     "lower and upper .*params_pred"),
    (intensity_error, (dict(TRUTH, upper=0.01), TRUTH), {}, ValueError,
     "lower and upper .*params_true"),
    (intensity_error, (NO_SUPPORT, NO_SUPPORT), {"lower": 0.5, "upper": 0.5},
     ValueError, "lower and upper .*arguments"),
    (intensity_error, (NO_SUPPORT, NO_SUPPORT), {"lower": np.nan, "upper": 1.0},
     ValueError, "'lower'"),
    (intensity_error, (NO_SUPPORT, NO_SUPPORT), {}, ValueError, "lower and upper"),
    (intensity_error, (TRUTH, dict(TRUTH, kernel_std=[0.0])), {}, ValueError,
     r"params_pred\['kernel_std'\] must be positive"),
    (intensity_error, (dict(TRUTH, kernel_std=[-0.1]), TRUTH), {}, ValueError,
     r"params_true\['kernel_std'\] must be positive"),
    (intensity_error, (TRUTH, dict(TRUTH, baseline=np.nan)), {}, ValueError,
     r"params_pred\['baseline'\] .*NaN"),
    (intensity_error, (TRUTH, dict(TRUTH, alpha=[np.nan])), {}, ValueError,
     r"params_pred\['alpha'\] .*NaN"),
    (intensity_error, (TRUTH, dict(TRUTH, kernel_mean=[np.inf])), {}, ValueError,
     r"params_pred\['kernel_mean'\] .*infinity"),
    (intensity_error, (TRUTH, dict(TRUTH, upper=np.nan)), {}, ValueError,
     r"upper \(of params_pred\) must be finite"),
    (intensity_error, (TRUTH, dict(TRUTH, lower="a")), {}, TypeError,
     r"lower \(of params_pred\) must be a real number"),
    (intensity_error, (TRUTH, dict(TRUTH, alpha=[0.8, 0.1])), {}, ValueError,
     "params_pred: alpha, kernel_mean and kernel_std"),
    (intensity_error, (TRUTH, dict(TRUTH, alpha=[0.8, 0.1], kernel_mean=[0.4, 0.4],
                                   kernel_std=[0.2, 0.2])), {}, ValueError,
     "params_true and params_pred must have as many drivers"),
    (intensity_error, (TRUTH, dict(TRUTH, alpha=["x"])), {}, ValueError,
     r"params_pred\['alpha'\] must be an array of real numbers"),
    (intensity_error, (TRUTH, dict(TRUTH, baseline=-1.0)), {}, ValueError,
     r"params_pred\['baseline'\] must be non-negative"),
    (intensity_error, (dict(TRUTH, baseline=0.0, alpha=[0.0]), TRUTH), {},
     ValueError, "params_true: the true intensity"),
    (intensity_error, (TRUTH, [0.8]), {}, TypeError, "params_pred must be"),
    (intensity_error, (TRUTH, TRUTH), {"multioutput": "mean"}, ValueError,
     "'multioutput'"),
    (intensity_error, (TRUTH, TRUTH), {"n_points": 1}, ValueError, "'n_points'"),
    # integration metrics
    (semi_supervised_scores, (Y, Y, Y_SEMI[:3]), {}, ValueError, "y must have"),
    (semi_supervised_scores, (Y, Y, Y), {}, ValueError, "y has no unlabeled"),
    (semi_supervised_scores, (_nan(Y), Y, Y_SEMI), {}, ValueError, "y_true .*NaN"),
    (semi_supervised_scores, (Y, Y[:5], Y_SEMI), {}, ValueError,
     "y_true and y_pred .*lengths"),
    (semi_supervised_scores, ([], [], []), {}, ValueError, "y_true and y_pred"),
    (semi_supervised_scores, (Y, MIXED, Y_SEMI), {}, TypeError, "y_pred mixes"),
    (modality_mixing_score, (_nan(Z), MOD), {}, ValueError, "Z .*NaN"),
    (modality_mixing_score, (Z[:, 0], MOD), {}, ValueError, "Z must be 2-D"),
    (modality_mixing_score, (Z[:0], MOD[:0]), {}, ValueError, "Z .*empty"),
    (modality_mixing_score, (Z + 1j, MOD), {}, ValueError, "Z .*complex"),
    (modality_mixing_score, (Z, MOD[:5]), {}, ValueError, "modality must have"),
    (modality_mixing_score, (Z, np.zeros(30)), {}, ValueError, "modality .*two"),
    (modality_mixing_score, (Z, _nan(MOD)), {}, ValueError, "modality .*NaN"),
    (modality_mixing_score, (Z, MOD), {"n_neighbors": 2.5}, ValueError,
     "'n_neighbors'"),
    (modality_mixing_score, (Z, MOD), {"n_neighbors": 30}, ValueError,
     "n_neighbors=30"),
    (modality_prediction_score, (Z, MOD), {"cv": 20}, ValueError, "cv=20"),
    (modality_prediction_score, (Z, MOD), {"cv": 1}, ValueError, "'cv'"),
    (modality_prediction_score, (Z, MOD), {"random_state": "a"}, ValueError,
     "'random_state'"),
    (modality_prediction_score, ([["a", "b"]] * 30, MOD), {}, ValueError,
     "Z .*real numbers"),
    (cross_modal_transfer_accuracy, (Z, Y[:3], MOD), {}, ValueError,
     "y_true must have"),
    (cross_modal_transfer_accuracy, (Z, MIXED, MOD[:3]), {}, ValueError,
     "modality must have"),
    (cross_modal_transfer_accuracy, (Z[:3], MIXED, MOD[:3]), {}, ValueError,
     "modality .*two"),
    (cross_modal_transfer_accuracy, (Z, Y, MOD), {"n_neighbors": 0}, ValueError,
     "'n_neighbors'"),
]


@pytest.mark.parametrize(
    "func, args, kwargs, exception, match",
    BAD_INPUTS,
    ids=[f"{row[0].__name__}-{i}" for i, row in enumerate(BAD_INPUTS)],
)
def test_bad_metric_arguments_name_the_argument(func, args, kwargs, exception, match):
    with pytest.raises(exception, match=match):
        func(*args, **kwargs)


def test_unorderable_labels_error_is_not_python_s():
    # the raw error would be "'<' not supported between instances of 'str' and
    # 'int'", which names neither the argument nor the fix
    with pytest.raises(TypeError, match="y_true mixes labels .*number, str"):
        cluster_accuracy(MIXED, [0, 0, 1])


def _copies(args, kwargs):
    import copy

    return copy.deepcopy(args), copy.deepcopy(kwargs)


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _assert_same(u, v)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif sp.issparse(a):
        np.testing.assert_array_equal(a.toarray(), b.toarray())
    else:
        assert a == b or (a != a and b != b)


@pytest.mark.parametrize(
    "func, args, kwargs",
    [
        (cluster_accuracy, (Y, Y[::-1].copy()), {}),
        (direct_label_accuracy, (Y, Y[::-1].copy()), {"labels": np.array([1])}),
        (dictionary_recovery_score, (D, -D[:, :, ::-1]), {}),
        (effective_rank, (X_TRUE,), {}),
        (missing_entry_error, (X_TRUE, X_TRUE + 1.0, X_OBS), {}),
        (intensity_error, (TRUTH, dict(TRUTH, baseline=0.5)), {}),
        (semi_supervised_scores, (Y, Y[::-1].copy(), Y_SEMI), {}),
        (modality_mixing_score, (Z, MOD), {"n_neighbors": 3}),
        (modality_prediction_score, (Z, MOD), {}),
        (cross_modal_transfer_accuracy, (Z, np.tile([0, 1], 15), MOD), {}),
    ]
    + [row[:3] for row in BAD_INPUTS],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_metrics_leave_the_arguments_unchanged(func, args, kwargs):
    before = _copies(args, kwargs)
    try:
        func(*args, **kwargs)
    except (TypeError, ValueError):
        pass
    _assert_same(before, (args, kwargs))
