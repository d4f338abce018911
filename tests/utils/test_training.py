"""The one training loop: stopping rules, steps, seeding, early stopping."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skdeep
from skdeep.utils import _training
from skdeep.utils._torch import torch_generator
from skdeep.utils._training import TrainingStep, train

torch = pytest.importorskip("torch")


class _Named:
    """Stands for the estimator being fitted (name, verbose, max_iter)."""

    def __init__(self, verbose=0):
        self.verbose = verbose
        self.max_iter = None


class _Scalar(torch.nn.Module):
    def __init__(self, value=0.0):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([value], dtype=torch.float64))


def _regression(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    coef = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    return X, X @ coef, coef


def _linear_step(model, lr=0.1):
    def loss(batch):
        X, y = batch
        return torch.mean((model(X).ravel() - y) ** 2)

    return TrainingStep(torch.optim.SGD(model.parameters(), lr=lr), loss)


def test_full_batch_regression_converges_to_the_least_squares_solution():
    X, y, coef = _regression()
    model = torch.nn.Linear(3, 1, bias=False).double()
    result = train([_linear_step(model)], (X, y), estimator=_Named(), modules=[model],
                   max_iter=2000, tol=1e-12, n_iter_no_change=5)
    assert result.converged
    assert result.n_iter < 2000
    assert result.loss_curve.shape == (result.n_iter,)
    assert np.all(np.diff(result.loss_curve) <= 0)
    np.testing.assert_allclose(model.weight.detach().ravel(), coef, atol=1e-5)


def test_max_iter_warns_and_curve_has_one_value_per_epoch():
    X, y, _ = _regression()
    model = torch.nn.Linear(3, 1).double()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        result = train([_linear_step(model)], (X, y), estimator=_Named(),
                       modules=[model], max_iter=2, tol=0)
    assert not result.converged
    assert result.n_iter == 2 and result.loss_curve.shape == (2,)


def test_mini_batches_are_seeded_and_cover_every_sample():
    X, y, _ = _regression(n=50)
    seen = []

    def fit(seed):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1).double()

        def loss(batch):
            seen.append(batch[2].clone())
            return torch.mean((model(batch[0]).ravel() - batch[1]) ** 2)

        step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.05), loss)
        train([step], (X, y, torch.arange(50)), estimator=_Named(), modules=[model],
              max_iter=3, n_iter_no_change=None, batch_size=16,
              generator=torch_generator(seed))
        return model.weight.detach().clone()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = fit(0)
        batches = list(seen)
        seen.clear()
        again = fit(0)
        other = fit(1)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    # 4 batches per epoch (16, 16, 16, 2) that partition the samples
    assert [len(b) for b in batches[:4]] == [16, 16, 16, 2]
    assert torch.equal(torch.sort(torch.cat(batches[:4])).values, torch.arange(50))
    assert not torch.equal(batches[0], batches[4])  # reshuffled each epoch


def test_steps_take_turns_at_their_frequencies():
    X, y, _ = _regression(n=40)
    calls = []
    model = torch.nn.Linear(3, 1).double()

    def make_loss(name):
        def loss(batch):
            calls.append(name)
            value = torch.mean((model(batch[0]).ravel() - batch[1]) ** 2)
            return value, {"double": 2 * value}

        return loss

    steps = [
        TrainingStep(torch.optim.SGD(model.parameters(), lr=0.01),
                     make_loss("d"), name="discriminator", every=2),
        TrainingStep(torch.optim.SGD(model.parameters(), lr=0.01),
                     make_loss("g"), name="generator"),
    ]
    with pytest.warns(ConvergenceWarning):
        result = train(steps, (X, y), estimator=_Named(), modules=[model],
                       max_iter=2, n_iter_no_change=None, batch_size=10)
    # 4 batches per epoch: the discriminator on batches 0 and 2, before the generator
    assert calls[:8] == ["d", "g", "g", "d", "g", "g"] + ["d", "g"]
    assert set(result.term_curves) == {
        "discriminator", "discriminator.double", "generator.double",
    }
    np.testing.assert_allclose(result.term_curves["generator.double"],
                               2 * result.loss_curve)


def test_validation_restores_the_best_weights():
    # Training pulls w from 0 towards 5; validation prefers w = 1: the weights
    # of the epoch closest to 1 come back.
    model = _Scalar()
    trace = []

    def loss(batch):
        return torch.sum((model.w - 5.0) ** 2)

    def validation():
        trace.append(float(model.w.detach()))
        return float((model.w - 1.0) ** 2)

    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.02), loss)
    result = train([step], (torch.zeros(1, 1),), estimator=_Named(), modules=[model],
                   max_iter=200, tol=0, n_iter_no_change=5,
                   validation_loss=validation)
    best = int(np.argmin([(w - 1) ** 2 for w in trace]))
    assert result.converged and result.best_iteration == best + 1
    assert result.n_iter == best + 1 + 5
    w = float(model.w.detach())
    assert w == pytest.approx(trace[best])
    assert abs(w - 1.0) < 0.2
    assert result.validation_curve.shape == (result.n_iter,)


def test_callback_stops_and_schedule_is_applied():
    model = _Scalar(1.0)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    step = TrainingStep(
        opt, lambda batch: torch.sum(model.w) * 0.0 + torch.sum(model.w ** 2),
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.1 ** e),
    )
    result = train([step], (torch.zeros(1, 1),), estimator=_Named(), modules=[model],
                   max_iter=50, n_iter_no_change=None,
                   callback=lambda epoch, res: epoch == 3)
    assert result.converged and result.n_iter == 3
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y, _ = _regression()
    model = torch.nn.Linear(3, 1).double()
    # tol=inf: any decrease is small enough, so the rule holds as soon as a
    # window of 3 epochs follows a first one: the fit stops at epoch 4
    train([_linear_step(model)], (X, y), estimator=_Named(verbose=1),
          modules=[model], max_iter=10, n_iter_no_change=3, tol=np.inf)
    out = capsys.readouterr().out
    assert len(re.findall(r"\[_Named\] iteration +\d+  loss", out)) == 4
    assert "converged after 4 iterations" in out


def test_divergence_is_a_clear_error():
    model = _Scalar(1.0)
    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=1.0),
                        lambda batch: torch.sum(model.w) / torch.zeros(()))
    with pytest.raises(FloatingPointError, match="learning rate"):
        train([step], (torch.zeros(1, 1),), estimator=_Named(), modules=[model],
              max_iter=3)


def test_large_data_moved_batch_by_batch_give_the_same_result(monkeypatch):
    X, y, _ = _regression()

    def fit():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1).double()
        train([_linear_step(model)], (X, y), estimator=_Named(), modules=[model],
              max_iter=5, n_iter_no_change=5, tol=np.inf, batch_size=8,
              generator=torch_generator(0), device=torch.device("cpu"))
        return model.weight.detach()

    at_once = fit()
    monkeypatch.setattr(_training, "_MAX_BYTES_MOVED_AT_ONCE", 0)
    assert torch.equal(fit(), at_once)


def test_bad_steps_are_rejected():
    model = _Scalar()
    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.1),
                        lambda batch: torch.sum(model.w ** 2))
    with pytest.raises(ValueError, match="at least one"):
        train([], (torch.zeros(1, 1),), estimator=_Named(), max_iter=1)
    with pytest.raises(ValueError, match="distinct"):
        train([step, step], (torch.zeros(1, 1),), estimator=_Named(), max_iter=1)
    with pytest.raises(ValueError, match="objective"):
        train([step], (torch.zeros(1, 1),), estimator=_Named(), max_iter=1,
              objective="nope")


def test_only_the_training_loop_calls_backward():
    root = Path(skdeep.__file__).parent
    # docstring examples (">>>" and "..." lines) show a user's own loop
    pattern = re.compile(r"\.backward\(|optimizer\.step\(|\bopt\.step\(")
    callers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if any(
            pattern.search(line) and not line.lstrip().startswith((">>>", "..."))
            for line in path.read_text().splitlines()
        )
    )
    assert callers == ["utils/_training.py"]


def test_balanced_batch_sampler_draws_every_group_equally():
    from skdeep.utils._training import BalancedBatchSampler

    groups = np.array([0] * 40 + [1] * 7 + [2] * 1)
    sampler = BalancedBatchSampler(groups, per_group=8)
    gen = torch_generator(0)
    epoch = [b.numpy() for b in sampler(48, gen)]
    # one pass over the largest group: 5 batches of 8 per group
    assert len(epoch) == 5
    for index in epoch:
        assert np.bincount(groups[index], minlength=3).tolist() == [8, 8, 8]
    drawn = np.concatenate(epoch)
    # the large group is drawn without repetition, the small ones are cycled
    big = drawn[groups[drawn] == 0]
    assert sorted(big.tolist()) == list(range(40))
    small = drawn[groups[drawn] == 1]
    assert np.bincount(small - 40, minlength=7).min() >= 5
    # full batch: every sample once, a singleton group repeated to 2
    full = list(BalancedBatchSampler(groups, per_group=None)(48, gen))
    assert len(full) == 1
    assert np.bincount(groups[full[0].numpy()]).tolist() == [40, 7, 2]
    with pytest.raises(ValueError, match="samples"):
        list(sampler(10, gen))


def test_train_uses_the_batch_sampler_and_stays_seeded():
    from skdeep.utils._training import BalancedBatchSampler

    X, y, _ = _regression(n=30)
    groups = np.array([0] * 25 + [1] * 5)
    seen = []

    def fit(seed):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1).double()

        def loss(batch):
            seen.append(batch[2].clone())
            return torch.mean((model(batch[0]).ravel() - batch[1]) ** 2)

        step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.05), loss)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            train([step], (X, y, torch.arange(30)), estimator=_Named(),
                  modules=[model], max_iter=2, n_iter_no_change=None,
                  batch_size=4, generator=torch_generator(seed),
                  batch_sampler=BalancedBatchSampler(groups, per_group=5))
        return model.weight.detach().clone()

    first = fit(0)
    batches = list(seen)
    seen.clear()
    assert torch.equal(fit(0), first)
    assert not torch.equal(fit(1), first)
    # batch_size is ignored for the sampler's batches: 5 + 5 per batch, 5 batches
    assert len(batches) == 10
    assert all(int((b >= 25).sum()) == 5 and len(b) == 10 for b in batches)


def test_a_fit_in_several_calls_names_the_users_max_iter():
    X, y, _ = _regression()
    model = torch.nn.Linear(3, 1).double()
    with pytest.warns(ConvergenceWarning, match="max_iter=50 "):
        train([_linear_step(model)], (X, y), estimator=_Named(), modules=[model],
              max_iter=2, tol=0, reported_max_iter=50)


# -- optimiser schedules: phases run by one call ------------------------------------


def _quadratic(value=3.0):
    model = _Scalar(value)

    def loss(batch):
        return torch.sum((model.w - 1.0) ** 2)

    return model, loss


def test_a_schedule_runs_in_one_call_and_its_curves_go_on(capsys):
    from skdeep.utils._training import Phase

    model, loss = _quadratic()
    warm = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.1), loss)
    fast = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.5), loss)
    seen = []
    phases = [
        Phase([warm], until=lambda epoch, value: value < 0.5, name="warm-up"),
        Phase([fast], name="fast"),
    ]
    result = train(phases, (torch.zeros(1, 1),), estimator=_Named(verbose=1),
                   modules=[model], max_iter=50, tol=1e-6, n_iter_no_change=2,
                   callback=lambda epoch, res: seen.append(epoch) and False)
    out = capsys.readouterr().out
    # (3 - 1)^2 = 4, x 0.64 per warm-up epoch: below 0.5 at the 6th epoch
    assert result.phase_starts == [1, 7]
    assert seen == list(range(1, result.n_iter + 1))
    assert result.loss_curve.shape == (result.n_iter,)
    np.testing.assert_allclose(result.loss_curve[:7], 4 * 0.64 ** np.arange(7))
    # lr 0.5 on (w - 1)^2 lands on the minimum at once
    assert result.loss_curve[7] == 0.0
    assert result.converged and float(model.w.detach()) == 1.0
    numbers = [int(n) for n in re.findall(r"iteration +(\d+)  loss", out)]
    assert numbers == list(range(1, result.n_iter + 1))
    assert "iteration     6  warm-up -> fast" in out
    assert out.count("converged") == 1
    assert out.rstrip().splitlines()[-1].startswith(
        f"[_Named] converged after {result.n_iter} iterations"
    )


def test_the_rule_ends_the_run_in_any_phase_but_a_warm_up():
    from skdeep.utils._training import Phase

    model, loss = _quadratic()
    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=1e-3), loss)
    # tol=inf: any decrease is small enough, the rule holds after one window
    # beyond the first epoch, in the first phase as in a single one
    phases = [Phase([step], until=lambda epoch, value: False), Phase([step])]
    for steps in (phases, [step]):
        result = train(steps, (torch.zeros(1, 1),), estimator=_Named(),
                       modules=[model], max_iter=20, tol=np.inf,
                       n_iter_no_change=2)
        assert result.converged and result.n_iter == 3
        assert result.phase_starts == [1]
    # a warm-up that never ends: the rule does not stop it, max_iter does
    warm_up = [Phase([step], until=lambda epoch, value: False,
                     stopping_rule=False), Phase([step])]
    with pytest.warns(ConvergenceWarning, match="max_iter=20"):
        result = train(warm_up, (torch.zeros(1, 1),), estimator=_Named(),
                       modules=[model], max_iter=20, tol=np.inf,
                       n_iter_no_change=2)
    assert result.n_iter == 20 and result.phase_starts == [1]
    # one that ends at epoch 6: the rule holds at once after it
    warm_up[0].until = lambda epoch, value: epoch == 6
    result = train(warm_up, (torch.zeros(1, 1),), estimator=_Named(),
                   modules=[model], max_iter=20, tol=np.inf, n_iter_no_change=2)
    assert result.converged and result.n_iter == 7
    assert result.phase_starts == [1, 7]


def test_the_end_of_the_last_phase_ends_the_run_and_a_shared_step_goes_on():
    from skdeep.utils._training import Phase

    model, loss = _quadratic()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = TrainingStep(
        opt, loss,
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.5 ** e),
    )
    phases = [
        Phase([step], until=lambda epoch, value: epoch == 2),
        Phase([step], until=lambda epoch, value: epoch == 5),
    ]
    result = train(phases, (torch.zeros(1, 1),), estimator=_Named(),
                   modules=[model], max_iter=50, n_iter_no_change=None)
    assert result.converged and result.n_iter == 5
    assert result.phase_starts == [1, 3]
    # one scheduler for the step across both phases: 5 halvings
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**5)


def test_step_scale_changes_what_the_optimiser_sees_not_the_curve():
    model, loss = _quadratic()
    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.05), loss,
                        scale=10.0)
    with pytest.warns(ConvergenceWarning):
        result = train([step], (torch.zeros(1, 1),), estimator=_Named(),
                       modules=[model], max_iter=1, n_iter_no_change=None)
    assert result.loss_curve[0] == pytest.approx(4.0)
    # the gradient of 10 (w - 1)^2 at w = 3 is 40: w = 3 - 0.05 * 40
    assert float(model.w.detach()) == pytest.approx(1.0)


def test_a_step_with_gradients_by_hand_takes_the_autograd_steps():
    # the regression's gradient written by hand: the same iterates as
    # autograd's, without a backward pass; the scale is applied to it
    X, y, coef = _regression()
    fits = {}
    for by_hand in (False, True):
        model = torch.nn.Linear(3, 1, bias=False).double()
        with torch.no_grad():
            model.weight.zero_()
        step = _linear_step(model)
        step.scale = 2.0
        if by_hand:
            def gradient(batch, model=model):
                X, y = batch
                residual = model(X).ravel() - y
                grad = 2.0 * residual @ X / len(y)
                return torch.mean(residual**2).detach(), (grad[None],)

            step = TrainingStep(step.optimizer, None, gradient=gradient, scale=2.0)
        with pytest.warns(ConvergenceWarning):
            result = train([step], (X, y), estimator=_Named(), modules=[model],
                           max_iter=20, n_iter_no_change=None)
        fits[by_hand] = (result.loss_curve, model.weight.detach().clone())
    np.testing.assert_allclose(fits[True][0], fits[False][0], rtol=1e-12)
    torch.testing.assert_close(fits[True][1], fits[False][1], rtol=1e-12, atol=0)
    assert fits[True][0][-1] < 0.01 * fits[True][0][0]


def test_bad_schedules_are_rejected():
    from skdeep.utils._training import Phase

    model, loss = _quadratic()
    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.1), loss)
    other = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.1), loss,
                         name="other")
    with pytest.raises(TypeError, match="not a mix"):
        train([Phase([step]), step], (torch.zeros(1, 1),), estimator=_Named(),
              max_iter=1)
    with pytest.raises(ValueError, match="same names"):
        train([Phase([step]), Phase([other])], (torch.zeros(1, 1),),
              estimator=_Named(), max_iter=1)


def test_loop_control_takes_the_decisions_of_a_loop_without_torch():
    # a numpy loop: the same records, early stopping and restore as train
    from skdeep.utils._training import BestWeights, LoopControl, Phase

    weights = np.array([0.0])
    best = BestWeights(weights.copy, lambda state: weights.__setitem__(..., state))
    control = LoopControl(_Named(), [Phase("gd")], max_iter=100, tol=0,
                          n_iter_no_change=3, best=best)
    validation = []
    while not control.stopped:
        loss = float((weights[0] - 5.0) ** 2)
        weights -= 0.2 * 2 * (weights - 5.0)  # towards 5; validation prefers 1
        validation.append(float((weights[0] - 1.0) ** 2))
        control.end_epoch(loss, monitored=validation[-1])
    best_iteration = control.finish()
    assert best_iteration == int(np.argmin(validation)) + 1
    assert control.n_iter == best_iteration + 3 and control.converged
    assert weights[0] == pytest.approx(1.0 + np.sqrt(min(validation)))
    result = control.result(validation=True, best_iteration=best_iteration)
    np.testing.assert_allclose(result.validation_curve, validation)


def test_loop_control_stops_a_diverging_loop():
    from skdeep.utils._training import LoopControl, Phase

    control = LoopControl(_Named(), [Phase("gd")], max_iter=5, tol=0,
                          n_iter_no_change=None)
    control.end_epoch(1.0)
    with pytest.raises(FloatingPointError, match="epoch 2; lower the learning"):
        control.end_epoch(np.nan)


def test_loss_curve_is_the_sample_weighted_mean_of_the_batch_losses():
    # With a zero step the weights never move: each epoch's loss_curve value must
    # be the loss on all the samples, i.e. the batch means weighted by batch size
    # (uneven batches: 64 samples in batches of 24, 24 and 16).
    X, y, _ = _regression(n=64)
    model = torch.nn.Linear(3, 1, bias=False).double()
    expected = float(torch.mean((model(X).ravel() - y) ** 2).detach())
    result = train([_linear_step(model, lr=0.0)], (X, y), estimator=_Named(),
                   modules=[model], max_iter=3, n_iter_no_change=None,
                   batch_size=24, generator=torch_generator(0))
    np.testing.assert_allclose(result.loss_curve, expected, rtol=1e-12)


def test_a_phase_starts_from_the_best_weights_when_asked():
    from skdeep.utils._training import Phase

    # gradient ascent away from the optimum w = 1 for three epochs: the
    # validation loss (the loss itself) is best at the start; the next phase,
    # whose on_start restores the best weights, starts from there
    model, loss = _quadratic(value=1.5)
    up = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.1, maximize=True),
                      loss)
    starts = []

    def on_start(control):
        control.best.restore()
        starts.append(float(model.w.detach()))

    phases = [Phase([up], until=lambda epoch, value: epoch == 3,
                    stopping_rule=False),
              Phase([up], until=lambda epoch, value: True, on_start=on_start)]
    train(phases, (torch.zeros(1, 1),), estimator=_Named(), modules=[model],
          max_iter=10, n_iter_no_change=None,
          validation_loss=lambda: loss(None))
    # after the first ascent step (the weights of epoch 1: 1.5 + 2 * 0.1 * 0.5)
    assert starts == [pytest.approx(1.6)]


@pytest.mark.parametrize("skip_last", [False, True])
def test_a_phase_whose_on_start_ends_it_never_starts(capsys, skip_last):
    from skdeep.utils._training import Phase

    # the second phase's on_start ends it: the third starts at once (its
    # on_start runs), announced as following the first; with the last phase
    # skipped as well, the run ends, converged, after the first
    model, loss = _quadratic()
    step = TrainingStep(torch.optim.SGD(model.parameters(), lr=0.1), loss)
    calls = []

    def skip(name):
        def on_start(control):
            calls.append(name)
            control.end_phase()
        return on_start

    def record(control):
        calls.append("third")

    phases = [
        Phase([step], until=lambda epoch, value: epoch == 2, name="first"),
        Phase([step], until=lambda epoch, value: True, name="second",
              on_start=skip("second")),
        Phase([step], until=lambda epoch, value: epoch == 6, name="third",
              on_start=skip("third") if skip_last else record),
    ]
    result = train(phases, (torch.zeros(1, 1),), estimator=_Named(verbose=1),
                   modules=[model], max_iter=50, n_iter_no_change=None)
    out = capsys.readouterr().out
    assert calls == ["second", "third"]
    assert result.converged and "second ->" not in out and "-> second" not in out
    if skip_last:
        assert result.n_iter == 2 and result.phase_starts == [1]
        assert "->" not in out
    else:
        assert result.n_iter == 6 and result.phase_starts == [1, 3]
        assert out.count("first -> third") == 1
