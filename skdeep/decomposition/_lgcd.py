"""Z-step of convolutional dictionary learning: locally greedy coordinate descent.

The kernels solve, for each trial ``n`` and with the dictionary fixed,

    min_{z >= 0}  0.5 * ||X_n - sum_k z_k * D_k||_2^2 + reg * sum_k ||z_k||_1

by the locally greedy coordinate descent (LGCD) of Moreau, Oudre and Vayatis (2018):
the signal is cut into segments of ``2 * n_times_atom - 1`` samples; each visit of a
segment updates its coordinate with the largest change, and a segment is marked
inactive once its largest change is below the tolerance. The descent stops when all
segments are inactive. ``beta`` follows the gradient of the smooth term so that each
update costs ``O(n_atoms * n_times_atom)``. The pieces of the descent are inlined
in it (``inline="always"``), so that naming them costs no call in the hot loop.
"""

import numpy as np
from numba import njit
from scipy.signal import fftconvolve


@njit(cache=True, nogil=True, inline="always")
def _move_beta(beta, DtD, norm_D, k, t, dz):
    """Update ``beta`` for a change ``dz`` of coordinate ``(k, t)``.

    Returns the span ``[lo, hi)`` of the times whose ``beta`` moved.
    """
    n_atoms, n_times_valid = beta.shape
    n_times_atom = (DtD.shape[2] + 1) // 2
    lo = max(0, t - n_times_atom + 1)
    hi = min(n_times_valid, t + n_times_atom)
    for j in range(n_atoms):
        for s in range(lo, hi):
            beta[j, s] -= DtD[j, k, s - t + n_times_atom - 1] * dz
    beta[k, t] += norm_D[k] * dz
    return lo, hi


@njit(cache=True, nogil=True, inline="always")
def _initial_beta(DtX, DtD, norm_D, z):
    """``beta`` of the warm start ``z``.

    ``beta[k, t] = DtX - sum_{l, s != (k, t)} DtD * z``: the correlation of the
    residual without coordinate ``(k, t)`` itself (Moreau et al. 2018).
    """
    beta = DtX.copy()
    n_atoms, n_times_valid = DtX.shape
    for k in range(n_atoms):
        for t in range(n_times_valid):
            zkt = z[k, t]
            if zkt != 0.0:
                _move_beta(beta, DtD, norm_D, k, t, zkt)
    return beta


@njit(cache=True, nogil=True, inline="always")
def _largest_update(beta, z, inv_norm, reg, dz_buf, t_start, t_end, tol):
    """The largest coordinate update of the segment ``[t_start, t_end)``.

    Returns ``(dz, k, t)``, with ``dz = 0`` when no update exceeds ``tol``. A
    branch-free pass that vectorises stores the updates in ``dz_buf`` and their
    largest magnitude, then a short search takes the first coordinate that
    reaches it.
    """
    n_atoms = z.shape[0]
    width = t_end - t_start
    m = 0.0
    for k in range(n_atoms):
        ik = inv_norm[k]
        rk = reg[k]
        zk = z[k]
        bk = beta[k]
        buf = dz_buf[k]
        for t in range(t_start, t_end):
            dz = max(bk[t] - rk, 0.0) * ik - zk[t]
            buf[t - t_start] = dz
            m = max(m, abs(dz))
    if m > tol:
        for k in range(n_atoms):
            buf = dz_buf[k]
            for i in range(width):
                if abs(buf[i]) == m:
                    return buf[i], k, t_start + i
    return 0.0, 0, t_start


