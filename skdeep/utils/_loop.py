"""The decisions of the one training loop, shared by every loop of the package.

After every epoch a loop of skdeep takes the same decisions, made here and
nowhere else: record the epoch (progress line, curves) in an
:class:`~skdeep.utils._iteration.IterationMonitor`, keep the best weights of
early stopping (:class:`BestWeights`), end the current phase of an optimiser
schedule when its condition holds (:class:`Phase`), and stop the run by the
stopping rule, a callback, the end of the last phase or ``max_iter``
(:class:`LoopControl`). The torch loop :func:`skdeep.utils._training.train`
runs through it, and so does the numpy backend of
:class:`~skdeep.tensor.TensorCompleter`; nothing here imports torch.
"""

from dataclasses import dataclass, field

import numpy as np

from ._iteration import IterationMonitor


@dataclass
class Phase:
    """One stage of an optimiser schedule: what runs, and when it ends.

    Parameters
    ----------
    steps : list of TrainingStep
        The :class:`~skdeep.utils._training.TrainingStep` objects stepped on
        every batch during the phase by :func:`~skdeep.utils._training.train`
        (another loop driven by :class:`LoopControl` puts its own optimiser
        here). Every phase of a schedule has steps of the same names, so that
        the curves go on across a switch; a step object may serve in several
        phases (its optimiser state and scheduler go on).
    until : callable or None, default=None
        ``until(epoch, loss) -> bool``, asked after every epoch of the phase
        with the epoch's objective loss; True ends the phase: the next phase
        starts at the next epoch, and the end of the last phase ends the run
        (as converged, e.g. an L-BFGS that can make no more progress).
        ``None``: the phase lasts until the run stops.
    name : str, default="phase"
        Name in the progress line printed at the switch.
    stopping_rule : bool, default=True
        Whether the stopping rule of :mod:`skdeep.utils._iteration` may end
        the run during the phase. False makes a *warm-up*, which ends by its
        ``until`` (or at ``max_iter``) only: a slow start whose monitored
        value has not improved for a window (a plateau, an early transient)
        does not pass for convergence. The rule watches one curve; its window
        spans the switches.
    on_start : callable or None, default=None
        ``on_start(control)``, called with the :class:`LoopControl` when the
        phase starts after a switch (e.g. to start from the best weights of
        early stopping, ``control.best.restore()``); it may skip the phase
        (``control.end_phase()``: the next phase starts, or the run ends
        after the last), which then is neither announced nor counted.

    Examples
    --------
    >>> from skdeep.utils._loop import Phase, as_phases
    >>> warm_up = Phase(["adam step"], until=lambda epoch, loss: loss < 0.25,
    ...                 name="adam", stopping_rule=False)
    >>> [p.name for p in as_phases([warm_up, Phase(["l-bfgs step"], name="l-bfgs")])]
    ['adam', 'l-bfgs']
    >>> [p.steps for p in as_phases(["one step"])]  # a list of steps: one phase
    [['one step']]
    """

    steps: list
    until: object = None
    name: str = "phase"
    stopping_rule: bool = True
    on_start: object = None


def as_phases(steps):
    """A list of :class:`Phase` from phases, or from the steps of a single phase."""
    steps = list(steps)
    if steps and all(isinstance(s, Phase) for s in steps):
        return steps
    if any(isinstance(s, Phase) for s in steps):
        raise TypeError("train takes a list of TrainingStep or a list of Phase, "
                        "not a mix of both.")
    return [Phase(steps)]


