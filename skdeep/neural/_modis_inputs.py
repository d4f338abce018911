"""The inputs of :class:`~skdeep.neural.MODISIntegrator`, without torch.

The modalities' column blocks of ``X`` and which of them every sample has, the
column-vector ``y`` warning, the default encoder widths and the training rows
("views": one per observed pair of a sample and a modality).
"""

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.exceptions import DataConversionWarning

from ..utils._torch import import_torch
from ..utils._validation import check_layer_sizes, power_of_two_scale
from ..utils._warnings import warn


def auto_hidden(n_features, n_components):
    """Two encoder widths shrinking from the input size towards the latent."""
    first = int(np.clip(n_features // 2, 2 * n_components, 512))
    second = int(np.clip(n_features // 4, 2 * n_components, first))
    return [first, second]


def encoder_widths(blocks, hidden_layer_sizes, n_components):
    """Hidden widths of every modality's encoder (``None``: :func:`auto_hidden`)."""
    if hidden_layer_sizes is not None:
        hidden = check_layer_sizes(hidden_layer_sizes, "hidden_layer_sizes",
                                   allow_empty=True)
    return [
        auto_hidden(len(cols), n_components)
        if hidden_layer_sizes is None
        else list(hidden)
        for cols in blocks
    ]


def fit_scaling(X):
    """Mean and scale of every column on the samples where it is observed.

    Computed on the column divided by a power of two near its largest observed
    magnitude (an exact division), so that neither the squares of the standard
    deviation overflow (data of order ``1e154`` and above) nor underflow (order
    ``1e-154`` and below): the standardised data are the same at every scale,
    and bit-for-bit those of the plain formulas on data of ordinary size. A
    column of (nearly) constant or no observed values gets that power of
    two as its scale (1 when it has no observed value).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        unit = power_of_two_scale(np.nanmax(np.abs(X), axis=0))
        Xu = X / unit
        mean_u = np.nanmean(Xu, axis=0)
        scale_u = np.nanstd(Xu, axis=0)
    constant = ~(scale_u > np.finfo(np.float64).eps * np.maximum(np.abs(mean_u), 1))
    scale = np.where(constant, unit, scale_u * unit)
    return mean_u * unit, scale


def ravel_column_y(y):
    """``y`` as an array; a column vector is raveled with a warning."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
        )
        y = y.ravel()
    return y


@dataclass(eq=False)
class Views:
    """The training rows of MODIS: one *view* per observed (sample, modality).

    ``Xs`` is the standardised input (0 where unobserved), ``present`` its
    observed entries, ``codes`` the class codes (-1 unlabeled); view ``i`` is
    sample ``sample[i]`` seen in modality ``modality[i]``.
    """

    Xs: np.ndarray
    present: np.ndarray
    codes: np.ndarray
    sample: np.ndarray
    modality: np.ndarray

    @property
    def n_views(self):
        return self.sample.size

    def tensors(self, index):
        """``(x, modality, y, present)`` tensors of the views ``index``."""
        torch = import_torch()
        rows = self.sample[index]
        return (
            torch.as_tensor(self.Xs[rows]),
            torch.as_tensor(self.modality[index], dtype=torch.long),
            torch.as_tensor(self.codes[rows], dtype=torch.long),
            torch.as_tensor(self.present[rows], dtype=torch.float32),
        )


def resolve_blocks(spec, n_features, feature_names=None):
    """Column indices of every modality from the ``modalities`` parameter.

    ``spec`` is None (one block of all the columns), block sizes, or one list
    of column indices or names (``feature_names``) per modality.
    """
    if spec is None:
        return [np.arange(n_features)]
    spec = list(spec)
    if not spec:
        raise ValueError("modalities must list at least one block, got [].")
    if all(isinstance(s, Integral) and not isinstance(s, bool) for s in spec):
        sizes = [int(s) for s in spec]
        if min(sizes) < 1:
            raise ValueError(f"modalities sizes must be positive, got {sizes}.")
        if sum(sizes) != n_features:
            raise ValueError(
                f"modalities sizes {sizes} sum to {sum(sizes)} but X has "
                f"{n_features} columns; the blocks must cover the columns "
                "exactly."
            )
        bounds = np.cumsum([0, *sizes])
        return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    blocks = []
    for block in spec:
        if isinstance(block, (str, bytes)) or not hasattr(block, "__len__"):
            raise TypeError(
                "modalities must be a list of block sizes or a list of column "
                f"lists, got an element {block!r}."
            )
        block = list(block)
        if not block:
            raise ValueError("modalities has an empty block.")
        if all(isinstance(c, str) for c in block):
            if feature_names is None:
                raise ValueError(
                    "modalities names columns but X has no column names; "
                    "pass a DataFrame or column indices."
                )
            lookup = {name: i for i, name in enumerate(feature_names)}
            missing = [c for c in block if c not in lookup]
            if missing:
                raise ValueError(
                    f"modalities names columns {missing} that X does not have."
                )
            blocks.append(np.array([lookup[c] for c in block], dtype=np.intp))
        elif all(
            isinstance(c, Integral) and not isinstance(c, bool) for c in block
        ):
            blocks.append(np.asarray(block, dtype=np.intp))
        else:
            raise TypeError(
                "each block of modalities must hold column indices (int) or "
                f"column names (str), got {block!r}."
            )
    every = np.concatenate(blocks)
    if every.min() < 0 or every.max() >= n_features or len(every) != n_features \
            or len(np.unique(every)) != n_features:
        raise ValueError(
            f"modalities blocks must cover the {n_features} columns of X "
            "exactly once (no column missing, repeated or out of range)."
        )
    return blocks

def observed_blocks(X, blocks, partial_blocks):
    """Boolean ``(n_samples, n_modalities)``: which blocks each row has."""
    observed = np.empty((X.shape[0], len(blocks)), dtype=bool)
    for m, cols in enumerate(blocks):
        nan = np.isnan(X[:, cols])
        all_nan = nan.all(axis=1)
        partial = nan.any(axis=1) & ~all_nan
        if partial.any() and partial_blocks == "error":
            row = int(np.flatnonzero(partial)[0])
            raise ValueError(
                f"X has NaN inside an observed block: sample {row} is measured "
                f"in modality {m} but has NaN in some of its columns; with "
                "partial_blocks='error' a block must be fully observed or "
                "fully NaN (impute it, or use partial_blocks='mask')."
            )
        observed[:, m] = ~all_nan
    empty = ~observed.any(axis=1)
    if empty.any():
        raise ValueError(
            f"X has {int(empty.sum())} sample(s) with no observed modality "
            f"(e.g. sample {int(np.flatnonzero(empty)[0])} is all NaN)."
        )
    return observed
