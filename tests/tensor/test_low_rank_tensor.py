import numpy as np
import pytest

from skdeep.datasets import make_low_rank_tensor
from skdeep.utils._tensor_algebra import unfold


@pytest.mark.parametrize(
    "model, ranks, unfolding_ranks",
    [
        ("tucker", (2, 3, 4), [2, 3, 4]),
        ("cp", 3, [3, 3, 3]),
        # TT ranks (2, 3): mode-1 unfolding rank <= 2 * 3
        ("tt", (2, 3), [2, 6, 3]),
    ],
)
def test_truth_has_the_requested_rank(model, ranks, unfolding_ranks):
    X, X_true = make_low_rank_tensor(
        (12, 11, 10), ranks=ranks, model=model, random_state=0
    )
    assert X.shape == X_true.shape == (12, 11, 10)
    found = [np.linalg.matrix_rank(unfold(X_true, i)) for i in range(3)]
    assert found == unfolding_ranks
    np.testing.assert_allclose(np.sqrt(np.mean(X_true**2)), 1.0)


def test_observed_fraction_every_slice_and_noise():
    X, X_true = make_low_rank_tensor(
        (30, 20, 10), ranks=2, observed_fraction=0.05, noise=0.1, random_state=0
    )
    observed = ~np.isnan(X)
    assert observed.sum() == round(0.05 * X.size)
    assert observed.reshape(30, -1).any(axis=1).all()
    residual = X[observed] - X_true[observed]
    assert 0.08 < residual.std() < 0.12
    # tiny fractions still observe one entry per slice
    X_sparse, _ = make_low_rank_tensor((50, 4), ranks=1, observed_fraction=0.01,
                                       random_state=0)
    assert (~np.isnan(X_sparse)).any(axis=1).all()


def test_noise_free_observed_entries_and_determinism():
    X, X_true = make_low_rank_tensor((8, 9), ranks=2, observed_fraction=0.5,
                                     random_state=3)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(X[observed], X_true[observed])
    X_again, _ = make_low_rank_tensor((8, 9), ranks=2, observed_fraction=0.5,
                                      random_state=3)
    np.testing.assert_array_equal(X, X_again)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": (5,)}, ValueError, "at least 2"),
        ({"shape": 5}, TypeError, "shape"),
        ({"model": "svd"}, ValueError, "model"),
        ({"ranks": (2, 2)}, ValueError, "3 entries"),
        ({"ranks": 0}, ValueError, "positive"),
        ({"observed_fraction": 0.0}, ValueError, "observed_fraction"),
        ({"observed_fraction": 1.5}, ValueError, "observed_fraction"),
        ({"noise": -1.0}, ValueError, "noise"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    params = {"shape": (5, 4, 3), "ranks": 2}
    params.update(kwargs)
    with pytest.raises(error, match=match):
        make_low_rank_tensor(**params)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": (5, 4.5, 3)}, TypeError, "shape must hold integers"),
        ({"shape": (5, "4", 3)}, TypeError, "shape must hold integers"),
        ({"shape": (10**4, 10**4, 10**4)}, ValueError, "prod\\(shape\\)"),
        ({"noise": np.nan}, ValueError, "noise"),
        ({"noise": np.inf}, ValueError, "noise"),
        ({"observed_fraction": np.nan}, ValueError, "observed_fraction"),
    ],
)
def test_non_integer_shapes_and_non_finite_noise_are_rejected(kwargs, error, match):
    params = {"shape": (5, 4, 3), "ranks": 2}
    params.update(kwargs)
    with pytest.raises(error, match=match):
        make_low_rank_tensor(**params)
