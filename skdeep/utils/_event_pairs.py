"""Pairs of events of two sorted trains whose delay lies in a window.

:func:`find_pairs` is how the driven point processes of skdeep see their data:
the (target, driver) pairs whose delay ``target - driver`` falls in the kernel
support ``[lower, upper]``, found by one linear merge. The estimator
(:mod:`skdeep.point_process`) and the simulator's thinning
(:func:`skdeep.datasets.make_driven_events`) share it.

Examples
--------
>>> import numpy as np
>>> from skdeep.utils._event_pairs import find_pairs
>>> target_idx, delay = find_pairs(np.array([0.5, 1.2, 1.3, 3.0]),
...                                np.array([1.0, 2.9]), 0.1, 0.5)
>>> target_idx.tolist(), delay.round(6).tolist()
([1, 2, 3], [0.2, 0.3, 0.1])
"""

import numpy as np
from numba import njit


def find_pairs(target, driver, lower, upper):
    """Target/driver pairs whose delay ``target - driver`` is in ``[lower, upper]``.

    Both arrays are sorted, so the targets following driver event ``j`` within the
    support form a contiguous block ``[start_j, stop_j)`` (the bounds
    ``searchsorted`` would give, ``side="left"`` for ``lower`` and ``"right"`` for
    ``upper``); both bounds only move forward, so one linear merge finds them all.

    Returns
    -------
    target_idx : ndarray of int64
        Index of the target event of each pair, in (driver event, target) order.
    delay : ndarray of float64
        Its delay, clamped to ``[lower, upper]``: a latency exactly at a bound
        (``target = driver + lower``) may round one ulp outside it when subtracted
        back, and must still be a point of the support.
    """
    return _merge_pairs(
        np.ascontiguousarray(target, dtype=np.float64),
        np.ascontiguousarray(driver, dtype=np.float64), float(lower), float(upper),
    )


@njit(cache=True, nogil=True)
def _merge_pairs(target, driver, lower, upper):
    # first pass: the block bounds of each driver event; second: fill the pairs
    start = np.empty(driver.size, dtype=np.int64)
    stop = np.empty(driver.size, dtype=np.int64)
    i = 0
    j = 0
    n_pairs = 0
    for k in range(driver.size):
        lo = driver[k] + lower
        hi = driver[k] + upper
        while i < target.size and target[i] < lo:
            i += 1
        while j < target.size and target[j] <= hi:
            j += 1
        start[k] = i
        stop[k] = max(i, j)
        n_pairs += stop[k] - i
    target_idx = np.empty(n_pairs, dtype=np.int64)
    delay = np.empty(n_pairs)
    n = 0
    for k in range(driver.size):
        for t in range(start[k], stop[k]):
            target_idx[n] = t
            delay[n] = min(max(target[t] - driver[k], lower), upper)
            n += 1
    return target_idx, delay
