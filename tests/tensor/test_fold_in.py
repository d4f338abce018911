"""The fold-in of samples: the Gaussian posterior mean, its noise chosen on the
held-out units, and the empirical prior of the training samples' rows."""

import pickle
import warnings

import numpy as np
import pytest

from skdeep.datasets import make_low_rank_tensor
from skdeep.tensor import TensorCompleter, _empirical_prior, _fold_in
from skdeep.tensor._empirical_prior import EmpiricalPrior, sample_digests
from skdeep.tensor._fold_in import FoldIn, fold_in_rows


def _problem(rng, n=40, c=3, m=12):
    design = rng.standard_normal((c, m))
    mean = rng.standard_normal(c)
    root = rng.standard_normal((c, c))
    covariance = root @ root.T + 0.1 * np.eye(c)
    flat = rng.standard_normal((n, m))
    flat[rng.uniform(size=flat.shape) < 0.6] = np.nan
    flat[1] = np.nan  # nothing observed
    flat[2] = np.where(np.isnan(flat[3]), np.nan, flat[2])  # a shared pattern
    return flat, design, mean, covariance


def _posterior_mean(x, design, mean, covariance, noise):
    """The posterior mean of ``u`` for ``x_o = u B_o + N(0, noise)``."""
    observed = ~np.isnan(x)
    design_o = design[:, observed]
    precision = np.linalg.inv(covariance) + design_o @ design_o.T / noise
    rhs = np.linalg.solve(covariance, mean) + design_o @ x[observed] / noise
    return np.linalg.solve(precision, rhs)


@pytest.mark.parametrize("chunk_floats", [2**22, 20])
def test_fold_in_is_the_posterior_mean(chunk_floats, monkeypatch):
    monkeypatch.setattr(_fold_in, "_CHUNK_FLOATS", chunk_floats)
    flat, design, mean, covariance = _problem(np.random.RandomState(0))
    fold_in = FoldIn(flat, design, mean, covariance)
    noises = [1e-3, 0.3, 4.0]
    rows_out = np.array([5, 0, 5, 1, 7, 2, 3])
    cols_out = np.array([0, 3, 11, 4, 4, 1, 1])
    predictions = fold_in.predict(rows_out, cols_out, noises)
    for t, noise in enumerate(noises):
        expected = np.array([_posterior_mean(x, design, mean, covariance, noise)
                             for x in flat])
        np.testing.assert_allclose(fold_in.rows(noise), expected, atol=1e-9)
        np.testing.assert_allclose(
            predictions[t], np.sum(expected[rows_out] * design[:, cols_out].T, axis=1),
            atol=1e-9,
        )
    # nothing observed: the typical row
    np.testing.assert_allclose(fold_in.rows(0.3)[1], mean)


