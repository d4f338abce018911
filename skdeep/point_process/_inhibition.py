"""Inhibitory drivers of DriPP (``alpha_pos=False``): the clipped intensity and
the M-step of the floor.

With negative ``alpha_p`` the linear intensity can go below zero where the
supports of inhibitory driver events overlap. The model (and the simulator,
:func:`skdeep.datasets.make_driven_events`) is the clipped intensity

    lambda(t) = max(0, b(t)) + sum_{p: alpha_p > 0} alpha_p sum_j kappa_p(t - t_j^p),
    b(t) = mu + sum_{q: alpha_q < 0} alpha_q sum_j kappa_q(t - t_j^q),

a valid point process for every parameter: inhibition suppresses the
spontaneous (baseline) activity, down to zero, and leaves the events that the
excitatory drivers trigger. Where ``b >= 0`` everywhere (e.g. supports that do
not overlap and ``mu + alpha_q max kappa_q >= 0``) it is the linear model of
the paper. Its compensator is the linear one plus ``int max(0, -b)``, which
:class:`NegativePart` integrates on a grid of the supports (exactly zero, and
not evaluated, where a cheap bound shows ``b >= 0``).

The paper's EM needs every term of the intensity to be non-negative: its
multiplicative update ``alpha <- alpha sum(kappa / lambda) / n_eff`` keeps the
sign of ``alpha`` and, for a negative one, moves away from the maximum. The
drivers of a group ``Q`` are therefore merged with the baseline into the
non-negative *floor* ``max(0, b)`` plus the positive terms of ``Q``. Jensen's
bound holds for this split, so the E-step gives the responsibilities of the
floor, ``w_i = floor(t_i) / lambda(t_i)``, and of each driver outside ``Q``
(which keep the paper's closed-form updates); the floor's parameters ``(mu,
alpha_q, m_q, sigma_q)`` take one damped Newton step (finite-difference Hessian,
backtracking in a trust region) on its part of the expected log-likelihood,

    G = sum_i w_i log floor(t_i) - int floor(t) dt,

accepted only if it increases ``G``: a generalised EM, so the log-likelihood
never decreases. :class:`~skdeep.point_process.DriPP` puts every driver in
``Q`` (``w_i = 1`` and ``G`` is the log-likelihood itself): a driver whose
excitation is small but significant could otherwise stay stuck at a positive
``alpha`` where the truth is negative.
"""

import math

import numpy as np
from numba import njit

from ..utils._event_pairs import find_pairs
from ._kernels import expected_children, kernel_log_norms

# grid step of the integral of the clipped part, as a fraction of upper - lower
_GRID_PER_SUPPORT = 48
# the most grid points (about 40 bytes each, with their pairs)
_MAX_GRID = 50_000_000
# the narrowest inhibitory kernel, in grid steps: the grid must resolve a
# negative kernel, or the linear compensator would credit an unseen spike
_MIN_NEG_STD_STEPS = 2


def kernel_peaks(mean, std, lower, upper):
    """Largest value of each truncated kernel."""
    _, log_norm = kernel_log_norms(mean, std, lower, upper)
    z = (np.clip(mean, lower, upper) - mean) / std
    return np.exp(log_norm - 0.5 * z * z)


def _merged(starts, length, end):
    """Union of ``[s, s + length]`` clipped to ``[0, end]``, as sorted disjoint
    intervals ``(left, right)``."""
    starts = np.sort(np.clip(starts, 0.0, end))
    stops = np.clip(starts + length, 0.0, end)
    reach = np.maximum.accumulate(stops)
    # a new interval starts where the previous ones ended before it
    new = np.ones(starts.size, dtype=bool)
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], starts.size) - 1
    return starts[first], reach[last]


