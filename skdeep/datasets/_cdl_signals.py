"""Simulated signals for convolutional dictionary learning."""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._validation import check_simulation_size

ATOM_SHAPES = ("triangle", "square", "sin", "gabor", "chirp")


def _atom(shape, n_times_atom, index):
    t = np.linspace(0.0, 1.0, n_times_atom)
    if shape == "triangle":
        v = 1.0 - np.abs(2.0 * t - 1.0)
    elif shape == "square":
        v = np.where((t > 0.2) & (t < 0.8), 1.0, 0.0)
    elif shape == "sin":
        v = np.sin(2.0 * np.pi * t)
    elif shape == "gabor":
        # extra atoms past the named shapes are Gabor atoms of growing frequency
        n_cycles = 3 + max(0, index - len(ATOM_SHAPES) + 1)
        v = np.exp(-0.5 * ((t - 0.5) / 0.15) ** 2) * np.cos(2 * np.pi * n_cycles * t)
    else:  # chirp
        v = np.sin(2.0 * np.pi * (1.0 * t + 2.0 * t**2)) * np.hanning(n_times_atom)
    return v / np.linalg.norm(v)


@validate_params(
    {
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_times": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_atoms": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_times_atom": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_events": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
        "atom_shapes": [list, tuple, StrOptions(set(ATOM_SHAPES)), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_cdl_signals(
    n_trials=10,
    n_channels=5,
    n_times=2000,
    n_atoms=3,
    n_times_atom=64,
    n_events=None,
    noise_level=0.1,
    atom_shapes=None,
    random_state=None,
):
    """Simulate signals of rank-1 atoms triggered by sparse non-negative activations.

    Each trial is ``X_n = sum_k (u_k v_k^T) * z_nk + noise``: ``u_k`` a random unit
    spatial map over the channels, ``v_k`` a unit-norm temporal atom of a chosen
    shape, and ``z_nk`` a sparse non-negative activation signal with ``n_events``
    spikes of amplitude uniform in ``[1, 2]`` at random times, as in the simulations
    of Dupré la Tour et al. (2018). The noise is white and Gaussian.

    Parameters
    ----------
    n_trials : int, default=10
        Number of signals.
    n_channels : int, default=5
        Number of channels (1 for univariate signals).
    n_times : int, default=2000
        Length of each signal.
    n_atoms : int, default=3
        Number of atoms.
    n_times_atom : int, default=64
        Length of each atom; at most ``n_times``.
    n_events : int, default=None
        Activations per atom and trial; ``None`` means
        ``max(1, n_times // (4 * n_times_atom))``.
    noise_level : float, default=0.1
        Standard deviation of the noise relative to the standard deviation of the
        clean signals.
    atom_shapes : str or list of str, default=None
        Shapes among ``"triangle"``, ``"square"``, ``"sin"``, ``"gabor"`` and
        ``"chirp"``, one per atom; ``None`` cycles through them (Gabor atoms of
        growing frequency past the fifth atom).
    random_state : int, RandomState instance or None, default=None
        Seed of the spatial maps, the activations and the noise.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        The noisy signals.
    u : ndarray of shape (n_atoms, n_channels)
        Spatial maps, unit norm.
    v : ndarray of shape (n_atoms, n_times_atom)
        Temporal atoms, unit norm.
    z : ndarray of shape (n_trials, n_atoms, n_times - n_times_atom + 1)
        Activations.

    Raises
    ------
    ValueError
        When a size is not positive, ``n_times_atom > n_times``, ``n_events``
        exceeds the possible onsets, ``noise_level`` is negative, ``NaN`` or
        infinite, ``atom_shapes`` names an unknown shape or has not
        ``n_atoms`` entries, or the signals or activations would pass 10**8
        entries (800 MB of float64).
    TypeError
        When an argument has the wrong type (e.g. a float ``n_times``).

    References
    ----------
    .. [1] T. Dupré la Tour, T. Moreau, M. Jas and A. Gramfort, "Multivariate
       convolutional sparse coding for electromagnetic brain signals", NeurIPS 2018.

    Examples
    --------
    >>> from skdeep.datasets import make_cdl_signals
    >>> X, u, v, z = make_cdl_signals(n_trials=2, n_channels=3, n_times=300,
    ...                               n_atoms=2, n_times_atom=20, random_state=0)
    >>> X.shape, u.shape, v.shape, z.shape
    ((2, 3, 300), (2, 3), (2, 20), (2, 2, 281))
    """
    if n_times_atom > n_times:
        raise ValueError(
            f"n_times_atom={n_times_atom} must not exceed n_times={n_times}."
        )
    if atom_shapes is None:
        atom_shapes = [
            ATOM_SHAPES[k] if k < len(ATOM_SHAPES) else "gabor" for k in range(n_atoms)
        ]
    elif isinstance(atom_shapes, str):
        atom_shapes = [atom_shapes] * n_atoms
    atom_shapes = list(atom_shapes)
    not_str = [s for s in atom_shapes if not isinstance(s, str)]
    if not_str:
        raise TypeError(
            f"atom_shapes must hold shape names (str) among {ATOM_SHAPES}, got "
            f"{not_str[0]!r}."
        )
    if len(atom_shapes) != n_atoms:
        raise ValueError(
            f"atom_shapes must have n_atoms={n_atoms} entries, got {len(atom_shapes)}."
        )
    unknown = set(atom_shapes) - set(ATOM_SHAPES)
    if unknown:
        raise ValueError(
            f"Unknown atom_shapes {sorted(unknown)}; expected some of {ATOM_SHAPES}."
        )
    n_times_valid = n_times - n_times_atom + 1
    check_simulation_size(
        n_trials * max(n_channels, n_atoms) * n_times,
        "n_trials * max(n_channels, n_atoms) * n_times",
    )
    rng = check_random_state(random_state)
    if n_events is None:
        n_events = max(1, n_times // (4 * n_times_atom))
    if n_events > n_times_valid:
        raise ValueError(
            f"n_events={n_events} exceeds the {n_times_valid} possible onsets."
        )

    v = np.stack([_atom(s, n_times_atom, k) for k, s in enumerate(atom_shapes)])
    u = rng.standard_normal((n_atoms, n_channels))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    z = np.zeros((n_trials, n_atoms, n_times_valid))
    for n in range(n_trials):
        for k in range(n_atoms):
            onsets = rng.choice(n_times_valid, size=n_events, replace=False)
            z[n, k, onsets] = rng.uniform(1.0, 2.0, size=n_events)

    X = np.zeros((n_trials, n_channels, n_times))
    for k in range(n_atoms):
        zv = np.stack([np.convolve(z[n, k], v[k]) for n in range(n_trials)])
        X += u[k][None, :, None] * zv[:, None, :]
    scale = X.std()
    X += noise_level * (scale if scale > 0 else 1.0) * rng.standard_normal(X.shape)
    return X, u, v, z
