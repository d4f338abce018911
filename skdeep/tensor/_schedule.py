"""The training schedule of TensorCompleter, the same for both backends.

Both backends run it through the package's loop control
(:class:`~skdeep.utils._loop.LoopControl`), so they take the same decisions:

- an *escape* phase with the optimiser named (Adam for ``"adam-lbfgs"``)
  from the small initialisation until the relative error on the training
  entries is below :data:`ESCAPE_ERROR` (the escape from the origin, where
  the low-rank bias is set), or until the escape has stalled away from the
  origin (see :class:`Escape`: a model of too small a rank for the data may
  never reach that error). It is a warm-up: the stopping
  rule waits for its end, because the first Adam steps from the small start
  go through a transient (a dip of the loss, then a rise) after which the
  loss can stay above that dip for longer than ``n_iter_no_change`` before
  the escape takes off;
- the *main* phase from there: L-BFGS for ``"adam-lbfgs"``, else the same
  optimiser going on. L-BFGS converges in far fewer iterations and keeps the
  effective ranks of the escape; it ends the run when it can make no more
  progress;
- from then on, the stopping rule of :mod:`skdeep.utils._iteration` on the
  monitored mean squared error (on the held-out entries with early stopping,
  whose best parameters are restored; else on the training entries), with
  the scale :func:`rule_scale`;
- for ``"adam-lbfgs"`` on a Tucker model with early stopping, L-BFGS ends
  by the stopping rule on the held-out values of its own epochs
  (:class:`HeldOutStall`); with ``ranks="auto"`` or ``"full"``, a *polish*
  follows (see :mod:`._polish`): the best held-out model truncated to the
  ranks it revealed, refitted by a fresh L-BFGS, ended by
  :class:`HeldOutStall` over a short window. L-BFGS keeps the effective
  ranks of the escape, which on images and tables are too low (about 2 on
  a colour photograph at 20 % of its pixels observed, where going on only
  overfits): *rank growth* rounds follow (see :mod:`._growth`), each from
  the best held-out point with the residual's next rank-one term added,
  refitted by L-BFGS over the short window, while a round improves the
  best held-out point. On an (almost) exact fit (relative training error
  below ``GROWTH_MIN_ERROR``) L-BFGS hands over to the polish at a coarser
  tolerance, and there is no growth. TT and CP keep the two phases (an
  Adam growth measured for them was mixed: one TT fit became worse than
  the mean fill).
"""

from ..utils._iteration import Curve, has_converged
from ..utils._loop import Phase
from ._growth import GrowthStart
from ._polish import RANK_TOL, PolishStart

# Relative training error that ends the escape phase.
ESCAPE_ERROR = 0.5
# The same for CP: its small start escapes along the top rank-one term first,
# and L-BFGS from there (at 0.5) can jump to a spread, overfitted solution (on
# a 30 x 30 x 30 tensor of CP rank 3, 30 % observed: effective ranks 3.5 and
# an error of 7e-2 on the missing entries, against 7e-4 after this escape).
ESCAPE_ERROR_CP = 0.2
# A stalled escape ends below this relative training error only: well away
# from the zero model (relative error 1) and the transient near it.
STALLED_ESCAPE_ERROR = 0.9