class NegativePart:
    """``int max(0, -b(t)) dt`` on each realisation, by a grid of the supports.

    The grid is a lattice of step ``(upper - lower) / 48`` on the union of every
    driver's supports (``b = mu`` elsewhere), plus points just before and after
    each end of every support, where a truncated kernel jumps. On each cell the
    negative part of the linear interpolant of ``b`` is integrated exactly,
    which keeps the integral continuously differentiable in the parameters (the
    Newton step differentiates it). Nothing is evaluated where the bound ``mu +
    sum_q alpha_q c_q max kappa_q`` (``c_q`` the most supports of driver ``q``
    covering one point) shows ``b >= 0`` everywhere.
    """

    def __init__(self, data, events):
        lower, upper = events.lower, events.upper
        width = upper - lower
        step = width / _GRID_PER_SUPPORT
        self.min_std = _MIN_NEG_STD_STEPS * step
        self.lower, self.upper = lower, upper
        n_drivers = events.n_drivers
        grids, owners, cells = [], [], []
        pairs = [([], []) for _ in range(n_drivers)]
        offset = n_points = 0
        for r, ((_, drivers), end) in enumerate(zip(data, events.end_times)):
            every = np.concatenate(drivers)
            if every.size == 0:
                continue
            left, right = _merged(every + lower, width, end)
            # a lattice from the start of each interval of the union
            sizes = np.floor((right - left) / step).astype(np.int64) + 1
            n_points += int(sizes.sum())
            if n_points > _MAX_GRID:
                raise ValueError(
                    f"alpha_pos=False integrates the clipped baseline on a grid of "
                    f"the kernel supports with {_GRID_PER_SUPPORT} points per "
                    f"support, more than {_MAX_GRID:,} points here; fit shorter "
                    "or fewer realisations."
                )
            j = np.arange(sizes.sum()) - np.repeat(
                np.cumsum(sizes) - sizes, sizes)
            lattice = np.repeat(left, sizes) + j * step
            # the left and right limits at each end of a support
            eps = 1e-9 * max(1.0, end)
            edges = np.concatenate([every + lower, every + upper])
            grid = np.unique(np.clip(np.concatenate(
                [lattice, edges - eps, edges + eps]), 0.0, end))
            cell = np.ones(grid.size, dtype=np.bool_)
            cell[-1] = False
            grids.append(grid)
            cells.append(cell)
            owners.append(np.full(grid.size, r, dtype=np.int64))
            for p, driver in enumerate(drivers):
                idx, delay = find_pairs(grid, driver, lower, upper)
                pairs[p][0].append(idx + offset)
                pairs[p][1].append(delay)
            offset += grid.size
        self.size = offset
        self.n_realisations = events.end_times.size
        if offset == 0:
            return
        self.grid = np.concatenate(grids)
        self.owner = np.concatenate(owners)
        self.cell = np.concatenate(cells)
        idx = [np.concatenate(i) for i, _ in pairs]
        self.ptr = np.cumsum([0] + [i.size for i in idx]).astype(np.int64)
        self.pair_idx = np.concatenate(idx).astype(np.int64)
        self.pair_delay = np.concatenate([np.concatenate(d) for _, d in pairs])
        # most supports of one driver covering a point, for the quick bound
        self.max_count = np.array(
            [np.bincount(i, minlength=1).max() if i.size else 0 for i in idx])
        self._cache = {}

    def __call__(self, baseline, alpha, mean, std, drivers=None):
        """``int max(0, -b)`` per realisation; ``drivers`` (default: all) index
        the drivers ``alpha``, ``mean`` and ``std`` belong to."""
        out = np.zeros(self.n_realisations)
        if drivers is None:
            drivers = np.arange(alpha.size)
        neg = np.flatnonzero(alpha < 0)
        if self.size == 0 or neg.size == 0:
            return out
        peaks = kernel_peaks(mean[neg], std[neg], self.lower, self.upper)
        if baseline + np.dot(alpha[neg] * peaks, self.max_count[drivers[neg]]) >= 0:
            return out  # b >= 0 everywhere: nothing is clipped
        b = np.full(self.size, float(baseline))
        for q in neg:
            b += alpha[q] * self._kernel_sum(drivers[q], mean[q], std[q])
        return _clipped_integral(self.grid, self.cell, self.owner, b, out)

    def _kernel_sum(self, p, mean, std):
        """``sum_j kappa_p(t - t_j^p)`` on the grid, cached: the Newton step's
        finite differences move one or two parameters at a time, and most
        leave this driver's kernel unchanged."""
        key = (int(p), float(mean), float(std))
        if key not in self._cache:
            if len(self._cache) >= 16:
                self._cache.pop(next(iter(self._cache)))
            _, log_norm = kernel_log_norms(np.array([mean]), np.array([std]),
                                           self.lower, self.upper)
            lo, hi = self.ptr[p], self.ptr[p + 1]
            self._cache[key] = _kernel_on_grid(
                self.pair_idx[lo:hi], self.pair_delay[lo:hi], mean, std,
                log_norm[0], self.size)
        return self._cache[key]


