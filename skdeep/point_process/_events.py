"""Conversion of MNE-style event arrays to DriPP's realisations."""

import numbers

import numpy as np


def _as_ids(value, name):
    if isinstance(value, numbers.Integral):
        return [int(value)]
    try:
        ids = [int(v) for v in value]
    except TypeError as exc:
        raise TypeError(f"{name} must be an int or a sequence of ints.") from exc
    if not ids:
        raise ValueError(f"{name} must not be empty.")
    return ids


def events_to_realisations(events, sfreq, target_id, driver_ids, first_samp=0):
    """Convert MNE-style event arrays to the input of DriPP.

    An MNE events array has one row ``(sample, previous_value, event_id)`` per
    event. The samples of the target id(s) and of each driver's id(s) become event
    times in seconds, ``(sample - first_samp) / sfreq``, sorted. No MNE
    dependency is needed.

    Parameters
    ----------
    events : array-like of shape (n_events, 3), or a list of them
        One events array per recording (each becomes one realisation).
    sfreq : float
        Sampling frequency, in Hz.
    target_id : int or sequence of int
        Event id(s) of the target process (e.g. the activations of an atom).
    driver_ids : sequence
        One entry per driver: an event id, or a sequence of ids pooled into that
        driver.
    first_samp : int or sequence of int, default=0
        Sample of time zero of each recording (MNE's ``raw.first_samp``).

    Returns
    -------
    X : list of realisations
        ``[[target, driver_1, ..., driver_P], ...]``, one per recording.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.point_process import events_to_realisations
    >>> events = np.array([[100, 0, 1], [130, 0, 5], [300, 0, 2], [320, 0, 5]])
    >>> X = events_to_realisations(events, sfreq=100.0, target_id=5,
    ...                            driver_ids=[1, 2])
    >>> [times.tolist() for times in X[0]]
    [[1.3, 3.2], [1.0], [3.0]]
    """
    if isinstance(events, np.ndarray) or (
        len(events) and np.ndim(events[0]) == 1
    ):
        recordings = [events]
    else:
        recordings = list(events)
    sfreq = float(sfreq)
    if not np.isfinite(sfreq) or sfreq <= 0:
        raise ValueError(f"sfreq must be positive, got {sfreq}.")
    targets = _as_ids(target_id, "target_id")
    if isinstance(driver_ids, numbers.Integral):
        driver_ids = [driver_ids]
    drivers = [_as_ids(ids, f"driver_ids[{p}]") for p, ids in enumerate(driver_ids)]
    if not drivers:
        raise ValueError("driver_ids must name at least one driver.")
    firsts = np.broadcast_to(np.asarray(first_samp), (len(recordings),))
    X = []
    for r, rec in enumerate(recordings):
        rec = np.asarray(rec)
        if rec.ndim != 2 or rec.shape[1] != 3:
            raise ValueError(
                f"events[{r}] must have shape (n_events, 3), got {rec.shape}."
            )
        times = (rec[:, 0].astype(np.float64) - float(firsts[r])) / sfreq
        if np.any(times < 0):
            raise ValueError(
                f"events[{r}] has samples before first_samp={int(firsts[r])}."
            )
        realisation = []
        for ids in (targets, *drivers):
            realisation.append(np.sort(times[np.isin(rec[:, 2], ids)]))
        X.append(realisation)
    return X
