"""Using a fitted completion: the fold-in of samples, the filled tensor, the score.

:class:`_BaseCompletion` holds what :class:`~._completer.TensorCompleter` does
with its factors once they are fitted (as ``_BaseConvolutionalCoding`` does for
the convolutional dictionary): the Gaussian prior and noise variance of the
fold-in, the guard against the mean fill, the training samples' rows, new
samples folded in (:meth:`transform`) and the held-out score.
"""

import numpy as np
from sklearn.base import OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import FLOAT_DTYPES, validate_data
from ._empirical_prior import (
    EMPIRICAL_WEIGHTS,
    TEMPERATURE_MULTIPLIERS,
    EmpiricalPrior,
    choose_atoms,
    sample_digests,
)
from ._fold_in import (
    MIN_NOISE_VARIANCE,
    NOISE_MULTIPLIERS,
    FoldIn,
    fold_in_rows,
    gaussian_prior,
    noise_variance,
)
from ._holdout import MeanFill, guard
from ._model import design_matrix

# score: the observed entries of a sample are dealt into this many groups, each
# predicted from the others
_SCORE_GROUPS = 5


class _BaseCompletion(OneToOneFeatureMixin, TransformerMixin):
    """The fold-in, the completion and the score of fitted factors.

    A transformer: scikit-learn wraps the :meth:`transform` and
    :meth:`fit_transform` of the class that defines them for ``set_output``.

    The subclass's fit sets ``factors_``, ``core_``, ``tt_ranks_``,
    ``scale_``, ``tensor_shape_`` and ``_dtype``, then calls
    :meth:`_set_prior` and :meth:`_guard`; ``model`` and ``verbose`` are read
    here.
    """

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

    def _set_prior(self, entries, fitted):
        """Gaussian prior of a sample's mode-0 row, and the noise variance.

        The mean and covariance of the fitted rows of ``U_0`` (``fitted``:
        those of the samples with a training entry; the others kept their
        initial values); the noise variance is the mean squared error at
        ``entries`` (the held-out ones, else the training ones).
        """
        rows = self.factors_[0]
        self.prior_mean_, self.prior_covariance_ = gaussian_prior(rows[fitted])
        self.noise_variance_ = noise_variance(rows, self._design(), entries)

    def _choose_fold_in(self, X, train, validation, observed, rng):
        """Choose the fold-in on the held-out units; its held-out predictions.

        What is judged is what :meth:`transform` returns: every sample
        folded in from its ``train`` entries, predicting its ``validation``
        entries. The noise variance of the Gaussian fold-in is the multiple of
        the fit's held-out error (:data:`._fold_in.NOISE_MULTIPLIERS`) whose
        predictions are best; then the weight and temperature of the
        empirical prior's posterior mean in the blend
        (:mod:`._empirical_prior`; its atoms are the Gaussian fold-in of a
        subset of the samples from all their ``observed`` entries, a sample
        never weighing its own). Returns the predictions of the held-out
        values by the chosen fold-in (``None`` without ``validation``) and the
        Gaussian fold-in rows of every sample from all its entries.
        """
        self.empirical_weight_, self.empirical_temperature_ = 0.0, None
        self.prior_atoms_ = self._atom_digests = None
        design = self._design()
        flat = np.full(observed.unfolded_shape, np.nan)
        flat[observed.rows, observed.cols] = observed.values
        if validation is None:
            return None, fold_in_rows(flat, design, self.prior_mean_,
                                      self.prior_covariance_, self.noise_variance_)
        noises = np.maximum(self.noise_variance_ * NOISE_MULTIPLIERS,
                            MIN_NOISE_VARIANCE)
        flat_train = np.full(train.unfolded_shape, np.nan)
        flat_train[train.rows, train.cols] = train.values
        gaussian = FoldIn(flat_train, design, self.prior_mean_, self.prior_covariance_)
        predictions = gaussian.predict(validation.rows, validation.cols, noises)
        errors = np.mean((predictions - validation.values) ** 2, axis=1)
        self.noise_variance_ = float(noises[int(np.argmin(errors))])
        rows = fold_in_rows(flat, design, self.prior_mean_, self.prior_covariance_,
                            self.noise_variance_)
        prediction = predictions[int(np.argmin(errors))]
        atoms = choose_atoms(len(flat), rng)
        if len(atoms) < 2:
            return prediction, rows
        own = np.full(len(flat), -1)
        own[atoms] = np.arange(len(atoms))
        temperatures = self.noise_variance_ * TEMPERATURE_MULTIPLIERS
        empirical = EmpiricalPrior(rows[atoms], design).predict(
            flat_train, validation.rows, validation.cols, temperatures, exclude=own
        )
        best_error, best_prediction = float(np.min(errors)), prediction
        for temperature, other in zip(temperatures, empirical):
            for weight in EMPIRICAL_WEIGHTS[1:]:
                blend = prediction + weight * (other - prediction)
                error = float(np.mean((blend - validation.values) ** 2))
                if error < best_error:
                    best_error, best_prediction = error, blend
                    self.empirical_weight_ = float(weight)
                    self.empirical_temperature_ = float(temperature)
        if self.empirical_weight_:
            self.prior_atoms_ = rows[atoms]
            digests = sample_digests(X[atoms])
            order = np.argsort(digests, kind="stable")
            self._atom_digests = (digests[order], order)
        return best_prediction, rows

    def _guard(self, prediction, train, validation, observed, n_units):
        """Compare the fold-in with the mean fill on the held-out units; shrink.

        ``prediction``: the held-out values predicted by the chosen fold-in
        (:meth:`_choose_fold_in`), compared with the mean fill of ``train``
        (the mean of every column of the mode-0 unfolding,
        :class:`._holdout.MeanFill`). The completion becomes ``(1 - w) model
        + w mean_fill`` with the least-squares weight ``w`` on the held-out
        entries when the model's held-out error is above the mean fill's, or
        when the blend lowers it by more than the noise of ``n_units``
        held-out units and than ``tol`` (see :func:`._holdout.guard`); the
        mean fill blended in is then that of all the ``observed`` entries.
        """
        self.baseline_ = (MeanFill(observed).column_means * self.scale_).reshape(
            self.tensor_shape_
        )
        self.baseline_weight_ = 0.0
        self.validation_error_ = self.baseline_error_ = None
        if validation is None:
            return
        (self.baseline_weight_, model_error, self.baseline_error_,
         self.validation_error_) = guard(
            prediction, MeanFill(train).predict(validation),
            validation.values, n_units, self.tol,
        )
        if self.verbose > 1:
            print(
                f"[{type(self).__name__}] fold-in noise variance "
                f"{self.noise_variance_:.4g}, weight of the empirical prior "
                f"{self.empirical_weight_:.3g}: held-out error {model_error:.4g}",
                flush=True,
            )
        if self.verbose and self.baseline_weight_ > 0:
            print(
                f"[{type(self).__name__}] held-out error {model_error:.4g}, the "
                f"mean fill's {self.baseline_error_:.4g}: the completion is "
                f"shrunk towards the mean fill (weight {self.baseline_weight_:.3g},"
                f" held-out error {self.validation_error_:.4g})",
                flush=True,
            )

    def _blend(self, model):
        """``model`` (unfolded, on the scale of the fit) shrunk by the guard."""
        weight = self.baseline_weight_
        if not weight:
            return model
        mean_fill = self.baseline_.reshape(1, -1) / self.scale_
        return model + weight * (mean_fill - model)

    def _design(self):
        return design_matrix(self.model, self.factors_, self.core_, self.tt_ranks_)

    def _fold_in_rows(self, X, gaussian=None, samples=None):
        """Posterior-mean mode-0 rows of samples ``X`` (the other factors fixed).

        See :func:`._fold_in.fold_in_rows`: the prior is the fitted rows' mean
        and covariance, the noise variance chosen on the held-out units; the
        rows are blended with the posterior mean under the empirical prior
        (:mod:`._empirical_prior`) by ``empirical_weight_``. ``gaussian``:
        the Gaussian rows, when already computed; ``samples``: the data by
        which training samples are recognised (``X`` by default; the whole
        samples when ``X`` hides some of their entries), so that none weighs
        its own atom.
        """
        flat = X.reshape(X.shape[0], -1).astype(np.float64) / self.scale_
        design = self._design()
        if gaussian is None:
            gaussian = fold_in_rows(flat, design, self.prior_mean_,
                                    self.prior_covariance_, self.noise_variance_)
        if not self.empirical_weight_:
            return gaussian
        digests, atoms = self._atom_digests
        mine = sample_digests(X if samples is None else samples)
        found = np.minimum(np.searchsorted(digests, mine), len(digests) - 1)
        own = np.where(digests[found] == mine, atoms[found], -1)
        empirical = EmpiricalPrior(self.prior_atoms_, design).rows(
            flat, self.empirical_temperature_, exclude=own
        )
        return gaussian + self.empirical_weight_ * (empirical - gaussian)

    @property
    def reconstruction_(self):
        """The fitted tensor (every entry, observed or not), in ``X``'s dtype.

        The training samples' rows of :attr:`sample_factor_` times the design
        of the other factors, computed when asked (it is the only dense
        object of the model).
        """
        check_is_fitted(self)
        tensor = self._blend(self.sample_factor_ @ self._design()) * self.scale_
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
        return (self._blend(rows @ self._design()) * self.scale_).reshape(X.shape)

    def transform(self, X):
        """Fill in the missing entries of new samples (slices along axis 0).

        Each sample's row of the mode-0 factor is estimated from its observed
        entries with the other factors fixed: the posterior mean under the
        Gaussian prior of the fitted rows (``noise_variance_``), blended by
        ``empirical_weight_`` with the posterior mean under the empirical
        prior of the training samples' rows (``prior_atoms_``); its missing
        entries are read off the model. A sample with nothing observed gets
        the typical row. Observed entries are returned unchanged.

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
        >>> completer = TensorCompleter(depth=1, init_scale=0.3, tol=1e-3,
        ...                             random_state=0)
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
            rows = self._fold_in_rows(np.where(held, np.nan, flat), samples=flat)
            predicted = self._blend(rows @ self._design())[held]
            # in the units of the fit, so that no magnitude overflows
            residual = predicted - flat[held].astype(np.float64) / self.scale_
            squared += float(residual @ residual)
        return -float(np.sqrt(squared / n_observed) * self.scale_)
