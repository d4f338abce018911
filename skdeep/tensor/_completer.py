"""Tensor completion by deep (over-parametrised) factorizations."""

import numbers

import numpy as np
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import FLOAT_DTYPES, validate_data
from ._model import layer_widths, resolve_ranks
from ._numpy_backend import (
    NumpyModel,
    ObservedEntries,
    _sampled_products,
    chain,
    design_matrix,
    effective_ranks,
    train_numpy,
)

# Early stopping checks the held-out error every this many iterations.
_CHECK_EVERY = 10
# optimizer="adam-lbfgs": Adam until the relative training error is below this,
# then L-BFGS (the low-rank components are in place; L-BFGS polishes them).
_LBFGS_SWITCH = 0.5
# early_stopping="auto" holds entries out when at least this many are observed.
_AUTO_EARLY_STOPPING_MIN_OBSERVED = 1000
_DEFAULT_VALIDATION_FRACTION = 0.1
# Early stopping needs the monitored error this far (relative) above its best.
_RISE = 1e-2
# A mean squared error above this on unit-RMS data is a divergence.
_DIVERGED = 1e10
# Floor of the fold-in noise variance (on unit-RMS data).
_MIN_NOISE_VARIANCE = 1e-12
# score: the observed entries of a sample are dealt into this many groups, each
# predicted from the others
_SCORE_GROUPS = 5


