"""Learning the atoms: batch CDL by alternating minimisation, and online steps.

The batch fit (:func:`learn`) alternates a z-step (:func:`._encoding.encode`,
warm-started) and a d-step (:meth:`._atoms._AtomSet.d_step` on the sufficient
statistics of the activations) on signals in internal units, restarts unused
atoms, and stops through the iteration monitor's rule. :func:`learn_from_starts`
runs it from several starting dictionaries and keeps the best run;
:func:`online_step` is the step of :meth:`CDLTransformer.partial_fit`.
"""

import numpy as np
from joblib import Parallel, delayed

from ..utils._warnings import warn
from ._atoms import window_energy
from ._dstep import (
    compute_ztX,
    compute_ztz,
    data_fit,
    flatten_atoms,
    toeplitz_ztz,
)
from ._encoding import encode, lambda_max
from ._lgcd import compute_DtD, reconstruct

#: the modes of ``lmbd_max`` whose l1 weights follow the atoms at each iteration
_ADAPTIVE_L1 = ("per_atom", "shared")
#: the window of the stopping rule (``n_iter_no_change`` of the iteration
#: monitor): the decrease over this many iterations is compared with ``tol``, so
#: that a slow start does not stop the fit before the atoms take shape
STOP_WINDOW = 5


def l1_weights(X, atoms, *, reg, lmbd_max, scale, previous=None):
    """The l1 weight of each atom, in internal units, from ``reg`` and ``lmbd_max``.

    ``"fixed"``: ``reg / scale``; ``"scaled"``: ``reg`` times the largest
    ``lambda_max`` of the atoms; ``"per_atom"``: ``reg`` times each atom's own;
    ``"shared"``: ``reg`` times the largest. ``previous`` holds the weights in
    use, ``None`` at the start of a fit: ``"fixed"`` and ``"scaled"`` set them
    once and keep them, ``"per_atom"`` and ``"shared"`` recompute them from the
    current ``atoms`` at every call.
    """
    if previous is not None and lmbd_max not in _ADAPTIVE_L1:
        return previous
    n_atoms = atoms[2].shape[0]
    if lmbd_max == "fixed":
        return np.full(n_atoms, reg / scale)
    lam = reg * lambda_max(X, atoms)
    return lam if lmbd_max == "per_atom" else np.full(n_atoms, lam.max())


def _code(X, atoms, lam, z, n_jobs):
    """Z-step warm-started from ``z``; the activations and their statistics."""
    L = atoms[2].shape[2]
    z, _ = encode(X, atoms, lam, n_jobs, z0=z)
    Q = toeplitz_ztz(compute_ztz(z, L))
    B = flatten_atoms(compute_ztX(z, X, L))
    return z, Q, B


def _data_fit(atoms, Q, B, half_sq_norm_X):
    """``0.5 ||X - sum_k z_k * D_k||^2`` from the statistics ``Q``, ``B`` of ``z``."""
    return data_fit(flatten_atoms(atoms[2]), Q, B, half_sq_norm_X)


def _l1(lam, z):
    """The l1 term of the objective, ``sum_k lam_k ||z_k||_1`` (``z >= 0``)."""
    return float(np.sum(lam * z.sum(axis=(0, 2))))


def _worst_window(X, z, atoms, L):
    """The window of length ``L`` with the largest residual energy, (C, L)."""
    residual = X - reconstruct(z, atoms[2])
    local = window_energy(residual, L)
    n, t = np.unravel_index(np.argmax(local), local.shape)
    return residual[n, :, t : t + L]


def restart_atom(atom_set, atoms, k, X, z):
    """``atoms`` with atom ``k`` on the window of ``X`` worst reconstructed by ``z``."""
    return atom_set.replace(atoms, k, _worst_window(X, z, atoms, atoms[2].shape[2]))


# An atom restarted this many times that still goes unused is left as it is: the
# signals have no room for it (e.g. more atoms than patterns at this reg), and
# restarting it again would make the objective cycle instead of converge.
_MAX_RESTARTS_PER_ATOM = 5


def _restart_unused_atom(atom_set, atoms, X, z, restarts):
    """Restart the first atom with fewer than two activations, if any.

    Returns the atoms and whether one was restarted; its activations are set to
    zero in ``z`` and ``restarts`` (one count per atom) is incremented. With the
    greedy start, this is how the atoms not added yet (all zero) are added, one
    per iteration. An atom already restarted ``_MAX_RESTARTS_PER_ATOM`` times is
    not restarted again.
    """
    unused = np.flatnonzero(
        (np.count_nonzero(z, axis=(0, 2)) < 2) & (restarts < _MAX_RESTARTS_PER_ATOM)
    )
    if not unused.size:
        return atoms, False
    atoms = restart_atom(atom_set, atoms, unused[0], X, z)
    z[:, unused[0]] = 0.0
    restarts[unused[0]] += 1
    return atoms, True


def _warn_no_activation(reg):
    warn(
        f"reg={reg} is so large that all activations are zero; no atom was "
        "learned. Use a smaller reg.",
        UserWarning,
    )


