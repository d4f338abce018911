"""Held-out units that mirror the missingness, and the mean-fill baseline.

Early stopping judges a fit on observed data held out of training. Those data
must be missing the way the real gaps are: when whole fibres are missing (all
the channels of a pixel, all the entries of a feature), an entry held out alone
keeps the rest of its fibre in training and its error is optimistic; the fit
is then never stopped before it overfits the gaps. :func:`missingness_units`
reads the structure off the mask and groups the observed entries into the units
held out together: whole fibres along the modes where the missing entries
come in whole fibres, single entries otherwise.

:class:`MeanFill` is the simple baseline of the guard: the mean of every column
of the mode-0 unfolding (the mean over the samples of each entry of a sample,
what :class:`~sklearn.impute.SimpleImputer` fills in), fitted on the training
entries only.
"""

import numpy as np

from ..utils._validation import validation_split
from ._model import ObservedEntries

# A mode is fibre-structured when at least this share of the missing entries
# lies in fibres along it that are missing as a whole ...
_MIN_WHOLE_SHARE = 0.9
# ... and that share is at least this far from the share under missingness
# at random (``p ** (n_k - 1)`` at a missing rate ``p``), in units of the
# distance from that share to 1.
_MIN_EXCESS = 0.5
# The guard blends in the baseline when the model is worse on the held-out
# units, or when the blend's least-squares weight is worth its one parameter:
# it lowers the held-out squared error by more than this many units' share
# (Akaike's criterion, 2 per parameter: under a model as good as can be, the
# least-squares weight of a baseline unrelated to its residual lowers the
# squared error by about one unit's share, noise of the split).
AIC_UNITS = 2.0


def _whole_share(missing, mode):
    """Share of the missing entries lying in fibres along ``mode`` missing whole."""
    whole = np.all(missing, axis=mode, keepdims=True)
    return float(np.sum(whole) * missing.shape[mode]) / max(int(missing.sum()), 1)


def structured_modes(observed):
    """The modes along which the missing entries come in whole fibres.

    Parameters
    ----------
    observed : ndarray of bool
        Mask of the observed entries of the tensor.

    Returns
    -------
    modes : tuple of int
        Empty when the entries are missing one by one (or nothing is missing).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._holdout import structured_modes
    >>> rng = np.random.RandomState(0)
    >>> pixels = np.repeat(rng.uniform(size=(40, 50, 1)) < 0.2, 3, axis=2)
    >>> structured_modes(pixels)  # whole pixels (all 3 channels) missing
    (2,)
    >>> structured_modes(rng.uniform(size=(40, 50, 3)) < 0.2)
    ()
    """
    missing = ~observed
    n_missing = int(missing.sum())
    if n_missing == 0 or n_missing == missing.size:
        return ()
    rate = n_missing / missing.size
    modes = []
    for mode, size in enumerate(missing.shape):
        if size < 2:
            continue
        share = _whole_share(missing, mode)
        at_random = rate ** (size - 1)
        if share >= max(_MIN_WHOLE_SHARE, at_random + _MIN_EXCESS * (1 - at_random)):
            modes.append((share, mode))
    if len(modes) == missing.ndim:  # keep one: the units must differ
        modes = [max(modes)]
    return tuple(sorted(mode for _, mode in modes))


def missingness_units(observed):
    """Unit of every observed entry (in C order), and what the units are.

    Parameters
    ----------
    observed : ndarray of bool
        Mask of the observed entries.

    Returns
    -------
    units : ndarray of int of shape (n_observed,)
        The unit of each observed entry, ``0 .. n_units - 1``: the index of its
        fibre along the :func:`structured_modes` (all its entries held out
        together), or the entry itself.
    description : str
        ``"entries"`` or ``"fibres along mode(s) ..."``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._holdout import missingness_units
    >>> observed = np.array([[[1, 1], [0, 0]], [[1, 1], [1, 1]]], dtype=bool)
    >>> units, what = missingness_units(observed)
    >>> units.tolist(), what
    ([0, 0, 1, 1, 2, 2], 'fibres along mode(s) (2,)')
    """
    modes = structured_modes(observed)
    if not modes:
        return np.arange(int(observed.sum())), "entries"
    kept = [k for k in range(observed.ndim) if k not in modes]
    # the index of an entry on the other modes names its fibre
    index = np.unravel_index(np.flatnonzero(observed), observed.shape)
    fibre = np.ravel_multi_index(
        tuple(index[k] for k in kept), tuple(observed.shape[k] for k in kept)
    )
    _, units = np.unique(fibre, return_inverse=True)
    return units.ravel(), f"fibres along mode(s) {modes}"


