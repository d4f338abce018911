import numpy as np
import pytest

from skdeep.tensor._growth import (
    GROWTH_PATIENCE,
    GrowthStart,
    entry_indices,
    grow_tucker,
    residual_rank_one,
)
from skdeep.tensor._model import ObservedEntries
from skdeep.tensor._numpy_backend import NumpyModel
from skdeep.tensor._schedule import HeldOutStall, schedule
from skdeep.utils._loop import BestWeights
from skdeep.utils._tensor_algebra import reconstruct


def _outer(vectors):
    out = vectors[0]
    for v in vectors[1:]:
        out = np.multiply.outer(out, v)
    return out


def test_residual_rank_one_finds_a_planted_term_from_some_entries():
    # a rank-one term plus a smaller one, 40 % of the entries: the power
    # method on the entries finds the leading term's directions (up to the
    # sampling's own noise)
    rng = np.random.RandomState(0)
    shape = (40, 30, 20)
    lead = [rng.standard_normal(n) for n in shape]
    lead = [v / np.linalg.norm(v) for v in lead]
    other = [rng.standard_normal(n) for n in shape]
    other = [v / np.linalg.norm(v) for v in other]
    tensor = 10.0 * _outer(lead) + 2.0 * _outer(other)
    mask = rng.uniform(size=shape) < 0.4
    entries = ObservedEntries.from_mask(tensor, mask)
    vectors = residual_rank_one(entry_indices(entries), entries.values, shape)
    for found, true in zip(vectors, lead):
        assert abs(found @ true) > 0.95
    assert residual_rank_one(entry_indices(entries), np.zeros(entries.size),
                             shape) is None


def test_grow_tucker_adds_the_term_with_the_best_step():
    rng = np.random.RandomState(1)
    shape, ranks = (9, 8, 7), (2, 3, 2)
    factors = [np.linalg.qr(rng.standard_normal((n, r)))[0]
               for n, r in zip(shape, ranks)]
    core = rng.standard_normal(ranks)
    data = rng.standard_normal(shape)
    mask = rng.uniform(size=shape) < 0.5
    entries = ObservedEntries.from_mask(data, mask)
    model = reconstruct("tucker", factors, core)
    residual = model[mask] - data[mask]
    indices = entry_indices(entries)
    vectors = residual_rank_one(indices, residual, shape)
    grown, grown_core = grow_tucker(factors, core, vectors, indices, residual,
                                    max_ranks=(3, 3, 3))
    # one more rank where there is room (mode 1 is full)
    assert grown_core.shape == (3, 3, 3)
    for U in grown:
        np.testing.assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-12)
    added = reconstruct("tucker", grown, grown_core) - model
    term = _outer(vectors)
    # the model plus a multiple of the rank-one term (its part in mode 1's
    # basis only, which has no room)
    projected = _outer([vectors[0], factors[1] @ (factors[1].T @ vectors[1]),
                        vectors[2]])
    step = np.sum(added * projected) / np.sum(projected**2)
    np.testing.assert_allclose(added, step * projected, atol=1e-10)
    # the step minimises the squared error along the term at the entries
    grown_full, core_full = grow_tucker(factors, core, vectors, indices, residual,
                                        max_ranks=(3, 4, 3))
    along = term[mask]
    change = reconstruct("tucker", grown_full, core_full)[mask] - model[mask]
    c = np.sum(change * along) / np.sum(along**2)
    np.testing.assert_allclose(change, c * along, atol=1e-10)
    assert abs(np.sum((residual + c * along) * along)) < 1e-8 * np.sum(along**2)
    assert c != 0


class _Control:
    def __init__(self, net, loss=1.0):
        self.best = BestWeights(net.snapshot, net.load)
        self.n_iter = 10
        self.ended = 0

        class monitor:
            losses = [loss]

        self.monitor = monitor

    def end_phase(self):
        self.ended += 1


def _net_and_entries(seed=0, width=4):
    rng = np.random.RandomState(seed)
    shape, widths = (8, 7, 6), (width,) * 3
    layers = [[0.1 * rng.standard_normal((n, w))] for n, w in zip(shape, widths)]
    core = np.zeros(widths)
    core[:2, :2, :2] = rng.standard_normal((2, 2, 2))
    net = NumpyModel("tucker", layers, core, None)
    data = rng.standard_normal(shape)
    entries = ObservedEntries.from_mask(data, rng.uniform(size=shape) < 0.6)
    return net, entries


