"""Inference of a fitted :class:`~skdeep.neural.MODISIntegrator`.

:class:`_MODISInference` holds what the estimator does with its trained
network (latent coordinates, class probabilities, the semi-supervised score,
translation between modalities and decoding), apart from how it is trained.
torch is imported inside the methods.
"""

from numbers import Integral

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ..utils._torch import import_torch
from ..utils._validation import FLOAT_DTYPES, unlabeled_mask, validate_data
from ._modis_inputs import observed_blocks, ravel_column_y

# Standardised inputs and latent coordinates given to the float32 network are
# clipped to this magnitude (training data never come near it), so that huge
# inputs give finite outputs.
CLIP = 1e6


class _MODISInference:
    """Methods of a fitted MODIS network (``network_``, ``modality_blocks_``,
    the scaling ``_mean``/``_scale`` and ``classes_`` set by ``fit``)."""

    # -- input handling ------------------------------------------------------
    def _standardised(self, X):
        """Standardised copy of ``X`` with the unobserved entries set to 0,
        clipped to ``[-CLIP, CLIP]`` (float32)."""
        with np.errstate(over="ignore", invalid="ignore"):
            Z = np.clip((X - self._mean) / self._scale, -CLIP, CLIP)
        return np.nan_to_num(Z, nan=0.0).astype(np.float32)

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan"
        )
        observed = observed_blocks(X, self.modality_blocks_, self.partial_blocks)
        return self._standardised(X), observed

    # -- inference -----------------------------------------------------------
    def _latent(self, X):
        """Posterior means of the observed blocks, fused (numpy, float64)."""
        Xs, observed = self._check_X(X)
        torch = import_torch()
        network = self.network_
        device = self._inference_device([network])
        cols = [torch.as_tensor(c, device=device) for c in self.modality_blocks_]

        def forward(x, obs):
            mu, _ = network.fused_posterior([x[:, c] for c in cols], obs)
            return mu

        return self._batched(forward, [network], [Xs, observed.astype(np.float32)])

    def _decode(self, Z, targets):
        """Decode latents into the ``targets`` modalities, in original units."""
        network = self.network_

        def forward(z):
            return tuple(network.vaes[m].decode(z) for m in targets)

        Z = np.clip(Z, -CLIP, CLIP).astype(np.float32)
        out = self._batched(forward, [network], [Z])
        out = out if isinstance(out, tuple) else (out,)
        return [
            out[i] * self._scale[self.modality_blocks_[m]]
            + self._mean[self.modality_blocks_[m]]
            for i, m in enumerate(targets)
        ]

    def transform(self, X):
        """Shared latent coordinates: the posterior means (deterministic).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with NaN in the blocks they were not measured in.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior mean of each sample (the precision-weighted product of its
            observed blocks' posteriors).
        """
        return self._latent(X)

    def predict_proba(self, X):
        """Class probabilities from the class head on the latent means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples measured in any modality (NaN elsewhere).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of ``classes_``.
        """
        Z = np.clip(self._latent(X), -CLIP, CLIP)
        torch = import_torch()
        disc = self.network_.discriminator

        def forward(z):
            logits, _ = disc(z)
            return torch.softmax(logits.double(), dim=1)

        return self._batched(forward, [self.network_], [Z.astype(np.float32)])

    def predict(self, X):
        """Predict the class of samples measured in any modality.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with NaN in the blocks they were not measured in.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels among ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labeled samples; those marked ``-1`` are left out.

        :meth:`sklearn.base.ClassifierMixin.score` would count every unlabeled
        sample (``y == -1``, never a predicted class) as an error, so a
        :class:`~sklearn.model_selection.GridSearchCV` on semi-supervised ``y``
        would mostly measure the fraction of labeled samples in each fold. Here
        the samples that :func:`skdeep.utils.unlabeled_mask` marks are dropped
        and the score is the (weighted) fraction of the others whose predicted
        class is their label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with NaN in the blocks they were not measured in.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled samples (as in :meth:`fit`).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; those of the unlabeled samples are ignored.

        Returns
        -------
        score : float
            Accuracy of :meth:`predict` on the labeled samples of ``X``.

        Raises
        ------
        ValueError
            When no sample of ``y`` is labeled.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.datasets import make_multiomics
        >>> from skdeep.neural import MODISIntegrator
        >>> X, y, y_true, modality = make_multiomics(
        ...     n_samples=200, n_features=(10, 8), n_classes=3, labeled_fraction=0.3,
        ...     random_state=0)
        >>> model = MODISIntegrator(modalities=[10, 8], n_components=4,
        ...                         batch_size=None, learning_rate=1e-2,
        ...                         max_iter=5, device="cpu", random_state=0)
        >>> labeled = y != -1
        >>> score = model.fit(X, y).score(X, y)
        >>> bool(score == np.mean(model.predict(X[labeled]) == y[labeled]))
        True

        Tuned on the labeled samples of each held-out fold (30 % of them):

        >>> search = GridSearchCV(model, {"max_iter": [1, 30]}, cv=3).fit(X, y)
        >>> search.best_params_
        {'max_iter': 30}
        """
        check_is_fitted(self)
        y = column_or_1d(ravel_column_y(y))
        check_consistent_length(X, y, sample_weight)
        labeled = ~unlabeled_mask(y)
        if not labeled.any():
            raise ValueError(
                f"{type(self).__name__}.score needs labeled samples, but every "
                "sample of y is marked unlabeled (-1): there is no accuracy to "
                "compute."
            )
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[labeled]
        y_pred = self.predict(_safe_indexing(X, labeled))
        return float(accuracy_score(y[labeled], y_pred, sample_weight=sample_weight))

    def translate(self, X, target):
        """Decode samples into another modality's feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples measured in any modality (NaN elsewhere).
        target : int
            Index of the modality to translate into (its block in
            ``modality_blocks_``).

        Returns
        -------
        X_target : ndarray of shape (n_samples, n_target_features)
            The decoded block of ``target``, in the original units, columns in
            the order of ``modality_blocks_[target]``.
        """
        check_is_fitted(self)
        if (
            not isinstance(target, Integral)
            or isinstance(target, bool)
            or not 0 <= target < self.n_modalities_
        ):
            raise ValueError(
                f"target must be a modality index in [0, {self.n_modalities_}), "
                f"got {target!r}."
            )
        return self._decode(self._latent(X), [int(target)])[0]

    def inverse_transform(self, X):
        """Decode latent coordinates into every modality.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent coordinates (e.g. from :meth:`transform`).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Every block decoded, in the original units and column order.
        """
        check_is_fitted(self)
        Z = np.asarray(X, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_components:
            raise ValueError(
                f"X must have shape (n_samples, {self.n_components}) for "
                f"inverse_transform, got {Z.shape}."
            )
        if Z.shape[0] == 0:
            raise ValueError(
                "X of inverse_transform is empty: found array with 0 sample(s) "
                f"(shape {Z.shape}) while a minimum of 1 is required."
            )
        if not np.all(np.isfinite(Z)):
            raise ValueError("X contains NaN or infinity.")
        out = np.empty((Z.shape[0], self.n_features_in_))
        decoded = self._decode(Z, list(range(self.n_modalities_)))
        for cols, block in zip(self.modality_blocks_, decoded):
            out[:, cols] = block
        return out
