"""TensorCompleter with INNA and SGD with momentum, on both backends."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdeep.datasets import make_low_rank_tensor
from skdeep.tensor import TensorCompleter
from skdeep.tensor._optim import NumpyINNA, NumpyMomentum

torch = pytest.importorskip("torch")


def _missing_error(completer, X, X_true):
    missing = np.isnan(X)
    return (np.linalg.norm(completer.reconstruction_[missing] - X_true[missing])
            / np.linalg.norm(X_true[missing]))


@pytest.mark.parametrize("decay_power, weight_decay", [(0.0, 0.0), (0.5, 0.01)])
def test_numpy_inna_iterates_equal_torch_inna(decay_power, weight_decay):
    # the gradient of 0.5 ||A theta - b||^2 at the current iterate, so that the
    # two optimisers' iterates feed back into their own gradients
    from skdeep.utils import INNA

    rng = np.random.RandomState(0)
    A, b = rng.randn(8, 5), rng.randn(8)
    theta0 = rng.randn(5)
    options = dict(alpha=0.7, beta=0.2, decay_power=decay_power,
                   weight_decay=weight_decay)
    theta = theta0.copy()
    numpy_inna = NumpyINNA([theta], **options)
    param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    torch_inna = INNA([param], lr=0.05, **options)
    A_t, b_t = torch.tensor(A), torch.tensor(b)
    for _ in range(100):
        numpy_inna.step([A.T @ (A @ theta - b)], learning_rate=0.05)
        torch_inna.zero_grad()
        (0.5 * ((A_t @ param - b_t) ** 2).sum()).backward()
        torch_inna.step()
        np.testing.assert_allclose(theta, param.detach().numpy(), rtol=0, atol=1e-10)
    # the iterates moved towards the least-squares solution: not a frozen run
    solution = np.linalg.lstsq(A, b, rcond=None)[0]
    assert np.linalg.norm(theta - solution) < 0.5 * np.linalg.norm(theta0 - solution)


@pytest.mark.parametrize("momentum", [0.9, 0.5])
def test_numpy_momentum_iterates_equal_torch_sgd(momentum):
    rng = np.random.RandomState(1)
    A, b = rng.randn(8, 5), rng.randn(8)
    theta0 = rng.randn(5)
    theta = theta0.copy()
    numpy_sgd = NumpyMomentum([theta], momentum=momentum)
    param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    torch_sgd = torch.optim.SGD([param], lr=0.02, momentum=momentum)
    A_t, b_t = torch.tensor(A), torch.tensor(b)
    for _ in range(100):
        numpy_sgd.step([A.T @ (A @ theta - b)], learning_rate=0.02)
        torch_sgd.zero_grad()
        (0.5 * ((A_t @ param - b_t) ** 2).sum()).backward()
        torch_sgd.step()
        np.testing.assert_allclose(theta, param.detach().numpy(), rtol=0, atol=1e-10)
    solution = np.linalg.lstsq(A, b, rcond=None)[0]
    assert np.linalg.norm(theta - solution) < 0.5 * np.linalg.norm(theta0 - solution)


@pytest.mark.parametrize("optimizer, options", [
    ("sgd", {"momentum": 0.8}),
    ("inna", {"alpha": 0.6, "decay_power": 0.2}),
])
def test_backends_agree(optimizer, options):
    X, _ = make_low_rank_tensor((12, 10), ranks=2, observed_fraction=0.5,
                                random_state=0)
    kwargs = dict(optimizer=optimizer, init_scale=0.3, max_iter=150, tol=0,
                  early_stopping=False, random_state=0, track_every=0,
                  optimizer_params=options)
    with pytest.warns(ConvergenceWarning):  # max_iter stops the fits
        fits = {backend: TensorCompleter(backend=backend, device="cpu",
                                         **kwargs).fit(X)
                for backend in ("numpy", "torch")}
    np.testing.assert_allclose(fits["torch"].loss_curve_, fits["numpy"].loss_curve_,
                               rtol=1e-8)
    np.testing.assert_allclose(fits["torch"].factors_[1], fits["numpy"].factors_[1],
                               rtol=1e-6, atol=1e-10)
    # the fits went far from the start: the agreement is not that of idle runs
    assert fits["numpy"].loss_curve_[-1] < 0.2 * fits["numpy"].loss_curve_[0]


def test_inna_backends_agree_and_default_step():
    X, _ = make_low_rank_tensor((12, 10), ranks=2, observed_fraction=0.5,
                                random_state=0)
    kwargs = dict(optimizer="inna", init_scale=0.3, max_iter=150, tol=0,
                  early_stopping=False, random_state=0, track_every=0,
                  optimizer_params={"alpha": 0.6, "decay_power": 0.2})
    with pytest.warns(ConvergenceWarning):  # max_iter stops the fits
        fits = {backend: TensorCompleter(backend=backend, device="cpu",
                                         **kwargs).fit(X)
                for backend in ("numpy", "torch")}
        explicit = TensorCompleter(learning_rate=0.1, **kwargs).fit(X)
    np.testing.assert_allclose(fits["torch"].loss_curve_, fits["numpy"].loss_curve_,
                               rtol=1e-8)
    np.testing.assert_allclose(fits["torch"].factors_[1], fits["numpy"].factors_[1],
                               rtol=1e-6, atol=1e-10)
    # learning_rate=None is INNA's default step, 0.1
    np.testing.assert_array_equal(explicit.loss_curve_, fits["numpy"].loss_curve_)
    # the fits went far from the start: the agreement is not that of idle runs
    assert fits["numpy"].loss_curve_[-1] < 0.2 * fits["numpy"].loss_curve_[0]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_inna_recovers_low_rank_matrix(backend):
    # 40 x 30 of rank 2, 40 % observed; the zero fill has relative error 1
    X, X_true = make_low_rank_tensor((40, 30), ranks=2, observed_fraction=0.4,
                                     random_state=0)
    completer = TensorCompleter(optimizer="inna", learning_rate=0.3, init_scale=0.1,
                                max_iter=3000, tol=1e-6, early_stopping=False,
                                backend=backend, device="cpu", random_state=0,
                                track_every=0)
    with pytest.warns(ConvergenceWarning):
        completer.fit(X)
    assert _missing_error(completer, X, X_true) < 2e-2
    assert completer.history_["effective_rank"][-1].max() < 2.5


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(optimizer="inna", optimizer_params={"gamma": 1.0}), "'gamma'"),
        (dict(optimizer="inna", optimizer_params={"lr": 1.0}), "'lr'"),
        (dict(optimizer="inna", optimizer_params={"beta": -1.0}), "'beta'"),
        (dict(optimizer="inna", optimizer_params={"alpha": np.inf}), "'alpha'"),
        (dict(optimizer="adam", optimizer_params={"alpha": 0.5}), "'alpha'"),
        (dict(optimizer="sgd", optimizer_params={"beta": 0.5}), "'beta'"),
        (dict(optimizer="sgd", optimizer_params={"momentum": -0.5}), "'momentum'"),
    ],
)
def test_bad_inna_options(params, match):
    X, _ = make_low_rank_tensor((6, 5), ranks=1, observed_fraction=0.8,
                                random_state=0)
    with pytest.raises(ValueError, match=match):
        TensorCompleter(max_iter=2, **params).fit(X)
