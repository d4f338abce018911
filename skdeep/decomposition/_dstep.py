"""D-step of convolutional dictionary learning: projected gradient on the atoms.

With the activations fixed, the data-fit term is a quadratic form in the atoms that
only depends on two sufficient statistics (Dupré la Tour et al. 2018):

- ``ztz[k, l, d + L - 1] = sum_{n, t} z[n, k, t] z[n, l, t + d]``, and
- ``ztX[k, p, tau] = sum_{n, t} z[n, k, t] X[n, p, t + tau]``,

so every gradient step costs ``O((n_atoms * n_times_atom)^2 * n_channels)``,
independently of the number and length of the signals. Rank-1 atoms
``D_k = u_k v_k^T`` are updated alternately in ``u`` and in ``v``; each block is a
convex quadratic problem on a product of unit balls solved by projected gradient
with a backtracking (adaptive) step. Under the joint constraint
``||u_k||^2 + ||v_k||^2 <= 1`` the pair is updated together instead, and tapered
atoms (``window * r``) are updated in their raw form ``r``.
"""

import numpy as np
from numba import njit
from scipy.signal.windows import tukey


@njit(cache=True)
def compute_ztz(z, n_times_atom):
    """``ztz`` of shape (K, K, 2L - 1) from the activations ``z`` (n, K, T_valid)."""
    n_trials, n_atoms, n_times_valid = z.shape
    L = n_times_atom
    ztz = np.zeros((n_atoms, n_atoms, 2 * L - 1))
    for n in range(n_trials):
        for k in range(n_atoms):
            for t in range(n_times_valid):
                zkt = z[n, k, t]
                if zkt == 0.0:
                    continue
                lo = max(0, t - L + 1)
                hi = min(n_times_valid, t + L)
                for j in range(n_atoms):
                    for s in range(lo, hi):
                        ztz[k, j, s - t + L - 1] += zkt * z[n, j, s]
    return ztz


@njit(cache=True)
def compute_ztX(z, X, n_times_atom):
    """``ztX`` of shape (K, C, L) from ``z`` (n, K, T_valid) and ``X`` (n, C, T)."""
    n_trials, n_atoms, n_times_valid = z.shape
    n_channels = X.shape[1]
    ztX = np.zeros((n_atoms, n_channels, n_times_atom))
    for n in range(n_trials):
        for k in range(n_atoms):
            for t in range(n_times_valid):
                zkt = z[n, k, t]
                if zkt == 0.0:
                    continue
                for p in range(n_channels):
                    for tau in range(n_times_atom):
                        ztX[k, p, tau] += zkt * X[n, p, t + tau]
    return ztX


def toeplitz_ztz(ztz):
    """The (K L, K L) matrix ``Q`` with ``0.5 ||sum_k z_k * D_k||^2 = 0.5 <D, Q D>``.

    Atoms are flattened as rows ``k * L + tau`` (channels as columns).
    """
    n_atoms = ztz.shape[0]
    L = (ztz.shape[2] + 1) // 2
    tau = np.arange(L)
    lag = tau[:, None] - tau[None, :] + L - 1
    Q = ztz[:, :, lag]  # (K, K, L, L)
    return Q.transpose(0, 2, 1, 3).reshape(n_atoms * L, n_atoms * L)


def flatten_atoms(D):
    """(K, C, L) atoms -> (K L, C) matrix matching :func:`toeplitz_ztz`."""
    n_atoms, n_channels, L = D.shape
    return D.transpose(0, 2, 1).reshape(n_atoms * L, n_channels)


def unflatten_atoms(Dm, n_atoms):
    """Inverse of :func:`flatten_atoms`."""
    L = Dm.shape[0] // n_atoms
    return Dm.reshape(n_atoms, L, -1).transpose(0, 2, 1)


def data_fit(Dm, Q, B, half_sq_norm_X):
    """``0.5 ||X - sum_k z_k * D_k||^2`` from the sufficient statistics."""
    return float(half_sq_norm_X - np.sum(B * Dm) + 0.5 * np.sum(Dm * (Q @ Dm)))


def _largest_eigenvalue(A, n_iter=30):
    """Power iteration estimate of the largest eigenvalue of a PSD matrix."""
    x = np.ones(A.shape[0])
    lam = 0.0
    for _ in range(n_iter):
        y = A @ x
        norm = np.linalg.norm(y)
        if norm == 0.0:
            return 0.0
        lam = float(x @ y / (x @ x))
        x = y / norm
    return lam


def _projected_gradient(value_and_grad, x, project, step, max_iter, eps, grow=1.0):
    """Minimise a smooth function over ``project``'s set by projected gradient.

    ``value_and_grad(x)`` returns the objective and its gradient. The step is
    halved until the sufficient-decrease condition of proximal gradient holds, so
    each accepted step decreases the objective, then multiplied by ``grow``
    before the next iteration. Stops when the relative change of ``x`` falls below
    ``eps``, or when no step decreases the objective at this precision.
    """
    f, grad = value_and_grad(x)
    for _ in range(max_iter):
        while True:
            x_new = project(x - step * grad)
            diff = x_new - x
            f_new, grad_new = value_and_grad(x_new)
            bound = f + np.sum(grad * diff) + np.sum(diff * diff) / (2 * step)
            if f_new <= bound + 1e-12 * abs(f) or step < 1e-20:
                break
            step /= 2.0
        if f_new > f:  # no progress possible at this precision
            break
        x, f, grad = x_new, f_new, grad_new
        if np.sum(diff * diff) <= eps**2 * max(np.sum(x * x), 1e-300):
            break
        step *= grow
    return x


