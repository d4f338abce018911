"""The set-up of :class:`~skdeep.neural.NystromNetClassifier` that needs no torch.

The checks of the parameters read at ``fit`` (kernels and bandwidths, the input
shape of the backbone, the widths of the MLP backbone) and the draw of the
landmarks among the training samples.
"""

from numbers import Integral, Real

import numpy as np

from ..utils._torch_base import _INFERENCE_BATCH
from ..utils._validation import check_tensor_size
from ..utils._warnings import warn

KERNELS = ("rbf", "laplacian", "linear", "chi2", "cosine", "arccos")
# Kernels with a bandwidth gamma (the others have none).
KERNELS_WITH_GAMMA = ("rbf", "laplacian", "chi2")
# n_landmarks="auto": all the training samples up to this many.
AUTO_LANDMARKS = 300
# Scaled inputs beyond this magnitude are brought back into range at prediction.
INPUT_BOUND = 1e6
# Channels of the "cnn" backbone's blocks.
CNN_CHANNELS = (32, 64)


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


def landmark_count(n_landmarks, n_samples):
    """The most landmarks ``n_landmarks`` can give on ``n_samples`` rows."""
    if n_landmarks == "auto":
        return min(AUTO_LANDMARKS, n_samples)
    return min(int(n_landmarks), n_samples)


def check_sizes(*, n_landmarks, n_kernels, n_features, rows, backbone,
                hidden_layer_sizes, input_shape, itemsize):
    """Refuse parameters whose largest tensor would pass the size limit.

    The tensors: the landmark kernel matrices and the metric
    (``n_kernels * n_landmarks ** 2`` entries), the kernel vectors of a batch
    (training ``rows``, or the inference batch), the weights and activations
    of the ``"mlp"`` backbone's layers and the activations of the ``"cnn"``
    backbone, for the landmarks and a batch.
    """
    m = n_landmarks
    check_tensor_size(
        itemsize * n_kernels * m * m,
        f"the landmark kernel matrices and metric ({n_kernels} x {m} x {m})",
        "n_landmarks",
    )
    batch = max(rows, _INFERENCE_BATCH)
    check_tensor_size(
        itemsize * n_kernels * batch * m,
        f"the kernel vectors of a batch ({batch} rows x {n_kernels * m})",
        "n_landmarks",
    )
    passes = max(rows, m)  # a batch, and the landmarks, through the backbone
    if isinstance(backbone, str) and backbone == "mlp":
        widths = [n_features, *hidden_layer_sizes]
        for a, b in zip(widths[:-1], widths[1:]):
            check_tensor_size(itemsize * a * b, f"a {a} x {b} weight matrix",
                              "hidden_layer_sizes")
            check_tensor_size(
                itemsize * passes * b,
                f"the activations of {passes} rows in a layer of width {b}",
                "hidden_layer_sizes",
            )
    elif isinstance(backbone, str) and backbone == "cnn":
        pixels = int(np.prod(input_shape[1:]))
        check_tensor_size(
            itemsize * passes * CNN_CHANNELS[0] * pixels,
            f"the activations of {passes} images of {pixels} pixels in "
            f"{CNN_CHANNELS[0]} channels",
            "batch_size",
        )


def scale_inputs(X, mean, scale, whole_rows, dtype):
    """``(X - mean) / scale`` as ``dtype``, entries beyond :data:`INPUT_BOUND`
    brought back into range.

    Computed in float64 as ``X / scale - mean / scale``, so that no
    intermediate overflows. With ``whole_rows`` (no backbone and l2-normalised
    features: the network only sees each row's direction) a row whose largest
    magnitude passes the bound is divided by a power of two that brings it
    below; else the entries are clipped to ``[-INPUT_BOUND, INPUT_BOUND]``
    (far from every landmark either way). Rows within the bound are left as
    they are.
    """
    Z = np.asarray(X, dtype=np.float64) / scale - np.asarray(mean) / scale
    top = np.abs(Z).max(axis=1) if Z.size else np.zeros(Z.shape[0])
    over = top > INPUT_BOUND
    if over.any():
        if whole_rows:
            _, exponent = np.frexp(top[over] / INPUT_BOUND)
            Z[over] = np.ldexp(Z[over], -exponent[:, None])
        else:
            Z = np.clip(Z, -INPUT_BOUND, INPUT_BOUND)
    return Z.astype(dtype, copy=False)


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
