"""Validation that mirrors the missingness, the mean-fill guard, CP at defaults."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdeep.datasets import make_low_rank_tensor
from skdeep.tensor import TensorCompleter
from skdeep.tensor._holdout import (
    MeanFill,
    guard,
    missingness_units,
    shrinkage,
    split_observed,
    structured_modes,
)
from skdeep.tensor._model import ObservedEntries


def _missing_error(X_filled, X, X_true):
    missing = np.isnan(X)
    return (np.linalg.norm(X_filled[missing] - X_true[missing])
            / np.linalg.norm(X_true[missing]))


def _mean_fill(X):
    column = np.nanmean(X, axis=0, keepdims=True)
    return np.where(np.isnan(X), column, X)


def test_structure_of_the_mask_is_detected():
    rng = np.random.RandomState(0)
    pixels = np.repeat(rng.uniform(size=(30, 40, 1)) < 0.1, 3, axis=2)
    assert structured_modes(pixels) == (2,)
    # entries missing at random, even at 90 % missing (whole pixels by chance)
    assert structured_modes(rng.uniform(size=(30, 40, 3)) < 0.1) == ()
    # whole columns of a matrix missing, the rest at random: not whole fibres
    matrix = rng.uniform(size=(50, 20)) < 0.7
    assert structured_modes(matrix) == ()
    matrix[:, :5] = False
    matrix[:, 5:] = True
    assert structured_modes(matrix) == (0,)
    assert structured_modes(np.ones((4, 5), dtype=bool)) == ()


def test_units_are_whole_fibres():
    rng = np.random.RandomState(1)
    observed = np.repeat(rng.uniform(size=(12, 9, 1)) < 0.3, 4, axis=2)
    units, what = missingness_units(observed)
    assert what == "fibres along mode(s) (2,)"
    assert units.shape == (observed.sum(),)
    rows, cols, _ = np.nonzero(observed)
    # the entries of a unit are one pixel's channels, and a pixel is one unit
    for unit in np.unique(units):
        members = units == unit
        assert members.sum() == 4
        assert len({(r, c) for r, c in zip(rows[members], cols[members])}) == 1
    assert np.unique(units).size == observed[:, :, 0].sum()
    units, what = missingness_units(rng.uniform(size=(6, 5)) < 0.5)
    assert what == "entries" and np.array_equal(units, np.arange(units.size))


def test_shrinkage_is_the_least_squares_weight():
    rng = np.random.RandomState(0)
    model, baseline, values = rng.standard_normal((3, 50))
    w = shrinkage(model, baseline, values)
    grid = np.linspace(0, 1, 1001)
    errors = [np.sum((model + g * (baseline - model) - values) ** 2) for g in grid]
    assert abs(w - grid[int(np.argmin(errors))]) <= 1e-3


@pytest.fixture(scope="module")
def colour_image():
    # scikit-learn's china.jpg, block-averaged to 106 x 160 x 3 in [0, 1]; 10 %
    # of the pixels observed, all channels of a pixel together
    from sklearn.datasets import load_sample_image

    photo = load_sample_image("china.jpg").astype(np.float64) / 255
    image = photo[:424, :640].reshape(106, 4, 160, 4, 3).mean(axis=(1, 3))
    observed = np.random.RandomState(1).uniform(size=(106, 160)) < 0.1
    assert observed.any(axis=1).all()  # every row (sample) has a pixel
    X = np.where(observed[:, :, None], image, np.nan)
    return X, image


def test_colour_image_holds_out_whole_pixels(colour_image):
    # With single entries held out, each kept its pixel's other channels in
    # training: an optimistic validation error that let the fit overfit the
    # gaps (measured here: 3255 iterations, relative error 2.10 on the missing
    # entries, worse than zeros, values in [-30, 49]). Held out as whole
    # pixels, the fit is stopped in time (465 iterations, 0.32, [-1.5, 2.0]).
    X, image = colour_image
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        completer = TensorCompleter(random_state=0, track_every=0)
        X_filled = completer.fit_transform(X)
    assert completer.validation_units_ == "fibres along mode(s) (2,)"
    error = _missing_error(X_filled, X, image)
    assert error < 0.8 * _missing_error(_mean_fill(X), X, image)
    missing = np.isnan(X)
    assert X_filled[missing].min() > -2 and X_filled[missing].max() < 3


def test_guard_blends_two_equally_good_predictors():
    # A model a little better than the baseline on the held-out values, with
    # errors unrelated to the baseline's: the blend beats both, so the guard
    # shrinks (the rule that blended only a *worse* model left such fits,
    # e.g. TT and CP on a 25-band image at 10 %, worse than the mean fill on
    # the missing entries).
    rng = np.random.RandomState(0)
    values = rng.standard_normal(400)
    model = values + 0.9 * rng.standard_normal(400)
    baseline = values + 1.0 * rng.standard_normal(400)
    weight, model_error, baseline_error, blend_error = guard(model, baseline,
                                                            values)
    assert model_error < baseline_error
    assert 0.3 < weight < 0.7
    assert blend_error < 0.8 * model_error
    # ... but not on the noise of a few units, nor below the fit's resolution
    assert guard(model, baseline, values, n_units=4)[0] == 0.0
    assert guard(model, baseline, values, tol=0.5)[0] == 0.0
    # a good model whose residual is unrelated to the baseline: left alone
    exact = values + 1e-3 * rng.standard_normal(400)
    assert guard(exact, baseline, values, tol=1e-4)[0] == 0.0


def test_mean_fill_is_the_column_mean_and_the_split_counts_units():
    # no pull towards the global mean: columns at different levels (the bands
    # of a spectral image) keep their own mean
    entries = ObservedEntries([0, 1, 2, 4, 5], [10.0, 0.0, 12.0, 14.0, 1.0], (3, 2))
    fill = MeanFill(entries)
    np.testing.assert_allclose(fill.column_means, [12.0, 0.5])
    empty = MeanFill(ObservedEntries([0, 2], [1.0, 3.0], (2, 2)))
    np.testing.assert_allclose(empty.column_means, [2.0, 2.0])  # global mean
    observed = np.repeat(np.random.RandomState(0).uniform(size=(10, 10, 1)) < 0.5,
                         3, axis=2)
    flat = np.flatnonzero(observed)
    train, held, what, n_units = split_observed(
        observed, flat, np.ones(flat.size), 0.2, np.random.RandomState(0))
    assert what == "fibres along mode(s) (2,)"
    assert held.size == 3 * n_units and n_units == round(0.2 * flat.size / 3)
    assert train.size + held.size == flat.size


def test_guard_shrinks_towards_the_mean_fill_on_structureless_data():
    # column means plus independent noise: nothing low-rank to find beyond the
    # mean, and a factorization fits the noise. The guard must leave the
    # completion no worse than the mean fill on the missing entries.
    rng = np.random.RandomState(0)
    X_true = rng.uniform(-1, 1, size=(1, 30)) + rng.standard_normal((120, 30))
    X = np.where(rng.uniform(size=X_true.shape) < 0.5, X_true, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        completer = TensorCompleter(depth=1, init_scale=0.5, random_state=0,
                                    track_every=0)
        X_filled = completer.fit_transform(X)
    assert completer.validation_units_ == "entries"
    assert completer.baseline_weight_ > 0.3
    assert completer.validation_error_ <= completer.baseline_error_
    mean_error = _missing_error(_mean_fill(X), X, X_true)
    assert _missing_error(X_filled, X, X_true) < 1.02 * mean_error
    # the blend goes to new samples too
    X_new = np.where(rng.uniform(size=(10, 30)) < 0.5, X_true[:10], np.nan)
    model_only = completer._fold_in_rows(X_new) @ completer._design()
    expected = (model_only + completer.baseline_weight_ * (
        completer.baseline_.reshape(1, -1) / completer.scale_ - model_only
    )) * completer.scale_
    missing = np.isnan(X_new)
    np.testing.assert_allclose(completer.transform(X_new)[missing],
                               expected[missing])


def test_guard_leaves_a_good_fit_alone():
    X, X_true = make_low_rank_tensor((60, 40), ranks=2, observed_fraction=0.5,
                                     noise=0.05, random_state=0)
    completer = TensorCompleter(random_state=0, track_every=0).fit(X)
    assert completer.baseline_weight_ == 0.0
    assert completer.validation_error_ < 0.5 * completer.baseline_error_


def test_cp_defaults_recover_a_cp_tensor():
    # The escape that ended at a relative error of 0.5 left CP on its first
    # rank-one term; L-BFGS from there (and a stopping rule whose window
    # reached back into the escape) gave errors of 0.84 then 0.07 here.
    X, X_true = make_low_rank_tensor((30, 30, 30), ranks=3, model="cp",
                                     observed_fraction=0.3, random_state=0)
    completer = TensorCompleter(model="cp", random_state=0, track_every=0).fit(X)
    assert _missing_error(completer.reconstruction_, X, X_true) < 5e-3
    assert completer.baseline_weight_ == 0.0
