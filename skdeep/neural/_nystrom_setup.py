"""The set-up of :class:`~skdeep.neural.NystromNetClassifier` that needs no torch.

The checks of the parameters read at ``fit`` (kernels and bandwidths, the input
shape of the backbone, the widths of the MLP backbone) and the draw of the
landmarks among the training samples.
"""

from numbers import Integral, Real

import numpy as np

from ..utils._warnings import warn

KERNELS = ("rbf", "laplacian", "linear", "chi2", "cosine")
# Kernels with a bandwidth gamma (the others have none).
KERNELS_WITH_GAMMA = ("rbf", "laplacian", "chi2")
# n_landmarks="auto": all the training samples up to this many.
AUTO_LANDMARKS = 100


def check_kernels(kernel, gamma):
    """The ``kernel`` parameter as a list, and one ``gamma`` (or None) per kernel."""
    kernels = [kernel] if isinstance(kernel, str) else list(kernel)
    if not kernels:
        raise ValueError("kernel must name at least one kernel, got an empty list.")
    for k in kernels:
        if k not in KERNELS:
            raise ValueError(
                f"kernel must be one of {list(KERNELS)} or a list of them, got {k!r}."
            )
    if gamma is None or isinstance(gamma, Real):
        return kernels, [gamma] * len(kernels)
    gammas = list(gamma)
    if len(gammas) != len(kernels):
        raise ValueError(
            f"gamma must be a float, None or one value per kernel; got "
            f"{len(gammas)} values for {len(kernels)} kernels."
        )
    for g in gammas:
        if g is not None and (
            not isinstance(g, Real) or isinstance(g, bool) or not g > 0
        ):
            raise ValueError(
                f"gamma values must be positive floats or None, got {g!r}."
            )
    return kernels, gammas


def check_input_shape(input_shape, backbone, n_features):
    """``input_shape`` as ``(C, H, W)`` (a 2-tuple gets one channel), or None."""
    if input_shape is None:
        if isinstance(backbone, str) and backbone == "cnn":
            raise ValueError(
                "backbone='cnn' needs input_shape=(C, H, W) or (H, W) to read "
                "the rows of X as images."
            )
        return None
    shape = tuple(input_shape)
    if len(shape) not in (2, 3) or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0
        for s in shape
    ):
        raise ValueError(
            "input_shape must be a tuple of 2 or 3 positive ints ((H, W) or "
            f"(C, H, W)), got {input_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"input_shape={shape} holds {int(np.prod(shape))} values but X has "
            f"{n_features} features."
        )
    return (1, *shape) if len(shape) == 2 else shape


def check_hidden_sizes(hidden_layer_sizes):
    """The widths of the MLP backbone as a list of positive ints."""
    sizes = np.atleast_1d(np.asarray(hidden_layer_sizes))
    if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu" or (
        sizes <= 0
    ).any():
        raise ValueError(
            "hidden_layer_sizes must be a non-empty sequence of positive ints, "
            f"got {hidden_layer_sizes!r}."
        )
    return [int(s) for s in sizes]


def draw_landmarks(X, y, sample_weight, n_landmarks, rng):
    """Indices of ``n_landmarks`` distinct rows of positive weight, by class.

    Candidates are the distinct rows of positive weight, in lexicographic order
    (so the draw depends on the set of rows, not on their order or
    repetitions). Each class gets its share of the landmarks in proportion to
    its number of candidates (largest remainders), and at least one when there
    are landmarks for every class; rows are drawn without replacement.
    ``n_landmarks="auto"`` takes every candidate up to :data:`AUTO_LANDMARKS`.
    """
    eligible = np.flatnonzero(sample_weight > 0)
    _, first = np.unique(X[eligible], axis=0, return_index=True)
    candidates = eligible[first]
    if n_landmarks == "auto":
        n_landmarks = min(AUTO_LANDMARKS, candidates.size)
    elif n_landmarks > candidates.size:
        warn(
            f"n_landmarks={n_landmarks} is larger than the {candidates.size} "
            "distinct training samples of positive weight; using "
            f"{candidates.size} landmarks.",
            UserWarning,
        )
        n_landmarks = candidates.size
    labels = y[candidates]
    present = np.unique(labels)
    counts = np.array([np.sum(labels == c) for c in present])
    quota = np.zeros(present.size, dtype=int)
    if n_landmarks >= present.size:
        quota[:] = 1
    target = n_landmarks * counts / counts.sum()
    while quota.sum() < n_landmarks:
        room = np.where(quota < counts, target - quota, -np.inf)
        quota[int(np.argmax(room))] += 1
    chosen = [
        rng.choice(candidates[labels == c], size=q, replace=False)
        for c, q in zip(present, quota)
        if q > 0
    ]
    return np.concatenate(chosen)