class TensorCompleter(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
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
        shallow factorization).
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
    optimizer : {"adam-lbfgs", "adam", "gd"}, default="adam-lbfgs"
        ``"adam-lbfgs"``: Adam from the small initialisation until the relative
        error on the training entries falls below 0.5 (the escape from the
        origin, where the low-rank bias is set), then full-batch L-BFGS, which
        converges in far fewer iterations and keeps the effective ranks of the
        Adam phase (L-BFGS from the small start does not move, and from a
        larger start loses the low-rank bias). ``"adam"``: Adam throughout.
        ``"gd"``: plain full-batch gradient descent (the papers' object of
        study). ``learning_rate`` and ``learning_rate_decay`` apply to Adam and
        gradient descent; L-BFGS uses scipy's L-BFGS-B (numpy backend) or
        :class:`torch.optim.LBFGS` (torch backend, where one iteration of the
        L-BFGS phase is up to 20 L-BFGS iterations).
    learning_rate : float, default=3e-2
        Step size of Adam or gradient descent.
    learning_rate_decay : float, default=0.0
        The step at iteration ``t`` is ``learning_rate / (1 + learning_rate_decay
        * t)``.
    max_iter : int, default=10000
        Maximum number of iterations (full-batch steps of Adam or gradient
        descent, L-BFGS iterations).
    tol : float, default=1e-4
        Stop when the relative error on the training entries,
        ``||P(T - X)|| / ||P(X)||``, falls below ``tol`` (checked at each
        iteration on the loss evaluated before its update). Also the relative
        improvement of the monitored error that counts as progress.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the observed entries, monitor their
        relative error every 10 iterations, stop once it has not improved for
        ``n_iter_no_change`` iterations and stands 1 % above its best (a
        plateau of the incremental learning does not stop the fit, nor does
        anything before the relative training error is below 0.5), and
        restore the best parameters (as :class:`~sklearn.neural_network.MLPRegressor`).
        Without it the training error is monitored the same way (the best
        training-error parameters are kept). ``"auto"``: on when at least 1000
        entries are observed, for matrices and higher-order tensors alike.
    validation_fraction : float in (0, 1) or None, default=None
        Fraction of the observed entries held out of training (0.1 when
        ``None`` and early stopping is on). Given without early stopping, the
        held-out error is only tracked in ``history_``.
    n_iter_no_change : int, default=200
        Iterations without an improvement of the monitored error (relative
        ``tol``) before stopping.
    track_every : int, default=100
        Record errors and effective ranks in ``history_`` every ``track_every``
        iterations (``0``: only at the start and the end).
    backend : {"numpy", "torch"}, default="numpy"
        ``"numpy"`` uses vectorised numpy with hand-derived gradients; ``"torch"``
        uses autograd (install ``skdeep-research[torch]``), on ``device``. Both
        start from the same initialisation and agree up to floating-point
        rounding.
    device : str, default="auto"
        Torch device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or
        ``"cuda:<index>"``. Ignored by the numpy backend.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of the validation split.
    verbose : int, default=0
        Print the loss every ``track_every`` iterations when 1, at every
        iteration when 2 or more.

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
        Mean squared error of the fit on the held-out entries (on the training
        entries without a split), on the scale of ``X / scale_``: the noise
        variance of the fold-in.
    best_iteration_ : int
        The iteration whose parameters were kept (the best monitored error).
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
        "model": [StrOptions({"tucker", "tt", "cp"})],
        "depth": [Interval(numbers.Integral, 1, None, closed="left")],
        "ranks": [
            StrOptions({"auto", "full"}),
            Interval(numbers.Integral, 1, None, closed="left"),
            "array-like",
        ],
        "init_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam-lbfgs", "adam", "gd"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "track_every": [Interval(numbers.Integral, 0, None, closed="left")],
        "backend": [StrOptions({"numpy", "torch"})],
        "device": [str, object],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model="tucker",
        depth=2,
        ranks="auto",
        init_scale=1e-2,
        optimizer="adam-lbfgs",
        learning_rate=3e-2,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _validate_X(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            allow_nd=True,
        )
        if reset:
            self.tensor_shape_ = tuple(X.shape[1:])
        elif tuple(X.shape[1:]) != self.tensor_shape_:
            raise ValueError(
                f"X has slices of shape {tuple(X.shape[1:])} along axis 0, but "
                f"{type(self).__name__} was fitted on slices of shape "
                f"{self.tensor_shape_}."
            )
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the deep factorization to the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_1, ..., n_{d-1})
            Tensor of order 2 or more with ``NaN`` where entries are missing.
            Every slice along axis 0 needs at least one observed entry.
        y : None
            Ignored.

        Returns
        -------
        self : TensorCompleter
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        observed = ~np.isnan(X)
        if not observed.any():
            raise ValueError("X has no observed entry: every value is NaN.")
        empty = np.flatnonzero(~observed.reshape(X.shape[0], -1).any(axis=1))
        if empty.size:
            raise ValueError(
                "X has samples (slices along axis 0) with no observed entry, at "
                f"indices {empty[:10].tolist()}{' ...' if empty.size > 10 else ''}; "
                "drop them or fold them in later with transform."
            )
        shape = X.shape
        _, widths, tt_ranks = resolve_ranks(self.ranks, shape, self.model)
        inner = layer_widths(shape, widths)
        rng = check_random_state(self.random_state)

        flat = np.flatnonzero(observed)
        self.scale_ = _robust_scale(X.ravel()[flat])
        values = X.ravel()[flat].astype(np.float64) / self.scale_

        # Small Gaussian initialisation of every layer (the papers' setting):
        # (n_i x w_i)(w_i x w_i)...(w_i x c_i), full width w_i = n_i on small
        # modes, bounded on large ones (see ``layer_widths``).
        layers = []
        for n, w, c in zip(shape, inner, widths):
            sizes = [n] + [w] * (self.depth - 1) + [c]
            layers.append(
                [
                    self.init_scale * rng.standard_normal((sizes[k], sizes[k + 1]))
                    for k in range(self.depth)
                ]
            )
        core = (
            self.init_scale * rng.standard_normal(tuple(widths))
            if self.model == "tucker"
            else None
        )

        early_stopping, n_val = self._resolve_early_stopping(flat.size)
        held_out = np.zeros(flat.size, dtype=bool)
        if n_val:
            held_out[rng.choice(flat.size, n_val, replace=False)] = True
        train = ObservedEntries(flat[~held_out], values[~held_out], shape)
        validation = (
            ObservedEntries(flat[held_out], values[held_out], shape) if n_val else None
        )

        # relative errors; all-zero observed data fall back to absolute ones
        train_norm = np.sqrt(train.values @ train.values) or 1.0
        val_norm = (
            None
            if validation is None
            else np.sqrt(validation.values @ validation.values) or 1.0
        )
        records = {
            "iteration": [],
            "loss": [],
            "train_error": [],
            "validation_error": [],
            "effective_rank": [],
        }
        model, tol, track_every = self.model, self.tol, self.track_every

        def validation_error(view):
            return (
                np.linalg.norm(view.predict(validation) - validation.values) / val_norm
            )

        def track(it, view):
            residual = view.predict(train) - train.values
            loss = float(residual @ residual) / train.size
            val_error = np.nan if validation is None else validation_error(view)
            snap_layers, snap_core = view.snapshot()
            ranks = effective_ranks(
                model, [chain(m) for m in snap_layers], snap_core, tt_ranks
            )
            records["iteration"].append(it)
            records["loss"].append(loss)
            records["train_error"].append(np.sqrt(loss * train.size) / train_norm)
            records["validation_error"].append(val_error)
            records["effective_rank"].append(ranks)

        best = {"error": np.inf, "iteration": 0, "params": None, "stale": 0}
        phase = {"lbfgs": False, "fitted": False}

        def warmup_done(loss):
            phase["lbfgs"] = np.sqrt(loss * train.size) / train_norm < _LBFGS_SWITCH
            return phase["lbfgs"]

        def callback(it, loss, view):
            # ``loss`` was evaluated before the update of iteration ``it``
            if not np.isfinite(loss) or loss > _DIVERGED:
                raise ValueError(self._divergence_message(it, loss))
            train_error = np.sqrt(loss * train.size) / train_norm
            stop = train_error < tol
            # no early stop before the training error is below _LBFGS_SWITCH
            # (the Adam warm-up of "adam-lbfgs"): on the plateaus of the
            # incremental learning the held-out error can stand a little
            # above an earlier value without any noise being fitted
            phase["fitted"] = phase["fitted"] or train_error < _LBFGS_SWITCH
            every = 1 if phase["lbfgs"] else _CHECK_EVERY
            if it % every == 0 or stop or phase["lbfgs"]:
                # the monitored error: held-out with early stopping, else training
                error = (
                    validation_error(view)
                    if early_stopping
                    else np.linalg.norm(view.predict(train) - train.values)
                    / train_norm
                )
                if not np.isfinite(error):
                    raise ValueError(self._divergence_message(it, error))
                if error > best["error"] * (1.0 - tol):
                    best["stale"] += every
                else:
                    best["stale"] = 0
                if error < best["error"]:
                    best.update(error=error, iteration=it, params=view.snapshot())
                # a plateau of the incremental learning is not a reason to stop:
                # only an error that has gone up again (noise being fitted,
                # an unstable step) after n_iter_no_change stale iterations
                stop = stop or (
                    phase["fitted"]
                    and best["stale"] >= self.n_iter_no_change
                    and error > best["error"] * (1.0 + _RISE)
                )
            if stop or it == self.max_iter or (track_every and it % track_every == 0):
                track(it, view)
            return stop

        net = NumpyModel(self.model, layers, core, tt_ranks)
        with np.errstate(over="ignore", invalid="ignore"):
            start_loss = float(np.mean((net.predict(train) - train.values) ** 2))
        if not np.isfinite(start_loss) or start_loss > _DIVERGED:
            raise ValueError(
                f"init_scale={self.init_scale} gives a starting model of mean "
                f"squared error {start_loss:.3g} on data scaled to unit root mean "
                "square: lower init_scale."
            )
        track(0, net)
        config = dict(
            estimator=self,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            decay=self.learning_rate_decay,
            max_iter=self.max_iter,
            callback=callback,
            warmup_done=warmup_done,
            print_every=track_every or self.max_iter,
            convergence_hint=(
                "increase max_iter or learning_rate, or use early_stopping for "
                "noisy data"
            ),
        )
        with np.errstate(over="ignore", invalid="ignore"):
            if self.backend == "torch":
                from ..utils._torch import resolve_device
                from ._torch_backend import train_torch

                device = resolve_device(self.device)
                result, layers, core = train_torch(
                    device, self.model, layers, core, tt_ranks, train, **config
                )
                self.n_iter_, self.loss_curve_ = result.n_iter, result.loss_curve
            else:
                monitor = train_numpy(net, train, **config)
                layers, core = net.layers, net.core
                self.n_iter_ = monitor.n_iter
                self.loss_curve_ = monitor.loss_curve()
        if best["params"] is not None and best["iteration"] != self.n_iter_:
            # restore the best checked model; the history ends with it
            layers, core = best["params"]
            n_keep = sum(it < best["iteration"] for it in records["iteration"])
            for key in records:
                records[key] = records[key][:n_keep]
            track(best["iteration"], NumpyModel(self.model, layers, core, tt_ranks))
        elif records["iteration"][-1] != self.n_iter_:
            # L-BFGS ended by itself (no progress left) between two records
            track(self.n_iter_, NumpyModel(self.model, layers, core, tt_ranks))
        self.best_iteration_ = best["iteration"] or self.n_iter_

        self.history_ = {key: np.asarray(value) for key, value in records.items()}
        self.layers_ = layers
        self.core_ = core
        self.tt_ranks_ = tt_ranks
        self.factors_ = [chain(mode) for mode in layers]
        if not all(np.all(np.isfinite(U)) for U in self.factors_):
            raise ValueError(self._divergence_message(self.n_iter_, np.nan))
        self._set_prior(train, validation)
        self._dtype = X.dtype
        self.sample_factor_ = self._fold_in_rows(X)
        return self

    def _resolve_early_stopping(self, n_observed):
        """Whether to stop early, and how many observed entries to hold out."""
        early = self.early_stopping
        fraction = self.validation_fraction
        if early == "auto":
            # enough observed entries to spare a validation set, whatever the
            # order: noise is the rule on real data (matrices and images
            # alike), and with the Adam warm-up followed by L-BFGS the held-out
            # error no longer stops noise-free low-rank tensors on a plateau
            early = n_observed >= _AUTO_EARLY_STOPPING_MIN_OBSERVED
        if fraction is None:
            fraction = _DEFAULT_VALIDATION_FRACTION if early else None
        if fraction is None:
            return False, 0
        n_val = int(round(fraction * n_observed))
        if n_val < 1 or n_val >= n_observed:
            raise ValueError(
                f"validation_fraction={fraction} leaves no validation or no "
                f"training entry among {n_observed} observed."
            )
        return bool(early), n_val

    def _divergence_message(self, iteration, loss):
        return (
            f"{type(self).__name__} diverged at iteration {iteration} (mean squared "
            f"error {loss:.3g} on data scaled to unit root mean square): lower "
            f"learning_rate (now {self.learning_rate}) or init_scale (now "
            f"{self.init_scale})."
        )

    def _design(self):
        return design_matrix(self.model, self.factors_, self.core_, self.tt_ranks_)

    def _set_prior(self, train, validation):
        """Gaussian prior of a sample's mode-0 row, and the noise variance.

        The mean and covariance of the fitted rows of ``U_0``; the noise variance
        is the mean squared error on the held-out entries (on the training
        entries without a split).
        """
        rows = self.factors_[0]
        self.prior_mean_ = rows.mean(axis=0)
        centred = rows - self.prior_mean_
        self.prior_covariance_ = centred.T @ centred / rows.shape[0]
        design = self._design()
        entries = train if validation is None else validation
        residual = (
            _sampled_products(
                rows, np.ascontiguousarray(design.T), entries.rows, entries.cols
            )
            - entries.values
        )
        noise = float(residual @ residual) / entries.size
        self.noise_variance_ = max(noise, _MIN_NOISE_VARIANCE)

    def _fold_in_rows(self, X):
        """Posterior-mean mode-0 rows of samples ``X`` (the other factors fixed).

        With the other factors fixed the model is linear in a sample's row
        ``u`` of ``U_0``: ``x = u B + noise``. Under the Gaussian prior of
        :meth:`_set_prior` (the fitted rows' mean and covariance) the posterior
        mean is a ridge solution in the prior's whitened coordinates,
        ``u = m + L (C C^T + s^2 I)^{-1} C (x_o - m B_o)`` with
        ``Sigma = L L^T``, ``C = L^T B_o`` and ``B_o`` the columns of the
        observed entries; it keeps the fit's low-rank bias (directions the
        fitted rows do not use get no weight) and gives a sample with nothing
        observed the typical row ``m``.
        """
        n_samples = X.shape[0]
        design = self._design()
        flat = X.reshape(n_samples, -1).astype(np.float64) / self.scale_
        observed = ~np.isnan(flat)
        values, vectors = np.linalg.eigh(self.prior_covariance_)
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        noise = self.noise_variance_
        mean = self.prior_mean_
        rows = np.tile(mean, (n_samples, 1))
        patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
        identity = noise * np.eye(root.shape[1])
        for k, pattern in enumerate(patterns):
            if not pattern.any():
                continue  # nothing observed: the typical row
            members = order[bounds[k] : bounds[k + 1]]
            design_o = design[:, pattern]
            whitened = root.T @ design_o
            target = flat[np.ix_(members, pattern)] - mean @ design_o
            gram = whitened @ whitened.T + identity
            z = linalg.solve(gram, whitened @ target.T, assume_a="pos")
            rows[members] += (root @ z).T
        return rows

    @property
    def reconstruction_(self):
        """The fitted tensor (every entry, observed or not), in ``X``'s dtype.

        The training samples' rows of :attr:`sample_factor_` times the design
        of the other factors, computed when asked (it is the only dense
        object of the model).
        """
        check_is_fitted(self)
        tensor = (self.sample_factor_ @ self._design()) * self.scale_
        return tensor.reshape(-1, *self.tensor_shape_).astype(self._dtype, copy=False)

    def fit_transform(self, X, y=None):
        """Fit the model and return ``X`` with its missing entries filled in.

        The same imputations as ``fit(X).transform(X)``: the training samples'
        rows are the fold-in of their observed entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_1, ..., n_{d-1})
            Tensor with ``NaN`` where entries are missing.
        y : None
            Ignored.

        Returns
        -------
        X_filled : ndarray of the shape of ``X``
            ``X`` with every ``NaN`` replaced by the fitted reconstruction; the
            observed entries are kept as they are.
        """
        self.fit(X)
        X = self._validate_X(X, reset=False)
        return np.where(np.isnan(X), self.reconstruction_, X)

    def _fold_in(self, X):
        """Reconstruction of samples ``X`` by the fold-in of their rows."""
        rows = self._fold_in_rows(X)
        return ((rows @ self._design()) * self.scale_).reshape(X.shape)

    def transform(self, X):
        """Fill in the missing entries of new samples (slices along axis 0).

        Each sample's row of the mode-0 factor is estimated from its observed
        entries with the other factors fixed (the posterior mean under the
        Gaussian prior of the fitted rows, with the noise variance of the fit);
        its missing entries are read off the model. A sample with nothing
        observed gets the typical (mean) row. Observed entries are returned
        unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_1, ..., n_{d-1})
            New samples with ``NaN`` where entries are missing; the other sizes
            must match the fitted tensor's.

        Returns
        -------
        X_filled : ndarray of the shape of ``X``
            ``X`` with every ``NaN`` replaced.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        missing = np.isnan(X)
        if not missing.any():
            return X.copy()
        return np.where(missing, self._fold_in(X).astype(X.dtype, copy=False), X)

    def score(self, X, y=None):
        """Return minus the error of predicting each observed entry from the others.

        The observed entries of each sample (slice along axis 0), taken in C
        order, are dealt in turn into 5 groups (the 1st, 6th, 11th, ... in the
        first). For each group, the sample is folded in as in
        :meth:`transform` from its other observed entries only, and the
        model's values at the group's entries are compared with the data. The
        score is minus the root mean squared error of these predictions over
        every observed entry of ``X``: a cross-validation of the imputation
        inside each sample, deterministic (it depends on the pattern of
        ``NaN`` only).

        Comparing the model with the very entries a sample was folded in from
        would favour models that fit them closely (more ranks, noise fitted):
        an entry never predicts itself here. Under
        :class:`~sklearn.model_selection.GridSearchCV`, which scores samples
        left out of the fit, the score is thus the error of imputing a new
        sample's missing entries, the job of :meth:`transform`. On the
        training samples it remains optimistic: the other factors were
        trained on these entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_1, ..., n_{d-1})
            Samples with ``NaN`` where entries are missing; at least one entry
            observed.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the root mean squared error of the held-out predictions, in
            the units of ``X`` (greater is better).

        Examples
        --------
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.datasets import make_low_rank_tensor
        >>> from skdeep.tensor import TensorCompleter
        >>> X, X_true = make_low_rank_tensor((30, 12), ranks=2, observed_fraction=0.6,
        ...                                  noise=0.1, random_state=0)
        >>> completer = TensorCompleter(depth=1, init_scale=0.3, max_iter=300,
        ...                             tol=1e-3, random_state=0)
        >>> search = GridSearchCV(completer, {"ranks": [1, 2, 6]}, cv=3).fit(X)
        >>> search.best_params_  # the rank of the simulation
        {'ranks': 2}
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        flat = X.reshape(X.shape[0], -1)
        observed = ~np.isnan(flat)
        n_observed = int(observed.sum())
        if not n_observed:
            raise ValueError("X has no observed entry: every value is NaN.")
        group = (np.cumsum(observed, axis=1) - 1) % _SCORE_GROUPS
        squared = 0.0
        for g in range(_SCORE_GROUPS):
            held = observed & (group == g)
            if not held.any():
                continue
            rows = self._fold_in_rows(np.where(held, np.nan, flat))
            predicted = (rows @ self._design())[held]
            # in the units of the fit, so that no magnitude overflows
            residual = predicted - flat[held].astype(np.float64) / self.scale_
            squared += float(residual @ residual)
        return -float(np.sqrt(squared / n_observed) * self.scale_)


def _robust_scale(values):
    """Root mean square of ``values``, safe for any finite magnitude (1 if zero)."""
    values = np.asarray(values, dtype=np.float64)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak == 0.0:
        return 1.0
    rms = float(np.sqrt(np.mean((values / peak) ** 2)))
    return peak * rms if rms > 0 else peak
