"""DriPP's input layer: validation of realisations, the pairs inside the kernel
support, and the conversion of MNE-style event arrays."""

import numbers

import numpy as np

from ..utils._event_pairs import find_pairs


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


def _as_times(values, name):
    try:
        raw = np.asarray(values)
        if np.iscomplexobj(raw):
            raise TypeError(
                f"{name} must hold real event times, got complex values (dtype "
                f"{raw.dtype})."
            )
        times = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if "complex" in str(exc):
            raise
        raise TypeError(f"{name} must be a 1-D array of event times.") from exc
    if times.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of event times, got shape {times.shape}."
        )
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{name} contains NaN or infinite timestamps.")
    if times.size and times[0] < 0:
        raise ValueError(f"{name} contains negative times; times start at 0.")
    if np.any(np.diff(times) < 0):
        raise ValueError(f"{name} must be sorted in increasing order.")
    return times


def _check_realisations(X, end_time=None, n_drivers=None):
    """Validate ``X`` (tick's convention) and ``end_time``.

    Returns a list of ``(target, drivers)`` float64 arrays (the caller's arrays are
    only read) and the array of end times.
    """
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise TypeError(
            "X must be a list of realisations, each a list of 1-D timestamp arrays "
            "[target, driver_1, ..., driver_P]; got a numeric array. Wrap a single "
            "realisation in a list: X = [[target, driver_1]]."
        )
    try:
        realisations = list(X)
    except TypeError as exc:
        raise TypeError(
            "X must be a list of realisations, each a list of 1-D timestamp arrays "
            f"[target, driver_1, ..., driver_P]; got {type(X).__name__}."
        ) from exc
    if len(realisations) == 0:
        raise ValueError("X must hold at least one realisation, got none.")
    data = [_check_realisation(r, realisation)
            for r, realisation in enumerate(realisations)]
    n_found = {len(drivers) for _, drivers in data}
    if len(n_found) > 1:
        raise ValueError(
            f"All realisations must have the same number of drivers, got {n_found}."
        )
    found = n_found.pop()
    if n_drivers is not None and found != n_drivers:
        raise ValueError(
            f"X has {found} drivers per realisation, but DriPP was fitted with "
            f"{n_drivers}."
        )
    return data, _check_end_times(data, end_time)


def _check_realisation(r, realisation):
    """``(target, drivers)`` of realisation ``X[r]``, as float64 arrays."""
    if isinstance(realisation, numbers.Number) or (
        isinstance(realisation, np.ndarray) and realisation.dtype != object
    ):
        raise TypeError(
            f"X[{r}] must be a list of 1-D timestamp arrays [target, driver_1, "
            "...]; X looks like a single realisation: wrap it in a list."
        )
    arrays = list(realisation)
    if arrays and all(isinstance(a, numbers.Number) for a in arrays):
        raise TypeError(
            f"X[{r}] is a sequence of numbers, not of timestamp arrays: X looks "
            "like a single realisation [target, driver_1, ...]; wrap it in a "
            "list."
        )
    if len(arrays) < 2:
        raise ValueError(
            f"X[{r}] has no driver: each realisation must be [target, driver_1, "
            "..., driver_P] with P >= 1."
        )
    target = _as_times(arrays[0], f"X[{r}][0] (target)")
    drivers = [
        _as_times(a, f"X[{r}][{p + 1}] (driver {p + 1})")
        for p, a in enumerate(arrays[1:])
    ]
    return target, drivers


def _check_end_times(data, end_time):
    """The end time of each realisation: ``end_time``, checked against the
    events, or the last event of each."""
    last = np.array(
        [
            max([a[-1] for a in (target, *drivers) if a.size] or [np.nan])
            for target, drivers in data
        ]
    )
    if end_time is None:
        if np.any(np.isnan(last)):
            raise ValueError(
                "end_time is required for a realisation without any event."
            )
        end_times = last
    else:
        end_times = np.asarray(end_time, dtype=np.float64)
        if end_times.ndim == 0:
            end_times = np.full(len(data), float(end_times))
        if end_times.shape != (len(data),):
            raise ValueError(
                "end_time must be a float or one float per realisation "
                f"({len(data)}), got shape {end_times.shape}."
            )
        if not np.all(np.isfinite(end_times)) or np.any(end_times <= 0):
            raise ValueError("end_time must be positive and finite.")
        late = np.nan_to_num(last, nan=-np.inf) > end_times
        if np.any(late):
            r = int(np.flatnonzero(late)[0])
            raise ValueError(
                f"X[{r}] has events after end_time ({last[r]} > {end_times[r]})."
            )
    return end_times


class _Events:
    """Pairs inside the kernel support and the bookkeeping of the likelihood.

    The pairs are found in the time unit of the data; every time (delays, end
    times, support) is then divided by ``unit``, the unit the fit runs in. A
    division by the same positive number keeps the order of floats, so the pairs
    are those of the data's unit whatever ``unit`` is.
    """

    def __init__(self, data, end_times, lower, upper, unit=1.0):
        self.n_drivers = len(data[0][1])
        # pairs grouped by driver, then by realisation and target: the EM loop
        # reads each driver's block with scalar parameters, and every target
        # still receives its terms in (driver, driver event) order
        idx = [[] for _ in range(self.n_drivers)]
        delays = [[] for _ in range(self.n_drivers)]
        offset = 0
        self.target_owner = []
        # time left after each driver event, for the compensator
        remaining = [[] for _ in range(self.n_drivers)]
        self.driver_owner = [[] for _ in range(self.n_drivers)]
        for r, (target, drivers) in enumerate(data):
            self.target_owner.append(np.full(target.size, r))
            for p, driver in enumerate(drivers):
                t_idx, delay = find_pairs(target, driver, lower, upper)
                idx[p].append(t_idx + offset)
                delays[p].append(delay)
                remaining[p].append(end_times[r] - driver)
                self.driver_owner[p].append(np.full(driver.size, r))
            offset += target.size
        self.n_targets = offset
        idx = [np.concatenate(i) for i in idx]
        self.driver_ptr = np.cumsum([0] + [i.size for i in idx]).astype(np.int64)
        self.target_idx = np.concatenate(idx).astype(np.int64)
        self.delay = np.concatenate([np.concatenate(d) for d in delays]) / unit
        self.pair_driver = np.repeat(
            np.arange(self.n_drivers, dtype=np.int64), np.diff(self.driver_ptr)
        )
        # slot of each pair's target among the targets that have pairs
        covered = np.zeros(self.n_targets, dtype=bool)
        covered[self.target_idx] = True
        self.n_covered = int(np.count_nonzero(covered))
        self.slot = (np.cumsum(covered) - 1)[self.target_idx].astype(np.int64)
        self.target_owner = np.concatenate(self.target_owner)
        remaining = [np.concatenate(rem) for rem in remaining]
        self.driver_owner = [np.concatenate(own) for own in self.driver_owner]
        # supports that end inside the window count fully in the compensator
        self.n_full = np.array([np.sum(rem >= upper) for rem in remaining])
        cut = [rem[(rem > lower) & (rem < upper)] / unit for rem in remaining]
        self.partial = np.concatenate(cut)
        self.partial_driver = np.repeat(
            np.arange(self.n_drivers), [c.size for c in cut]
        ).astype(np.int64)
        # everything below is in the fit's unit
        self.remaining = [rem / unit for rem in remaining]
        self.lower, self.upper = lower / unit, upper / unit
        self.end_times = end_times / unit
        self.total_time = float(self.end_times.sum())