def test_growth_round_starts_from_the_best_point_with_one_more_rank():
    net, entries = _net_and_entries()
    control = _Control(net)
    control.best.update(3, 0.5)
    before = net.loss(entries)
    for p in net.parameters():
        p += 1.0  # a later, worse point
    start = GrowthStart()
    start.bind(net.snapshot, net.load, entries)
    start(control)
    assert control.ended == 0 and start.ranks == (3, 3, 3)
    assert start.first_epoch == 11
    # the best point plus the residual's term at its best step: lower loss
    assert net.loss(entries) < before


def _rounds(net, entries, n_rounds):
    rounds = []
    for _ in range(n_rounds):
        rounds.append(GrowthStart(rounds[-1] if rounds else None))
        rounds[-1].bind(net.snapshot, net.load, entries)
    return rounds


def test_growth_rounds_end_after_patience_rounds_that_do_not_improve():
    # room for every try: the core grows by one rank per round
    net, entries = _net_and_entries(width=GROWTH_PATIENCE + 2)
    control = _Control(net)
    control.best.update(3, 0.5)
    rounds = _rounds(net, entries, GROWTH_PATIENCE + 2)
    rounds[0](control)
    assert control.ended == 0 and rounds[0].ranks == (3, 3, 3)
    model_loss = net.loss(entries)
    # the best point (epoch 3) is older than every round: each next try goes
    # on from the model the round before started from, with one more term
    for k in range(1, GROWTH_PATIENCE):
        control.n_iter = 20 * k
        rounds[k](control)
        assert control.ended == 0 and rounds[k].ranks == (3 + k,) * 3
        assert rounds[k].first_epoch == 20 * k + 1
        assert net.loss(entries) < model_loss
        model_loss = net.loss(entries)
        np.testing.assert_array_equal(
            rounds[k].grown[1][:2 + k, :2 + k, :2 + k] != 0,
            rounds[k - 1].grown[1] != 0)
    # GROWTH_PATIENCE rounds in a row did not improve: the growth ends
    rounds[GROWTH_PATIENCE](control)
    assert control.ended == 1 and rounds[GROWTH_PATIENCE].first_epoch is None
    rounds[GROWTH_PATIENCE + 1](control)  # and a round after a skipped one too
    assert control.ended == 2


def test_a_round_that_improves_restarts_the_count():
    net, entries = _net_and_entries()
    control = _Control(net)
    control.best.update(3, 0.5)
    first, second, third = _rounds(net, entries, 3)
    first(control)
    control.n_iter = 20
    second(control)  # the first did not improve: the second try
    control.best.update(25, 0.1)  # the second round improved
    best_loss = net.loss(entries)
    for p in net.parameters():
        p += 1.0  # a later, worse point
    control.n_iter = 30
    third(control)
    assert control.ended == 0 and third.first_epoch == 31
    # from the best point, plus the residual's term
    assert net.loss(entries) < best_loss


@pytest.mark.parametrize("loss", [1e-6])
def test_an_exact_fit_has_no_growth(loss):
    net, entries = _net_and_entries()
    control = _Control(net, loss=loss)
    control.best.update(3, 0.5)
    start = GrowthStart(exact_loss=1e-3)
    start.bind(net.snapshot, net.load, entries)
    start(control)
    assert control.ended == 1


def _epochs_until_stall(values, **kwargs):
    stall = HeldOutStall([], tol=1e-3, scale=1.0, **kwargs)
    for epoch, value in enumerate(values):
        stall.curve.append(value)
        if stall(epoch, None):
            return epoch
    return None


@pytest.mark.parametrize("best", [1, 12, 40])
def test_a_rounds_window_grows_with_the_epoch_of_its_best(best):
    # improving until epoch ``best``, then flat: the round waits
    # max(min_window, best) epochs, at most n_iter_no_change
    values = [1.0 - 0.01 * min(epoch, best) for epoch in range(200)]
    ended = _epochs_until_stall(values, n_iter_no_change=25, min_window=6)
    assert ended == best + min(25, max(6, best))
    # without min_window: the fixed window
    assert _epochs_until_stall(values, n_iter_no_change=25) == best + 25


def test_growth_rounds_get_the_growing_window():
    phases = schedule("adam-lbfgs", 1.0, tol=1e-4, n_iter_no_change=200,
                      held_out_mean_square=1.0, polish=True, growth_rounds=2)
    windows = {phase.name: (phase.until.window, phase.until.min_window)
               for phase in phases[1:]}
    assert windows["l-bfgs (polish)"] == (50, None)
    assert windows["l-bfgs (rank growth 1)"] == (25, 6)
    assert windows["l-bfgs (rank growth 2)"] == (25, 6)