def learn(X, atoms, *, lam, reg, lmbd_max, atom_set, n_jobs, monitor, callback,
          scale):
    """Batch CDL from the atoms ``(u, v, D)`` on signals ``X`` in internal units.

    Returns the atoms, the activations, the objective at the start and after
    each half-step, the l1 weights used last and whether the fit stopped before
    ``monitor.max_iter`` (stopping rule, callback, or no activation at all);
    nothing else is changed but ``monitor``, an
    :class:`~skdeep.utils._iteration.IterationMonitor` that records the
    objective after each iteration and decides convergence (a restarted atom is
    given one iteration before the rule is applied again). ``lam`` holds the l1
    weights of the start (see :func:`l1_weights`).
    """
    half_sq_norm_X = 0.5 * float(np.sum(X * X))
    z = np.zeros((X.shape[0], atoms[2].shape[0], X.shape[2] - atoms[2].shape[2] + 1))
    pobj = [half_sq_norm_X]
    converged, last_restart = False, -1
    restarts = np.zeros(atoms[2].shape[0], dtype=np.intp)
    while monitor.n_iter < monitor.max_iter:
        lam = l1_weights(X, atoms, reg=reg, lmbd_max=lmbd_max, scale=scale,
                         previous=lam)
        z, Q, B = _code(X, atoms, lam, z, n_jobs)
        l1 = _l1(lam, z)
        pobj.append(_data_fit(atoms, Q, B, half_sq_norm_X) + l1)
        if not np.any(z):  # nothing to learn from: one value, and stop
            _warn_no_activation(reg)
            pobj.append(pobj[-1])
            monitor.record(pobj[-1])
            converged = True
            break
        atoms = atom_set.d_step(atoms, Q, B)
        pobj.append(_data_fit(atoms, Q, B, half_sq_norm_X) + l1)
        monitor.record(pobj[-1])
        if callback is not None and callback(
            monitor.n_iter, atoms[2].copy(), z * scale, pobj[-1]
        ):
            converged = True
            break
        if monitor.n_iter < monitor.max_iter:
            atoms, restarted = _restart_unused_atom(atom_set, atoms, X, z, restarts)
            if restarted:
                last_restart = monitor.n_iter
                continue
        if monitor.n_iter - last_restart > 1 and monitor.converged():
            converged = True
            break
    return atoms, z, np.asarray(pobj), lam, converged


def _learn_monitored(X, atoms, make_monitor, **kwargs):
    """:func:`learn` with a new monitor, returned too (a worker fills it)."""
    monitor = make_monitor()
    return learn(X, atoms, monitor=monitor, **kwargs), monitor


def learn_from_starts(X, starts, make_monitor, *, parallel, n_jobs, **kwargs):
    """:func:`learn` from each start; the run of lowest final objective is kept.

    ``parallel`` runs the starts side by side through joblib (threads by
    default: the kernels release the GIL), each with a serial z-step; otherwise
    they run here in turn, each z-step spread over ``n_jobs``. Returns the kept
    run's result and monitor, and the final objective of every run.
    """
    runs = (
        delayed(_learn_monitored)(X, atoms, make_monitor,
                                  n_jobs=1 if parallel else n_jobs, **kwargs)
        for atoms in starts
    )
    if parallel:
        runs = Parallel(n_jobs=n_jobs, prefer="threads")(runs)
    else:
        runs = [func(*args, **kw) for func, args, kw in runs]
    best, losses = None, []
    for result, monitor in runs:
        losses.append(result[2][-1])
        if best is None or losses[-1] < best[0][2][-1]:
            best = (result, monitor)
    return best[0], best[1], np.asarray(losses)


def sort_by_energy(atoms, z, lam):
    """The atoms and weights by decreasing energy of their part of the signals."""
    D = atoms[2]
    ztz = compute_ztz(z, D.shape[2])
    DtD = compute_DtD(D)
    energy = np.array([np.dot(ztz[k, k], DtD[k, k]) for k in range(D.shape[0])])
    order = np.argsort(-energy, kind="stable")
    atoms = tuple(None if a is None else a[order] for a in atoms)
    return atoms, np.asarray(lam)[order]


def online_step(X, atoms, lam, stats, *, forget_factor, atom_set, n_jobs):
    """One step of online CDL on a mini-batch ``X`` (internal units).

    Codes ``X`` with the atoms, adds its statistics ``(ztz, ztX)`` to ``stats``
    (those of the previous batches) weighted by ``forget_factor``, takes one
    d-step on the sum and restarts an atom that no batch has used. Returns the
    atoms, the batch's activations and the new statistics.
    """
    L = atoms[2].shape[2]
    z, _ = encode(X, atoms, lam, n_jobs)
    ztz = forget_factor * stats[0] + compute_ztz(z, L)
    ztX = forget_factor * stats[1] + compute_ztX(z, X, L)
    if np.any(z):
        atoms = atom_set.d_step(atoms, toeplitz_ztz(ztz), flatten_atoms(ztX))
        unused = np.flatnonzero(np.diagonal(ztz[:, :, L - 1]) == 0.0)
        if unused.size:
            atoms = restart_atom(atom_set, atoms, unused[0], X, z)
    return atoms, z, (ztz, ztX)
