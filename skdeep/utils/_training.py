"""The one torch training loop of skdeep.

Every torch model of the package (the deep estimators of :mod:`skdeep.neural`
and the torch backend of :class:`~skdeep.tensor.TensorCompleter`) trains through
:func:`train`: this module is the only place that calls ``.backward()`` and
``optimizer.step()``. torch is imported inside the functions, so importing this
module never imports torch.

One *iteration* is one epoch: a pass over the training samples in mini-batches
drawn from a seeded generator (one full batch when ``batch_size=None``). Per
batch, each :class:`TrainingStep` (an optimiser with its own loss and frequency)
is stepped in turn: a classifier passes one step; an adversarial model passes a
discriminator step and then a generator step.

A run may go through an optimiser *schedule*: a list of :class:`Phase`, each
with its steps and the condition that ends it (e.g. Adam until the loss is low
enough, then L-BFGS). One :func:`train` call runs them all, so the epochs, the
progress lines and the loss curve go on across a switch.

The decisions taken after every epoch (record it, keep the best weights of
early stopping, switch phase, stop) are made by
:class:`~skdeep.utils._loop.LoopControl` (:mod:`skdeep.utils._loop`, which
imports no torch: the numpy backend of :class:`~skdeep.tensor.TensorCompleter`
takes the same decisions through it). :class:`Phase`, :class:`TrainingResult`
and the other pieces of that module are importable from here too.
"""

import copy
from dataclasses import dataclass

import numpy as np

from ._loop import BestWeights, LoopControl, Phase, TrainingResult, as_phases
from ._torch import import_torch

__all__ = [
    "BalancedBatchSampler",
    "BestWeights",
    "LoopControl",
    "Phase",
    "TrainingResult",
    "TrainingStep",
    "as_phases",
    "train",
]

# Data larger than this stay where they are and move to the device batch by batch.
_MAX_BYTES_MOVED_AT_ONCE = 2**30


@dataclass
class TrainingStep:
    """One optimiser stepped on every ``every``-th batch with its own loss.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimiser of the parameters this step updates.
    loss : callable or None
        ``loss(batch) -> loss`` or ``-> (loss, terms)``, where ``batch`` is the
        tuple of data tensors of the batch (on the training device), ``loss`` a
        scalar tensor to minimise and ``terms`` a dict of named scalar parts
        recorded in the per-term curves. Unused with ``gradient``.
    name : str, default="loss"
        Name of the step in the per-term curves.
    every : int, default=1
        Step on every ``every``-th batch only.
    scheduler : callable or None, default=None
        ``scheduler(optimizer)`` returning a ``torch.optim.lr_scheduler``
        object stepped once per epoch, e.g.
        ``lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (1 + e))``.
        It is made when the step's first phase starts; a step shared by
        several phases keeps its scheduler.
    scale : float, default=1.0
        The optimiser minimises ``scale * loss``; the curves record ``loss``.
        For optimisers with absolute tolerances, e.g.
        :class:`torch.optim.LBFGS`, which skips the curvature pairs of tiny
        ``y.s`` that a mean over many entries makes.
    gradient : callable or None, default=None
        Instead of ``loss``: ``gradient(batch) -> (loss, grads)``, a loss with
        its gradients computed by hand, one tensor per parameter of the
        optimiser (in the order of its groups), written to their ``.grad``
        without autograd's backward pass (on small problems its graph costs
        as much as the arithmetic).
    """

    optimizer: object
    loss: object
    name: str = "loss"
    every: int = 1
    scheduler: object = None
    scale: float = 1.0
    gradient: object = None


def _as_float(value):
    return float(value.detach()) if hasattr(value, "detach") else float(value)


def _place(torch, data, device):
    """Move the data to ``device`` at once when they are small enough."""
    if device is None:
        return data, None
    n_bytes = sum(t.element_size() * t.nelement() for t in data)
    if n_bytes <= _MAX_BYTES_MOVED_AT_ONCE:
        return tuple(t.to(device) for t in data), None
    return data, device  # moved batch by batch