@dataclass
class TrainingResult:
    """What :func:`~skdeep.utils._training.train` returns.

    Attributes
    ----------
    n_iter : int
        Number of epochs run.
    loss_curve : ndarray of shape (n_iter,)
        Mean loss of the objective step per epoch (computed on each batch before
        its update, as :class:`~sklearn.neural_network.MLPClassifier` does).
    term_curves : dict of ndarray
        Mean of every named term per epoch, keyed ``"<step name>"`` and
        ``"<step name>.<term>"``.
    validation_curve : ndarray of shape (n_iter,) or None
        Validation loss after every epoch, if a validation loss was given.
    best_iteration : int or None
        Epoch (1-based) of the best validation loss, whose weights were restored.
    converged : bool
        Whether a stopping rule ended the fit before ``max_iter``.
    phase_starts : list of int
        First epoch (1-based) of every phase that ran.
    """

    n_iter: int
    loss_curve: np.ndarray
    term_curves: dict = field(default_factory=dict)
    validation_curve: np.ndarray = None
    best_iteration: int = None
    converged: bool = False
    phase_starts: list = field(default_factory=lambda: [1])


class BestWeights:
    """The memory of early stopping: the weights of the best monitored epoch.

    Parameters
    ----------
    snapshot : callable
        ``snapshot() -> state``: a copy of the weights now.
    restore : callable
        ``restore(state)``: put a copied state back.

    Examples
    --------
    >>> from skdeep.utils._loop import BestWeights
    >>> weights = [0.0]
    >>> def restore(state):
    ...     weights[:] = state
    >>> best = BestWeights(lambda: list(weights), restore)
    >>> for epoch, (w, value) in enumerate([(1.0, 3.0), (2.0, 1.0), (3.0, 2.0)], 1):
    ...     weights[0] = w
    ...     best.update(epoch, value)
    >>> best.restore(), weights
    (2, [2.0])
    """

    def __init__(self, snapshot, restore):
        self._snapshot = snapshot
        self._restore = restore
        self.value = np.inf
        self.iteration = None
        self._state = None

    def update(self, epoch, value):
        """Keep a copy of the weights when ``value`` is the best (lowest) so far."""
        if value < self.value:
            self.value, self.iteration, self._state = value, epoch, self._snapshot()

    def restore(self):
        """Put the best weights back; return their epoch (None if none was kept)."""
        if self._state is not None:
            self._restore(self._state)
        return self.iteration