# The coarse end of L-BFGS before a polish (see ``HeldOutStall``) watches a
# window this many times shorter than ``n_iter_no_change``.
SWITCH_WINDOW_DIVISOR = 8
# The polish watches a window this many times shorter. Measured on the
# photographs and the hyperspectral scene of
# ``benchmarks/bench_tensor_images.py`` at 40 % observed: an eighth stopped
# it before its gain (flower 0.243, Indian Pines 0.123 on the missing
# entries, against 0.230 and 0.120 with a quarter).
POLISH_WINDOW_DIVISOR = 4
# A rank growth round watches a window this many times shorter: its gain
# comes in its first iterations, a longer refit of the grown model overfits
# (flower at 10 % observed: 0.432 with a quarter, 0.404 with an eighth; the
# other 17 image fits the same; digits as an imputer 20 % faster at the
# same accuracy).
ROUND_WINDOW_DIVISOR = 8
# ... at most: a round's window is the epoch of its best so far, from this
# many times shorter than ``n_iter_no_change`` (``HeldOutStall``'s
# ``min_window``). The best of a round on digits comes in its first 1-3
# iterations, and a fixed window of 25 spent 90 % of the rounds' time
# waiting; on a colour photograph it comes after 10-35. Measured: digits as
# an imputer 19.3 s of CPU against 24.8 s (the same accuracy, 0.880), the
# 18 image fits of ``bench_tensor_images.py`` the same mean error (0.2268,
# Indian Pines at 40 %: 0.1194 against 0.1211), the 18 crops 0.2811
# against 0.2815. From a sixteenth: 0.2268 and 0.2823; from a 64th: 0.2275
# and 0.2799. The polish (whose measured window is above) keeps its fixed
# one: a growing window there was mixed (the flower at 20 %: 0.308 against
# 0.294).
ROUND_MIN_WINDOW_DIVISOR = 32

# The rank growth runs only after a fit whose relative training error is
# at least this (see ``_growth.GrowthStart``).
GROWTH_MIN_ERROR = 0.05


class Escape:
    """``until`` of the escape phase: the loss is below ``escape_loss``, or stalled.

    A model that cannot fit the training entries to the escape's error (a
    rank too small for the data, heavy noise) would stay in the escape until
    ``max_iter``, where the stopping rule never applies. The escape is also
    over when it has stalled away from the origin: the loss has stayed below
    ``STALLED_ESCAPE_ERROR**2 * train_mean_square`` for more than
    ``n_iter_no_change`` epochs and has decreased by at most ``tol *
    rule_scale(tol, train_mean_square)`` over the last ``n_iter_no_change``
    of them (the stopping rule's test on the training loss, on those epochs
    only: a dip of the early transient below the later plateau of a saddle
    must not pass for a stall; on a 20 x 20 x 20 tensor of Tucker rank 3,
    30 % observed, it ended the escape on a saddle at a relative training
    error of 0.8, and the fit at an error of 3.8 on the missing entries).
    ``tol=None`` keeps the escape's error as its only end.

    ``done`` tells the backends whether the escape is over: until then the
    held-out error is not monitored (see :func:`monitored_after_escape`).

    Examples
    --------
    >>> from skdeep.tensor._schedule import Escape
    >>> escape = Escape(0.25, train_mean_square=1.0, tol=1e-3, n_iter_no_change=2)
    >>> [escape(epoch, loss) for epoch, loss in enumerate([1.0, 0.5, 0.4, 0.4, 0.4])]
    [False, False, False, False, True]
    """

    def __init__(self, escape_loss, train_mean_square=None, tol=None,
                 n_iter_no_change=None):
        self.escape_loss = escape_loss
        self.stalled_loss = (
            None if train_mean_square is None
            else STALLED_ESCAPE_ERROR**2 * train_mean_square
        )
        self.tol = tol
        self.window = n_iter_no_change
        self.scale = (
            None if tol is None or train_mean_square is None
            else rule_scale(tol, train_mean_square)
        )
        self.below = Curve()  # the losses since the last one above stalled_loss
        self.done = False

    def __call__(self, epoch, loss):
        # the epoch's loss (before its update): the main phase starts after it
        self.done = loss < self.escape_loss or self._stalled(loss)
        return self.done

    def _stalled(self, loss):
        if self.tol is None or not self.window or not loss < self.stalled_loss:
            self.below = Curve()
            return False
        self.below.append(loss)
        return has_converged(self.below, self.tol, self.scale, self.window)