def _batches(torch, data, batch_size, generator, per_batch_device, sampler=None):
    n_samples = data[0].shape[0]
    if sampler is not None:
        indices = sampler(n_samples, generator)
    elif batch_size is None or batch_size >= n_samples:
        yield data if per_batch_device is None else tuple(
            t.to(per_batch_device) for t in data
        )
        return
    else:
        order = torch.randperm(n_samples, generator=generator)
        indices = (
            order[start : start + batch_size]
            for start in range(0, n_samples, batch_size)
        )
    for index in indices:
        batch = tuple(t[index.to(t.device)] for t in data)
        if per_batch_device is not None:
            batch = tuple(t.to(per_batch_device, non_blocking=True) for t in batch)
        yield batch


class BalancedBatchSampler:
    """Mini-batches holding the same number of samples from every group.

    A batch sampler for :func:`train`: each batch takes ``per_group`` samples of
    every group (e.g. of every modality of a multi-omics model, so that a small
    modality is not swamped by a large one). Each group is walked through
    successive seeded permutations, so every sample of a group is drawn once
    before any is drawn again; an epoch is one pass over the largest group, and
    smaller groups are cycled.

    Parameters
    ----------
    groups : array-like of int of shape (n_samples,)
        Group of every training sample.
    per_group : int or None
        Samples per group and per batch; ``None`` makes one batch of all the
        samples. A group smaller than 2 is repeated to 2 samples per batch, so
        batch statistics (``BatchNorm``) stay defined.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._torch import torch_generator
    >>> from skdeep.utils._training import BalancedBatchSampler
    >>> sampler = BalancedBatchSampler(np.array([0] * 6 + [1] * 2), per_group=3)
    >>> batches = list(sampler(8, torch_generator(0)))
    >>> [len(b) for b in batches], [int((b >= 6).sum()) for b in batches]
    ([6, 6], [3, 3])
    """

    def __init__(self, groups, per_group):
        groups = np.asarray(groups)
        if groups.ndim != 1:
            raise ValueError(f"groups must be 1-D, got shape {groups.shape}.")
        if per_group is not None and int(per_group) < 1:
            raise ValueError(f"per_group must be a positive int, got {per_group}.")
        self.members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
        self.per_group = None if per_group is None else int(per_group)
        self._queues = None

    def _draw(self, torch, g, k, generator):
        members = self.members[g]
        queue = self._queues[g]
        while len(queue) < k:
            order = torch.randperm(len(members), generator=generator).numpy()
            queue = np.concatenate([queue, members[order]])
        self._queues[g] = queue[k:]
        return queue[:k]

    def __call__(self, n_samples, generator):
        torch = import_torch()
        n_grouped = sum(len(m) for m in self.members)
        if n_grouped != n_samples:
            raise ValueError(
                f"the sampler has {n_grouped} samples but the data {n_samples}."
            )
        if self._queues is None:
            self._queues = [np.empty(0, dtype=np.intp) for _ in self.members]
        largest = max(len(m) for m in self.members)
        if self.per_group is None:
            sizes, n_batches = [max(len(m), 2) for m in self.members], 1
        else:
            sizes = [max(min(self.per_group, largest), 2)] * len(self.members)
            n_batches = -(-largest // sizes[0])
        for _ in range(n_batches):
            index = np.concatenate(
                [self._draw(torch, g, k, generator) for g, k in enumerate(sizes)]
            )
            yield torch.as_tensor(index, dtype=torch.long)


def _optimizer_step(step, batch):
    """One update of ``step``'s optimiser on ``batch``; the loss before it.

    The gradient is computed in a closure passed to ``optimizer.step``, so the
    optimisers that evaluate the loss several times per update
    (:class:`torch.optim.LBFGS`) work like the others (for which
    ``step(closure)`` is one evaluation, then the update).
    """
    first = []

    if step.gradient is not None:
        params = [p for group in step.optimizer.param_groups for p in group["params"]]

        def closure():
            loss, grads = step.gradient(batch)
            if not first:
                first.append((loss.detach(), {}))
            for param, grad in zip(params, grads, strict=True):
                # a copy: an optimiser may change its gradient in place
                param.grad = grad * step.scale
            return loss * step.scale

        step.optimizer.step(closure)
        return first[0]

    def closure():
        step.optimizer.zero_grad(set_to_none=True)
        out = step.loss(batch)
        loss, terms = out if isinstance(out, tuple) else (out, {})
        if not first:
            first.append((loss.detach(), terms))
        if step.scale != 1.0:
            loss = loss * step.scale
        loss.backward()
        return loss

    step.optimizer.step(closure)
    return first[0]


def _snapshot(modules):
    # tensors by ``clone`` (a deepcopy of a state dict costs several times as
    # much, and early stopping takes a snapshot at every improving epoch)
    return [
        {key: value.detach().clone() if hasattr(value, "detach")
         else copy.deepcopy(value) for key, value in module.state_dict().items()}
        for module in modules
    ]


def _load(modules, states):
    for module, state in zip(modules, states):
        module.load_state_dict(state)


def _step_names(phases, objective):
    """The steps' names (the same in every phase) and the objective's name."""
    names = [step.name for step in phases[0].steps]
    if not names:
        raise ValueError("train needs at least one TrainingStep.")
    if len(set(names)) != len(names):
        raise ValueError(f"TrainingStep names must be distinct, got {names}.")
    for phase in phases[1:]:
        if sorted(step.name for step in phase.steps) != sorted(names):
            raise ValueError(
                f"every phase needs steps of the same names; phase "
                f"{phase.name!r} has {[s.name for s in phase.steps]}, not {names}."
            )
    objective = names[-1] if objective is None else objective
    if objective not in names:
        raise ValueError(f"objective={objective!r} is not one of the steps {names}.")
    return names, objective


def _run_epoch(steps, batches, n_batches):
    """Step every step on its batches; the steps' and the terms' mean losses."""
    sums, counts, term_sums = {}, {}, {}
    for batch in batches:
        size = batch[0].shape[0]
        for step in steps:
            if n_batches % step.every:
                continue
            loss, terms = _optimizer_step(step, batch)
            sums[step.name] = sums.get(step.name, 0.0) + _as_float(loss) * size
            counts[step.name] = counts.get(step.name, 0) + size
            for key, value in terms.items():
                key = f"{step.name}.{key}"
                term_sums[key] = term_sums.get(key, 0.0) + _as_float(value) * size
        n_batches += 1
    # a step that stepped on no batch of the epoch has a mean of 0
    means = {step.name: sums.get(step.name, 0.0) / counts.get(step.name, 1)
             for step in steps}
    term_means = {
        key: value / counts[key.split(".", 1)[0]] for key, value in term_sums.items()
    }
    return means, term_means, n_batches


def train(
    steps,
    data,
    *,
    estimator,
    modules=(),
    max_iter,
    tol=1e-4,
    n_iter_no_change=10,
    scale=None,
    batch_size=None,
    generator=None,
    device=None,
    validation_loss=None,
    objective=None,
    callback=None,
    convergence_hint="increase max_iter",
    print_every=1,
    batch_sampler=None,
    reported_max_iter=None,
):
    """Train torch modules by the given optimiser steps; the package's only loop.

    Parameters
    ----------
    steps : list of TrainingStep, or list of Phase
        The steps stepped in turn on every batch (each on its own frequency),
        or an optimiser schedule: phases run one after the other, each until
        its ``until`` holds (see :class:`Phase`), in one run whose epochs,
        curves and progress lines go on across the switches.
    data : tuple of torch.Tensor
        Training tensors sharing their first (sample) dimension.
    estimator : estimator
        The estimator being fitted: its name, ``verbose`` and the defaults of
        the progress messages and of the ``ConvergenceWarning``.
    modules : sequence of torch.nn.Module, default=()
        Modules switched to train mode for the epochs and to eval mode for the
        validation loss, and whose best weights are restored.
    max_iter : int
        Maximum number of epochs (of all the phases together).
    tol : float, default=1e-4
        Tolerance of the stopping rule of
        :mod:`skdeep.utils._iteration`, applied to the monitored loss (the
        validation loss if given, else the training loss): stop when it has
        decreased by at most ``tol * scale`` over the last
        ``n_iter_no_change`` epochs (in the phases whose ``stopping_rule`` is
        True).
    n_iter_no_change : int or None, default=10
        Window (patience) of the stopping rule, in epochs; ``None`` disables
        the rule (the callback or the last phase's ``until`` may still stop
        the run).
    scale : float or None, default=None
        Scale of the stopping rule; ``None`` takes the first monitored value.
    batch_size : int or None, default=None
        Samples per mini-batch; ``None`` is full-batch training.
    generator : torch.Generator or None, default=None
        Seeded generator of the mini-batch order (on the CPU).
    device : torch.device or None, default=None
        Device of the training; data that fit are moved there once, larger
        data are moved batch by batch.
    validation_loss : callable or None, default=None
        ``validation_loss() -> float`` evaluated after each epoch with the
        modules in eval mode and without gradients; lower is better. With it,
        the weights of the best epoch are restored at the end (early stopping,
        as :class:`~sklearn.neural_network.MLPClassifier` does).
    objective : str or None, default=None
        Name of the step whose loss makes ``loss_curve``; the last step when
        ``None`` (the generator of an adversarial pair).
    callback : callable or None, default=None
        ``callback(epoch, result) -> bool`` called after each epoch with the
        :class:`TrainingResult` so far; returning True stops the run (counted
        as converged).
    convergence_hint : str, default="increase max_iter"
        Advice appended to the ``ConvergenceWarning``.
    print_every : int, default=1
        With ``verbose=1``, print one epoch in ``print_every``.
    batch_sampler : callable or None, default=None
        ``batch_sampler(n_samples, generator)`` returning the index tensors of
        the batches of one epoch (e.g. a :class:`BalancedBatchSampler`); it
        replaces the shuffled partition into ``batch_size`` batches.
    reported_max_iter : int or None, default=None
        The ``max_iter`` that progress lines and the ``ConvergenceWarning``
        name, for a fit run as several calls (``max_iter`` when ``None``).

    Returns
    -------
    result : TrainingResult
        Curves, number of epochs, best epoch and convergence.
    """
    torch = import_torch()
    phases = as_phases(steps)
    names, objective = _step_names(phases, objective)
    data, per_batch_device = _place(torch, tuple(data), device)
    best = None
    if validation_loss is not None:
        best = BestWeights(lambda: _snapshot(modules),
                           lambda states: _load(modules, states))
    control = LoopControl(
        estimator, phases, max_iter=max_iter, tol=tol,
        n_iter_no_change=n_iter_no_change, scale=scale, best=best,
        print_every=print_every, reported_max_iter=reported_max_iter,
        callback=None if callback is None else (
            lambda epoch: callback(epoch, control.result(validation_loss is not None))
        ),
    )
    schedulers = {}  # one per step, made when its first phase starts
    n_batches = 0
    while not control.stopped:
        phase_steps = phases[control.phase].steps
        for step in phase_steps:
            if id(step) not in schedulers:
                schedulers[id(step)] = (
                    None if step.scheduler is None else step.scheduler(step.optimizer)
                )
        for module in modules:
            module.train()
        batches = _batches(
            torch, data, batch_size, generator, per_batch_device, batch_sampler
        )
        means, term_means, n_batches = _run_epoch(phase_steps, batches, n_batches)
        for step in phase_steps:
            if schedulers[id(step)] is not None:
                schedulers[id(step)].step()
        terms = {name: means[name] for name in names if name != objective}
        terms.update(term_means)
        monitored = None
        if validation_loss is not None:
            for module in modules:
                module.eval()
            with torch.no_grad():
                monitored = float(validation_loss())
            terms["validation"] = monitored
        control.end_epoch(means[objective], monitored=monitored, **terms)
    best_iteration = control.finish(hint=convergence_hint)
    for module in modules:
        module.eval()
    return control.result(validation_loss is not None, best_iteration)