def _pgd_quadratic(A, C, x, project, max_iter, eps):
    """Minimise ``0.5 <x, A x> - <C, x>`` over ``project``'s set by projected gradient,
    from the step ``1 / lambda_max(A)`` (power iteration)."""
    lip = _largest_eigenvalue(A)
    if lip <= 0.0:
        return x

    def value_and_grad(x):
        Ax = A @ x
        return 0.5 * np.sum(x * Ax) - np.sum(C * x), Ax - C

    return _projected_gradient(value_and_grad, x, project, 1.0 / lip, max_iter, eps)


def _project_rows(x):
    """Project each row of ``x`` on the unit l2 ball."""
    norms = np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1.0)
    return x / norms


def tukey_window(n_times_atom):
    """The temporal taper of ``window=True``: a Tukey window (cosine fraction 0.5).

    Zero at both ends; see :func:`untaper` for the raw atoms.
    """
    return tukey(n_times_atom, alpha=0.5)


def untaper(v, window):
    """The raw atoms ``r`` of tapered atoms ``v = window * r`` (last axis).

    ``r`` is 0 where the window is: those samples do not touch the fit, and any
    other value would only use up the norm budget of the atom.
    """
    return np.divide(v, window, out=np.zeros_like(v), where=window > 0)


def update_uv(u, v, Q, B, window=None, max_iter=300, eps=1e-8):
    """One alternate update of rank-1 atoms ``u`` (K, C) then ``v`` (K, L).

    Each factor stays in its unit ball. With a ``window`` (L,), the temporal
    atoms are ``v = window * r`` and the constraint applies to ``r``.
    """
    n_atoms, L = v.shape
    Bk = B.reshape(n_atoms, L, -1)  # (K, L, C)
    # u-step: D_k = u_k v_k^T, so the quadratic form in U is M = V^T Q V.
    Vm = np.zeros((n_atoms * L, n_atoms))
    for k in range(n_atoms):
        Vm[k * L : (k + 1) * L, k] = v[k]
    M = Vm.T @ Q @ Vm
    b = np.einsum("klc,kl->kc", Bk, v)
    u = _pgd_quadratic(M, b, u, _project_rows, max_iter, eps)
    # v-step: quadratic form Q weighted by the channel overlaps u_k . u_l,
    # in the raw atoms r = v / window when the atoms are tapered
    H = Q * np.kron(u @ u.T, np.ones((L, L)))
    c = np.einsum("klc,kc->kl", Bk, u).reshape(-1, 1)
    r = v.reshape(-1, 1)
    if window is not None:
        w = np.tile(window, n_atoms)
        H = H * w[:, None] * w[None, :]
        c = c * w[:, None]
        r = untaper(r[:, 0], w)[:, None]
    r = _pgd_quadratic(
        H, c, r, lambda x: _project_rows(x.reshape(n_atoms, L)).reshape(-1, 1),
        max_iter, eps,
    ).reshape(n_atoms, L)
    return u, r if window is None else r * window


def update_uv_joint(u, v, Q, B, window=None, max_iter=300, eps=1e-8):
    """Projected gradient on ``(u_k, v_k)`` together, ``||u_k||^2 + ||v_k||^2 <= 1``.

    alphacsc's ``uv_constraint="joint"``. The data fit is not convex in ``(u, v)``
    jointly: the step is found by backtracking on the objective itself (each
    accepted step decreases it). With a ``window``, ``v = window * r`` and the
    constraint applies to ``(u, r)``.
    """
    n_atoms, n_channels = u.shape
    L = v.shape[1]
    w = np.ones(L) if window is None else window
    x = np.hstack([u, untaper(v, w)])

    def split(x):
        return x[:, :n_channels], x[:, n_channels:] * w

    def fit_and_grad(x):
        u, v = split(x)
        Dm = (u[:, None, :] * v[:, :, None]).reshape(n_atoms * L, n_channels)
        G = Q @ Dm - B
        f = 0.5 * np.sum(Dm * (G - B))  # 0.5 <D, Q D> - <B, D>
        Gk = G.reshape(n_atoms, L, n_channels)
        grad_u = np.einsum("klc,kl->kc", Gk, v)
        grad_r = np.einsum("klc,kc->kl", Gk, u) * w
        return f, np.hstack([grad_u, grad_r])

    # a first step from the curvature in v alone (that of Q for unit u), let
    # grow back after a backtracking: the curvature changes with (u, v)
    lip = _largest_eigenvalue(Q)
    if lip <= 0.0:
        return u, v
    x = _projected_gradient(fit_and_grad, x, _project_rows, 1.0 / lip, max_iter,
                            eps, grow=1.5)
    return split(x)


def update_D(D, Q, B, window=None, max_iter=300, eps=1e-8):
    """Projected gradient on full-rank atoms ``D`` (K, C, L), each in the unit ball.

    With a ``window`` (L,), ``D = window * R`` and the constraint applies to ``R``.
    """
    n_atoms = D.shape[0]

    def project(Dm):
        return flatten_atoms(_project_atoms(unflatten_atoms(Dm, n_atoms)))

    if window is None:
        Dm = _pgd_quadratic(Q, B, flatten_atoms(D), project, max_iter, eps)
        return unflatten_atoms(Dm, n_atoms).copy()
    w = np.tile(window, n_atoms)[:, None]
    Rm = _pgd_quadratic(Q * w * w.T, B * w, flatten_atoms(untaper(D, window)), project,
                        max_iter, eps)
    return unflatten_atoms(Rm, n_atoms) * window


def _project_atoms(D):
    norms = np.sqrt(np.sum(D * D, axis=(1, 2), keepdims=True))
    return D / np.maximum(norms, 1.0)
