"""Tensor completion by deep (over-parametrised) factorizations."""

import numbers

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._iteration import ITERATION_CONSTRAINTS
from ..utils._optimizers import DEFAULT_LEARNING_RATES
from ..utils._tensor_algebra import resolve_ranks
from ..utils._torch import import_torch
from ..utils._torch_base import BaseTorchEstimator, small_work_threads
from ..utils._validation import check_tensor_size
from ._completion import _BaseCompletion
from ._history import TrainingHistory
from ._holdout import split_observed
from ._model import ObservedEntries, chain, initial_layers, observed_index, robust_scale
from ._numpy_backend import NumpyModel, train_numpy
from ._optim import optimizer_options
from ._polish import SWITCH_TOL
from ._schedule import loop_settings

# early_stopping="auto" holds entries out when at least this many are observed.
_AUTO_EARLY_STOPPING_MIN_OBSERVED = 200
_DEFAULT_VALIDATION_FRACTION = 0.1
# A mean squared error above this on unit-RMS data is a divergence.
_DIVERGED = 1e10
# The shared parameters of the torch estimators that TensorCompleter has too.
_SHARED = ("n_iter_no_change", "device", "random_state")


# The step size ``learning_rate=None`` stands for, per optimiser.
_DEFAULT_LEARNING_RATES = {"adam-lbfgs": 3e-2, "adam": 3e-2, "gd": 3e-2,
                           "sgd": DEFAULT_LEARNING_RATES["sgd"],
                           "inna": DEFAULT_LEARNING_RATES["inna"]}

# Deep factorizations use a few layers; beyond this the layers alone take minutes
# to build and the product of the matrices loses all precision.
_MAX_DEPTH = 100


