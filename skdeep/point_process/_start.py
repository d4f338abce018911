"""Starting parameters of DriPP's EM: the paper's smart start, a random start
or the user's, all in the fit's internal time unit (``upper - lower``)."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._kernels import union_measure

# floor of the kernel standard deviation, as a fraction of the support width
# ``upper - lower`` (the paper floors it at 1e-5 s for supports of about 0.5 s): a
# relative floor keeps the fit independent of the time unit
STD_FLOOR = 1e-5


def initialise(est, events, data, unit):
    """Starting parameters in the internal unit (times divided by ``unit``)."""
    lower, upper = events.lower, events.upper
    n_drivers = events.n_drivers
    if isinstance(est.init, dict):
        return _user_init(est, n_drivers, unit)
    if est.init == "random":
        rng = check_random_state(est.random_state)
        # the baseline relative to the mean rate of the target: unit-free
        rate = max(events.n_targets, 1) / events.total_time
        baseline = rng.uniform(0.15, 1.0) * rate
        alpha = rng.uniform(0.15, 1.0, size=n_drivers)
        mean = rng.uniform(lower, upper, size=n_drivers)
        std = rng.uniform(0.05, 1.0, size=n_drivers) * (upper - lower)
        return baseline, alpha, mean, std
    # smart start: events outside all supports give the baseline ...
    length = upper - lower
    covered = sum(
        union_measure(np.concatenate(drivers) + lower, length, end)
        for (_, drivers), end in zip(data, events.end_times)
    )
    n_outside = events.n_targets - events.n_covered
    free_time = events.total_time - covered
    if free_time > 0 and n_outside > 0:
        baseline = n_outside / free_time
    else:
        # supports cover (nearly) everything: the EM cannot move a zero
        # baseline, start from the mean rate instead
        baseline = max(events.n_targets, 1) / events.total_time
    # ... and the delays inside the supports of each driver give the rest:
    # the paper's excess rate inside the supports over the baseline, here per
    # support width (time is in units of upper - lower), which makes it the
    # unit-free number of excess events per driver event
    alpha = np.zeros(n_drivers)
    mean = np.full(n_drivers, (lower + upper) / 2)
    std = np.full(n_drivers, 0.95 * length / 4)
    floor = STD_FLOOR * length
    for p in range(n_drivers):
        delay = events.delay[events.driver_ptr[p]:events.driver_ptr[p + 1]]
        if delay.size == 0:
            continue
        support_p = sum(
            union_measure(drivers[p] + lower, length, end)
            for (_, drivers), end in zip(data, events.end_times)
        )
        alpha[p] = (delay.size / support_p - baseline) * length
        if est.alpha_pos:
            alpha[p] = max(alpha[p], 0.0)
        mean[p] = delay.mean()
        std[p] = max(delay.std(), floor)
    return baseline, alpha, mean, std

def _user_init(est, n_drivers, unit):
    keys = ("baseline", "alpha", "kernel_mean", "kernel_std")
    missing = [key for key in keys if key not in est.init]
    if missing:
        raise ValueError(
            f"init must hold the keys {list(keys)}; missing {missing}."
        )
    baseline = est.init["baseline"]
    if not isinstance(baseline, numbers.Real) or not (
        np.isfinite(baseline) and baseline > 0
    ):
        raise ValueError(
            f"init['baseline'] must be a positive float, got {baseline!r}."
        )
    values = []
    for key in keys[1:]:
        try:
            arr = np.broadcast_to(
                np.asarray(est.init[key], dtype=np.float64), (n_drivers,)
            ).copy()
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"init[{key!r}] must be a float or {n_drivers} floats (one per "
                f"driver), got {est.init[key]!r}."
            ) from exc
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"init[{key!r}] must be finite.")
        values.append(arr)
    alpha, mean, std = values
    # the floor is relative to the support: compared in the internal unit
    floor = STD_FLOOR * (float(est.upper) - float(est.lower))
    if not np.all(std / unit >= STD_FLOOR * (1 - 1e-12)):
        raise ValueError(
            f"init['kernel_std'] must be at least {STD_FLOOR:g} * (upper - "
            f"lower) = {floor:g} (the floor of the kernel's standard "
            f"deviation), got {std.tolist()}."
        )
    if est.alpha_pos and np.any(alpha < 0):
        raise ValueError(
            "init['alpha'] must be non-negative with alpha_pos=True."
        )
    with np.errstate(over="ignore", under="ignore"):
        scaled = (float(baseline) * unit, mean / unit, std / unit)
    if not (np.isfinite(scaled[0]) and scaled[0] > 0):
        raise ValueError(
            f"init['baseline'] * (upper - lower) must be a positive finite "
            f"number (the expected number of baseline events per support "
            f"width), got {baseline!r} * {unit:g}."
        )
    if not np.all(np.isfinite(scaled[1])):
        raise ValueError(
            "init['kernel_mean'] / (upper - lower) must be finite, got "
            f"{mean.tolist()}."
        )
    return scaled[0], alpha, scaled[1], scaled[2]