@njit(cache=True, nogil=True)
def _lgcd_one(DtX, DtD, norm_D, reg, z, tol, max_iter):
    """LGCD on one trial; ``z`` (n_atoms, n_times_valid) is the warm start, updated.

    ``reg`` holds one l1 weight per atom.

    ``DtX[k, t] = sum_{p, tau} D[k, p, tau] X[p, t + tau]`` and
    ``DtD[k, j, d + L - 1] = sum_{p, tau} D[k, p, tau] D[j, p, tau + d]``.
    Returns the number of coordinate updates and whether the descent converged.
    """
    n_atoms, n_times_valid = DtX.shape
    n_times_atom = (DtD.shape[2] + 1) // 2
    beta = _initial_beta(DtX, DtD, norm_D, z)
    # atoms of zero norm never activate
    inv_norm = np.zeros(n_atoms)
    for k in range(n_atoms):
        if norm_D[k] > 0.0:
            inv_norm[k] = 1.0 / norm_D[k]
    seg_len = 2 * n_times_atom - 1
    dz_buf = np.empty((n_atoms, seg_len))
    n_seg = (n_times_valid + seg_len - 1) // seg_len
    active = np.ones(n_seg, dtype=np.bool_)
    n_active = n_seg
    n_updates = 0
    for _ in range(max_iter):
        for i_seg in range(n_seg):
            if not active[i_seg]:
                continue
            t_start = i_seg * seg_len
            t_end = min(n_times_valid, t_start + seg_len)
            best, k0, t0 = _largest_update(beta, z, inv_norm, reg, dz_buf,
                                           t_start, t_end, tol)
            if abs(best) <= tol:
                active[i_seg] = False
                n_active -= 1
                continue
            z[k0, t0] += best
            n_updates += 1
            lo, hi = _move_beta(beta, DtD, norm_D, k0, t0, best)
            # the segments whose beta changed may have new large updates
            for seg in range(lo // seg_len, (hi - 1) // seg_len + 1):
                if not active[seg]:
                    active[seg] = True
                    n_active += 1
        if n_active == 0:
            return n_updates, True
    return n_updates, False


@njit(cache=True, nogil=True)
def _lgcd_batch(DtX, DtD, norm_D, reg, z, tol, max_iter):
    """Run :func:`_lgcd_one` on each trial of ``DtX`` (n, K, T_valid); ``z`` updated.

    ``reg`` (K,) holds one l1 weight per atom and ``tol`` (n,) one tolerance per trial.
    """
    n_trials = DtX.shape[0]
    n_updates = np.zeros(n_trials, dtype=np.int64)
    converged = np.zeros(n_trials, dtype=np.bool_)
    for n in range(n_trials):
        n_updates[n], converged[n] = _lgcd_one(
            DtX[n], DtD, norm_D, reg, z[n], tol[n], max_iter
        )
    return n_updates, converged


@njit(cache=True, nogil=True)
def compute_DtD(D):
    """Cross-correlations of the atoms ``D`` (K, C, L), shape (K, K, 2L - 1)."""
    n_atoms, n_channels, n_times_atom = D.shape
    DtD = np.zeros((n_atoms, n_atoms, 2 * n_times_atom - 1))
    for k in range(n_atoms):
        for j in range(n_atoms):
            for d in range(-n_times_atom + 1, n_times_atom):
                acc = 0.0
                for p in range(n_channels):
                    for tau in range(max(0, -d), min(n_times_atom, n_times_atom - d)):
                        acc += D[k, p, tau] * D[j, p, tau + d]
                DtD[k, j, d + n_times_atom - 1] = acc
    return DtD


def compute_DtX(X, D, u=None, v=None):
    """Valid correlation of signals ``X`` (n, C, T) with the atoms: (n, K, T - L + 1).

    With rank-1 atoms (``u`` (K, C), ``v`` (K, L)) the channels are first projected
    on ``u``, which saves a factor ``n_channels``.
    """
    if u is not None:
        uX = np.einsum("kc,nct->nkt", u, X)
        return fftconvolve(uX, v[None, :, ::-1], mode="valid", axes=-1)
    out = fftconvolve(X[:, None, :, :], D[None, :, :, ::-1], mode="valid", axes=-1)
    return out.sum(axis=2)


def reconstruct(z, D, u=None, v=None):
    """Signals ``sum_k z_k * D_k``, shape (n, C, T_valid + L - 1), from ``z``."""
    if u is not None:
        zv = fftconvolve(z, v[None], mode="full", axes=-1)
        return np.einsum("kc,nkt->nct", u, zv)
    out = fftconvolve(z[:, :, None, :], D[None], mode="full", axes=-1)
    return out.sum(axis=1)


def objective(X, z, reg, D, u=None, v=None):
    """The objective of the z-step for each trial, shape (n,).

    ``0.5 * ||X_n - sum_k z_nk * D_k||_2^2 + sum_k reg[k] * ||z_nk||_1`` for signals
    ``X`` (n, C, T) and activations ``z`` (n, K, T - L + 1), with one l1 weight per
    atom in ``reg`` (K,); rank-1 atoms are passed as in :func:`reconstruct`.
    """
    residual = X - reconstruct(z, D, u, v)
    data_fit = 0.5 * np.einsum("nct,nct->n", residual, residual)
    return data_fit + np.einsum("k,nkt->n", reg, np.abs(z))
