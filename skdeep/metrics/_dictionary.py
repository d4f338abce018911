"""Recovery score of a learned dictionary of temporal atoms."""

import numpy as np
from scipy.signal import fftconvolve
from sklearn.utils._param_validation import validate_params

from ..utils._matching import hungarian_match
from ..utils._validation import check_array_arg


def _as_atoms(D, name):
    D = check_array_arg(D, name)
    if D.ndim == 2:
        D = D[:, None, :]
    if D.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_atoms, n_times_atom) or "
            f"(n_atoms, n_channels, n_times_atom), got shape {D.shape}."
        )
    return D


@validate_params(
    {"D_true": ["array-like"], "D_est": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def dictionary_recovery_score(D_true, D_est):
    """Matched, shift- and sign-invariant correlation of true and learned atoms.

    For each pair of a true atom and an estimated atom, the score is the largest
    absolute normalised cross-correlation over all time shifts (summed over
    channels for multivariate atoms), so an atom found shifted in time or with its
    sign flipped still scores 1. True and estimated atoms are then paired one to one
    by the Hungarian algorithm and the pair scores are averaged over the true
    atoms; a true atom left without a partner (fewer estimated atoms) counts 0.

    Parameters
    ----------
    D_true : array-like of shape (n_atoms, n_times_atom) or \
            (n_atoms, n_channels, n_times_atom)
        True atoms. Rank-1 atoms are ``u[:, :, None] * v[:, None, :]``.
    D_est : array-like of shape (n_atoms_est, n_times_atom_est) or \
            (n_atoms_est, n_channels, n_times_atom_est)
        Estimated atoms, with the same number of channels as ``D_true``; the atom
        lengths may differ.

    Returns
    -------
    score : float
        In ``[0, 1]``; 1 when every true atom is recovered up to a shift, a sign and
        a scale.

    Raises
    ------
    ValueError
        When the atoms are not 2-D or 3-D, are empty, complex, not numeric or not
        finite, or when ``D_true`` and ``D_est`` have different numbers of
        channels.
    TypeError
        When the atoms are sparse.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.metrics import dictionary_recovery_score
    >>> t = np.linspace(0, 1, 32)
    >>> D = np.stack([np.sin(2 * np.pi * t), np.abs(t - 0.5)])
    >>> D_est = -np.pad(D, ((0, 0), (5, 0)))[::-1]  # delayed, flipped, reordered
    >>> round(dictionary_recovery_score(D, D_est), 6)
    1.0
    """
    D_true = _as_atoms(D_true, "D_true")
    D_est = _as_atoms(D_est, "D_est")
    if D_true.shape[1] != D_est.shape[1]:
        raise ValueError(
            f"D_true and D_est have different numbers of channels: "
            f"{D_true.shape[1]} and {D_est.shape[1]}."
        )
    # the score is invariant to each atom's scale: rescale every atom to a
    # largest entry of one, so that atoms near 1e-300 or 1e300 neither
    # underflow nor overflow in the products below (zero atoms stay zero)
    D_true, D_est = _unit_peak(D_true), _unit_peak(D_est)
    corr = fftconvolve(
        D_true[:, None, :, :], D_est[None, :, :, ::-1], mode="full", axes=-1
    ).sum(axis=2)
    norms = np.sqrt(np.sum(D_true**2, axis=(1, 2)))[:, None] * np.sqrt(
        np.sum(D_est**2, axis=(1, 2))
    )[None, :]
    # a zero atom correlates with nothing
    score = np.divide(
        np.abs(corr).max(axis=-1), norms, out=np.zeros_like(norms), where=norms > 0
    )
    score = np.clip(score, 0.0, 1.0)
    rows, cols = hungarian_match(score, maximize=True)
    return float(score[rows, cols].sum() / D_true.shape[0])


def _unit_peak(D):
    """Each atom divided by its largest absolute entry (zero atoms unchanged)."""
    peak = np.max(np.abs(D), axis=(1, 2), keepdims=True)
    return D / np.where(peak > 0, peak, 1.0)
