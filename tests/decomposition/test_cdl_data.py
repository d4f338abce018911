import numpy as np
import pytest

from skdeep.datasets import make_cdl_signals
from skdeep.metrics import dictionary_recovery_score


def test_make_cdl_signals_ground_truth():
    X, u, v, z = make_cdl_signals(n_trials=3, n_channels=4, n_times=500, n_atoms=3,
                                  n_times_atom=25, n_events=4, noise_level=0.0,
                                  random_state=0)
    assert X.shape == (3, 4, 500) and z.shape == (3, 3, 476)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.all(z >= 0)
    np.testing.assert_array_equal(np.count_nonzero(z, axis=2), 4)
    # without noise the signals are exactly the convolutional model
    rebuilt = sum(
        u[k][None, :, None]
        * np.stack([np.convolve(z[n, k], v[k]) for n in range(3)])[:, None, :]
        for k in range(3)
    )
    np.testing.assert_allclose(X, rebuilt, atol=1e-12)


def test_make_cdl_signals_noise_and_seed():
    kwargs = dict(n_trials=2, n_channels=2, n_times=400, n_atoms=2, n_times_atom=20)
    X0, *_ = make_cdl_signals(noise_level=0.0, random_state=1, **kwargs)
    X1, *_ = make_cdl_signals(noise_level=0.5, random_state=1, **kwargs)
    X2, *_ = make_cdl_signals(noise_level=0.5, random_state=1, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    ratio = (X1 - X0).std() / X0.std()
    assert 0.4 < ratio < 0.6


def test_make_cdl_signals_errors():
    with pytest.raises(ValueError, match="n_times_atom=50 must not exceed"):
        make_cdl_signals(n_times=40, n_times_atom=50)
    with pytest.raises(ValueError, match="atom_shapes must have"):
        make_cdl_signals(n_atoms=2, atom_shapes=["sin"])
    with pytest.raises(ValueError, match="Unknown atom_shapes"):
        make_cdl_signals(n_atoms=1, atom_shapes=["wave"])
    with pytest.raises(ValueError, match="n_trials"):
        make_cdl_signals(n_trials=0)


def test_dictionary_recovery_score_invariances():
    rng = np.random.RandomState(0)
    D = rng.standard_normal((3, 2, 16))
    assert dictionary_recovery_score(D, D) == pytest.approx(1.0)
    # shift, sign, scale and order do not matter
    shifted = -3.0 * np.pad(D, ((0, 0), (0, 0), (4, 0)))[[2, 0, 1]]
    assert dictionary_recovery_score(D, shifted) == pytest.approx(1.0)
    # an unrelated dictionary scores much lower; a missing atom counts 0
    other = rng.standard_normal((3, 2, 16))
    assert dictionary_recovery_score(D, other) < 0.8
    assert dictionary_recovery_score(D, D[:2]) == pytest.approx(2 / 3)
    # univariate atoms given as 2-D arrays
    assert dictionary_recovery_score(D[:, 0], D[:, 0]) == pytest.approx(1.0)


def test_dictionary_recovery_score_errors():
    D = np.ones((2, 3, 8))
    with pytest.raises(ValueError, match="different numbers of channels"):
        dictionary_recovery_score(D, D[:, :2])
    with pytest.raises(ValueError, match="D_est must have shape"):
        dictionary_recovery_score(D, np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        dictionary_recovery_score(D, np.full((2, 3, 8), np.nan))