class TensorCompleter(_BaseCompletion, BaseTorchEstimator):
    """Tensor and matrix completion by deep factorizations and gradient descent.

    The missing entries (``NaN``) of a tensor are filled by an over-parametrised
    ("deep") Tucker, tensor-train or CP factorization fitted to the observed
    entries only, by gradient-based training from a small initialisation. No
    exact rank is needed: every factor matrix of mode ``i`` is a product of
    ``depth`` matrices, ``U_i = A_i1 A_i2 ... A_iL``, wider than the rank of
    the data (``ranks="auto"``: up to 32 columns), and the implicit bias of
    gradient descent on such products towards low (effective) rank does the
    regularisation; it grows with the depth.

    Axis 0 is the sample axis, so a 2-D ``X`` is deep matrix completion and the
    estimator is an imputer: :meth:`fit_transform` returns ``X`` with its ``NaN``
    filled in, and :meth:`transform` folds new samples (new slices along axis 0)
    in by fitting only their rows of the mode-0 factor, the other factors fixed.

    Parameters
    ----------
    model : {"tucker", "tt", "cp"}, default="tucker"
        The factorization. Tucker: a core and one deep factor per mode; TT: the
        mode-2 unfolding of every TT core is a deep factor; CP: one deep factor
        per mode.
    depth : int, default=2
        Number of matrices in the product of each factor (1 is the usual,
        shallow factorization); at most 100.
    ranks : "auto", "full", int or tuple of int, default="auto"
        Tucker ranks (one per mode), the CP rank, or the ``order - 1`` inner TT
        ranks. ``"full"`` imposes no rank: the tensor sizes for Tucker, the
        largest size for CP and the largest useful TT ranks (a cost quadratic
        in the sizes). ``"auto"`` caps every rank of ``"full"`` at 32:
        over-parametrised for low-rank data, with a cost linear in every size.
        The inner width of the deep factors is ``min(n_i, max(c_i, 32))``.
    init_scale : float, default=1e-2
        Standard deviation of the Gaussian entries of every layer (and of the
        Tucker core) at initialisation, on data scaled to unit root mean square.
        Smaller values and deeper factors strengthen the low-rank bias and slow
        down the start: with ``depth=3``, use about ``0.1``. Larger values
        at ``depth=2`` speed up the start but lose the low-rank bias (measured
        on a 20 x 20 x 20 Tucker-rank-3 tensor, 10 % observed: ``3e-2`` gives
        effective ranks 4-7 and errors 0.1-0.9 on the missing entries against
        2.6-2.9 and 2e-4 at ``1e-2``).
    optimizer : {"adam-lbfgs", "adam", "gd", "sgd", "inna"}, default="adam-lbfgs"
        A fit starts with an *escape* phase, Adam (for ``"adam-lbfgs"`` and
        ``"adam"``; else the optimiser named) from the small initialisation
        until the relative training error is below 0.5 (0.2 for CP, whose
        escape sets one rank-one term at a time; the escape from the origin,
        where the low-rank bias is set; the stopping rule waits for its end).
        ``"adam-lbfgs"`` then switches to full-batch L-BFGS, which converges
        in far fewer iterations, keeps the effective ranks of the escape (from
        the small start it does not move, from a larger one it loses the
        low-rank bias) and ends the fit when it can make no more progress;
        the others go on. With early stopping, a Tucker fit by
        ``"adam-lbfgs"`` (either backend) ends L-BFGS when the held-out
        error has stalled over its own iterations. With ``ranks="auto"`` or
        ``"full"``, a *polish* follows: the best held-out model is
        truncated to the ranks its singular values reveal (those at least
        1e-2 times the largest of each mode unfolding), written back into
        the same layers with zeros elsewhere, and a fresh L-BFGS fits that
        model of lower rank. L-BFGS keeps the low effective ranks of the
        escape (about 2 on a colour photograph), so *rank growth* rounds
        come next, unless the fit already explains the training entries to
        a relative error below 0.05 (an exact low-rank tensor, with no rank
        left to grow): each round starts from the best held-out point, adds
        the leading rank-one term of the training residual (a new
        direction in every mode with room for one) at the step that
        minimises the training loss along it, and refits by L-BFGS; the
        rounds go on while a round improves the best held-out error. The
        polish is stopped by the rule over a window of a quarter of
        ``n_iter_no_change``, a round over an eighth. On an (almost) exact
        low-rank fit,
        L-BFGS hands over at a coarser tolerance (3e-2, on a window of an
        eighth of ``n_iter_no_change``). The best held-out parameters of
        all the phases are kept.
        ``"gd"`` is plain gradient descent (the papers'
        object of study), ``"sgd"`` gradient descent with momentum (0.9) and
        ``"inna"`` :class:`~skdeep.utils.INNA`, the inertial Newton
        algorithm (see the user guide's page on optimisers); the numpy
        backend runs the same updates in numpy. Their steps scale with the
        gradient, which vanishes at the default start: use an ``init_scale``
        of about 0.1 with them. Iterations, ``loss_curve_`` and progress lines
        go on across the switch. ``learning_rate`` and ``learning_rate_decay``
        apply to the first-order optimisers; L-BFGS is the package's own (10
        curvature pairs, a strong-Wolfe line search), the same steps on both
        backends, one L-BFGS iteration per iteration of the fit.
    optimizer_params : dict or None, default=None
        Options of ``"inna"``: ``alpha`` (viscous friction, default 0.5),
        ``beta`` (Newtonian damping, default 0.1), ``decay_power`` (the step
        of INNA's update ``k`` is divided by ``(k + 1) ** decay_power``,
        default 0) and ``weight_decay`` (default 0); of ``"sgd"``:
        ``momentum`` (default 0.9). The other optimisers take none.
    learning_rate : float or None, default=None
        Step size of the first-order optimisers; ``None`` is 3e-2 for Adam
        and gradient descent, 1e-2 for SGD with momentum and 0.1 (INNA's
        default) for INNA.
    learning_rate_decay : float, default=0.0
        The step at iteration ``t`` is ``learning_rate / (1 + learning_rate_decay
        * t)``.
    max_iter : int, default=10000
        Maximum number of iterations (full-batch steps of Adam or gradient
        descent, L-BFGS iterations).
    tol : float, default=1e-4
        Tolerance of the stopping rule of :mod:`skdeep.utils._iteration` with
        the scale ``tol * m / 2``: after the escape phase, the fit stops once
        the monitored mean squared error (on the held-out entries with early
        stopping, else on the training entries; ``m`` is their mean square)
        has decreased by at most ``tol**2 * m / 2`` over the last
        ``n_iter_no_change`` iterations (for the L-BFGS, polish and rank
        growth phases of a Tucker fit with early stopping, over the
        iterations of the phase: the window restarts at each switch).
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the observed data, monitor their
        mean squared error after every iteration of the main phase (the
        stopping rule watches it, see ``tol``), and restore the parameters of
        the iteration where it was lowest (as
        :class:`~sklearn.neural_network.MLPRegressor`). The held-out units
        mirror the missingness: whole fibres (e.g. all the channels of a
        pixel) when the missing entries of ``X`` come in whole fibres, single
        entries otherwise (``validation_units_``); the completion is then
        guarded against the mean fill (``baseline_weight_``).
        Without it the rule watches the training error and the last
        parameters are kept. ``"auto"``: on when at least 200 entries are
        observed, for matrices and higher-order tensors alike.
    validation_fraction : float in (0, 1) or None, default=None
        Fraction of the observed entries held out of training (0.1 when
        ``None`` and early stopping is on). Given without early stopping, the
        held-out error is only tracked in ``history_``.
    n_iter_no_change : int, default=200
        Window of the stopping rule, in iterations (see ``tol``).
    track_every : int, default=100
        Record errors and effective ranks in ``history_`` every ``track_every``
        iterations (``0``: only at the start and the end).
    backend : {"numpy", "torch"}, default="numpy"
        ``"numpy"`` uses vectorised numpy with hand-derived gradients;
        ``"torch"`` (install ``skdeep-research[torch]``) trains through torch's
        loop and optimisers on ``device``, with the model computed in torch on
        a GPU and on large problems, and by the numpy backend's code on views
        of its tensors on a CPU for small ones (faster there). Both start
        from the same initialisation, run the same schedule and the same
        L-BFGS, and agree up to floating-point rounding.
    device : str, default="auto"
        Torch device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or
        ``"cuda:<index>"``. Ignored by the numpy backend.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of the validation split.
    verbose : int, default=0
        Print the loss every ``track_every`` iterations when 1, at every
        iteration when 2 or more, and the switch of optimiser.

    Attributes
    ----------
    reconstruction_ : ndarray of the shape of ``X``
        The fitted low-rank tensor (every entry, observed or not):
        `sample_factor_` times the design of the other factors, computed when
        accessed (training never forms it).
    factors_ : list of ndarray
        The factor matrix of every mode, ``U_i`` of shape ``(n_i, c_i)`` (the
        product of its layers), in the scale of ``X``'s normalisation.
    sample_factor_ : ndarray of shape (n_samples, c_0)
        The training samples' mode-0 rows re-estimated by the fold-in of
        :meth:`transform` from all their observed entries, so that
        ``fit_transform(X)`` and ``fit(X).transform(X)`` agree.
    prior_mean_ : ndarray of shape (c_0,)
        Mean of the fitted mode-0 rows: the row of a sample with nothing
        observed.
    prior_covariance_ : ndarray of shape (c_0, c_0)
        Covariance of the fitted mode-0 rows: the Gaussian prior of the
        fold-in.
    noise_variance_ : float
        The noise variance of the Gaussian fold-in, on the scale of ``X /
        scale_``: with a validation split, the multiple (``2**(k/2)``, ``k``
        from -12 to 10) of the fit's mean squared error on the held-out
        entries whose fold-in of the training samples, from their training
        entries, predicts the held-out ones best; without, the fit's mean
        squared error on the training entries.
    empirical_weight_ : float
        The weight, in ``[0, 1]``, of the posterior mean under the empirical
        prior (the training samples' rows, `prior_atoms_`) in the fold-in,
        blended with the Gaussian posterior mean: chosen with
        `empirical_temperature_` on the held-out units (0 without a split).
        Large when the samples form clusters that a few observed entries
        tell apart (the ten digits of ``load_digits``).
    empirical_temperature_ : float or None
        The noise variance of the empirical prior's posterior (the
        likelihood of a sample given an atom), a multiple (``2**k``, ``k``
        from -2 to 6) of `noise_variance_`; ``None`` when
        `empirical_weight_` is 0.
    prior_atoms_ : ndarray of shape (n_atoms, c_0) or None
        The atoms of the empirical prior: the Gaussian fold-in rows of the
        training samples (of a random subset of 2048 when there are more),
        from all their observed entries; ``None`` when `empirical_weight_`
        is 0. A training sample given to :meth:`transform` again (recognised
        by its data) does not weigh its own atom, as in ``fit``.
    best_iteration_ : int
        The iteration whose parameters were kept: the best held-out error
        with early stopping, else the last iteration.
    validation_units_ : str or None
        What was held out: ``"entries"``, or ``"fibres along mode(s) (k,
        ...)"`` when the missing entries of ``X`` come in whole fibres along
        those modes (e.g. all the channels of a pixel); ``None`` without a
        validation split.
    baseline_ : ndarray of shape `tensor_shape_`
        The mean fill: the mean of every entry of a sample over the samples
        where it is observed (what :class:`~sklearn.impute.SimpleImputer`
        fills in).
    baseline_weight_ : float
        The guard's weight of `baseline_` in the completion, in ``[0, 1]``:
        the least-squares weight of ``(1 - w) model + w baseline`` on the
        held-out units (both fitted without them; the model is the fold-in of
        each sample from its training entries) when the model's error there
        is above the mean fill's, or when the blend lowers it by more than
        the noise of the split (Akaike's criterion for its one parameter)
        and than ``tol``; else 0. The completion, :meth:`transform` and
        :meth:`score` use the blend.
    validation_error_ : float or None
        Relative error on the held-out units of the completion
        :meth:`transform` makes (each training sample folded in from its
        training entries, blended by the guard); ``None`` without a
        validation split.
    baseline_error_ : float or None
        Relative error of `baseline_` on the held-out units.
    layers_ : list of list of ndarray
        The ``depth`` matrices of every mode's factor.
    core_ : ndarray or None
        The Tucker core; ``None`` for CP and TT.
    tt_ranks_ : tuple of int or None
        The TT ranks ``(1, r_1, ..., r_{d-1}, 1)``; ``None`` for Tucker and CP.
    scale_ : float
        Root mean square of the observed entries (computed without overflow or
        underflow at any finite magnitude); the model is fitted to
        ``X / scale_``.
    n_iter_ : int
        Number of iterations run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Mean squared error on the training entries (normalised data), evaluated
        at each iteration before its update.
    history_ : dict of ndarray
        The model after ``"iteration"`` updates, sampled at the start, every
        ``track_every`` iterations and at the end (the returned model, at
        `best_iteration_`): ``"iteration"``, ``"loss"``,
        ``"train_error"`` and ``"validation_error"`` (relative errors, NaN
        without validation split) and ``"effective_rank"``, of shape
        ``(n_records, order)``: the effective rank of each mode unfolding of the
        model (computed from the factors' Gram matrices).
    tensor_shape_ : tuple of int
        Shape of a sample (a slice of ``X`` along axis 0).
    n_features_in_ : int
        Size of axis 1 of ``X``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a 2-D ``X`` given as a DataFrame.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : Put it first on a table whose
        columns have different units (it keeps the missing values): the fit
        weighs every entry on one scale.
    sklearn.impute.IterativeImputer : Imputation by round-robin regressions.
    skdeep.datasets.make_low_rank_tensor : Low-rank tensors with missing entries.
    skdeep.metrics.effective_rank : The effective rank tracked in ``history_``.

    References
    ----------
    .. [1] P. Milanesi, H. Kadri, S. Ayache and T. Artières, "Implicit
       Regularization in Deep Tensor Factorization", IJCNN 2021,
       arXiv:2105.01346 (the deep Tucker and TT models trained by gradient
       descent on the observed entries, and the effective rank they track).
    .. [2] K. Hariz, H. Kadri, S. Ayache, M. Moakher and T. Artières, "Implicit
       Regularization with Polynomial Growth in Deep Tensor Factorization",
       ICML 2022, arXiv:2207.08942 (deep factors as products of matrices; the
       low-rank bias grows with the depth).
    .. [3] S. Arora, N. Cohen, W. Hu and Y. Luo, "Implicit Regularization in
       Deep Matrix Factorization", NeurIPS 2019 (the matrix case).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.datasets import make_low_rank_tensor
    >>> from skdeep.tensor import TensorCompleter
    >>> X, X_true = make_low_rank_tensor((10, 10, 10), ranks=2,
    ...                                  observed_fraction=0.3, random_state=0)
    >>> completer = TensorCompleter(init_scale=3e-2, tol=1e-3, random_state=0)
    >>> X_filled = completer.fit_transform(X)
    >>> missing = np.isnan(X)
    >>> error = (np.linalg.norm(X_filled[missing] - X_true[missing])
    ...          / np.linalg.norm(X_true[missing]))
    >>> bool(error < 1e-2)
    True
    """

    _parameter_constraints = {
        **ITERATION_CONSTRAINTS,
        **{key: BaseTorchEstimator._parameter_constraints[key] for key in _SHARED},
        "model": [StrOptions({"tucker", "tt", "cp"})],
        "depth": [Interval(numbers.Integral, 1, _MAX_DEPTH, closed="both")],
        "ranks": [
            StrOptions({"auto", "full"}),
            Interval(numbers.Integral, 1, None, closed="left"),
            "array-like",
        ],
        "init_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam-lbfgs", "adam", "gd", "sgd", "inna"})],
        "optimizer_params": [dict, None],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "learning_rate_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "track_every": [Interval(numbers.Integral, 0, None, closed="left")],
        "backend": [StrOptions({"numpy", "torch"})],
    }

    def __init__(
        self,
        model="tucker",
        depth=2,
        ranks="auto",
        init_scale=1e-2,
        optimizer="adam-lbfgs",
        optimizer_params=None,
        learning_rate=None,
        learning_rate_decay=0.0,
        max_iter=10000,
        tol=1e-4,
        early_stopping="auto",
        validation_fraction=None,
        n_iter_no_change=200,
        track_every=100,
        backend="numpy",
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.model = model
        self.depth = depth
        self.ranks = ranks
        self.init_scale = init_scale
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.track_every = track_every
        self.backend = backend
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _default_learning_rates = _DEFAULT_LEARNING_RATES

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the deep factorization to the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_1, ..., n_{d-1})
            Tensor of order 2 or more with ``NaN`` where entries are missing.
            A slice along axis 0 with no observed entry takes no part in the
            fit and is completed from the typical fitted row, as by
            :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        self : TensorCompleter
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        self._optimizer_options()  # bad options fail before any work
        flat = observed_index(X)
        if self.backend == "torch":
            _, device, rng = self._torch_setup()
        else:
            device, rng = None, check_random_state(self.random_state)
        _, widths, tt_ranks = resolve_ranks(self.ranks, X.shape, self.model)
        # each of the depth - 1 extra layers of a mode is a width x width matrix
        check_tensor_size(
            8 * (self.depth - 1) * sum(w * w for w in widths),
            f"{self.depth} layers of widths {widths}", "depth",
        )
        self.scale_ = robust_scale(X.ravel()[flat])
        values = X.ravel()[flat].astype(np.float64) / self.scale_
        layers, core = initial_layers(
            X.shape, widths, self.depth, self.init_scale, self.model, rng
        )
        train, validation, early_stopping, n_units = self._split(X, flat, values, rng)
        start = NumpyModel(self.model, layers, core, tt_ranks)
        with np.errstate(over="ignore", invalid="ignore"):
            start_loss = start.loss(train)
        if not start_loss <= _DIVERGED:  # NaN too
            raise ValueError(
                f"init_scale={self.init_scale} gives a starting model of mean "
                f"squared error {start_loss:.3g} on data scaled to unit root mean "
                "square: lower init_scale."
            )
        history = TrainingHistory(
            self.model, tt_ranks, train, validation, self.track_every, self.max_iter
        )
        history.record(0, start)
        result, layers, core = self._train(
            start, device, train, validation if early_stopping else None, history,
            polish=self._polishes(early_stopping),
        )
        self.n_iter_ = result.n_iter
        self.loss_curve_ = result.loss_curve
        self.best_iteration_ = result.best_iteration or result.n_iter
        final = NumpyModel(self.model, layers, core, tt_ranks)
        history.end(self.best_iteration_, final)
        self.history_ = history.as_arrays()
        self.layers_, self.core_, self.tt_ranks_ = final.layers, final.core, tt_ranks
        self.factors_ = [chain(mode) for mode in self.layers_]
        if not all(np.all(np.isfinite(U)) for U in self.factors_):
            raise ValueError(self._divergence_message(
                f"non-finite parameters after {self.n_iter_} iterations"
            ))
        # the rows fitted: of the samples with a training entry
        fitted = np.bincount(train.rows, minlength=X.shape[0]) > 0
        self._set_prior(train if validation is None else validation, fitted)
        observed = ObservedEntries(flat, values, X.shape)
        prediction, gaussian = self._choose_fold_in(X, train, validation, observed, rng)
        self._guard(prediction, train, validation, observed, n_units)
        self._dtype = X.dtype
        self.sample_factor_ = self._fold_in_rows(X, gaussian)
        return self

    def _split(self, X, flat, values, rng):
        """Training and held-out entries (or None), early stopping, held-out units.

        The held-out units mirror the missingness (see :mod:`._holdout`):
        whole fibres when the missing entries come in whole fibres, entries
        otherwise.
        """
        early, fraction = self._resolve_early_stopping(flat.size)
        self.validation_units_ = None
        if fraction is None:
            return ObservedEntries(flat, values, X.shape), None, False, 0
        train, held_out, self.validation_units_, n_units = split_observed(
            ~np.isnan(X), flat, values, fraction, rng
        )
        return train, held_out, early, n_units

    def _resolve_early_stopping(self, n_observed):
        """Whether to stop early, and the fraction of observed entries held out."""
        early = self.early_stopping
        if early == "auto":
            # enough entries to spare a validation set, whatever the order:
            # noise is the rule on real data (matrices and images alike)
            early = n_observed >= _AUTO_EARLY_STOPPING_MIN_OBSERVED
        fraction = self.validation_fraction
        if fraction is None and early:
            fraction = _DEFAULT_VALIDATION_FRACTION
        return bool(early), fraction

    def _train(self, net, device, train, validation, history, polish=False):
        """Run the schedule on the backend; ``(result, layers, core)``.

        ``polish``: end with the polish phase (see :mod:`._polish`), and end
        the L-BFGS phase of an (almost) exact fit at ``SWITCH_TOL``.
        """

        def callback(epoch, loss, view):
            # ``loss`` was evaluated before the update of iteration ``epoch``
            if loss > _DIVERGED:
                raise ValueError(self._divergence_message(
                    f"mean squared error {loss:.3g} at iteration {epoch}"
                ))
            history.after_epoch(epoch, view)

        kwargs = dict(
            estimator=self,
            learning_rate=self._learning_rate(),
            decay=self.learning_rate_decay,
            validation=validation,
            callback=callback,
            convergence_hint="increase max_iter or learning_rate, or use "
            "early_stopping for noisy data",
            switch_tol=SWITCH_TOL if polish else None,
            polish=polish,
            **loop_settings(self, train if validation is None else validation),
        )
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                if self.backend == "torch":
                    from ._torch_backend import train_torch

                    # the design's entries: the work of one forward pass
                    work = net.layers[0][-1].shape[1] * train.unfolded_shape[1]
                    with small_work_threads(import_torch(), device, work):
                        return train_torch(net.layers, net.core, self.model,
                                           net.tt_ranks, train, self.optimizer,
                                           device=device, **kwargs)
                result = train_numpy(net, train, self.optimizer,
                                     optimizer_options=self._optimizer_options(),
                                     **kwargs)
                return result, net.layers, net.core
            except FloatingPointError as exc:
                raise ValueError(self._divergence_message(str(exc))) from exc

    def _polishes(self, early_stopping):
        """Whether the deep fit ends with the polish of :mod:`._polish`: with
        early stopping, by ``"adam-lbfgs"``, at ranks the fit is to reveal
        (``"auto"`` or ``"full"``; ranks given keep their shapes)."""
        return (early_stopping and self.model == "tucker"
                and self.optimizer == "adam-lbfgs"
                and isinstance(self.ranks, str))

    def _optimizer_options(self):
        """The options of ``optimizer`` (``optimizer_params``, validated)."""
        return optimizer_options(self.optimizer, self.optimizer_params)

    def _divergence_message(self, what):
        return (
            f"{type(self).__name__} diverged ({what}, on data scaled to unit root "
            f"mean square): lower learning_rate (now {self._learning_rate()}) or "
            f"init_scale (now {self.init_scale})."
        )
