"""Convolutional dictionary learning (alphacsc family) as a scikit-learn transformer.

The estimator lives here; the work is done in private modules: the checks,
baseline and unit of the signals in :mod:`._signals`, the atoms' set and
starting dictionaries in :mod:`._atoms`, the alternating minimisation in
:mod:`._learning`, the z-step (whole, chunked, unbiased) in :mod:`._encoding`,
the coding with fitted atoms (transform, inverse, score) in :mod:`._coding`,
the pooled features in :mod:`._pooling`, and the numba kernels in
:mod:`._lgcd` and :mod:`._dstep`.
"""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._iteration import ITERATION_CONSTRAINTS, IterationMonitor
from ._atoms import _AtomSet, initial_atoms, rank1_factors
from ._coding import _BaseConvolutionalCoding
from ._dstep import tukey_window
from ._learning import (
    STOP_WINDOW,
    l1_weights,
    learn_from_starts,
    online_step,
    sort_by_energy,
)
from ._lgcd import objective
from ._pooling import (
    POOLING_STATS,
    check_pooling_length,
    pool_activations,
    pooled_feature_names,
)
from ._signals import check_signals


class CDLTransformer(
    _BaseConvolutionalCoding, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
    BaseEstimator,
):
    """Convolutional dictionary learning with rank-1 multivariate atoms.

    Learns ``n_atoms`` short patterns (atoms) and their sparse non-negative
    activations so that each signal is a sum of atoms placed at the activation
    times,

    .. math::

        \\min_{D, z \\geq 0} \\sum_n \\frac12 \\|X_n - \\sum_k z_{nk} * D_k\\|_2^2
        + \\sum_k \\lambda_k \\sum_n \\|z_{nk}\\|_1,
        \\quad D_k = u_k v_k^\\top,\\ \\|u_k\\|_2 \\le 1,\\ \\|v_k\\|_2 \\le 1,

    where ``u_k`` is a spatial map over the channels and ``v_k`` a temporal atom
    (the rank-1 multivariate model of Dupré la Tour et al. 2018, section 2; with
    ``rank1=False`` the atoms ``D_k`` are full (n_channels, n_times_atom) matrices in
    the unit ball). The fit alternates

    - a z-step: the convex sparse coding problem in ``z`` solved per trial by locally
      greedy coordinate descent (LGCD, Moreau et al. 2018) in a numba kernel, trials
      in parallel through joblib with ``n_jobs``, warm-started from the previous
      activations;
    - a d-step: projected gradient with an adaptive (backtracking) step on ``u`` then
      on ``v`` (or on ``D``), computed from the sufficient statistics ``z^T z`` and
      ``z^T X`` so its cost does not grow with the length of the signals.

    The signals are divided internally by their RMS (about each channel's mean,
    ``scale_``), so the results do not depend on the units: for ``c * X`` the atoms
    and the objective are those for ``X``, and the activations and ``lambda_`` are
    multiplied by ``c``. The objective (``loss_curve_``, ``pobj_``) is reported
    for the signals in these internal units, ``X / scale_``.

    As in alphacsc's ``lmbd_max="scaled"``, ``lambda = reg * lambda_max``, with
    ``lambda_max`` the smallest value for which the activations of the initial
    dictionary are all zero; ``lambda`` then stays fixed, so the objective decreases
    at every step. An atom left with fewer than two activations is replaced by the
    window of the signals worst reconstructed (the only step that may raise the
    objective; the fit does not stop on the iteration that follows). The fit is
    run from ``n_init`` starting dictionaries (all with the ``lambda`` of the
    first) and the one reaching the lowest objective is kept.

    Parameters
    ----------
    n_atoms : int, default=5
        Number of atoms.
    n_times_atom : int, default=64
        Length of the atoms in samples; at most the length of the signals.
    reg : float, default=0.1
        Sparsity: a fraction in ``(0, 1]`` of ``lambda_max``, or with
        ``lmbd_max="fixed"`` the l1 weight itself, in units of ``X``.
    rank1 : bool, default=True
        Learn rank-1 atoms ``u_k v_k^T``; ``False`` learns full-rank atoms. The two
        coincide for univariate signals.
    uv_constraint : {"separate", "joint"}, default="separate"
        Norm constraint of rank-1 atoms (alphacsc's options): ``"separate"``,
        ``||u_k|| <= 1`` and ``||v_k|| <= 1``, with ``u`` and ``v`` updated in
        turn (each step a convex problem); ``"joint"``, ``||u_k||^2 + ||v_k||^2
        <= 1``, with ``(u, v)`` updated together by projected gradient. The
        atoms span the same set up to their scale (at most 1/2 in norm under
        ``"joint"``), which the activations absorb when ``reg`` is relative to
        ``lambda_max``; with ``lmbd_max="fixed"`` the same ``reg`` weighs twice
        as much under ``"joint"``. Ignored when ``rank1=False``.
    window : bool, default=False
        Taper the temporal atoms with a Tukey window (cosine fraction 0.5):
        each atom is ``window * r`` with the norm constraint on ``r``, so its
        ends go smoothly to zero and an atom cannot use its edges to fit
        fragments of neighbouring patterns (alphacsc's ``window``). The learned
        atoms (``v_hat_``, ``D_hat_``) are the tapered ones, and the starting
        atoms (an array ``D_init`` too) are tapered before the fit. Needs
        ``n_times_atom >= 3``.
    center : bool, default=True
        Subtract the baseline (the median) of each channel in each trial before
        coding (in :meth:`fit`, :meth:`partial_fit` and :meth:`transform`). Atoms
        cannot represent a constant: without it, an offset is tiled by many
        overlapping activations, which is slow and biases the atoms.
        :meth:`inverse_transform` then rebuilds the centred signals.
    n_init : int, default=3
        Number of starting dictionaries; the fit with the lowest final objective is
        kept. Ignored (one run) when ``D_init`` is an array or ``"greedy"``, which
        do not depend on the seed.
    D_init : {"greedy", "chunk", "random"} or array-like, default="greedy"
        Starting dictionary. ``"chunk"``: windows of the signals at random times
        (their best rank-1 approximation); ``"random"``: Gaussian atoms;
        ``"greedy"``: the window of largest energy, then one atom per iteration on
        the window worst reconstructed (alphacsc's greedy algorithm); or an array
        of shape (n_atoms, n_channels, n_times_atom), or for ``rank1=True``
        (n_atoms, n_channels + n_times_atom) as alphacsc's ``uv``.
    lmbd_max : {"scaled", "fixed", "per_atom", "shared"}, default="scaled"
        How ``reg`` sets the l1 weight (alphacsc's options): ``"scaled"``,
        ``reg * lambda_max`` of the first starting dictionary, then fixed;
        ``"fixed"``, ``reg`` itself; ``"per_atom"``, ``reg`` times each atom's own
        ``lambda_max``, recomputed at each iteration; ``"shared"``, ``reg`` times
        the largest of them, recomputed at each iteration. With the last two the
        objective changes from one iteration to the next and need not decrease.
    max_iter : int, default=100
        Maximum number of iterations, each a z-step followed by a d-step.
    tol : float, default=1e-3
        Stop when the objective (``loss_curve_``) has decreased by at most
        ``tol`` times its value after the first iteration over the last five
        iterations (skdeep's one stopping rule, see the user guide's
        conventions, with a window that lets the atoms take shape after a slow
        start).
    pooling : {"stats", "max", "mean", "sum", "count"} or None, default="stats"
        How :meth:`transform` summarises the activations of each atom in each of
        ``n_windows`` time windows: ``"stats"`` gives the max, the mean and the
        rate of activations (fraction of nonzero samples); ``"count"`` the rate
        alone. ``None`` returns the flattened activations.
    n_windows : int, default=4
        Number of time windows the activations are pooled over by
        :meth:`transform` (1 pools over the whole signal). Signals shorter than
        ``n_windows`` valid samples use as many windows as samples.
    pooling_windows : {"triangular", "hard"}, default="triangular"
        Shape of the pooling windows (see :func:`pool_activations`):
        overlapping triangular windows, in which a feature changes smoothly as
        an activation shifts in time, or consecutive equal windows.
    include_baseline : bool, default=True
        Append to the pooled features of :meth:`transform` the median of each
        channel of each trial (the baseline ``center`` removes before coding;
        appended whether or not ``center`` is set):
        the model of a trial is this baseline plus the atoms, and without it
        two trials that differ by an offset get the same features. Ignored
        with ``pooling=None``.
    callback : callable, default=None
        Called after each iteration as ``callback(n_iter, D, z, loss)`` with the
        current atoms (n_atoms, n_channels, n_times_atom), activations (in the
        units of ``X``) and objective; returning True stops the fit.
    sort_atoms : bool, default=False
        Order the learned atoms by decreasing energy of their contribution to the
        signals (alphacsc's ``sort_atoms``).
    unbiased_z_hat : bool, default=False
        In :meth:`transform_activations`, refit the amplitudes of the nonzero
        activations by least squares on their support (no l1 shrinkage).
    forget_factor : float, default=0.8
        Weight of the statistics of previous mini-batches in :meth:`partial_fit`
        (alphacsc's online ``alpha``); 1 weighs all batches equally.
    chunk_size : int, default=None
        With an int, :meth:`transform_activations` (and :meth:`transform`) solve
        each trial longer than that many activation samples in chunks of about
        ``chunk_size`` samples (rounded up to a multiple of the z-step's segment,
        ``2 * n_times_atom - 1``), each extended by a margin of
        ``8 * n_times_atom - 4`` samples of the recording on both sides. The
        activations are those of the whole-trial solve (up to rounding: the
        descent is local and makes the same updates in the kept part of each
        chunk), the working memory is that of one chunk per job beside the
        returned activations, and the chunks of one long recording run in
        parallel over ``n_jobs``. ``None`` solves each trial at once.
    n_jobs : int, default=None
        Number of parallel jobs, through joblib: the ``n_init`` starts of
        :meth:`fit` (or, with one start, the trials of its z-step) and the trials
        or chunks (``chunk_size``) of :meth:`transform_activations`. Threads by
        default, as the kernels release the GIL; in a
        :func:`joblib.parallel_config` context (e.g. ``backend="dask"``) that
        backend runs them. ``None`` means 1 unless in such a context; ``-1``
        uses all processors. The results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seed of the starting dictionaries.
    verbose : int, default=0
        Print the objective after each iteration when positive.

    Attributes
    ----------
    u_hat_ : ndarray of shape (n_atoms, n_channels)
        Spatial maps (the best rank-1 factor of each atom when ``rank1=False``).
    v_hat_ : ndarray of shape (n_atoms, n_times_atom)
        Temporal atoms (likewise).
    D_hat_ : ndarray of shape (n_atoms, n_channels, n_times_atom)
        Full atoms; ``u_hat_[k, :, None] * v_hat_[k]`` when ``rank1=True``.
    lambda_ : ndarray of shape (n_atoms,)
        l1 weight of each atom used last by the fit and by :meth:`transform`, in
        the units of ``X`` (all equal unless ``lmbd_max="per_atom"``).
    scale_ : float
        Internal unit of the signals (RMS of the training signals about each
        channel's mean).
    n_channels_ : int
        Number of channels of the signals seen in fit (1 for 2-D input).
    n_times_ : int
        Length of the signals seen in fit.
    n_iter_ : int
        Number of iterations run by the kept fit.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Objective after each iteration (after its d-step), for ``X / scale_``;
        with :meth:`partial_fit`, the objective of each mini-batch.
    pobj_ : ndarray of shape (2 * `n_iter_` + 1,)
        Objective at the start, then after each z-step and each d-step
        (``pobj_[2::2]`` is ``loss_curve_``).
    init_losses_ : ndarray of shape (n_runs,)
        Final objective of each of the runs started (``n_init`` or 1).
    n_batches_ : int
        Number of mini-batches seen by :meth:`partial_fit`.
    n_features_in_ : int
        ``n_times`` for 2-D input, ``n_channels`` for 3-D input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a 2-D DataFrame input.

    See Also
    --------
    sklearn.decomposition.DictionaryLearning : Dictionary learning without shifts.
    activations_to_events : Activations as MNE-style event arrays.

    References
    ----------
    .. [1] T. Dupré la Tour, T. Moreau, M. Jas and A. Gramfort, "Multivariate
       convolutional sparse coding for electromagnetic brain signals", NeurIPS 2018.
    .. [2] T. Moreau, L. Oudre and N. Vayatis, "DICOD: Distributed Convolutional
       Coordinate Descent for Convolutional Sparse Coding", ICML 2018 (LGCD).
    .. [3] M. Jas, T. Dupré la Tour, U. Şimşekli and A. Gramfort, "Learning the
       Morphology of Brain Signals Using Alpha-Stable Convolutional Sparse Coding",
       NeurIPS 2017.

    Examples
    --------
    >>> from skdeep.datasets import make_cdl_signals
    >>> from skdeep.decomposition import CDLTransformer
    >>> from skdeep.metrics import dictionary_recovery_score
    >>> X, u, v, z = make_cdl_signals(n_trials=4, n_channels=3, n_times=600,
    ...                               n_atoms=2, n_times_atom=32, noise_level=0.05,
    ...                               random_state=0)
    >>> cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2, random_state=0)
    >>> cdl.fit(X).transform(X).shape  # 2 atoms x 4 windows x 3 stats + 3 baselines
    (4, 27)
    >>> D_true = u[:, :, None] * v[:, None, :]
    >>> dictionary_recovery_score(D_true, cdl.D_hat_) > 0.95
    True
    >>> cdl.loss_curve_.shape == (cdl.n_iter_,)
    True

    A long recording encoded in chunks gives the activations of the one-shot
    solve:

    >>> import numpy as np
    >>> X_long = make_cdl_signals(n_trials=1, n_channels=3, n_times=6000,
    ...                           n_atoms=2, n_times_atom=32, random_state=1)[0]
    >>> z = cdl.transform_activations(X_long)
    >>> z_chunks = cdl.set_params(chunk_size=1000).transform_activations(X_long)
    >>> bool(np.allclose(z_chunks, z, rtol=0, atol=1e-10 * z.max()))
    True
    """

    _parameter_constraints = {
        **ITERATION_CONSTRAINTS,
        "n_atoms": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_times_atom": [Interval(numbers.Integral, 1, None, closed="left")],
        "reg": [Interval(numbers.Real, 0, None, closed="neither")],
        "rank1": ["boolean"],
        "uv_constraint": [StrOptions({"separate", "joint"})],
        "window": ["boolean"],
        "center": ["boolean"],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "D_init": [StrOptions({"chunk", "random", "greedy"}), "array-like"],
        "lmbd_max": [StrOptions({"scaled", "fixed", "per_atom", "shared"})],
        "pooling": [StrOptions(set(POOLING_STATS)), None],
        "n_windows": [Interval(numbers.Integral, 1, None, closed="left")],
        "pooling_windows": [StrOptions({"triangular", "hard"})],
        "include_baseline": ["boolean"],
        "callback": [callable, None],
        "sort_atoms": ["boolean"],
        "unbiased_z_hat": ["boolean"],
        "forget_factor": [Interval(numbers.Real, 0, 1, closed="both")],
        "chunk_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_atoms=5,
        n_times_atom=64,
        reg=0.1,
        rank1=True,
        uv_constraint="separate",
        window=False,
        center=True,
        n_init=3,
        D_init="greedy",
        lmbd_max="scaled",
        max_iter=100,
        tol=1e-3,
        pooling="stats",
        n_windows=4,
        pooling_windows="triangular",
        include_baseline=True,
        callback=None,
        sort_atoms=False,
        unbiased_z_hat=False,
        forget_factor=0.8,
        chunk_size=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_atoms = n_atoms
        self.n_times_atom = n_times_atom
        self.reg = reg
        self.rank1 = rank1
        self.uv_constraint = uv_constraint
        self.window = window
        self.center = center
        self.n_init = n_init
        self.D_init = D_init
        self.lmbd_max = lmbd_max
        self.max_iter = max_iter
        self.tol = tol
        self.pooling = pooling
        self.n_windows = n_windows
        self.pooling_windows = pooling_windows
        self.include_baseline = include_baseline
        self.callback = callback
        self.sort_atoms = sort_atoms
        self.unbiased_z_hat = unbiased_z_hat
        self.forget_factor = forget_factor
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _check_params(self):
        if self.window and self.n_times_atom < 3:
            raise ValueError(
                "window=True tapers the atoms to zero at both ends and needs "
                f"n_times_atom >= 3; got n_times_atom={self.n_times_atom}."
            )
        if self.lmbd_max != "fixed" and self.reg > 1:
            raise ValueError(
                f"The 'reg' parameter of CDLTransformer must be in (0, 1] with "
                f"lmbd_max={self.lmbd_max!r} (a fraction of lambda_max); got "
                f"{self.reg!r}. Use lmbd_max='fixed' for an absolute weight."
            )

    # --------------------------------------------------------------- helpers
    def _atom_set(self):
        window = tukey_window(self.n_times_atom) if self.window else None
        return _AtomSet(self.rank1, self.uv_constraint, window)

    def _set_atoms(self, atoms):
        u, v, D = atoms
        self.D_hat_ = D
        if self.rank1:
            self.u_hat_, self.v_hat_ = u, v
        else:
            self.u_hat_, self.v_hat_ = rank1_factors(D)

    def _initial_atoms(self, X, seed):
        """The starting dictionary ``(u, v, D)`` of one run, on scaled signals."""
        return initial_atoms(X, self.D_init, self._atom_set(), self.n_atoms,
                             self.n_times_atom, np.random.RandomState(seed))

    def _l1_weights(self, Xs, atoms, previous=None):
        """The l1 weights in internal units (see :func:`._learning.l1_weights`)."""
        return l1_weights(Xs, atoms, reg=self.reg, lmbd_max=self.lmbd_max,
                          scale=self.scale_, previous=previous)

    def _monitor(self):
        """The iteration monitor of a fit: the stopping rule of ``tol``."""
        return IterationMonitor(self, n_iter_no_change=STOP_WINDOW)

    def _set_fitted(self, atoms, lam, monitor):
        """The learned atoms, weights (units of ``X``) and iteration record."""
        self._set_atoms(atoms)
        self.lambda_ = np.asarray(lam, dtype=np.float64) * self.scale_
        self.n_iter_ = monitor.n_iter
        self.loss_curve_ = monitor.loss_curve()

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the atoms from signals.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals; a 2-D array holds univariate signals, one per row.
        y : None
            Ignored.

        Returns
        -------
        self : CDLTransformer
            The fitted transformer.
        """
        self._check_params()
        Xs = self._internal_units(check_signals(self, X, reset=True), reset=True)
        starts = [self._initial_atoms(Xs, seed) for seed in self._seeds()]
        # several starts run side by side, each with a serial z-step; one start
        # spreads its z-step over the trials instead. A callback runs in this
        # process, so its starts run here in turn.
        (atoms, z, pobj, lam, converged), monitor, losses = learn_from_starts(
            Xs, starts, self._monitor,
            parallel=len(starts) > 1 and self.callback is None, n_jobs=self.n_jobs,
            lam=self._l1_weights(Xs, starts[0]), reg=self.reg,
            lmbd_max=self.lmbd_max, atom_set=self._atom_set(),
            callback=self.callback, scale=self.scale_,
        )
        if self.sort_atoms:
            atoms, lam = sort_by_energy(atoms, z, lam)
        monitor.finish(converged)
        self._set_fitted(atoms, lam, monitor)
        self.pobj_ = pobj
        self.init_losses_ = losses
        return self

    def _seeds(self):
        """The seeds of the runs: ``n_init`` for the seeded starts, else one."""
        rng = check_random_state(self.random_state)
        seeded = isinstance(self.D_init, str) and self.D_init != "greedy"
        return rng.randint(np.iinfo(np.int32).max, size=self.n_init if seeded else 1)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the atoms with one mini-batch of signals (online CDL).

        The first call starts the dictionary from ``X`` (as :meth:`fit` does with
        one run) and fixes the internal unit and the l1 weight. Each call codes
        ``X`` with the current atoms, adds its sufficient statistics ``z^T z`` and
        ``z^T X`` to those of the previous batches weighted by ``forget_factor``,
        and takes one d-step on the sum (the online algorithm of alphacsc, after
        Mairal et al. 2010). The objective of each batch is recorded, one
        iteration per call, in ``loss_curve_`` and ``n_iter_`` (and printed
        with ``verbose``); when to stop feeding batches is the caller's choice.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            A mini-batch of signals, e.g. a chunk of a long recording.
        y : None
            Ignored.

        Returns
        -------
        self : CDLTransformer
            The updated transformer.
        """
        first = not hasattr(self, "n_batches_")
        self._check_params()
        Xs = self._internal_units(check_signals(self, X, reset=first), reset=first)
        if first:
            atoms, lam = self._start_online(Xs), None
        else:
            atoms, lam = self._atoms(), self.lambda_ / self.scale_
        lam = self._l1_weights(Xs, atoms, previous=lam)
        atoms, z, self._stats = online_step(
            Xs, atoms, lam, self._stats, forget_factor=self.forget_factor,
            atom_set=self._atom_set(), n_jobs=self.n_jobs,
        )
        # the objective of this batch with the updated atoms
        u, v, D = atoms
        self._online_monitor.record(np.sum(objective(Xs, z, lam, D, u, v)))
        self._set_fitted(atoms, lam, self._online_monitor)
        self.pobj_ = self.loss_curve_.copy()
        self.n_batches_ += 1
        return self

    def _start_online(self, Xs):
        """The first :meth:`partial_fit`: the starting atoms, no statistics yet."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        K, L = self.n_atoms, self.n_times_atom
        self._stats = (np.zeros((K, K, 2 * L - 1)), np.zeros((K, Xs.shape[1], L)))
        self._online_monitor = self._monitor()
        self.n_batches_ = 0
        return self._initial_atoms(Xs, seed)

    # ------------------------------------------------------------- transform
    def transform(self, X):
        """Pooled activations per atom and time window (or flattened activations).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals.

        Returns
        -------
        features : ndarray of shape (n_trials, n_features)
            For each atom, each of the ``n_windows`` windows and each statistic
            of ``pooling`` (in that order, the statistic varying fastest), the
            statistic of the activations in the window, then (with
            ``include_baseline=True``) the median of each channel; with
            ``pooling=None`` the activations flattened atom by atom.
        """
        check_is_fitted(self)
        X = check_signals(self, X, reset=False)
        if self.pooling is None:
            z = self._activations(X)
            return z.reshape(z.shape[0], -1)
        check_pooling_length(X.shape[2], self.n_times_atom, self.n_windows,
                             self.n_times_)
        z = self._activations(X)
        features = pool_activations(z, self.pooling, self.n_windows,
                                    self.pooling_windows)
        if self.include_baseline:
            features = np.hstack([features, np.median(X, axis=2)])
        return features

    def get_feature_names_out(self, input_features=None):
        """Get the names of the features of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``cdltransformer_atom{k}_window{j}_{statistic}`` for the pooled
            features, then ``cdltransformer_baseline{c}`` for the channels'
            baselines; ``cdltransformer{i}`` for flattened activations
            (``pooling=None``).
        """
        names = super().get_feature_names_out(input_features)
        if self.pooling is None:
            return names
        out = pooled_feature_names(self.n_atoms, self._n_windows, self.pooling)
        if self.include_baseline:
            out += [f"cdltransformer_baseline{c}" for c in range(self.n_channels_)]
        return np.asarray(out, dtype=object)

    @property
    def _n_windows(self):
        """Number of pooling windows (at most one per valid time)."""
        return min(self.n_windows, self._n_valid)

    @property
    def _n_features_out(self):
        if self.pooling is None:
            return self.n_atoms * self._n_valid
        n_pooled = self.n_atoms * self._n_windows * len(POOLING_STATS[self.pooling])
        return n_pooled + (self.n_channels_ if self.include_baseline else 0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
