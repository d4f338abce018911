"""The signals of convolutional dictionary learning: shapes, baseline and unit.

:func:`check_signals` reads the input of every method as a float64 array of
shape (n_trials, n_channels, n_times) (a 2-D input holds univariate signals);
:func:`center` removes each channel's baseline and :func:`signal_scale` gives
the unit of the fit, so that the model works in internal units, ``X / scale_``.
"""

import numpy as np

from ..utils._validation import validate_data


def center(X):
    """``X`` minus the median of each channel in each trial (its baseline).

    The median, not the mean: the mean of sparse non-negative events on a flat
    baseline is not the baseline, and the negative offset it would leave between
    the events cannot be represented by the atoms either.
    """
    return X - np.median(X, axis=2, keepdims=True)


def signal_scale(X):
    """The unit of the signals: RMS of ``X`` about each (trial, channel) mean.

    Computed on ``X / max|X|`` so that neither tiny nor huge values under- or
    overflow; 1 for an all-zero ``X``, ``max|X|`` when every channel is flat.
    """
    peak = float(np.max(np.abs(X))) if X.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return 1.0
    Xn = X / peak
    rms = float(np.sqrt(np.mean(np.var(Xn, axis=2))))
    return peak * rms if rms > 0.0 else peak


def _input_ndim(X):
    """The number of dimensions of an input (``None`` for a DataFrame or None)."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "iloc"):
        ndim = np.asarray(X, dtype=object).ndim if X is not None else None
    if ndim is not None and ndim > 3:
        raise ValueError(
            "X must be 2-D (n_trials, n_times) or 3-D (n_trials, n_channels, "
            f"n_times), got a {ndim}-D array."
        )
    if ndim == 3:
        shape = np.shape(X)
        if 0 in shape:
            raise ValueError(
                "X must have at least one trial, one channel and one sample; "
                f"got shape (n_trials, n_channels, n_times) = {shape}."
            )
    return ndim


def _as_fitted_layout(estimator, X, ndim):
    """``X`` (and its ndim) in the layout of the fit, checking its channels.

    A 2-D input stands for univariate signals, a 3-D one for multichannel ones:
    one channel passes from one layout to the other.
    """
    if estimator._fit_ndim == 2 and ndim == 3:
        X = np.asarray(X)
        if X.shape[1] != 1:
            raise ValueError(
                f"X has {X.shape[1]} channels, but CDLTransformer was "
                "fitted on univariate (2-D) signals."
            )
        return X[:, 0, :], 2
    if estimator._fit_ndim == 3 and ndim == 2:
        if estimator.n_channels_ != 1:
            raise ValueError(
                "X is 2-D (univariate signals), but CDLTransformer was "
                f"fitted on signals with {estimator.n_channels_} channels."
            )
        return np.asarray(X)[:, None, :], 3
    if ndim == 3:
        n_channels = np.asarray(X).shape[1]
        if n_channels != estimator.n_channels_:
            raise ValueError(
                f"X has {n_channels} channels, but CDLTransformer was "
                f"fitted on signals with {estimator.n_channels_} channels."
            )
    return X, ndim


def check_signals(estimator, X, reset):
    """``X`` as a float64 (n_trials, n_channels, n_times) array for ``estimator``.

    With ``reset`` (in fit), the layout of the input (2-D or 3-D) is recorded on
    the estimator; otherwise ``X`` must have the channels seen in fit.
    """
    ndim = _input_ndim(X)
    if not reset:
        X, ndim = _as_fitted_layout(estimator, X, ndim)
    X = validate_data(
        estimator,
        X,
        reset=reset,
        dtype=np.float64,
        allow_nd=ndim == 3,
        ensure_min_samples=1,
    )
    if X.ndim == 2:
        X = X[:, None, :]
    if reset:
        estimator._fit_ndim = ndim
    n_times, n_times_atom = X.shape[2], estimator.n_times_atom
    if n_times_atom > n_times:
        raise ValueError(
            f"n_times_atom={n_times_atom} is longer than the signals: X has "
            f"n_times={n_times} samples ({n_times} feature(s) for 2-D input). "
            "Use shorter atoms or longer signals."
        )
    return X


def check_activations(X, n_atoms, n_valid):
    """Activations for ``inverse_transform``: (n_trials, n_atoms, n_valid) floats.

    Flattened activations (``transform`` with ``pooling=None``) are reshaped.
    """
    z = np.asarray(X, dtype=np.float64)
    if z.ndim == 2:
        if z.shape[1] != n_atoms * n_valid:
            raise ValueError(
                f"inverse_transform expects activations of shape (n_trials, "
                f"{n_atoms}, n_times_valid) or flattened ones with "
                f"{n_atoms * n_valid} columns; got shape {z.shape}. Pooled "
                "features cannot be inverted."
            )
        z = z.reshape(z.shape[0], n_atoms, n_valid)
    if z.ndim != 3 or z.shape[1] != n_atoms:
        raise ValueError(
            f"inverse_transform expects activations of shape (n_trials, "
            f"{n_atoms}, n_times_valid); got shape {z.shape}."
        )
    if z.shape[0] == 0 or z.shape[2] == 0:
        raise ValueError(
            f"inverse_transform needs at least one trial of at least one "
            f"activation time; got activations of shape {z.shape}."
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("Activations contain NaN or infinity.")
    return z
