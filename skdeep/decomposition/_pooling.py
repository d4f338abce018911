"""Pooling of activations into features for pipelines.

:meth:`CDLTransformer.transform` summarises the activations of each atom by a
few statistics in each of a few time windows (:func:`pool_activations`), so that
signals of any length give the same features.
"""

import numbers

import numpy as np

from ..utils._validation import check_array_arg

POOLING_STATS = {
    "max": ("max",),
    "mean": ("mean",),
    "sum": ("sum",),
    "count": ("count",),
    "stats": ("max", "mean", "count"),
}


def _window_weights(n_valid, n_windows, windows):
    """(n_valid, n_windows) weight of each sample in each window.

    ``"hard"``: consecutive equal windows (up to one sample). ``"triangular"``:
    windows centred on ``n_windows`` points spread evenly from the first to the
    last sample, each sample shared between its two nearest centres in
    proportion to its closeness, so the weights of a sample sum to 1 and a
    feature changes smoothly as an activation moves in time.
    """
    n_windows = min(n_windows, n_valid)
    if windows == "hard" or n_windows == 1:
        bounds = np.linspace(0, n_valid, n_windows + 1).round().astype(int)
        index = np.searchsorted(bounds, np.arange(n_valid), side="right") - 1
        return (index[:, None] == np.arange(n_windows)).astype(np.float64)
    # multiply first: a sample on a centre gets exactly 0 in the next window
    position = np.arange(n_valid) * (n_windows - 1) / (n_valid - 1)
    return np.maximum(0.0, 1.0 - np.abs(position[:, None] - np.arange(n_windows)))


def _check_pooling(z, pooling, n_windows, windows):
    if z.ndim != 3 or z.shape[2] == 0:
        raise ValueError(
            "activations must have shape (n_trials, n_atoms, n_times_valid) with "
            f"n_times_valid >= 1; got shape {z.shape}."
        )
    if pooling not in POOLING_STATS:
        raise ValueError(
            f"pooling must be one of {sorted(POOLING_STATS)}; got {pooling!r}."
        )
    if not isinstance(n_windows, numbers.Integral) or n_windows < 1:
        raise ValueError(f"n_windows must be a positive integer; got {n_windows!r}.")
    if windows not in ("triangular", "hard"):
        raise ValueError(
            f"windows must be 'triangular' or 'hard'; got {windows!r}."
        )


def pool_activations(activations, pooling="stats", n_windows=4, windows="triangular"):
    """Summarise activations per atom and time window into classifier features.

    Parameters
    ----------
    activations : array-like of shape (n_trials, n_atoms, n_times_valid)
        Non-negative activations, e.g. from
        :meth:`CDLTransformer.transform_activations`.
    pooling : {"stats", "max", "mean", "sum", "count"}, default="stats"
        Statistics per window: ``"stats"`` is the max, the mean and the rate of
        activations (fraction of nonzero samples); ``"count"`` the rate alone.
        With triangular windows the mean, the sum and the rate weigh each
        sample by its window weight, and the max is taken over the samples of
        nonzero weight.
    n_windows : int, default=4
        Number of time windows; at most ``n_times_valid`` are used.
    windows : {"triangular", "hard"}, default="triangular"
        ``"triangular"``: overlapping windows centred on ``n_windows`` points
        spread evenly from the first to the last sample, each sample shared
        between its two nearest centres in proportion to its closeness (the
        features move smoothly as an activation shifts in time, instead of
        jumping across a window border); ``"hard"``: consecutive equal windows
        (up to one sample). Both are the whole signal when ``n_windows=1``.

    Returns
    -------
    features : ndarray of shape (n_trials, n_atoms * n_windows * n_stats)
        Ordered by atom, then window, then statistic.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.decomposition import pool_activations
    >>> z = np.zeros((1, 1, 8))
    >>> z[0, 0, [1, 6]] = [2.0, 1.0]
    >>> pool_activations(z, "stats", n_windows=2, windows="hard")
    array([[2.  , 0.5 , 0.25, 1.  , 0.25, 0.25]])
    >>> pool_activations(z, "max", n_windows=3).round(3)  # centres 0, 3.5, 7
    array([[2., 2., 1.]])
    """
    z = check_array_arg(activations, "activations", ndim=3)
    _check_pooling(z, pooling, n_windows, windows)
    n_trials, n_atoms, n_valid = z.shape
    W = _window_weights(n_valid, n_windows, windows)  # (n_valid, n_windows)
    stats = POOLING_STATS[pooling]
    features = []
    if "max" in stats:
        support = W > 0
        features.append(np.stack(
            [z[:, :, col].max(axis=2) for col in support.T], axis=-1))
    if "mean" in stats or "sum" in stats:
        sums = z @ W
        features.append(sums / W.sum(axis=0) if "mean" in stats else sums)
    if "count" in stats:
        features.append((z > 0) @ W / W.sum(axis=0))
    # (n_trials, n_atoms, n_windows, n_stats), stats in the order of POOLING_STATS
    return np.stack(features, axis=-1).reshape(n_trials, -1)


def check_pooling_length(n_times, n_times_atom, n_windows, n_times_fit):
    """Signals of ``n_times`` samples must give the fit's number of windows."""
    n_valid = n_times - n_times_atom + 1
    n_valid_fit = n_times_fit - n_times_atom + 1
    if min(n_windows, n_valid) != min(n_windows, n_valid_fit):
        raise ValueError(
            f"X has {n_times} samples per signal: too few for the "
            f"{min(n_windows, n_valid_fit)} pooling windows of the fit "
            f"(at least {n_times_atom + n_windows - 1} needed)."
        )


def pooled_feature_names(n_atoms, n_windows, pooling):
    """``cdltransformer_atom{k}_window{j}_{statistic}``, in the features' order."""
    stats = ["rate" if s == "count" else s for s in POOLING_STATS[pooling]]
    return [f"cdltransformer_atom{k}_window{j}_{s}"
            for k in range(n_atoms) for j in range(n_windows) for s in stats]
