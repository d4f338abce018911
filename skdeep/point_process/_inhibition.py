"""The M-step of DriPP's inhibitory drivers (``alpha_pos=False``).

The paper's EM needs every term of the intensity to be non-negative: the
responsibilities ``alpha_p kappa_p / lambda`` are probabilities only then, and
its multiplicative update ``alpha <- alpha sum(kappa / lambda) / n_eff`` keeps the
sign of ``alpha`` and, for a negative one, moves away from the maximum (the
stationary point is repelling). So a driver with ``alpha_p <= 0`` is merged into
the baseline: the intensity is split into the non-negative *floor*

    b(t) = mu + sum_{q: alpha_q <= 0} alpha_q sum_j kappa_q(t - t_j^q)

and the excitatory terms ``alpha_p kappa_p`` (``alpha_p > 0``). Jensen's bound
holds for this split, so the E-step gives the responsibilities of the floor,
``w_i = b(t_i) / lambda(t_i)``, and of each excitatory driver; the excitatory
parameters keep the paper's closed-form updates, and the floor's parameters
``(mu, alpha_q, m_q, sigma_q)`` take one damped Newton step (finite-difference
Hessian, backtracking) on its part of the expected log-likelihood,

    G = sum_i w_i log b(t_i) - mu T - sum_q alpha_q sum_j K_q(T - t_j^q),

accepted only if it increases ``G``: a generalised EM, so the log-likelihood
still never decreases.

The floor stays a valid intensity through the constraint

    mu + sum_{q: alpha_q < 0} alpha_q c_q max_t kappa_q(t) >= 0,

with ``c_q`` the largest number of events of driver ``q`` whose supports overlap:
it bounds ``b`` from below everywhere, so ``lambda(t) >= 0`` on the whole window,
not only at the observed events. It is exact (necessary too) for one inhibitory
driver whose supports do not overlap, the paper's setting; with several
inhibitory drivers whose supports coincide, or overlapping supports, it is
conservative.
"""

import numpy as np

from ._kernels import expected_children, kernel_log_norms


def max_overlap(drivers_per_realisation, width):
    """Largest number of events of one driver within ``width`` of each other."""
    best = 1
    for driver in drivers_per_realisation:
        if driver.size:
            stop = np.searchsorted(driver, driver + width, side="right")
            best = max(best, int(np.max(stop - np.arange(driver.size))))
    return best


def _kernel_peaks(mean, std, lower, upper):
    _, log_norm = kernel_log_norms(mean, std, lower, upper)
    z = (np.clip(mean, lower, upper) - mean) / std
    return np.exp(log_norm - 0.5 * z * z)


def floor_bound(baseline, alpha, mean, std, overlap, lower, upper):
    """Lower bound of the floor ``b(t)`` over all times (``>= 0`` is feasible)."""
    peaks = _kernel_peaks(mean, std, lower, upper)
    return baseline + np.sum(np.minimum(alpha, 0.0) * overlap * peaks)


def project_feasible(baseline, alpha, mean, std, overlap, lower, upper):
    """Shrink the negative ``alpha`` of a start so that the floor stays above
    ``mu / 2`` everywhere (the Newton steps start inside the feasible set)."""
    alpha = np.array(alpha, dtype=np.float64)
    neg = np.minimum(alpha, 0.0)
    peaks = _kernel_peaks(mean, std, lower, upper)
    depth = -np.sum(neg * overlap * peaks)
    if depth > 0.5 * baseline:
        alpha = np.where(alpha < 0, alpha * 0.5 * baseline / depth, alpha)
    return alpha


def inhibitory_m_step(events, params, nexts, inhibitory, value, inv_lam, lower,
                      upper, std_floor, n_newton=1):
    """Replace the baseline and the inhibitory drivers' parameters in ``nexts``
    (the paper's EM update) by a Newton step on the floor's objective ``G``.

    ``value`` holds the pair terms ``alpha_p kappa_p(delay)`` and ``inv_lam``
    the inverse intensity at the covered targets, for ``params``.
    """
    baseline, alpha, mean, std = params
    new_baseline, new_alpha, new_mean, new_std = nexts
    q = np.asarray(inhibitory)
    k = q.size
    ptr = events.driver_ptr
    pairs = np.concatenate([np.arange(ptr[p], ptr[p + 1]) for p in q])
    local = np.repeat(np.arange(k), [ptr[p + 1] - ptr[p] for p in q])
    slot = events.slot[pairs]
    delay = events.delay[pairs]
    n_cov = events.n_covered
    floor_old = baseline + np.bincount(slot, weights=value[pairs], minlength=n_cov)
    weight = floor_old * inv_lam
    n_free = events.n_targets - events.n_covered
    in_q = np.isin(events.partial_driver, q)
    partial = events.partial[in_q]
    remap = np.searchsorted(q, events.partial_driver[in_q])
    n_full = events.n_full[q]
    overlap = events.max_overlap[q]
    total = events.total_time

    def objective(theta):
        mu, a = theta[0], theta[1:k + 1]
        m, s = theta[k + 1:2 * k + 1], theta[2 * k + 1:]
        if mu <= 0 or np.any(s < std_floor) or not np.all(np.isfinite(theta)):
            return -np.inf
        if floor_bound(mu, a, m, s, overlap, lower, upper) < 0:
            return -np.inf
        log_mass, log_norm = kernel_log_norms(m, s, lower, upper)
        z = (delay - m[local]) / s[local]
        terms = a[local] * np.exp(log_norm[local] - 0.5 * z * z)
        floor = mu + np.bincount(slot, weights=terms, minlength=n_cov)
        if np.any(floor[weight > 0] <= 0):
            return -np.inf
        with np.errstate(divide="ignore"):
            g = np.dot(weight, np.log(floor))
        if n_free:
            g += n_free * np.log(mu)
        n_eff = expected_children(n_full, partial, remap, m, s, log_mass, lower,
                                  upper)
        return g - mu * total - np.dot(a, n_eff)

    theta = np.concatenate(([baseline], alpha[q], mean[q], std[q]))
    current = objective(theta)
    for _ in range(n_newton):
        step = _newton_direction(objective, theta, current)
        if step is None:
            break
        t = 1.0
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
    n = theta.size
    h = 1e-5 * np.maximum(np.abs(theta), 1e-2)
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
