"""From CDL activations to MNE-style event arrays (the input of DriPP)."""

import numbers

import numpy as np


def activations_to_events(activations, threshold=0.0, *, event_ids=None, offset=0,
                          first_samp=0):
    """Turn activations into MNE-style event arrays, one per trial.

    Each activation of atom ``k`` larger than its threshold becomes one event
    ``(sample, 0, event_ids[k])``; the rows of a trial are sorted by sample. The
    result feeds :func:`skdeep.point_process.events_to_realisations`, with the
    stimulus events of the same trials stacked on (``np.vstack``), so that
    :class:`skdeep.point_process.DriPP` can tell which stimulus drives which atom
    and at what latency (the workflow of Allain et al. 2022).

    Parameters
    ----------
    activations : array-like of shape (n_trials, n_atoms, n_times_valid) or \
            (n_atoms, n_times_valid)
        Non-negative activations, e.g. from
        :meth:`CDLTransformer.transform_activations`; a 2-D array is one trial.
    threshold : float or array-like of shape (n_atoms,), default=0.0
        An activation is an event when it is strictly larger than the threshold
        of its atom. Activations are in the units of the signals times the
        atom's norm (1), so a fraction of the largest activation of each atom,
        e.g. ``0.3 * activations.max(axis=(0, 2))``, is a scale-free choice.
    event_ids : array-like of int of shape (n_atoms,), default=None
        Event id of each atom; ``None`` means ``1, ..., n_atoms``.
    offset : int or array-like of int of shape (n_atoms,), default=0
        Samples added to each activation time, e.g. the position of the peak of
        each atom (``np.abs(cdl.v_hat_).argmax(axis=1)``) so that the event marks
        the peak rather than the onset of the pattern.
    first_samp : int or array-like of int of shape (n_trials,), default=0
        Sample index of the first sample of each trial (MNE's ``first_samp``).

    Returns
    -------
    events : list of ndarray of shape (n_events, 3)
        One int64 array per trial with rows ``(sample, 0, event_id)``.

    See Also
    --------
    skdeep.point_process.events_to_realisations : Event arrays to DriPP input.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.decomposition import activations_to_events
    >>> z = np.zeros((1, 2, 10))
    >>> z[0, 0, 3], z[0, 1, 1], z[0, 1, 7] = 2.0, 0.05, 1.5
    >>> activations_to_events(z, threshold=0.1, event_ids=[10, 20])[0]
    array([[ 3,  0, 10],
           [ 7,  0, 20]])
    """
    z = _check_activations(activations)
    n_trials, n_atoms, _ = z.shape
    thresholds = _per_atom(threshold, "threshold", n_atoms).astype(np.float64)
    if not np.all(np.isfinite(thresholds)):
        raise ValueError(f"threshold must be finite; got {threshold!r}.")
    if event_ids is None:
        ids = np.arange(1, n_atoms + 1, dtype=np.int64)
    else:
        ids = _per_atom(event_ids, "event_ids", n_atoms, integer=True)
        if len(np.unique(ids)) != n_atoms:
            raise ValueError(f"event_ids must be distinct; got {event_ids!r}.")
    offsets = _per_atom(offset, "offset", n_atoms, integer=True)
    firsts = _per_trial_first_samp(first_samp, n_trials)

    events = []
    for n in range(n_trials):
        k, t = np.nonzero(z[n] > thresholds[:, None])
        samples = t + offsets[k] + firsts[n]
        rows = np.column_stack([samples, np.zeros_like(samples), ids[k]])
        order = np.lexsort((rows[:, 2], rows[:, 0]))
        events.append(rows[order].astype(np.int64).reshape(-1, 3))
    return events


def _check_activations(activations):
    """Activations as a finite float64 (n_trials, n_atoms, n_times_valid) array."""
    z = np.asarray(activations)
    if z.dtype.kind not in "biuf":
        raise ValueError(
            f"activations must hold real numbers; got dtype {z.dtype}."
        )
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3:
        raise ValueError(
            "activations must have shape (n_trials, n_atoms, n_times_valid) or "
            f"(n_atoms, n_times_valid); got shape {z.shape}."
        )
    if z.shape[1] == 0:
        raise ValueError("activations has no atom (shape[1] == 0).")
    z = z.astype(np.float64, copy=False)
    if not np.all(np.isfinite(z)):
        raise ValueError("activations contain NaN or infinity.")
    return z


def _per_atom(value, name, n_atoms, integer=False):
    """A scalar or one value per atom, as an (n_atoms,) array (int64 if integer)."""
    arr = np.asarray(value)
    if integer and arr.dtype.kind not in "iu":
        if arr.dtype.kind in "bf" and np.all(np.equal(np.mod(arr, 1), 0)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integers; got {value!r}.")
    if arr.ndim == 0:
        arr = np.full(n_atoms, arr)
    if arr.shape != (n_atoms,):
        raise ValueError(
            f"{name} must be a scalar or have one entry per atom "
            f"({n_atoms}); got shape {arr.shape}."
        )
    return arr.astype(np.int64) if integer else arr


def _per_trial_first_samp(first_samp, n_trials):
    """``first_samp`` as one int64 per trial."""
    if isinstance(first_samp, numbers.Integral):
        return np.full(n_trials, int(first_samp), dtype=np.int64)
    firsts = np.asarray(first_samp)
    if firsts.shape != (n_trials,) or firsts.dtype.kind not in "iu":
        raise ValueError(
            "first_samp must be an integer or one integer per trial "
            f"({n_trials}); got {first_samp!r}."
        )
    return firsts.astype(np.int64)
