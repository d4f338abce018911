"""Simulated low-rank tensors with missing entries, for tensor completion."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ..utils._tensor_algebra import MODELS, reconstruct, resolve_ranks
from ..utils._validation import check_simulation_size


def make_low_rank_tensor(
    shape=(20, 20, 20),
    ranks=3,
    model="tucker",
    observed_fraction=0.1,
    noise=0.0,
    random_state=None,
):
    """Generate a low-rank tensor and a copy with most entries missing.

    The truth is a Tucker, CP or tensor-train tensor with Gaussian core(s) and
    factors, scaled to unit root mean square. A uniformly drawn fraction of its
    entries is observed (with additive Gaussian noise of standard deviation
    ``noise``); the others are ``NaN``. Every slice along axis 0 keeps at least
    one observed entry, so the result can be passed to
    :class:`~skdeep.tensor.TensorCompleter` directly.

    Parameters
    ----------
    shape : tuple of int, default=(20, 20, 20)
        Shape of the tensor, order 2 or more (order 2 gives a matrix).
    ranks : int or tuple of int, default=3
        Tucker ranks (one per mode), the CP rank (one int), or the TT ranks
        (``order - 1`` inner ranks). An int is used for every mode.
    model : {"tucker", "cp", "tt"}, default="tucker"
        The low-rank model of the truth.
    observed_fraction : float in (0, 1], default=0.1
        Fraction of the entries that are observed.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to the observed entries
        (the truth has unit root mean square).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape ``shape``
        The observed tensor, ``NaN`` where missing.
    X_true : ndarray of shape ``shape``
        The noise-free, complete low-rank tensor.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.datasets import make_low_rank_tensor
    >>> X, X_true = make_low_rank_tensor((10, 8, 6), ranks=2, random_state=0)
    >>> X.shape, round(float(np.isnan(X).mean()), 2)
    ((10, 8, 6), 0.9)
    """
    # int(2.5) would silently truncate a size: accept integers only
    try:
        sizes = list(shape)
    except TypeError as exc:
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}.") from exc
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in sizes
    ):
        raise TypeError(f"shape must hold integers, got {shape!r}.")
    shape = tuple(int(n) for n in sizes)
    if len(shape) < 2 or any(n < 1 for n in shape):
        raise ValueError(
            f"shape must have at least 2 positive sizes, got {shape}."
        )
    check_simulation_size(int(np.prod(shape, dtype=np.float64)), "prod(shape)")
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}.")
    ranks, _, tt_ranks = resolve_ranks(ranks, shape, model)
    if (
        not isinstance(observed_fraction, numbers.Real)
        or isinstance(observed_fraction, bool)
        or not 0 < observed_fraction <= 1
    ):
        raise ValueError(
            f"observed_fraction must be a float in (0, 1], got {observed_fraction!r}."
        )
    if (
        not isinstance(noise, numbers.Real)
        or isinstance(noise, bool)
        or not np.isfinite(noise)
        or noise < 0
    ):
        raise ValueError(
            f"noise must be a finite, non-negative float, got {noise!r}."
        )
    rng = check_random_state(random_state)

    if model == "tucker":
        core = rng.standard_normal(ranks)
        factors = [rng.standard_normal((n, r)) for n, r in zip(shape, ranks)]
        truth = reconstruct("tucker", factors, core)
    elif model == "cp":
        factors = [rng.standard_normal((n, ranks[0])) for n in shape]
        truth = reconstruct("cp", factors)
    else:
        factors = [
            rng.standard_normal((n, tt_ranks[k] * tt_ranks[k + 1]))
            for k, n in enumerate(shape)
        ]
        truth = reconstruct("tt", factors, tt_ranks=tt_ranks)
    truth /= np.sqrt(np.mean(truth**2))

    size = truth.size
    n_observed = max(int(round(observed_fraction * size)), shape[0])
    observed = np.zeros(size, dtype=bool)
    # one entry in every slice along axis 0, the rest uniformly at random
    slice_size = size // shape[0]
    firsts = np.arange(shape[0]) * slice_size + rng.randint(slice_size, size=shape[0])
    observed[firsts] = True
    rest = rng.permutation(np.flatnonzero(~observed))[: n_observed - shape[0]]
    observed[rest] = True
    observed = observed.reshape(shape)

    X = truth + noise * rng.standard_normal(shape)
    X[~observed] = np.nan
    return X, truth
