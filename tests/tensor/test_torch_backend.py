"""The torch backend's own pieces: the sparse backward and the cached loss."""

import numpy as np
import pytest

from skdeep.tensor._model import ObservedEntries

torch = pytest.importorskip("torch")


def _entries(rng, shape=(7, 9), fraction=0.4):
    mask = rng.uniform(size=shape) < fraction
    return ObservedEntries.from_mask(rng.standard_normal(shape), mask)


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
        p.grad = None
        value = loss(None)
        value.backward()
        assert float(value.detach()) == pytest.approx(5.0 - 2.0)
        assert torch.allclose(p.grad, torch.tensor([2 - 2.0, -4 + 1.0],
                                                    dtype=torch.float64))
    # the forward pass at that point is the kept one, detached
    kept = loss.forward()
    assert len(calls) == 1 and not kept[0].requires_grad
    assert torch.equal(kept[0], torch.tensor([1.0, 4.0], dtype=torch.float64))
    with torch.no_grad():
        p.add_(1.0)  # a new point: evaluated again
    loss(None)
    assert len(calls) == 2
