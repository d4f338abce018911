"""Sparse coding with a fitted convolutional dictionary.

:class:`_BaseConvolutionalCoding` holds what :class:`CDLTransformer` does with
its atoms once they are learned (as scikit-learn's ``_BaseSparseCoding`` does
for dictionary learning): the activations of new signals (whole or in chunks),
the signals rebuilt from activations, and the held-out score.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import power_of_two_scale
from ._encoding import encode, encode_chunked, unbiased, warn_z_step
from ._lgcd import objective, reconstruct
from ._signals import center, check_activations, check_signals, signal_scale

# Signals whose largest entry passes this many times the internal unit are
# coded divided by a power of two (their squares would overflow otherwise).
_HUGE = 1e100


class _BaseConvolutionalCoding:
    """Coding with the atoms ``(u_hat_, v_hat_, D_hat_)`` and ``lambda_``.

    The subclass sets the fitted attributes and the parameters read here:
    ``n_atoms``, ``n_times_atom``, ``rank1``, ``center``, ``chunk_size``,
    ``unbiased_z_hat`` and ``n_jobs``.
    """

    def _atoms(self):
        if self.rank1:
            return self.u_hat_, self.v_hat_, self.D_hat_
        return None, None, self.D_hat_

    def _internal_units(self, X, reset=False):
        """Validated signals centred (``center=True``) and divided by ``scale_``.

        With ``reset`` (the start of a fit), ``scale_`` and the shape of the
        signals are set from them.
        """
        if reset:
            self.n_channels_, self.n_times_ = X.shape[1], X.shape[2]
        if self.center:
            X = center(X)
        if reset:
            self.scale_ = signal_scale(X)
        return X / self.scale_

    def transform_activations(self, X):
        """Sparse activations of the learned atoms in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals with the channels seen in fit; 3-D signals may have any length
            of at least ``n_times_atom``.

        Returns
        -------
        z : ndarray of shape (n_trials, n_atoms, n_times - n_times_atom + 1)
            Non-negative activations, solved with the dictionary fixed and the
            sparsity weight ``lambda_`` of the fit (refitted without shrinkage on
            their support when ``unbiased_z_hat=True``).
        """
        check_is_fitted(self)
        return self._activations(check_signals(self, X, reset=False))

    def _activations(self, X):
        """:meth:`transform_activations` of validated signals (n, C, T)."""
        # Signals far larger than those of the fit are solved divided by a power
        # of two (an exact operation: the l1 weight is divided alike, so the
        # solution is the same), so that the z-step's squares stay finite.
        # (max and min of the finite, validated X: no copy of a long recording)
        ratio = max(float(X.max()), -float(X.min())) / self.scale_
        shrink = float(power_of_two_scale(ratio)) if ratio > _HUGE else 1.0
        unit = self.scale_ * shrink
        n_valid = X.shape[2] - self.n_times_atom + 1
        if self.chunk_size is not None and n_valid > self.chunk_size:
            z, converged = encode_chunked(
                X, self._atoms(), self.lambda_ / unit, unit,
                center=self.center, chunk_size=self.chunk_size,
                refit=self.unbiased_z_hat, n_jobs=self.n_jobs,
            )
            warn_z_step(converged)
            z *= unit  # in place: the output is the only full-size array
            return z
        Xs = self._internal_units(X) * (self.scale_ / unit)
        z = self._encode(Xs, self.lambda_ / unit)
        if self.unbiased_z_hat:
            z = unbiased(Xs, self._atoms(), z)
        return z * unit

    def _encode(self, Xs, lam):
        """The z-step of signals ``Xs`` with the fitted atoms and l1 weights
        ``lam``, both in the same internal units."""
        z, converged = encode(Xs, self._atoms(), lam, self.n_jobs)
        warn_z_step(converged)
        return z

    def inverse_transform(self, X):
        """Rebuild signals from activations.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_atoms, n_times_valid) or \
                (n_trials, n_atoms * n_times_valid)
            Activations, as returned by :meth:`transform_activations` or by
            :meth:`transform` with ``pooling=None`` (pooled features cannot be
            inverted).

        Returns
        -------
        X_rec : ndarray of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Reconstructed signals, 2-D when the fit saw 2-D input.
        """
        check_is_fitted(self)
        z = check_activations(X, self.n_atoms, self._n_valid)
        if self.rank1:
            X_rec = reconstruct(z, self.D_hat_, self.u_hat_, self.v_hat_)
        else:
            X_rec = reconstruct(z, self.D_hat_)
        return X_rec[:, 0, :] if self._fit_ndim == 2 else X_rec

    def score(self, X, y=None):
        """Return minus the sparse coding objective per trial, the dictionary fixed.

        Each trial is coded as in :meth:`transform_activations` (centred when
        ``center=True``, with the fitted atoms and l1 weights, and without the
        refit of ``unbiased_z_hat``), and the score is minus the z-step's
        objective averaged over the trials,

        .. math::

            -\\frac{1}{N} \\sum_n \\min_{z_n \\geq 0} \\frac12
            \\|X_n / s - \\sum_k z_{nk} * D_k\\|_2^2
            + \\sum_k \\frac{\\lambda_k}{s} \\|z_{nk}\\|_1,

        with ``s = scale_``: the objective of the fit (``loss_curve_``) in its
        internal units, per trial. Higher is better. As for
        :meth:`sklearn.decomposition.PCA.score`, it lets
        :class:`~sklearn.model_selection.GridSearchCV` compare fits on held-out
        trials, and it does not depend on the units of the signals.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals with the channels seen in fit; 3-D signals may have any length
            of at least ``n_times_atom``.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean over the trials of the sparse coding objective.

        Notes
        -----
        The score compares dictionaries under *one* objective: use it to tune
        what changes how well the atoms are learned at a given sparsity and
        size (``n_times_atom``, ``D_init``, ``n_init``, ``window``,
        ``uv_constraint``, ``max_iter``, ...). It is not a model selection
        criterion for the parameters that change the objective itself:

        - a larger ``reg`` raises the l1 weight, so the objective grows with it
          for any dictionary: the score favours the smallest ``reg`` of a grid;
        - more atoms can only lower the minimum over the activations (an atom
          left unused costs nothing): the score favours the largest
          ``n_atoms`` of a grid, as an in-sample fit would.

        Choose these two by the task the features serve, e.g. the
        cross-validated accuracy of a classifier in a
        :class:`~sklearn.pipeline.Pipeline` after the transformer.
        The trials are coded whole (``chunk_size`` does not apply).

        Examples
        --------
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.datasets import make_cdl_signals
        >>> from skdeep.decomposition import CDLTransformer
        >>> X = make_cdl_signals(n_trials=6, n_channels=3, n_times=400, n_atoms=2,
        ...                      n_times_atom=32, noise_level=0.05,
        ...                      random_state=0)[0]
        >>> cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2,
        ...                      random_state=0)
        >>> cdl.fit(X[:4]).score(X[4:]) < 0  # held-out trials
        True
        >>> search = GridSearchCV(cdl, {"n_times_atom": [8, 32]}, cv=3).fit(X)
        >>> search.best_params_  # the atoms of the simulation are 32 samples long
        {'n_times_atom': 32}
        """
        check_is_fitted(self)
        Xs = self._internal_units(check_signals(self, X, reset=False))
        u, v, D = self._atoms()
        lam = self.lambda_ / self.scale_
        return -float(np.mean(objective(Xs, self._encode(Xs, lam), lam, D, u, v)))

    @property
    def _n_valid(self):
        """Number of valid activation times of the signals seen in fit."""
        return self.n_times_ - self.n_times_atom + 1