def split_observed(observed, flat, values, fraction, rng):
    """Training and held-out :class:`~._model.ObservedEntries`, and the units.

    ``round(fraction * n_units)`` of the :func:`missingness_units` of the mask
    ``observed`` are held out (by the package's
    :func:`~skdeep.utils._validation.validation_split`, drawn from ``rng``);
    ``flat`` and ``values`` are the flat indices and values of the observed
    entries. Returns ``(train, held_out, description, n_held_units)``.
    """
    units, description = missingness_units(observed)
    n_units = int(units.max()) + 1
    _, held_units = validation_split(n_units, fraction, rng)
    held = np.zeros(n_units, dtype=bool)
    held[held_units] = True
    held = held[units]
    train, held_out = (
        ObservedEntries(flat[part], values[part], observed.shape)
        for part in (~held, held)
    )
    return train, held_out, description, int(held_units.size)


class MeanFill:
    """The mean of every column of the mode-0 unfolding, from some entries.

    Parameters
    ----------
    entries : ObservedEntries
        The entries it is fitted on (values on the scale of the fit).

    Attributes
    ----------
    column_means : ndarray of shape (n_columns,)
        The mean of each column's entries (what
        :class:`~sklearn.impute.SimpleImputer` fills in; no shrinkage towards
        the global mean, which is far from a column's on data whose columns
        have different levels, such as the bands of a spectral image), the
        global mean for a column without entries.
    """

    def __init__(self, entries):
        n_columns = entries.unfolded_shape[1]
        total = np.bincount(entries.cols, weights=entries.values, minlength=n_columns)
        count = np.bincount(entries.cols, minlength=n_columns)
        mean = float(entries.values.mean()) if entries.size else 0.0
        self.column_means = np.full(n_columns, mean)
        seen = count > 0
        self.column_means[seen] = total[seen] / count[seen]

    def predict(self, entries):
        """The baseline at the entries."""
        return self.column_means[entries.cols]


def shrinkage(model, baseline, values):
    """Weight ``w`` in ``[0, 1]`` of the baseline minimising the squared error.

    ``(1 - w) model + w baseline`` closest to ``values`` (least squares);
    ``0`` when the model and the baseline agree.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._holdout import shrinkage
    >>> values = np.array([1.0, 2.0, 3.0])
    >>> float(shrinkage(values, np.zeros(3), values))  # the model is exact
    0.0
    >>> float(shrinkage(np.zeros(3), values, values))  # the baseline is
    1.0
    """
    gap = baseline - model
    denominator = float(gap @ gap)
    if denominator == 0.0:
        return 0.0
    return float(np.clip(gap @ (values - model) / denominator, 0.0, 1.0))


def guard(model, baseline, values, n_units=None, tol=0.0):
    """The guard's decision on the held-out values.

    ``model`` and ``baseline`` are predictions of held-out ``values`` by
    predictors fitted without them. Returns ``(weight, model_error,
    baseline_error, blend_error)``: the relative errors of the model and of
    the baseline at ``values``; the weight of the baseline, the
    :func:`shrinkage` (least-squares) weight when the model's error is above
    the baseline's, or when the blend lowers the model's squared error by
    more than the share ``AIC_UNITS / n_units`` (``n_units``: the number of
    independent units held out, the entries by default) and its relative
    error by more than ``tol`` (the resolution of the fit: the residual of
    a converged fit is systematic, and a tiny weight would fit it), else 0
    (two predictors whose errors differ are better blended: a model about
    as good as the baseline is shrunk too, not only a worse one); and the
    error of the blend ``(1 - weight) model +
    weight baseline`` (at most the lower of the two).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._holdout import guard
    >>> values = np.array([1.0, -1.0, 2.0])
    >>> weight, *errors = guard(-values, np.zeros(3), values)  # worse than 0
    >>> float(weight), [round(float(e), 3) for e in errors]
    (1.0, [2.0, 1.0, 1.0])
    """
    norm = np.linalg.norm(values) or 1.0
    model_error = np.linalg.norm(model - values) / norm
    baseline_error = np.linalg.norm(baseline - values) / norm
    weight = shrinkage(model, baseline, values)
    blend = model + weight * (baseline - model)
    blend_error = np.linalg.norm(blend - values) / norm
    n_units = values.size if n_units is None else n_units
    gain = 1.0 - (blend_error / model_error) ** 2 if model_error > 0 else 0.0
    worth_it = (gain > AIC_UNITS / max(n_units, 1)
                and model_error - blend_error > tol)
    if model_error <= baseline_error and not worth_it:
        weight, blend_error = 0.0, model_error
    return weight, float(model_error), float(baseline_error), float(blend_error)