@njit(cache=True, nogil=True)
def _kernel_on_grid(pair_idx, pair_delay, mean, std, log_norm, size):
    out = np.zeros(size)
    scale = -0.5 / (std * std)
    for j in range(pair_idx.size):
        d = pair_delay[j] - mean
        out[pair_idx[j]] += math.exp(log_norm + scale * d * d)
    return out


@njit(cache=True, nogil=True)
def _clipped_integral(grid, cell, owner, b, out):
    # the exact integral of max(0, -b) for b linear on each cell
    for g in range(b.size - 1):
        if not cell[g]:
            continue
        f0 = -b[g]
        f1 = -b[g + 1]
        if f0 >= 0.0 and f1 >= 0.0:
            part = 0.5 * (f0 + f1)
        elif f0 >= 0.0 or f1 >= 0.0:
            hi = max(f0, f1)
            part = 0.5 * hi * hi / abs(f1 - f0)
        else:
            continue
        out[owner[g]] += part * (grid[g + 1] - grid[g])
    return out


def split_terms(slot, value, driver, n_slots, baseline, alpha):
    """``(b, e)`` at each slot from the pair terms ``value = alpha_p kappa_p``:
    ``b`` the baseline plus the negative terms, ``e`` the positive ones."""
    neg = alpha[driver] < 0
    b = baseline + np.bincount(slot[neg], weights=value[neg], minlength=n_slots)
    e = np.bincount(slot[~neg], weights=value[~neg], minlength=n_slots)
    return b, e


def start_positive(events, params, min_std):
    """A valid start: the standard deviation of each inhibitory kernel raised to
    twice ``min_std`` (inside the feasible set, where the finite differences of
    the Newton step are defined), and its negative ``alpha`` halved until the
    intensity is positive at every target event (the log-likelihood is finite
    there)."""
    baseline, alpha, mean, std = params
    alpha = np.array(alpha, dtype=np.float64)
    std = np.where((alpha < 0) & (std < min_std), 2 * min_std, std)
    if not np.any(alpha < 0):
        return baseline, alpha, mean, std
    _, log_norm = kernel_log_norms(mean, std, events.lower, events.upper)
    driver = events.pair_driver
    z = (events.delay - mean[driver]) / std[driver]
    kappa = np.exp(log_norm[driver] - 0.5 * z * z)
    for _ in range(64):
        b, e = split_terms(events.slot, alpha[driver] * kappa, driver,
                           events.n_covered, baseline, alpha)
        if np.all(np.maximum(b, 0.0) + e > 0):
            break
        alpha = np.where(alpha < 0, 0.5 * alpha, alpha)
    return baseline, alpha, mean, std