class HeldOutStall:
    """``until`` of a phase judged on the held-out loss from its own start.

    ``curve`` is the list of the held-out loss of every epoch, which
    :func:`monitored_after_escape` extends (before the phase's ``until`` of
    the same epoch is asked); the phase is over when that loss has decreased
    by at most ``tol * scale`` over the last ``n_iter_no_change`` of its own
    epochs: the stopping rule of :mod:`skdeep.utils._iteration` on the
    phase's epochs only, so that a phase that follows a stalled one is not
    stopped by the stall of the previous one.

    Examples
    --------
    >>> from skdeep.tensor._schedule import HeldOutStall
    >>> curve = [2.0, 1.5]  # an earlier phase's epochs
    >>> stall = HeldOutStall(curve, tol=1e-2, scale=1.0, n_iter_no_change=2)
    >>> ended = []
    >>> for epoch, value in enumerate([1.0, 0.5, 0.4, 0.399, 0.398], 3):
    ...     curve.append(value)
    ...     ended.append(stall(epoch, None))
    >>> ended
    [False, False, False, False, True]

    ``coarse=(tol, scale, loss, window)``: the rule's ``tol`` and
    ``scale``, over ``window`` epochs, while the epoch's training loss is
    below ``loss`` (the L-BFGS phase before a polish, see :func:`schedule`).

    ``min_window``: the window grows with the phase's progress, from
    ``min_window`` to the index of the phase's best epoch (its last
    improvement by more than ``tol * scale``), up to ``n_iter_no_change``
    (a growth round, whose best comes early or late, see :func:`schedule`).

    >>> stall = HeldOutStall([], tol=1e-2, scale=1.0, n_iter_no_change=8,
    ...                      min_window=2)
    >>> ended = []
    >>> for epoch, value in enumerate([1.0, 0.5, 0.6, 0.7]):
    ...     stall.curve.append(value)
    ...     ended.append(stall(epoch, None))
    >>> ended  # the best at epoch 1: a window of 2
    [False, False, False, True]
    """

    def __init__(self, curve, tol, scale, n_iter_no_change, coarse=None,
                 min_window=None):
        self.curve = curve
        self.tol = tol
        self.scale = scale
        self.window = n_iter_no_change
        self.coarse = coarse
        self.min_window = min_window
        self.own = Curve()  # the values of the phase's own epochs
        self.best_index = 0  # of the phase's last improvement

    def __call__(self, epoch, loss):
        self.own.append(self.curve[-1])  # this epoch's value
        tol, scale, window = self.tol, self.scale, self.window
        if self.coarse is not None and loss < self.coarse[2]:
            tol, scale, _, window = self.coarse
        if self.min_window is not None:
            last = len(self.own) - 1
            if last and self.own[-1] < self.own.minima[-2] - tol * scale:
                self.best_index = last
            window = min(window, max(self.min_window, self.best_index))
        return bool(self.window) and has_converged(self.own, tol, scale, window)


def monitored_after_escape(phases, evaluate):
    """The monitored value of an epoch, ``evaluate()``; ``inf`` during the escape.

    The escape goes through transients and saddles (e.g. a rank-one plateau
    of a CP model) whose held-out error may be lower than that of the main
    phase's first iterations. Counted, they would end the run as soon as
    the main phase starts (its window reaches back into the escape) and keep
    a barely escaped model as the best: the stopping rule and early stopping
    watch the main phase only.

    Examples
    --------
    >>> from skdeep.tensor._schedule import monitored_after_escape, schedule
    >>> phases = schedule("adam-lbfgs", 1.0)
    >>> monitored_after_escape(phases, lambda: 0.3)
    inf
    >>> phases[0].until(5, 0.1)  # escaped
    True
    >>> monitored_after_escape(phases, lambda: 0.3)
    0.3
    """
    value = evaluate() if phases[0].until.done else float("inf")
    if isinstance(phases[-1].until, HeldOutStall):  # the curve they judge
        phases[-1].until.curve.append(value)
    return value


