"""Tensor completion by deep (over-parametrised) factorizations."""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._validation import FLOAT_DTYPES
from ._model import reconstruct, resolve_ranks
from ._numpy_backend import (
    NumpyModel,
    chain,
    effective_ranks,
    sample_design,
    train_numpy,
)

# Singular values of the fold-in design below this fraction of the largest are cut.
_FOLD_IN_RCOND = 1e-10


class TensorCompleter(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Tensor and matrix completion by deep factorizations and gradient descent.

    The missing entries (``NaN``) of a tensor are filled by an over-parametrised
    ("deep") Tucker, tensor-train or CP factorization fitted to the observed
    entries only, by gradient descent from a small initialisation. No rank is
    chosen: every factor matrix of mode ``i`` is a product of ``depth`` full-width
    matrices, ``U_i = A_i1 A_i2 ... A_iL``, and the implicit bias of gradient
    descent on such products towards low (effective) rank does the
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
    ranks : "full", int or tuple of int, default="full"
        Tucker ranks (one per mode), the CP rank, or the ``order - 1`` inner TT
        ranks. ``"full"`` imposes no rank: the tensor sizes for Tucker, the
        largest size for CP and the largest useful TT ranks.
    init_scale : float, default=1e-2
        Standard deviation of the Gaussian entries of every layer (and of the
        Tucker core) at initialisation, on data scaled to unit root mean square.
        Smaller values and deeper factors strengthen the low-rank bias and slow
        down the start: with ``depth=3``, use about ``0.1``.
    optimizer : {"adam", "gd"}, default="adam"
        Adam, or plain full-batch gradient descent (the papers' object of study).
    learning_rate : float, default=1e-2
        Step size.
    learning_rate_decay : float, default=1e-3
        The step at iteration ``t`` is ``learning_rate / (1 + learning_rate_decay
        * t)``.
    max_iter : int, default=10000
        Maximum number of iterations (full-batch steps).
    tol : float, default=1e-4
        Stop when the relative error on the training entries,
        ``||P(T - X)|| / ||P(X)||``, falls below ``tol`` (checked at each
        iteration on the loss evaluated before its update).
    validation_fraction : float in (0, 1) or None, default=None
        Fraction of the observed entries held out of training to track a
        validation error in ``history_``. ``None`` trains on all of them.
    track_every : int, default=100
        Record errors and effective ranks in ``history_`` every ``track_every``
        iterations (``0``: only at the start and the end).
    backend : {"numpy", "torch"}, default="numpy"
        ``"numpy"`` uses vectorised numpy with hand-derived gradients; ``"torch"``
        uses autograd (install ``skdeep[torch]``), on ``device``. Both start from
        the same initialisation and agree up to floating-point rounding.
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
        The fitted low-rank tensor (every entry, observed or not).
    factors_ : list of ndarray
        The factor matrix of every mode, ``U_i`` of shape ``(n_i, c_i)`` (the
        product of its layers), in the scale of ``X``'s normalisation.
    layers_ : list of list of ndarray
        The ``depth`` matrices of every mode's factor.
    core_ : ndarray or None
        The Tucker core; ``None`` for CP and TT.
    tt_ranks_ : tuple of int or None
        The TT ranks ``(1, r_1, ..., r_{d-1}, 1)``; ``None`` for Tucker and CP.
    scale_ : float
        Root mean square of the observed entries; the model is fitted to
        ``X / scale_``.
    n_iter_ : int
        Number of iterations run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Mean squared error on the training entries (normalised data), evaluated
        at each iteration before its update.
    history_ : dict of ndarray
        The model after ``"iteration"`` updates, sampled at the start, every
        ``track_every`` iterations and at the end: ``"iteration"``, ``"loss"``,
        ``"train_error"`` and ``"validation_error"`` (relative errors, NaN
        without validation split) and ``"effective_rank"``, of shape
        ``(n_records, order)``: the effective rank of each mode unfolding of the
        reconstruction.
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
    >>> print(f"relative error on the missing entries: {error:.0e}")
    relative error on the missing entries: 2e-03
    """

    _parameter_constraints = {
        "model": [StrOptions({"tucker", "tt", "cp"})],
        "depth": [Interval(numbers.Integral, 1, None, closed="left")],
        "ranks": [
            StrOptions({"full"}),
            Interval(numbers.Integral, 1, None, closed="left"),
            "array-like",
        ],
        "init_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam", "gd"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "validation_fraction": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
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
        ranks="full",
        init_scale=1e-2,
        optimizer="adam",
        learning_rate=1e-2,
        learning_rate_decay=1e-3,
        max_iter=10000,
        tol=1e-4,
        validation_fraction=None,
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
        self.validation_fraction = validation_fraction
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
        rng = check_random_state(self.random_state)

        data = np.where(observed, X, 0.0).astype(np.float64)
        scale = float(np.sqrt(np.mean(data[observed] ** 2)))
        self.scale_ = scale if scale > 0 else 1.0
        data /= self.scale_

        train = observed
        validation = None
        if self.validation_fraction is not None:
            flat = np.flatnonzero(observed)
            n_val = int(round(self.validation_fraction * flat.size))
            if n_val < 1 or n_val >= flat.size:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves no "
                    f"validation or no training entry among {flat.size} observed."
                )
            validation = np.zeros(X.size, dtype=bool)
            validation[rng.choice(flat, n_val, replace=False)] = True
            validation = validation.reshape(shape)
            train = observed & ~validation

        # Small Gaussian initialisation of every layer (the papers' setting): the
        # first layer is n_i x n_i (full width), the last maps to the width c_i.
        layers = [
            [
                self.init_scale
                * rng.standard_normal((n, n if k < self.depth - 1 else c))
                for k in range(self.depth)
            ]
            for n, c in zip(shape, widths)
        ]
        core = (
            self.init_scale * rng.standard_normal(tuple(widths))
            if self.model == "tucker"
            else None
        )

        # relative errors; all-zero observed data fall back to absolute ones
        train_norm = np.sqrt(np.sum(data[train] ** 2)) or 1.0
        val_norm = (
            None
            if validation is None
            else np.sqrt(np.sum(data[validation] ** 2)) or 1.0
        )
        n_train = int(train.sum())
        track_every = self.track_every
        records = {
            "iteration": [],
            "loss": [],
            "train_error": [],
            "validation_error": [],
            "effective_rank": [],
        }

        def track(it, tensor):
            diff = np.where(train, tensor - data, 0.0)
            loss = float(np.sum(diff**2)) / n_train
            val_error = np.nan
            if validation is not None:
                val_error = (
                    np.linalg.norm(tensor[validation] - data[validation]) / val_norm
                )
            records["iteration"].append(it)
            records["loss"].append(loss)
            records["train_error"].append(np.sqrt(loss * n_train) / train_norm)
            records["validation_error"].append(val_error)
            records["effective_rank"].append(effective_ranks(tensor))

        def callback(it, loss, get_tensor):
            # ``loss`` was evaluated before the update of iteration ``it``
            converged = np.sqrt(loss * n_train) / train_norm < self.tol
            if converged or it == self.max_iter or (
                track_every and it % track_every == 0
            ):
                track(it, get_tensor())
            return converged

        track(0, reconstruct(self.model, [chain(m) for m in layers], core, tt_ranks))
        config = dict(
            estimator=self,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            decay=self.learning_rate_decay,
            max_iter=self.max_iter,
            callback=callback,
            print_every=track_every or self.max_iter,
            convergence_hint=(
                "increase max_iter or learning_rate, or raise tol for noisy data"
            ),
        )
        if self.backend == "torch":
            from ..utils._torch import resolve_device
            from ._torch_backend import train_torch

            device = resolve_device(self.device)
            result, layers, core = train_torch(
                device, self.model, layers, core, tt_ranks, data, train, **config
            )
            self.n_iter_, self.loss_curve_ = result.n_iter, result.loss_curve
        else:
            net = NumpyModel(self.model, layers, core, tt_ranks)
            monitor = train_numpy(net, data, train, **config)
            layers, core = net.layers, net.core
            self.n_iter_, self.loss_curve_ = monitor.n_iter, monitor.loss_curve()

        self.history_ = {key: np.asarray(value) for key, value in records.items()}
        self.layers_ = layers
        self.core_ = core
        self.tt_ranks_ = tt_ranks
        self.factors_ = [chain(mode) for mode in layers]
        tensor = reconstruct(self.model, self.factors_, core, tt_ranks)
        self.reconstruction_ = (tensor * self.scale_).astype(X.dtype, copy=False)
        return self

    def fit_transform(self, X, y=None):
        """Fit the model and return ``X`` with its missing entries filled in.

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
        """Reconstruction of new samples: their mode-0 factor rows, others fixed.

        With the other factors fixed, the model is linear in a sample's row of
        the top layer of the mode-0 factor, so the rows are least-squares
        solutions on the observed entries (the minimum-norm one, the limit of
        gradient descent from zero), grouped by missingness pattern.
        """
        n_samples = X.shape[0]
        flat = X.reshape(n_samples, -1).astype(np.float64) / self.scale_
        observed = ~np.isnan(flat)
        design = sample_design(self.model, self.factors_, self.core_, self.tt_ranks_)
        if len(self.layers_[0]) > 1:
            design = chain(self.layers_[0][1:]) @ design
        rows = np.zeros((n_samples, design.shape[0]))
        patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
        for k, pattern in enumerate(patterns):
            members = np.flatnonzero(inverse.ravel() == k)
            if not pattern.any():
                continue  # nothing observed: the zero row, as from a zero start
            solution = np.linalg.lstsq(
                design[:, pattern].T,
                flat[np.ix_(members, pattern)].T,
                rcond=_FOLD_IN_RCOND,
            )[0]
            rows[members] = solution.T
        return ((rows @ design) * self.scale_).reshape(X.shape)

    def transform(self, X):
        """Fill in the missing entries of new samples (slices along axis 0).

        Each sample's row of the mode-0 factor is fitted to its observed entries
        with the other factors fixed; its missing entries are read off the
        model. Observed entries are returned unchanged.

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
        """Negative root mean squared error of the model on the observed entries.

        The samples are folded in as in :meth:`transform`, then the model's
        values are compared with the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_1, ..., n_{d-1})
            Samples with ``NaN`` where entries are missing.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the root mean squared error (greater is better).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        observed = ~np.isnan(X)
        if not observed.any():
            raise ValueError("X has no observed entry: every value is NaN.")
        model = self._fold_in(X)
        return -float(np.sqrt(np.mean((model[observed] - X[observed]) ** 2)))