class LoopControl:
    """The decisions after every epoch of a training loop.

    Records the epoch in an :class:`~skdeep.utils._iteration.IterationMonitor`
    (progress lines, curves), keeps the best weights of early stopping, ends a
    phase when its ``until`` holds (printing the switch with ``verbose``), and
    stops the run: by the stopping rule (in the phases that allow it), by the
    callback, at the end of the last phase, or at ``max_iter``.
    :func:`~skdeep.utils._training.train` runs its epochs through it; so does
    any other loop of the package, whatever library its epochs are computed
    with (torch is not imported here).

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted (name, ``verbose``).
    phases : list of Phase
        The schedule; ``until``, ``name`` and ``stopping_rule`` are read here.
    max_iter : int
        Maximum number of epochs of the run.
    tol, n_iter_no_change, scale :
        The stopping rule (see :mod:`skdeep.utils._iteration`);
        ``n_iter_no_change=None`` disables it.
    best : BestWeights or None, default=None
        Early stopping: the weights of the best monitored epoch, restored by
        :meth:`finish`.
    callback : callable or None, default=None
        ``callback(epoch) -> bool`` after every epoch; True stops the run (as
        converged).
    print_every, reported_max_iter :
        As in :func:`~skdeep.utils._training.train`.

    Examples
    --------
    >>> from skdeep.utils._loop import LoopControl, Phase
    >>> class Estimator:
    ...     verbose = 1
    >>> phases = [Phase("adam", until=lambda epoch, loss: loss < 0.5, name="adam"),
    ...           Phase("l-bfgs", name="l-bfgs")]
    >>> control = LoopControl(Estimator(), phases, max_iter=100, tol=1e-2,
    ...                       n_iter_no_change=2, print_every=100)
    >>> for loss in [1.0, 0.4, 0.1, 0.099, 0.0985]:
    ...     if control.end_epoch(loss) and control.stopped:
    ...         break
    [Estimator] iteration     2  adam -> l-bfgs
    >>> control.n_iter, control.converged  # 0.1 - 0.0985 <= 1e-2 * 1.0
    (5, True)
    """

    def __init__(self, estimator, phases, *, max_iter, tol, n_iter_no_change,
                 scale=None, best=None, callback=None, print_every=1,
                 reported_max_iter=None):
        self.phases = list(phases)
        self.max_iter = int(max_iter)
        self.rule = n_iter_no_change is not None
        self.monitor = IterationMonitor(
            estimator,
            max_iter=max_iter if reported_max_iter is None else reported_max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change or 1,
            scale=scale,
            print_every=print_every,
        )
        self.best = best
        self.callback = callback
        self.phase = 0
        self.phase_starts = [1]
        self._started = 0  # the last phase that started (not skipped)
        self.stopped = self.max_iter < 1
        self.converged = False

    @property
    def n_iter(self):
        """Epochs recorded so far."""
        return self.monitor.n_iter

    @property
    def remaining(self):
        """Epochs left before ``max_iter``."""
        return self.max_iter - self.monitor.n_iter

    def end_epoch(self, loss, *, monitored=None, **terms):
        """Record one epoch and decide; True when the phase is over.

        ``loss`` is the epoch's objective, ``monitored`` the value the
        stopping rule and early stopping watch (the validation loss; ``loss``
        when None). After True, :attr:`stopped` says whether the run is over
        (else :attr:`phase` is the next phase).
        """
        epoch = self.monitor.n_iter + 1
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"{self.monitor.name}: the training loss became {loss} at epoch "
                f"{epoch}; lower the learning rate."
            )
        self.monitor.record(loss, monitored=monitored, **terms)
        if self.best is not None:
            self.best.update(epoch, loss if monitored is None else monitored)
        phase = self.phases[self.phase]
        if (self.callback is not None and self.callback(epoch)) or (
            self.rule and phase.stopping_rule and self.monitor.converged()
        ):
            return self._stop(converged=True)
        if phase.until is not None and phase.until(epoch, loss):
            return self.end_phase()
        if epoch >= self.max_iter:
            return self._stop(converged=False)
        return False

    def end_phase(self):
        """End the current phase now (e.g. its optimiser can go no further).

        The next phase starts, or the run stops: as converged after the last
        phase, as not converged at ``max_iter``. Returns True.
        """
        if self.phase == len(self.phases) - 1:
            return self._stop(converged=True)
        if self.monitor.n_iter >= self.max_iter:
            return self._stop(converged=False)
        self.phase += 1
        if self.phases[self.phase].on_start is not None:
            starting = self.phase
            self.phases[starting].on_start(self)
            if self.stopped or self.phase != starting:
                # it ended the run, or its own phase (the next one started):
                # this phase never starts
                return True
        self.phase_starts.append(self.monitor.n_iter + 1)
        if self.monitor.verbose:
            print(
                f"[{self.monitor.name}] iteration {self.monitor.n_iter:5d}  "
                f"{self.phases[self._started].name} -> {self.phases[self.phase].name}",
                flush=True,
            )
        self._started = self.phase
        return True

    def _stop(self, converged):
        self.stopped, self.converged = True, converged
        return True

    def finish(self, hint="increase max_iter"):
        """Restore the best weights; print the summary; warn at ``max_iter``.

        Returns the epoch of the restored weights (None without early
        stopping).
        """
        best_iteration = None if self.best is None else self.best.restore()
        self.monitor.finish(self.converged, hint=hint)
        return best_iteration

    def result(self, validation=False, best_iteration=None):
        """The :class:`TrainingResult` so far (``validation``: the monitored
        values are a validation loss)."""
        return TrainingResult(
            n_iter=self.monitor.n_iter,
            loss_curve=self.monitor.loss_curve(),
            term_curves=self.monitor.term_curves(),
            validation_curve=(
                np.asarray(self.monitor.monitored) if validation else None
            ),
            best_iteration=(
                best_iteration
                if best_iteration is not None or self.best is None
                else self.best.iteration
            ),
            converged=self.converged,
            phase_starts=list(self.phase_starts),
        )