def schedule(optimizer, train_mean_square, model="tucker", *, tol=None,
             n_iter_no_change=None, held_out_mean_square=None, switch_tol=None,
             polish=False, growth_rounds=0):
    """The phases for ``optimizer``; each phase's ``steps`` names its optimiser.

    Parameters
    ----------
    optimizer : {"adam-lbfgs", "adam", "gd", "sgd", "inna"}
        The completer's ``optimizer``.
    train_mean_square : float
        Mean square of the training entries (the loss of the zero model).
    model : {"tucker", "tt", "cp"}, default="tucker"
        The factorization: the escape of CP goes on to a relative error of
        :data:`ESCAPE_ERROR_CP`.
    tol, n_iter_no_change : float and int, or None, default=None
        The completer's stopping rule, which also ends an escape that has
        stalled (see :class:`Escape`); ``None``: the escape ends at its error
        only.
    held_out_mean_square : float or None, default=None
        Mean square of the held-out entries of early stopping. Given, with
        ``"adam-lbfgs"``, a Tucker model and the stopping rule: L-BFGS ends
        by the rule on its own held-out values (:class:`HeldOutStall`, on
        the values that :func:`monitored_after_escape` records).
    switch_tol : float or None, default=None
        With the held-out L-BFGS: the tolerance of the rule that ends it
        while its relative training error is below :data:`GROWTH_MIN_ERROR`
        (``tol`` when None or smaller). A fit polished afterwards (see
        :mod:`._polish`) ends it coarsely there, on an (almost) exact
        low-rank fit: the polish does the rest. Above that error (images,
        tables) the phase keeps ``tol``: it is still shaping the ranks.
    polish : bool, default=False
        With the held-out L-BFGS: go on with a polish phase (``"l-bfgs
        (polish)"``, a fresh L-BFGS ended by :class:`HeldOutStall` over
        ``n_iter_no_change // POLISH_WINDOW_DIVISOR`` of its epochs), whose
        ``on_start`` (:class:`._polish.PolishStart`, which the backend binds
        to its model) truncates the best held-out model to the ranks it
        revealed.
    growth_rounds : int, default=0
        With the polish: at most this many rank growth rounds after it
        (``"l-bfgs (rank growth k)"``, ended as the polish but over at most
        ``n_iter_no_change // ROUND_WINDOW_DIVISOR`` epochs), whose
        ``on_start`` (:class:`._growth.GrowthStart`, bound as the polish's)
        adds the residual's next rank-one term to the best held-out model
        (see :mod:`._growth` for when the rounds end), over a window that
        grows with the epoch of the round's best, from ``n_iter_no_change
        // ROUND_MIN_WINDOW_DIVISOR``; an exact fit has none.

    Returns
    -------
    phases : list of Phase
        ``steps`` is ``"adam"``, ``"gd"``, ``"sgd"``, ``"inna"`` or ``"lbfgs"``; each
        backend puts its optimiser of that name in place (one object for a name
        in two phases).

    Examples
    --------
    >>> from skdeep.tensor._schedule import schedule
    >>> [(p.name, p.steps) for p in schedule("adam-lbfgs", 1.0)]
    [('adam (escape)', 'adam'), ('l-bfgs', 'lbfgs')]
    >>> [p.name for p in schedule("adam-lbfgs", 1.0, tol=1e-4, n_iter_no_change=200,
    ...                           held_out_mean_square=1.0, polish=True,
    ...                           growth_rounds=2)]  # doctest: +NORMALIZE_WHITESPACE
    ['adam (escape)', 'l-bfgs', 'l-bfgs (polish)', 'l-bfgs (rank growth 1)',
     'l-bfgs (rank growth 2)']
    >>> escape = schedule("gd", 1.0)[0]
    >>> escape.until(7, 0.3), escape.until(8, 0.2)  # below 0.5 ** 2: escaped
    (False, True)
    """
    first = "adam" if optimizer == "adam-lbfgs" else optimizer
    main = "lbfgs" if optimizer == "adam-lbfgs" else first
    escape = ESCAPE_ERROR_CP if model == "cp" else ESCAPE_ERROR
    phases = [
        Phase(first, until=Escape(escape**2 * train_mean_square, train_mean_square,
                                  tol, n_iter_no_change),
              name=f"{first} (escape)",
              stopping_rule=False),
        Phase(main, name="l-bfgs" if main == "lbfgs" else main),
    ]
    if (optimizer != "adam-lbfgs" or model != "tucker" or held_out_mean_square is None
            or tol is None or not n_iter_no_change):
        return phases
    scale = rule_scale(tol, held_out_mean_square)
    curve = []
    coarse = None
    if switch_tol is not None and switch_tol > tol:
        # an (almost) exact fit, where no rank is left to grow
        coarse = (switch_tol, rule_scale(switch_tol, held_out_mean_square),
                  GROWTH_MIN_ERROR**2 * train_mean_square,
                  max(1, n_iter_no_change // SWITCH_WINDOW_DIVISOR))
    # the whole window, also before the growth rounds: half of it was faster
    # and better on the 18 image fits of ``bench_tensor_images.py`` (mean
    # error 0.2282 against 0.2315 on the missing entries, 27 s of CPU
    # against 40 s), but on crops of 53 x 80 pixels at 15 % observed it let
    # one fit stop at the mean fill's error (0.559 against 0.418), where
    # the 64 held-out pixels judged a barely fitted model
    phases[1] = Phase(main, until=HeldOutStall(curve, tol, scale, n_iter_no_change,
                                               coarse),
                      name="l-bfgs", stopping_rule=False)
    if not polish:
        return phases
    # the short window: on an exact fit the polish converges in a few dozen
    # iterations, and elsewhere its gain comes in its first ones (the
    # refit of a truncated model then overfits)
    window = max(1, n_iter_no_change // POLISH_WINDOW_DIVISOR)
    phases.append(Phase(main, until=HeldOutStall(curve, tol, scale, window),
                        name="l-bfgs (polish)", stopping_rule=False,
                        on_start=PolishStart(RANK_TOL)))
    previous = None
    window = max(1, n_iter_no_change // ROUND_WINDOW_DIVISOR)
    min_window = max(1, n_iter_no_change // ROUND_MIN_WINDOW_DIVISOR)
    for round_ in range(1, growth_rounds + 1):
        previous = GrowthStart(previous,
                               exact_loss=GROWTH_MIN_ERROR**2 * train_mean_square)
        phases.append(Phase(main, until=HeldOutStall(curve, tol, scale, window,
                                                     min_window=min_window),
                            name=f"l-bfgs (rank growth {round_})",
                            stopping_rule=False, on_start=previous))
    return phases


def rule_scale(tol, monitored_mean_square):
    """Scale of the stopping rule: ``tol * m / 2``, ``m`` the entries' mean square.

    The rule then stops when the monitored mean squared error has decreased by
    at most ``tol * scale = tol**2 * m / 2`` over the window: quadratic in
    ``tol``, so that ``tol`` keeps reading as an error relative to the root
    mean square of the data (the meaning it had as the relative training
    error a fit had to reach), and small enough (the half) that the default
    ``tol`` fits at least as accurately as that target did on the measured
    problems (see the estimator's tests).

    Examples
    --------
    >>> from skdeep.tensor._schedule import rule_scale
    >>> float(rule_scale(1e-4, 1.0))  # the threshold tol * scale is 5e-9
    5e-05
    """
    return tol * monitored_mean_square / 2


def loop_settings(completer, monitored):
    """The loop's stopping settings for a fit monitoring ``monitored`` entries."""
    return dict(
        max_iter=completer.max_iter,
        tol=completer.tol,
        n_iter_no_change=completer.n_iter_no_change,
        scale=rule_scale(completer.tol, monitored.mean_square()),
        print_every=completer.track_every or completer.max_iter,
    )
