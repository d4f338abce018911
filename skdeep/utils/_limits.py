"""Bounds on sizes and scales: refuse before allocating, rescale without overflow.

The simulators refuse arrays above :data:`MAX_SIMULATED_ENTRIES` entries and the
deep estimators tensors above :data:`MAX_TENSOR_BYTES`, with a message naming
the argument to reduce; the scale helpers bring data of any finite magnitude to
order one exactly (by powers of two).
"""

import numbers

import numpy as np

# The largest array a simulator may allocate, in entries (800 MB of float64).
MAX_SIMULATED_ENTRIES = 10**8

def check_simulation_size(n_entries, description, cap=MAX_SIMULATED_ENTRIES):
    """Refuse a simulation whose largest array would pass ``cap`` entries.

    Called before any allocation, so that a typo (``n_samples=10**9``) fails at
    once with a clear message rather than after minutes of swapping.

    Parameters
    ----------
    n_entries : int
        Number of entries of the largest array the simulation allocates.
    description : str
        What the array is, in terms of the arguments (e.g.
        ``"n_samples * n_features"``), used in the message.
    cap : int, default=MAX_SIMULATED_ENTRIES
        The largest accepted number of entries.

    Raises
    ------
    ValueError
        When ``n_entries > cap``.
    """
    if n_entries > cap:
        raise ValueError(
            f"{description} = {n_entries:,} exceeds the cap of {cap:,} entries "
            f"({cap * 8 / 1e9:.1f} GB of float64); reduce these arguments."
        )


# --- Sizes and scales of the deep estimators -------------------------------------

# The largest single tensor a parameter of a deep estimator may make it allocate
# (a landmark kernel matrix, a layer's weights or activations): 4 GiB.
MAX_TENSOR_BYTES = 4 * 2**30


def check_tensor_size(n_bytes, description, parameter, cap=MAX_TENSOR_BYTES):
    """Refuse a parameter setting whose largest tensor would pass ``cap`` bytes.

    Called at ``fit`` before anything is allocated, so that ``n_landmarks=10**5``
    fails at once instead of after swapping.

    Parameters
    ----------
    n_bytes : int
        Estimated size of the tensor, in bytes.
    description : str
        What the tensor is, in terms of the parameters.
    parameter : str
        The parameter to reduce, named in the message.
    cap : int, default=MAX_TENSOR_BYTES
        The largest accepted size in bytes.

    Raises
    ------
    ValueError
        When ``n_bytes > cap``.
    """
    if n_bytes > cap:
        raise ValueError(
            f"{parameter} is too large: {description} would take about "
            f"{n_bytes / 2**30:,.1f} GiB, above the limit of "
            f"{cap / 2**30:.0f} GiB per tensor; reduce {parameter}."
        )


def check_layer_sizes(sizes, name, *, allow_empty=False):
    """Layer widths as a list of positive ints; a clear error naming ``name``."""
    array = np.atleast_1d(np.asarray(sizes, dtype=object))
    valid = array.ndim == 1 and (allow_empty or array.size > 0) and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
        for s in array
    )
    if not valid:
        raise ValueError(
            f"{name} must be a {'' if allow_empty else 'non-empty '}sequence of "
            f"positive ints, got {sizes!r}."
        )
    return [int(s) for s in array]


def power_of_two_scale(value):
    """The largest power of two not above ``value`` (1.0 for 0, NaN or inf).

    Dividing by it is exact in floating point, so data already of order one
    (``1 <= value < 2``) are left bit-for-bit unchanged.
    """
    value = np.asarray(value, dtype=np.float64)
    mantissa, exponent = np.frexp(np.where(np.isfinite(value) & (value > 0),
                                           value, 1.0))
    return np.ldexp(1.0, exponent - 1)


def max_abs_scale(X):
    """``max |X|`` over the finite entries (NaN ignored); 1.0 when it is 0.

    A scale of the data that cannot overflow: dividing by it brings every entry
    into ``[-1, 1]``, where squares and sums of squares stay finite.
    """
    X = np.asarray(X)
    finite = np.abs(X[np.isfinite(X)]) if X.size else np.zeros(0)
    scale = float(finite.max()) if finite.size else 0.0
    return scale if scale > 0 else 1.0


def check_step_size(value, name, dtype):
    """Refuse a learning rate that the network's ``dtype`` cannot hold."""
    top = float(np.finfo(dtype).max)
    if not value < top:
        raise ValueError(
            f"{name}={value!r} is too large for a {np.dtype(dtype).name} network "
            f"(at most {top:.3g}; useful values are far smaller); lower {name}."
        )