def _gaussian_error(completer, X, X_true, noise):
    """Error on the missing entries of the Gaussian fold-in at ``noise``."""
    missing = np.isnan(X)
    flat = X.reshape(len(X), -1) / completer.scale_
    design = completer._design()
    rows = fold_in_rows(flat, design, completer.prior_mean_,
                        completer.prior_covariance_, noise)
    filled = (rows @ design * completer.scale_).reshape(X.shape)
    truth = X_true[missing]
    return np.linalg.norm(filled[missing] - truth) / np.linalg.norm(truth)


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_the_fold_in_noise_is_chosen_on_the_held_out_units(sigma):
    """On new samples of a noisy low-rank tensor, the noise variance chosen
    on the held-out units completes as well as the simulation's own (which
    the Bayesian argument would pick, were the prior exact), and better than
    eight times more or less."""
    X, X_true = make_low_rank_tensor((300, 12, 10), ranks=3, observed_fraction=0.4,
                                     noise=sigma, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        completer = TensorCompleter(random_state=0).fit(X[:200])
    chosen = completer.noise_variance_
    true = sigma**2 / completer.scale_**2
    errors = {noise: _gaussian_error(completer, X[200:], X_true[200:], noise)
              for noise in (chosen, true, 8 * chosen, chosen / 8)}
    assert errors[chosen] <= 1.02 * errors[true]
    assert errors[chosen] < min(errors[8 * chosen], errors[chosen / 8])


@pytest.mark.parametrize("chunk_floats", [2**22, 20])
def test_the_empirical_prior_weighs_the_atoms_by_their_likelihood(chunk_floats,
                                                                   monkeypatch):
    monkeypatch.setattr(_empirical_prior, "_CHUNK_FLOATS", chunk_floats)
    rng = np.random.RandomState(0)
    atoms = rng.standard_normal((6, 3))
    design = rng.standard_normal((3, 10))
    flat = rng.standard_normal((5, 10))
    flat[rng.uniform(size=flat.shape) < 0.5] = np.nan
    flat[4] = atoms[2] @ design  # an atom's own sample
    exclude = np.array([-1, -1, -1, -1, 2])
    temperature = 0.7
    rows = EmpiricalPrior(atoms, design).rows(flat, temperature, exclude=exclude)
    values = atoms @ design
    for i, x in enumerate(flat):
        observed = ~np.isnan(x)
        distances = np.sum((values[:, observed] - x[observed]) ** 2, axis=1)
        weights = np.exp(-(distances - distances.min()) / (2 * temperature))
        if exclude[i] >= 0:
            weights[exclude[i]] = 0.0
        np.testing.assert_allclose(rows[i], weights @ atoms / weights.sum(),
                                   atol=1e-12)
    # the values at entries, at several temperatures
    rows_out, cols_out = np.array([4, 0, 2, 0, 3]), np.array([1, 9, 0, 2, 5])
    predictions = EmpiricalPrior(atoms, design).predict(
        flat, rows_out, cols_out, [temperature, 5.0], exclude=exclude
    )
    for t, temperature_t in enumerate([temperature, 5.0]):
        expected = EmpiricalPrior(atoms, design).rows(flat, temperature_t, exclude)
        np.testing.assert_allclose(
            predictions[t], np.sum(expected[rows_out] * design[:, cols_out].T, axis=1),
            atol=1e-12,
        )
    # without the exclusion the sample is its own atom
    alone = EmpiricalPrior(atoms, design).rows(flat[4:], 1e-3)
    np.testing.assert_allclose(alone[0], atoms[2], atol=1e-9)


def _clustered(rng, n=600, m=40, rank=8, fraction=0.15, clusters=True):
    """Noisy rank-8 rows around six centres (or Gaussian rows), few observed."""
    if clusters:
        centres = 2.0 * rng.standard_normal((6, rank))
        rows = centres[rng.randint(6, size=n)] + 0.1 * rng.standard_normal((n, rank))
    else:
        rows = rng.standard_normal((n, rank))
    X_true = rows @ rng.standard_normal((rank, m))
    X = X_true + 0.1 * rng.standard_normal(X_true.shape)
    X[rng.uniform(size=X.shape) > fraction] = np.nan
    return X, X_true


@pytest.mark.parametrize("clusters", [True, False])
def test_the_empirical_prior_completes_clustered_samples(clusters):
    """With 6 of 40 entries observed of rank-8 rows, the Gaussian fold-in is
    underdetermined; rows in clusters are told apart by the empirical prior,
    and Gaussian rows are not harmed by it (its weight is chosen on the
    held-out units)."""
    X, X_true = _clustered(np.random.RandomState(0), clusters=clusters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        completer = TensorCompleter(random_state=0).fit(X[:400])
    missing = np.isnan(X[400:])
    truth = X_true[400:][missing]

    def error(filled):
        return np.linalg.norm(filled[missing] - truth) / np.linalg.norm(truth)

    gaussian_error = _gaussian_error(completer, X[400:], X_true[400:],
                                     completer.noise_variance_)
    blended_error = error(completer.transform(X[400:]))
    if clusters:
        assert completer.empirical_weight_ > 0
        assert blended_error < 0.8 * gaussian_error
    else:
        assert blended_error < 1.01 * gaussian_error


def test_a_training_sample_does_not_weigh_its_own_atom():
    X, _ = _clustered(np.random.RandomState(1), n=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        completer = TensorCompleter(random_state=0)
        filled = completer.fit_transform(X)
    assert completer.empirical_weight_ > 0
    # recognised by their data, also after pickling
    restored = pickle.loads(pickle.dumps(completer))
    np.testing.assert_allclose(restored.transform(X), filled, rtol=1e-12, atol=1e-12)
    # a sample's own atom would pull its completion to its Gaussian fold-in
    digests, _ = completer._atom_digests
    assert np.isin(sample_digests(X), digests).all()
    score = completer.score(X)
    completer._atom_digests = (digests + 1, completer._atom_digests[1])
    assert not np.allclose(completer.transform(X), filled)
    # and its entries held out by ``score`` would be read off it
    assert completer.score(X) > score


def test_the_atoms_are_capped(monkeypatch):
    monkeypatch.setattr(_empirical_prior, "MAX_ATOMS", 50)
    X, X_true = _clustered(np.random.RandomState(0), n=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        completer = TensorCompleter(random_state=0).fit(X)
    assert completer.empirical_weight_ > 0
    assert completer.prior_atoms_.shape == (50, completer.factors_[0].shape[1])
    assert len(completer._atom_digests[0]) == 50
