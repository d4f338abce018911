"""The torch backend's own pieces: the sparse backward, the Tucker-3 gradient
by hand and the cached loss."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdeep.tensor._model import ObservedEntries

torch = pytest.importorskip("torch")


def _entries(rng, shape=(7, 9), fraction=0.4):
    mask = rng.uniform(size=shape) < fraction
    return ObservedEntries.from_mask(rng.standard_normal(shape), mask)


def _mask(entries, shape):
    """The boolean mask of the entries (in their row-major order)."""
    mask = np.zeros(shape, dtype=bool)
    mask.reshape(shape[0], -1)[entries.rows, entries.cols] = True
    return mask


def test_sampled_product_and_its_gradients_match_autograd_of_the_dense_model():
    from skdeep.tensor._torch_backend import _Part, _sampled_product

    rng = np.random.RandomState(0)
    entries = _entries(rng)
    part = _Part(torch, entries, "cpu")
    first = torch.tensor(rng.standard_normal((7, 3)), requires_grad=True)
    design = torch.tensor(rng.standard_normal((3, 9)), requires_grad=True)
    weights = torch.tensor(rng.standard_normal(entries.size))
    value = (_sampled_product(torch)(first, design, part) * weights).sum()
    grads = torch.autograd.grad(value, (first, design))
    dense = first @ design
    rows, cols = torch.as_tensor(entries.rows), torch.as_tensor(entries.cols)
    expected_value = (dense[rows, cols] * weights).sum()
    expected = torch.autograd.grad(expected_value, (first, design))
    assert torch.allclose(value, expected_value)
    for g, e in zip(grads, expected):
        assert torch.allclose(g, e)


def test_cached_loss_evaluates_once_per_point_with_the_same_gradients():
    from skdeep.tensor._torch_backend import _CachedLoss

    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    calls = []

    def forward():
        calls.append(1)
        return (p**2, p[0] * p[1])

    def loss_of(forward):
        return forward[0].sum() + forward[1]

    loss = _CachedLoss(torch, [p], forward, loss_of)
    for _ in range(2):  # the second call, at the same point, is not evaluated
        value, (grad,) = loss(None)
        assert float(value) == pytest.approx(5.0 - 2.0)
        assert torch.allclose(grad, torch.tensor([2 - 2.0, -4 + 1.0],
                                                 dtype=torch.float64))
    # the forward pass at that point is the kept one, detached
    kept = loss.forward()
    assert len(calls) == 1 and not kept[0].requires_grad
    assert torch.equal(kept[0], torch.tensor([1.0, 4.0], dtype=torch.float64))
    with torch.no_grad():
        p.add_(1.0)  # a new point: evaluated again
    loss(None)
    assert len(calls) == 2


def test_tucker3_gradient_by_hand_matches_autograd_of_the_dense_model():
    from skdeep.tensor._torch_backend import (
        _Packed,
        _Part,
        _tucker3_design,
        _tucker3_loss_gradient,
    )
    from skdeep.utils._tensor_algebra import reconstruct

    rng = np.random.RandomState(0)
    shape, core_shape = (7, 6, 5), (4, 3, 2)  # every size distinct
    entries = ObservedEntries.from_mask(rng.standard_normal(shape),
                                        rng.uniform(size=shape) < 0.5)
    layers = [[rng.standard_normal((n, c)), rng.standard_normal((c, c))]
              for n, c in zip(shape, core_shape)]
    packed = _Packed(torch, layers, rng.standard_normal(core_shape), "cpu")
    deep, core = packed.unpack()
    factors = [A @ B for A, B in deep]
    part = _Part(torch, entries, "cpu")
    with torch.no_grad():
        design = _tucker3_design(core, factors)
        value, (grad,) = _tucker3_loss_gradient(torch, part)(
            (factors[0], design, (deep, core, factors))
        )
    # the same loss by autograd through the dense tensor
    dense = reconstruct("tucker", factors, core)
    rows = torch.as_tensor(np.array(np.nonzero(_mask(entries, shape))))
    observed = dense[tuple(rows)]
    expected = torch.mean((observed - torch.as_tensor(entries.values)) ** 2)
    (expected_grad,) = torch.autograd.grad(expected, packed.module.flat)
    first_eye = reconstruct("tucker", [torch.eye(4, dtype=torch.float64),
                                       *factors[1:]], core).reshape(4, -1)
    assert torch.allclose(design, first_eye)
    assert torch.allclose(value, expected.detach())
    assert torch.allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


def _adam_iterate(make_optimizer, hook=True, n_steps=5):
    """The point after ``n_steps`` of an optimiser on a cached loss."""
    from skdeep.tensor._torch_backend import _CachedLoss

    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    loss = _CachedLoss(torch, [p], lambda: (p**2, p[0] * p[1]),
                       lambda forward: forward[0].sum() + forward[1])
    optimizer = make_optimizer([p])
    if hook:
        optimizer.register_step_post_hook(loss.moved)

    def closure():
        value, (grad,) = loss(None)
        p.grad = grad.clone()
        return value

    for _ in range(n_steps):
        optimizer.step(closure)
    return p.detach()


def test_cached_loss_follows_a_fused_adam_that_keeps_the_version_counter():
    # a fused Adam writes the parameters without incrementing their version:
    # the step hook makes the cached loss evaluate every new point
    from skdeep.tensor._torch_backend import _adam

    fused = _adam_iterate(lambda params: _adam(torch, params, 0.1))
    plain = _adam_iterate(lambda params: torch.optim.Adam(params, lr=0.1),
                          hook=False)
    assert not torch.equal(plain, torch.tensor([1.0, -2.0], dtype=torch.float64))
    assert torch.allclose(fused, plain, rtol=1e-12, atol=1e-14)


def test_the_cpu_arithmetic_is_numpys_for_small_problems_only(monkeypatch):
    from skdeep.datasets import make_low_rank_tensor
    from skdeep.tensor import TensorCompleter, _torch_backend

    built = []
    for kind in ("_HostArithmetic", "_DeviceArithmetic"):
        cls = getattr(_torch_backend, kind)
        monkeypatch.setattr(_torch_backend, kind, type(kind, (cls,), {
            "__init__": lambda self, *args, cls=cls, kind=kind: (
                built.append(kind), cls.__init__(self, *args))[1],
        }))
    X, _ = make_low_rank_tensor((8, 7, 6), ranks=2, observed_fraction=0.5,
                                random_state=0)
    completer = TensorCompleter(backend="torch", device="cpu", ranks=(2, 2, 2),
                                max_iter=5, tol=0, early_stopping=False)
    work = 2 * 7 * 6  # the design's entries: width times the other sizes
    for max_work, expected in ((work + 1, "_HostArithmetic"),
                               (work, "_DeviceArithmetic")):
        monkeypatch.setattr(_torch_backend, "HOST_ARITHMETIC_MAX_WORK", max_work)
        with pytest.warns(ConvergenceWarning):  # max_iter ends the fit
            completer.fit(X)
        assert built.pop() == expected and not built