def inhibitory_m_step(events, negative_part, params, nexts, inhibitory, value,
                      inv_lam, std_floor, n_newton=1):
    """Replace the baseline and the inhibitory drivers' parameters in ``nexts``
    (the paper's EM update) by a Newton step on the floor's objective ``G``.

    ``value`` holds the pair terms ``alpha_p kappa_p(delay)`` and ``inv_lam``
    the inverse (clipped) intensity at the covered targets, for ``params``.
    """
    baseline, alpha, mean, std = params
    new_baseline, new_alpha, new_mean, new_std = nexts
    lower, upper = events.lower, events.upper
    q = np.asarray(inhibitory)
    k = q.size
    ptr = events.driver_ptr
    pairs = np.concatenate([np.arange(ptr[p], ptr[p + 1]) for p in q])
    local = np.repeat(np.arange(k), [ptr[p + 1] - ptr[p] for p in q])
    slot = events.slot[pairs]
    delay = events.delay[pairs]
    n_cov = events.n_covered
    b_old, e_old = split_terms(slot, value[pairs], local, n_cov, baseline, alpha[q])
    weight = (np.maximum(b_old, 0.0) + e_old) * inv_lam
    n_free = events.n_targets - events.n_covered
    in_q = np.isin(events.partial_driver, q)
    partial = events.partial[in_q]
    remap = np.searchsorted(q, events.partial_driver[in_q])
    n_full = events.n_full[q]
    total = events.total_time

    def objective(theta):
        mu, a = theta[0], theta[1:k + 1]
        m, s = theta[k + 1:2 * k + 1], theta[2 * k + 1:]
        if mu <= 0 or np.any(s < std_floor) or not np.all(np.isfinite(theta)):
            return -np.inf
        if np.any(s[a < 0] < negative_part.min_std):
            return -np.inf
        log_mass, log_norm = kernel_log_norms(m, s, lower, upper)
        z = (delay - m[local]) / s[local]
        terms = a[local] * np.exp(log_norm[local] - 0.5 * z * z)
        b, e = split_terms(slot, terms, local, n_cov, mu, a)
        floor = np.maximum(b, 0.0) + e
        if np.any(floor[weight > 0] <= 0):
            return -np.inf
        with np.errstate(divide="ignore"):
            g = np.dot(weight, np.log(floor))
        if n_free:
            g += n_free * np.log(mu)
        n_eff = expected_children(n_full, partial, remap, m, s, log_mass, lower,
                                  upper)
        clipped = negative_part(mu, a, m, s, q).sum()
        return g - mu * total - np.dot(a, n_eff) - clipped

    theta = np.concatenate(([baseline], alpha[q], mean[q], std[q]))
    current = objective(theta)
    for _ in range(n_newton):
        step = _newton_direction(objective, theta, current)
        if step is None:
            break
        # a trust region: no parameter moves by more than its size (times
        # are in units of upper - lower, so every parameter is of order one)
        t = min(1.0, 1.0 / np.max(np.abs(step) / np.maximum(np.abs(theta), 0.1)))
        for _ in range(40):
            candidate = theta + t * step
            value_c = objective(candidate)
            if value_c > current:
                theta, current = candidate, value_c
                break
            t *= 0.5
        else:
            break
    new_alpha = new_alpha.copy()
    new_mean = new_mean.copy()
    new_std = new_std.copy()
    new_alpha[q] = theta[1:k + 1]
    new_mean[q] = theta[k + 1:2 * k + 1]
    new_std[q] = theta[2 * k + 1:]
    return theta[0], new_alpha, new_mean, new_std


def _newton_direction(objective, theta, current):
    """Ascent direction ``-H^{-1} g`` from central finite differences of the
    objective, with the Hessian's eigenvalues made negative (a damped Newton
    step that is an ascent direction even where ``G`` is not concave)."""
    with np.errstate(invalid="ignore"):  # -inf - -inf where a step is infeasible
        return _newton_step(objective, theta, current)


def _newton_step(objective, theta, current):
    n = theta.size
    # steps of 1e-3 relative: the rounding of G (a sum over every event) stays
    # far below the second differences, which keeps the direction reproducible
    h = 1e-3 * np.maximum(np.abs(theta), 1e-1)
    for _ in range(3):
        grad = np.empty(n)
        hess = np.empty((n, n))
        plus = np.empty(n)
        minus = np.empty(n)
        for j in range(n):
            e = np.zeros(n)
            e[j] = h[j]
            plus[j] = objective(theta + e)
            minus[j] = objective(theta - e)
            grad[j] = (plus[j] - minus[j]) / (2 * h[j])
            hess[j, j] = (plus[j] - 2 * current + minus[j]) / h[j] ** 2
        for j in range(n):
            for i in range(j):
                ei = np.zeros(n)
                ej = np.zeros(n)
                ei[i] = h[i]
                ej[j] = h[j]
                hess[i, j] = hess[j, i] = (
                    objective(theta + ei + ej) - objective(theta + ei - ej)
                    - objective(theta - ei + ej) + objective(theta - ei - ej)
                ) / (4 * h[i] * h[j])
        if np.all(np.isfinite(hess)) and np.all(np.isfinite(grad)):
            break
        h = h / 10  # a perturbation left the feasible set: closer differences
    else:
        return None
    evals, evecs = np.linalg.eigh(hess)
    scale = np.max(np.abs(evals))
    if not scale > 0:
        return None
    evals = -np.maximum(np.abs(evals), 1e-8 * scale)
    return -(evecs @ ((evecs.T @ grad) / evals))
