import re

import numpy as np
import pytest

from skdeep.datasets import make_low_rank_tensor
from skdeep.metrics import missing_entry_error
from skdeep.tensor import TensorCompleter
from skdeep.tensor._model import ObservedEntries, chain
from skdeep.tensor._numpy_backend import NumpyModel
from skdeep.tensor._polish import PolishStart, compress_tucker, padded_layers
from skdeep.utils._loop import BestWeights
from skdeep.utils._tensor_algebra import reconstruct, unfold


def _padded_model(seed=0, ranks=(2, 3, 2), widths=(4, 5, 4), shape=(7, 8, 6),
                  noise=1e-9):
    """Factors and core of Tucker ranks ``ranks`` inside wider ones, plus noise."""
    rng = np.random.RandomState(seed)
    factors = [rng.standard_normal((n, w)) for n, w in zip(shape, widths)]
    core = noise * rng.standard_normal(widths)
    core[tuple(slice(0, r) for r in ranks)] = rng.standard_normal(ranks)
    return factors, core


def test_compress_tucker_keeps_the_revealed_ranks_and_the_model():
    factors, core = _padded_model()
    dense = reconstruct("tucker", factors, core)
    small_factors, small_core = compress_tucker(factors, core)
    assert small_core.shape == (2, 3, 2)
    for U in small_factors:  # orthonormal columns
        np.testing.assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-12)
    truncated = reconstruct("tucker", small_factors, small_core)
    np.testing.assert_allclose(truncated, dense, atol=1e-6 * np.abs(dense).max())
    # the singular values of the small core's unfoldings are the dense
    # model's leading ones (a truncated HOSVD of the model)
    for k, r in enumerate((2, 3, 2)):
        expected = np.linalg.svd(unfold(dense, k), compute_uv=False)[:r]
        got = np.linalg.svd(unfold(small_core, k), compute_uv=False)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_compress_tucker_threshold_is_relative_to_the_largest_value():
    factors, core = _padded_model(noise=0.0)
    core[1, 1, 1] *= 1e-3  # a direction far below the others: still kept
    ranks = compress_tucker(factors, core, rank_tol=1e-6)[1].shape
    assert ranks == (2, 3, 2)
    scaled = compress_tucker(factors, 1e6 * core, rank_tol=1e-6)[1].shape
    assert scaled == ranks


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_padded_layers_are_the_same_model_with_dead_directions(depth):
    # the truncated model written into deep layers: the same tensor, and the
    # gradient of the loss is zero on every padded entry, so L-BFGS from
    # there stays in the model of the revealed ranks
    factors, core = _padded_model(seed=1)
    small_factors, small_core = compress_tucker(factors, core)
    shapes = [[np.zeros((n, 6))] + [np.zeros((6, 6))] * (depth - 2)
              + ([np.zeros((6, 5))] if depth > 1 else []) for n in (7, 8, 6)]
    if depth == 1:
        shapes = [[np.zeros((n, 5))] for n in (7, 8, 6)]
    layers, padded = padded_layers(small_factors, small_core, shapes, (5, 5, 5))
    assert [[A.shape for A in mode] for mode in layers] == [
        [A.shape for A in mode] for mode in shapes
    ]
    deep = reconstruct("tucker", [chain(mode) for mode in layers], padded)
    np.testing.assert_allclose(deep, reconstruct("tucker", small_factors, small_core),
                               atol=1e-10)
    # equal norms: balanced layers and core
    norms = [np.linalg.norm(A) / np.sqrt(min(A.shape)) for m in layers for A in m]
    assert np.ptp(np.log(norms)) < np.log(3)
    rng = np.random.RandomState(0)
    target = rng.standard_normal(deep.shape)
    mask = rng.uniform(size=deep.shape) < 0.5
    net = NumpyModel("tucker", layers, padded, None)
    _, grads = net.loss_and_gradients(ObservedEntries.from_mask(target, mask))
    ranks = [U.shape[1] for U in small_factors]
    padding = []
    for mode, r in zip(layers, ranks):
        for j, A in enumerate(mode):
            pad = np.ones(A.shape, dtype=bool)
            pad[: A.shape[0] if j == 0 else r, :r] = False
            padding.append(pad)
    pad = np.ones(padded.shape, dtype=bool)
    pad[tuple(slice(0, r) for r in ranks)] = False
    padding.append(pad)
    for param, grad, pad in zip(net.parameters(), grads, padding):
        assert np.all(param[pad] == 0)
        assert np.all(grad[pad] == 0)
        assert np.abs(grad[~pad]).max() > 1e-3  # alive where not padded


def test_polish_start_restores_the_best_point_and_truncates_it():
    factors, core = _padded_model(seed=2)
    layers = [[U] for U in factors]
    net = NumpyModel("tucker", layers, core, None)
    best = BestWeights(net.snapshot, net.load)
    best.update(1, 0.5)  # the best held-out point: the model above
    for p in net.parameters():
        p += 1.0  # a later, worse point

    class Control:
        pass

    control = Control()
    control.best = best
    start = PolishStart()
    start.bind(net.snapshot, net.load)
    start(control)
    assert start.ranks == (2, 3, 2)
    np.testing.assert_allclose(net.reconstruct(), reconstruct("tucker", factors, core),
                               atol=1e-6)
    # only the revealed ranks are left: a truncated model of the best point
    assert np.count_nonzero(np.abs(net.core) > 1e-12) <= 2 * 3 * 2


@pytest.fixture(scope="module")
def tucker_10_percent():
    return make_low_rank_tensor((20, 20, 20), ranks=3, observed_fraction=0.1,
                                random_state=0)


def test_polish_finishes_an_exact_fit_in_few_iterations(tucker_10_percent, capsys):
    # 20 x 20 x 20 of Tucker rank 3, 10 % observed, defaults. Measured: the
    # polish at ranks (3, 3, 3) gives 2.5e-7 on the missing entries in about
    # 600 iterations; without it (before), 1.9e-4 in 2185
    X, X_true = tucker_10_percent
    completer = TensorCompleter(random_state=0, track_every=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    polish = re.findall(r"iteration +(\d+)  .* -> l-bfgs \(polish\)", out)
    assert len(polish) == 1 and completer.best_iteration_ > int(polish[0])
    assert missing_entry_error(X_true, completer.transform(X), X) < 1e-5
    assert completer.n_iter_ < 1000
    # the deep layers keep their shapes; the model has the revealed ranks
    assert [U.shape for U in completer.factors_] == [(20, 20)] * 3
    singular = np.linalg.svd(unfold(completer.reconstruction_, 0), compute_uv=False)
    assert singular[3] < 1e-10 * singular[0]


def test_torch_backend_polishes_too():
    pytest.importorskip("torch")
    X, X_true = make_low_rank_tensor((15, 15, 15), ranks=2, observed_fraction=0.3,
                                     random_state=0)
    errors = {}
    for backend in ("numpy", "torch"):
        completer = TensorCompleter(backend=backend, device="cpu", random_state=0,
                                    track_every=0).fit(X)
        errors[backend] = missing_entry_error(X_true, completer.transform(X), X)
    assert errors["numpy"] < 1e-5 and errors["torch"] < 1e-5


def test_ranks_given_are_not_polished():
    X, _ = make_low_rank_tensor((10, 9, 8), ranks=2, observed_fraction=0.5,
                                random_state=0)
    completer = TensorCompleter(ranks=(3, 3, 3), random_state=0, tol=1e-3,
                                track_every=0).fit(X)
    assert completer.core_.shape == (3, 3, 3)
    # not truncated: the core has no exact zeros of padding
    assert np.count_nonzero(completer.core_) == 27
