"""Convolutional dictionary learning (alphacsc family) as a scikit-learn transformer."""

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._iteration import IterationMonitor
from ..utils._validation import validate_data
from ._dstep import (
    compute_ztX,
    compute_ztz,
    data_fit,
    flatten_atoms,
    toeplitz_ztz,
    tukey_window,
    update_D,
    update_uv,
    update_uv_joint,
)
from ._lgcd import _lgcd_batch, compute_DtD, compute_DtX, objective, reconstruct

# LGCD stops when no coordinate moves by more than this fraction of std(X_n), as
# in alphacsc; the cap on passes over the segments is never reached in practice.
_TOL_Z = 1e-3
_MAX_PASSES_Z = 100_000
# std(X_n) is floored at this fraction of the unit of the fit (the RMS of the
# training signals), so that a flat trial does not ask for an exact solution.
_STD_FLOOR = 1e-3
# the stopping test averages the relative decrease over this many iterations, so
# that a slow start does not stop the fit before the atoms take shape
_TOL_WINDOW = 5
_POOLING_STATS = {
    "max": ("max",),
    "mean": ("mean",),
    "sum": ("sum",),
    "count": ("count",),
    "stats": ("max", "mean", "count"),
}


def _rank1_from_chunk(chunk):
    """Best rank-1 approximation ``u v^T`` of a (C, L) chunk, both unit norm."""
    U, s, Vt = np.linalg.svd(chunk, full_matrices=False)
    u, v = U[:, 0], Vt[0]
    # fix the SVD's sign so that the result does not depend on LAPACK
    if v[np.argmax(np.abs(v))] < 0:
        u, v = -u, -v
    return u, v


def _center(X):
    """``X`` minus the median of each channel in each trial (its baseline).

    The median, not the mean: the mean of sparse non-negative events on a flat
    baseline is not the baseline, and the negative offset it would leave between
    the events cannot be represented by the atoms either.
    """
    return X - np.median(X, axis=2, keepdims=True)


def _signal_scale(X):
    """The unit of the signals: RMS of ``X`` about each (trial, channel) mean.

    Computed on ``X / max|X|`` so that neither tiny nor huge values under- or
    overflow; 1 for an all-zero ``X``, ``max|X|`` when every channel is flat.
    """
    peak = float(np.max(np.abs(X))) if X.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return 1.0
    Xn = X / peak
    rms = float(np.sqrt(np.mean(np.var(Xn, axis=2))))
    return peak * rms if rms > 0.0 else peak


def _z_step(DtX, DtD, norm_D, reg, z, tol, n_jobs):
    """LGCD on every trial, trials split into ``n_jobs`` chunks run by joblib."""
    n_trials = DtX.shape[0]
    # the number of jobs of the active joblib backend (that of a
    # ``parallel_config`` context when n_jobs is None)
    n_jobs_eff = effective_n_jobs(n_jobs)
    if n_jobs_eff == 1 or n_trials == 1:
        _, converged = _lgcd_batch(DtX, DtD, norm_D, reg, z, tol, _MAX_PASSES_Z)
        return z, converged
    n_chunks = min(n_trials, n_jobs_eff)
    bounds = np.linspace(0, n_trials, n_chunks + 1).astype(int)

    def run(a, b):
        zc = z[a:b].copy()
        _, conv = _lgcd_batch(DtX[a:b], DtD, norm_D, reg, zc, tol[a:b], _MAX_PASSES_Z)
        return zc, conv

    # the kernels release the GIL, so threads run them in parallel
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(run)(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a
    )
    z = np.concatenate([r[0] for r in results])
    converged = np.concatenate([r[1] for r in results])
    return z, converged


# A chunk of a long recording is first solved with this many LGCD segments (of
# 2 * n_times_atom - 1 samples) of margin on each side of the part it keeps;
# where two neighbouring chunks disagree around their boundary both are solved
# again with twice the margin (see ``_encode_chunked``).
_CHUNK_MARGIN_SEGMENTS = 4
_CHUNK_MAX_MARGIN_SEGMENTS = 64
# two chunks agree at their boundary when their activations there differ by less
# than this fraction of the z-step tolerance: a different path of the descent
# moves them by about the tolerance, rounding by ~1e-12 of it
_CHUNK_AGREEMENT = 1e-6


_STATS_BLOCK = 1 << 13


def _trial_stats(X, n, center):
    """Per-channel baseline and the spread of the centred trial ``X[n]``.

    The spread is that of ``(X[n] - baseline)`` over channels and samples, as
    ``std`` computes it, accumulated in blocks of samples so that no copy of
    the trial is made (the median copies one channel).
    """
    n_channels, n_times = X.shape[1], X.shape[2]
    med = np.zeros((n_channels, 1))
    if center:
        for c in range(n_channels):
            med[c, 0] = np.median(X[n, c])
    blocks = range(0, n_times, _STATS_BLOCK)
    total = sum(float(np.sum(X[n, :, a:a + _STATS_BLOCK] - med)) for a in blocks)
    mean = total / (n_channels * n_times)
    sq = 0.0
    for a in blocks:
        dev = X[n, :, a:a + _STATS_BLOCK] - med - mean
        sq += float(np.sum(dev * dev))
    return med, np.sqrt(sq / (n_channels * n_times))


def _solve_chunk(X_part, med, scale, atoms, DtD, norm_D, lam, tol, std, keep, half,
                 unbiased):
    """Activations of one chunk ``X_part`` (C, len) of a trial, internal units.

    Returns the kept part ``keep = (a, b)`` (indices in the chunk), the
    activations on ``[a - half, a + half)`` and ``[b - half, b + half)`` (clipped
    to the chunk: what the neighbours' are compared with) and the LGCD flag.
    """
    Xc = ((X_part - med) / scale)[None]
    DtX = _correlate(Xc, atoms)
    z = np.zeros_like(DtX)
    _, converged = _lgcd_batch(DtX, DtD, norm_D, lam, z, np.array([tol]),
                               _MAX_PASSES_Z)
    del DtX
    if unbiased:
        z = _unbiased(Xc, atoms, z, std=np.array([std]))
    z = z[0]
    a, b = keep
    n = z.shape[1]
    left = z[:, max(a - half, 0):min(a + half, n)].copy()
    right = z[:, max(b - half, 0):min(b + half, n)].copy()
    return z[:, a:b], left, right, bool(converged[0])


def _encode_chunked(X, atoms, lam, scale, *, center, chunk_size, unbiased, n_jobs):
    """Z-step of every trial in overlapping chunks; returns (z, converged flags).

    ``z`` is in internal units. ``X`` is in the units of the data (neither
    centred nor scaled): each chunk is centred and scaled on its own with the
    baseline and the tolerance of its whole trial, so the working memory is that
    of a chunk. The descent is local (an update moves the correlations of at
    most ``2 L - 1`` samples, and the gaps of a sparse solution stop its
    effect), so a chunk solved with a margin on both sides of the part it keeps,
    its boundaries on the LGCD segments of the whole-trial solve, makes in that
    part the updates of the whole-trial descent. This is checked: two
    neighbouring chunks both solve the samples around their boundary, and where
    they differ by more than rounding both are solved again with twice the
    margin (up to the whole trial), so the activations are those of the
    whole-trial solve up to rounding.
    """
    n_trials, _, n_times = X.shape
    D = atoms[2]
    n_atoms, L = D.shape[0], D.shape[2]
    seg_len = 2 * L - 1
    chunk = max(seg_len, -(-int(chunk_size) // seg_len) * seg_len)
    n_valid = n_times - L + 1
    DtD = compute_DtD(D)
    norm_D = np.ascontiguousarray(np.diagonal(DtD[:, :, L - 1]))
    lam = np.ascontiguousarray(np.broadcast_to(lam, (n_atoms,)), dtype=np.float64)
    stats = [_trial_stats(X, n, center) for n in range(n_trials)]
    tols = [_TOL_Z * max(std / scale, _STD_FLOOR) for _, std in stats]
    chunks = [(n, a, min(a + chunk, n_valid)) for n in range(n_trials)
              for a in range(0, n_valid, chunk)]
    margin = [0] * len(chunks)
    base_margin = [_CHUNK_MARGIN_SEGMENTS * seg_len]
    max_margin = min(_CHUNK_MAX_MARGIN_SEGMENTS * seg_len, n_valid)
    z = np.zeros((n_trials, n_atoms, n_valid))
    converged = np.ones(len(chunks), dtype=bool)

    def jobs(todo):
        # the slices are made as joblib asks for them (views here), and each job
        # gets its own slice only
        for i in todo:
            n, a, b = chunks[i]
            # a chunk not solved yet starts with the margin that sufficed so far
            margin[i] = max(margin[i], base_margin[0])
            sa, sb = max(a - margin[i], 0), min(b + margin[i], n_valid)
            yield delayed(_solve_chunk)(
                X[n, :, sa:sb + L - 1], stats[n][0], scale, atoms, DtD, norm_D,
                lam, tols[n], stats[n][1] / scale, (a - sa, b - sa),
                margin[i] // 2, unbiased,
            )

    def check(i, redo):
        """Compare chunks ``i`` and ``i + 1`` around their boundary."""
        n, _, b = chunks[i]
        if chunks[i + 1][0] != n or min(margin[i], margin[i + 1]) >= n_valid:
            return  # another trial, or both solved the whole trial
        h = min(margin[i], margin[i + 1]) // 2
        lo, hi = max(b - h, 0), min(b + h, n_valid)
        r0, right = windows[i][2], windows[i][3]
        l0, left = windows[i + 1][0], windows[i + 1][1]
        gap = np.max(np.abs(right[:, lo - r0:hi - r0] - left[:, lo - l0:hi - l0]),
                     initial=0.0)
        if gap > _CHUNK_AGREEMENT * tols[n]:
            redo.update((i, i + 1))
            # the activations' effects reach farther than this margin: the
            # chunks still to solve start with twice of it
            base_margin[0] = min(max(base_margin[0], 4 * h), max_margin // 4)

    windows = {}
    todo = list(range(len(chunks)))
    while todo:
        pending, redo = set(todo), set()
        # threads by default (the kernels release the GIL), any joblib backend
        # when set; results come in order, as they are ready
        results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
            jobs(todo)
        )
        for i, (z_kept, left, right, conv) in zip(todo, results):
            n, a, b = chunks[i]
            z[n, :, a:b] = z_kept
            h = margin[i] // 2
            windows[i] = (max(a - h, 0), left, max(b - h, 0), right)
            converged[i] = conv
            pending.discard(i)
            if i - 1 in windows:
                check(i - 1, redo)
            if i + 1 in windows and i + 1 not in pending:
                check(i, redo)
            # keep the windows a later check may need: the last two chunks and
            # the neighbours of the chunks to solve again
            keep = {j + d for j in redo for d in (-1, 0, 1)}
            for j in [j for j in windows if j < i - 1 and j not in keep]:
                del windows[j]
        # where the descent's path depends on samples farther away than the
        # largest margin (dense activations), the chunks keep their solutions:
        # they differ from the whole-trial solve by about the z-step tolerance,
        # as the whole-trial solve itself does from the exact minimiser
        redo = {i for i in redo if margin[i] < max_margin}
        for i in redo:
            margin[i] = min(2 * margin[i], max_margin)
        keep = {j + d for j in redo for d in (-1, 0, 1)}
        windows = {j: w for j, w in windows.items() if j in keep}
        todo = sorted(redo)
    flags = np.ones(n_trials, dtype=bool)
    for (n, _, _), conv in zip(chunks, converged):
        flags[n] &= conv
    return z, flags

def _full_atoms(u, v):
    return u[:, :, None] * v[:, None, :]


def _correlate(X, atoms):
    """``DtX`` for the atoms ``(u, v, D)`` (rank-1 when ``u`` is not None)."""
    u, v, D = atoms
    if u is not None:
        return compute_DtX(X, D, u, v)
    return compute_DtX(X, D)


def _lambda_max(X, atoms):
    """Per atom, the smallest l1 weight for which its activations are all zero."""
    DtX = _correlate(X, atoms)
    return np.maximum(DtX.max(axis=(0, 2)), 0.0)


def _encode(X, atoms, lam, n_jobs, z0=None):
    """Z-step with the atoms fixed; returns the activations and the LGCD flags."""
    D = atoms[2]
    DtX = _correlate(X, atoms)
    DtD = compute_DtD(D)
    norm_D = np.ascontiguousarray(np.diagonal(DtD[:, :, D.shape[2] - 1]))
    z = np.zeros_like(DtX) if z0 is None else z0
    std = X.reshape(X.shape[0], -1).std(axis=1)
    tol = _TOL_Z * np.maximum(std, _STD_FLOOR)
    lam = np.ascontiguousarray(np.broadcast_to(lam, (D.shape[0],)), dtype=np.float64)
    return _z_step(DtX, DtD, norm_D, lam, z, tol, n_jobs)


class _AtomSet:
    """The set the atoms live in, and the d-step that keeps them there.

    Rank-1 atoms ``u v^T`` with ``||u|| <= 1`` and ``||v|| <= 1`` (separate) or
    ``||u||^2 + ||v||^2 <= 1`` (joint), or full-rank atoms in the unit ball; with
    a ``window`` (n_times_atom,), the temporal atoms are ``window * r`` and the
    constraint applies to ``r`` (alphacsc's ``window=True``). Atoms are passed
    around as ``(u, v, D)`` in their tapered form, the one that codes the signals.
    """

    def __init__(self, rank1, uv_constraint="separate", window=None):
        self.rank1 = rank1
        self.joint = rank1 and uv_constraint == "joint"
        self.window = window

    def from_factors(self, u, v):
        """Atoms from factors of norm at most 1, put in the set and tapered."""
        if self.joint:
            # the same atoms u v^T with ||u|| = ||v|| (the balanced pair that
            # fits the joint ball best), shrunk into the ball if outside it
            nu = np.linalg.norm(u, axis=1, keepdims=True)
            nv = np.linalg.norm(v, axis=1, keepdims=True)
            s = np.sqrt(nu * nv)
            u = np.divide(u * s, nu, out=np.zeros_like(u), where=nu > 0)
            v = np.divide(v * s, nv, out=np.zeros_like(v), where=nv > 0)
            shrink = np.maximum(np.sqrt(2.0) * s, 1.0)  # ||(u, v)|| = sqrt(2) s
            u, v = u / shrink, v / shrink
        if self.window is not None:
            v = v * self.window
        return u, v, _full_atoms(u, v)

    def from_chunks(self, chunks):
        """Chunks of signal (K, C, L) projected on the set, as ``(u, v, D)``."""
        K, C, L = chunks.shape
        if self.rank1:
            u, v = np.zeros((K, C)), np.zeros((K, L))
            for k, chunk in enumerate(chunks):
                if np.any(chunk):
                    u[k], v[k] = _rank1_from_chunk(chunk)
            return self.from_factors(u, v)
        norms = np.sqrt(np.sum(chunks * chunks, axis=(1, 2), keepdims=True))
        D = np.divide(chunks, norms, out=np.zeros_like(chunks), where=norms > 0)
        return None, None, D if self.window is None else D * self.window

    def d_step(self, atoms, Q, B):
        """Update the atoms with the activations' sufficient statistics fixed."""
        u, v, D = atoms
        if self.rank1:
            update = update_uv_joint if self.joint else update_uv
            u, v = update(u, v, Q, B, window=self.window)
            return u, v, _full_atoms(u, v)
        return None, None, update_D(D, Q, B, window=self.window)

    def replace(self, atoms, k, chunk):
        """``atoms`` with atom ``k`` restarted on a (C, L) chunk of signal."""
        u, v, D = atoms
        new = self.from_chunks(chunk[None])
        if self.rank1:
            u, v = u.copy(), v.copy()
            u[k], v[k] = new[0][0], new[1][0]
            return u, v, _full_atoms(u, v)
        D = D.copy()
        D[k] = new[2][0]
        return None, None, D


def _window_energy(X, L):
    """Energy of every window of length ``L``: (n, T - L + 1)."""
    energy = np.sum(X * X, axis=1)
    csum = np.concatenate(
        [np.zeros((X.shape[0], 1)), np.cumsum(energy, axis=1)], axis=1
    )
    return csum[:, L:] - csum[:, :-L]


def _worst_window(X, z, atoms, L):
    """The window of length ``L`` with the largest residual energy, (C, L)."""
    residual = X - reconstruct(z, atoms[2])
    local = _window_energy(residual, L)
    n, t = np.unravel_index(np.argmax(local), local.shape)
    return residual[n, :, t : t + L]


def _sort_by_variance(atoms, z, rank1):
    """Order of the atoms by decreasing energy of their part of the signals."""
    D = atoms[2]
    L = D.shape[2]
    ztz = compute_ztz(z, L)
    DtD = compute_DtD(D)
    energy = np.array([np.dot(ztz[k, k], DtD[k, k]) for k in range(D.shape[0])])
    return np.argsort(-energy, kind="stable")


def _learn(X, atoms, *, lam0, reg, lmbd_max, atom_set, max_iter, tol, n_jobs,
           monitor, callback, scale):
    """Batch CDL from the atoms ``(u, v, D)`` on signals in internal units.

    A pure function: returns the atoms, the activations, the objective after
    each half-step, the l1 weights used last and whether the stopping test was
    met. ``lam0`` is the l1 weight of ``lmbd_max`` in {"fixed", "scaled"}.
    """
    n_trials, n_channels, n_times = X.shape
    n_atoms, _, L = atoms[2].shape
    half_sq_norm_X = 0.5 * float(np.sum(X * X))
    z = np.zeros((n_trials, n_atoms, n_times - L + 1))
    pobj = [half_sq_norm_X]
    converged = False
    last_restart = -1
    lam = lam0
    while monitor.n_iter < max_iter:
        if lmbd_max in ("per_atom", "shared"):
            lam = reg * _lambda_max(X, atoms)
            if lmbd_max == "shared":
                lam = np.full(n_atoms, lam.max())
        z, _ = _encode(X, atoms, lam, n_jobs, z0=z)
        ztz = compute_ztz(z, L)
        Q = toeplitz_ztz(ztz)
        B = flatten_atoms(compute_ztX(z, X, L))
        l1 = float(np.sum(lam * z.sum(axis=(0, 2))))
        pobj.append(data_fit(flatten_atoms(atoms[2]), Q, B, half_sq_norm_X) + l1)

        if not np.any(z):
            warnings.warn(
                f"reg={reg} is so large that all activations are zero; no atom was "
                "learned. Use a smaller reg.",
                UserWarning,
            )
            pobj.append(pobj[-1])
            monitor.record(pobj[-1])
            converged = True
            break

        atoms = atom_set.d_step(atoms, Q, B)
        pobj.append(data_fit(flatten_atoms(atoms[2]), Q, B, half_sq_norm_X) + l1)
        monitor.record(pobj[-1])
        if callback is not None and callback(
            monitor.n_iter, atoms[2].copy(), z * scale, pobj[-1]
        ):
            converged = True
            break

        # an unused atom (and, with the greedy start, an atom not added yet) is
        # restarted on the window of the signals worst reconstructed
        nnz = np.count_nonzero(z, axis=(0, 2))
        unused = np.flatnonzero(nnz < 2)
        if unused.size and monitor.n_iter < max_iter:
            k0 = unused[0]
            atoms = atom_set.replace(atoms, k0, _worst_window(X, z, atoms, L))
            z[:, k0] = 0.0
            last_restart = monitor.n_iter
            continue

        # average relative decrease over the last iterations since a restart
        window = min(_TOL_WINDOW, monitor.n_iter - last_restart - 1)
        if window >= 1 and monitor.n_iter >= min(_TOL_WINDOW, max_iter) + 1:
            curve = pobj[2::2]
            ref = max(abs(curve[-1]), np.finfo(float).tiny)
            if (curve[-1 - window] - curve[-1]) / ref < tol * window:
                converged = True
                break
    return atoms, z, np.asarray(pobj), lam, converged


def _learn_monitored(X, atoms, monitor, **kwargs):
    """:func:`_learn` returning its monitor too (which a worker process fills)."""
    return _learn(X, atoms, monitor=monitor, **kwargs), monitor


class CDLTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Convolutional dictionary learning with rank-1 multivariate atoms.

    Learns ``n_atoms`` short patterns (atoms) and their sparse non-negative
    activations so that each signal is a sum of atoms placed at the activation
    times,

    .. math::

        \\min_{D, z \\geq 0} \\sum_n \\frac12 \\|X_n - \\sum_k z_{nk} * D_k\\|_2^2
        + \\sum_k \\lambda_k \\sum_n \\|z_{nk}\\|_1,
        \\quad D_k = u_k v_k^\\top,\\ \\|u_k\\|_2 \\le 1,\\ \\|v_k\\|_2 \\le 1,

    where ``u_k`` is a spatial map over the channels and ``v_k`` a temporal atom
    (the rank-1 multivariate model of Dupré la Tour et al. 2018, section 2; with
    ``rank1=False`` the atoms ``D_k`` are full (n_channels, n_times_atom) matrices in
    the unit ball). The fit alternates

    - a z-step: the convex sparse coding problem in ``z`` solved per trial by locally
      greedy coordinate descent (LGCD, Moreau et al. 2018) in a numba kernel, trials
      in parallel through joblib with ``n_jobs``, warm-started from the previous
      activations;
    - a d-step: projected gradient with an adaptive (backtracking) step on ``u`` then
      on ``v`` (or on ``D``), computed from the sufficient statistics ``z^T z`` and
      ``z^T X`` so its cost does not grow with the length of the signals.

    The signals are divided internally by their RMS (about each channel's mean,
    ``scale_``), so the results do not depend on the units: for ``c * X`` the atoms
    and the objective are those for ``X``, and the activations and ``lambda_`` are
    multiplied by ``c``. The objective (``loss_curve_``, ``pobj_``) is reported
    for the signals in these internal units, ``X / scale_``.

    As in alphacsc's ``lmbd_max="scaled"``, ``lambda = reg * lambda_max``, with
    ``lambda_max`` the smallest value for which the activations of the initial
    dictionary are all zero; ``lambda`` then stays fixed, so the objective decreases
    at every step. An atom left with fewer than two activations is replaced by the
    window of the signals worst reconstructed (the only step that may raise the
    objective). The fit is run from ``n_init`` starting dictionaries (all with
    the ``lambda`` of the first) and the one reaching the lowest objective is kept.

    Parameters
    ----------
    n_atoms : int, default=5
        Number of atoms.
    n_times_atom : int, default=64
        Length of the atoms in samples; at most the length of the signals.
    reg : float, default=0.1
        Sparsity: a fraction in ``(0, 1]`` of ``lambda_max``, or with
        ``lmbd_max="fixed"`` the l1 weight itself, in units of ``X``.
    rank1 : bool, default=True
        Learn rank-1 atoms ``u_k v_k^T``; ``False`` learns full-rank atoms. The two
        coincide for univariate signals.
    uv_constraint : {"separate", "joint"}, default="separate"
        Norm constraint of rank-1 atoms (alphacsc's options): ``"separate"``,
        ``||u_k|| <= 1`` and ``||v_k|| <= 1``, with ``u`` and ``v`` updated in
        turn (each step a convex problem); ``"joint"``, ``||u_k||^2 + ||v_k||^2
        <= 1``, with ``(u, v)`` updated together by projected gradient. The
        atoms span the same set up to their scale (at most 1/2 in norm under
        ``"joint"``), which the activations absorb when ``reg`` is relative to
        ``lambda_max``; with ``lmbd_max="fixed"`` the same ``reg`` weighs twice
        as much under ``"joint"``. Ignored when ``rank1=False``.
    window : bool, default=False
        Taper the temporal atoms with a Tukey window (cosine fraction 0.5):
        each atom is ``window * r`` with the norm constraint on ``r``, so its
        ends go smoothly to zero and an atom cannot use its edges to fit
        fragments of neighbouring patterns (alphacsc's ``window``). The learned
        atoms (``v_hat_``, ``D_hat_``) are the tapered ones, and the starting
        atoms (an array ``D_init`` too) are tapered before the fit. Needs
        ``n_times_atom >= 3``.
    center : bool, default=True
        Subtract the baseline (the median) of each channel in each trial before
        coding (in :meth:`fit`, :meth:`partial_fit` and :meth:`transform`). Atoms
        cannot represent a constant: without it, an offset is tiled by many
        overlapping activations, which is slow and biases the atoms.
        :meth:`inverse_transform` then rebuilds the centred signals.
    n_init : int, default=3
        Number of starting dictionaries; the fit with the lowest final objective is
        kept. Ignored (one run) when ``D_init`` is an array or ``"greedy"``, which
        do not depend on the seed.
    D_init : {"greedy", "chunk", "random"} or array-like, default="greedy"
        Starting dictionary. ``"chunk"``: windows of the signals at random times
        (their best rank-1 approximation); ``"random"``: Gaussian atoms;
        ``"greedy"``: the window of largest energy, then one atom per iteration on
        the window worst reconstructed (alphacsc's greedy algorithm); or an array
        of shape (n_atoms, n_channels, n_times_atom), or for ``rank1=True``
        (n_atoms, n_channels + n_times_atom) as alphacsc's ``uv``.
    lmbd_max : {"scaled", "fixed", "per_atom", "shared"}, default="scaled"
        How ``reg`` sets the l1 weight (alphacsc's options): ``"scaled"``,
        ``reg * lambda_max`` of the first starting dictionary, then fixed;
        ``"fixed"``, ``reg`` itself; ``"per_atom"``, ``reg`` times each atom's own
        ``lambda_max``, recomputed at each iteration; ``"shared"``, ``reg`` times
        the largest of them, recomputed at each iteration. With the last two the
        objective changes from one iteration to the next and need not decrease.
    max_iter : int, default=100
        Maximum number of iterations, each a z-step followed by a d-step.
    tol : float, default=1e-3
        Stop when the relative decrease of the objective, averaged over the last
        five iterations, falls below ``tol``.
    pooling : {"stats", "max", "mean", "sum", "count"} or None, default="stats"
        How :meth:`transform` summarises the activations of each atom in each of
        ``n_windows`` time windows: ``"stats"`` gives the max, the mean and the
        rate of activations (fraction of nonzero samples); ``"count"`` the rate
        alone. ``None`` returns the flattened activations.
    n_windows : int, default=4
        Number of time windows the activations are pooled over by
        :meth:`transform` (1 pools over the whole signal). Signals shorter than
        ``n_windows`` valid samples use as many windows as samples.
    pooling_windows : {"triangular", "hard"}, default="triangular"
        Shape of the pooling windows (see :func:`pool_activations`):
        overlapping triangular windows, in which a feature changes smoothly as
        an activation shifts in time, or consecutive equal windows.
    include_baseline : bool, default=True
        Append to the pooled features of :meth:`transform` the median of each
        channel of each trial (the baseline ``center`` removes before coding;
        appended whether or not ``center`` is set):
        the model of a trial is this baseline plus the atoms, and without it
        two trials that differ by an offset get the same features. Ignored
        with ``pooling=None``.
    callback : callable, default=None
        Called after each iteration as ``callback(n_iter, D, z, loss)`` with the
        current atoms (n_atoms, n_channels, n_times_atom), activations (in the
        units of ``X``) and objective; returning True stops the fit.
    sort_atoms : bool, default=False
        Order the learned atoms by decreasing energy of their contribution to the
        signals (alphacsc's ``sort_atoms``).
    unbiased_z_hat : bool, default=False
        In :meth:`transform_activations`, refit the amplitudes of the nonzero
        activations by least squares on their support (no l1 shrinkage).
    forget_factor : float, default=0.8
        Weight of the statistics of previous mini-batches in :meth:`partial_fit`
        (alphacsc's online ``alpha``); 1 weighs all batches equally.
    chunk_size : int, default=None
        With an int, :meth:`transform_activations` (and :meth:`transform`) solve
        each trial longer than that many activation samples in chunks of about
        ``chunk_size`` samples (rounded up to a multiple of the z-step's segment,
        ``2 * n_times_atom - 1``), each extended by a margin of
        ``8 * n_times_atom - 4`` samples of the recording on both sides. The
        activations are those of the whole-trial solve (up to rounding: the
        descent is local and makes the same updates in the kept part of each
        chunk), the working memory is that of one chunk per job beside the
        returned activations, and the chunks of one long recording run in
        parallel over ``n_jobs``. ``None`` solves each trial at once.
    n_jobs : int, default=None
        Number of parallel jobs, through joblib: the ``n_init`` starts of
        :meth:`fit` (or, with one start, the trials of its z-step) and the trials
        or chunks (``chunk_size``) of :meth:`transform_activations`. Threads by
        default, as the kernels release the GIL; in a
        :func:`joblib.parallel_config` context (e.g. ``backend="dask"``) that
        backend runs them. ``None`` means 1 unless in such a context; ``-1``
        uses all processors. The results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seed of the starting dictionaries.
    verbose : int, default=0
        Print the objective after each iteration when positive.

    Attributes
    ----------
    u_hat_ : ndarray of shape (n_atoms, n_channels)
        Spatial maps (the best rank-1 factor of each atom when ``rank1=False``).
    v_hat_ : ndarray of shape (n_atoms, n_times_atom)
        Temporal atoms (likewise).
    D_hat_ : ndarray of shape (n_atoms, n_channels, n_times_atom)
        Full atoms; ``u_hat_[k, :, None] * v_hat_[k]`` when ``rank1=True``.
    lambda_ : ndarray of shape (n_atoms,)
        l1 weight of each atom used last by the fit and by :meth:`transform`, in
        the units of ``X`` (all equal unless ``lmbd_max="per_atom"``).
    scale_ : float
        Internal unit of the signals (RMS of the training signals about each
        channel's mean).
    n_channels_ : int
        Number of channels of the signals seen in fit (1 for 2-D input).
    n_times_ : int
        Length of the signals seen in fit.
    n_iter_ : int
        Number of iterations run by the kept fit.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Objective after each iteration (after its d-step), for ``X / scale_``;
        with :meth:`partial_fit`, the objective of each mini-batch.
    pobj_ : ndarray of shape (2 * `n_iter_` + 1,)
        Objective at the start, then after each z-step and each d-step
        (``pobj_[2::2]`` is ``loss_curve_``).
    init_losses_ : ndarray of shape (n_runs,)
        Final objective of each of the runs started (``n_init`` or 1).
    n_batches_ : int
        Number of mini-batches seen by :meth:`partial_fit`.
    n_features_in_ : int
        ``n_times`` for 2-D input, ``n_channels`` for 3-D input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a 2-D DataFrame input.

    See Also
    --------
    sklearn.decomposition.DictionaryLearning : Dictionary learning without shifts.
    activations_to_events : Activations as MNE-style event arrays.

    References
    ----------
    .. [1] T. Dupré la Tour, T. Moreau, M. Jas and A. Gramfort, "Multivariate
       convolutional sparse coding for electromagnetic brain signals", NeurIPS 2018.
    .. [2] T. Moreau, L. Oudre and N. Vayatis, "DICOD: Distributed Convolutional
       Coordinate Descent for Convolutional Sparse Coding", ICML 2018 (LGCD).
    .. [3] M. Jas, T. Dupré la Tour, U. Şimşekli and A. Gramfort, "Learning the
       Morphology of Brain Signals Using Alpha-Stable Convolutional Sparse Coding",
       NeurIPS 2017.

    Examples
    --------
    >>> from skdeep.datasets import make_cdl_signals
    >>> from skdeep.decomposition import CDLTransformer
    >>> from skdeep.metrics import dictionary_recovery_score
    >>> X, u, v, z = make_cdl_signals(n_trials=4, n_channels=3, n_times=600,
    ...                               n_atoms=2, n_times_atom=32, noise_level=0.05,
    ...                               random_state=0)
    >>> cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2, random_state=0)
    >>> cdl.fit(X).transform(X).shape  # 2 atoms x 4 windows x 3 stats + 3 baselines
    (4, 27)
    >>> D_true = u[:, :, None] * v[:, None, :]
    >>> dictionary_recovery_score(D_true, cdl.D_hat_) > 0.95
    True
    >>> cdl.loss_curve_.shape == (cdl.n_iter_,)
    True

    A long recording encoded in chunks gives the activations of the one-shot
    solve:

    >>> import numpy as np
    >>> X_long = make_cdl_signals(n_trials=1, n_channels=3, n_times=6000,
    ...                           n_atoms=2, n_times_atom=32, random_state=1)[0]
    >>> z = cdl.transform_activations(X_long)
    >>> z_chunks = cdl.set_params(chunk_size=1000).transform_activations(X_long)
    >>> bool(np.allclose(z_chunks, z, rtol=0, atol=1e-10 * z.max()))
    True
    """

    _parameter_constraints = {
        "n_atoms": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_times_atom": [Interval(numbers.Integral, 1, None, closed="left")],
        "reg": [Interval(numbers.Real, 0, None, closed="neither")],
        "rank1": ["boolean"],
        "uv_constraint": [StrOptions({"separate", "joint"})],
        "window": ["boolean"],
        "center": ["boolean"],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "D_init": [StrOptions({"chunk", "random", "greedy"}), "array-like"],
        "lmbd_max": [StrOptions({"scaled", "fixed", "per_atom", "shared"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "pooling": [StrOptions(set(_POOLING_STATS)), None],
        "n_windows": [Interval(numbers.Integral, 1, None, closed="left")],
        "pooling_windows": [StrOptions({"triangular", "hard"})],
        "include_baseline": ["boolean"],
        "callback": [callable, None],
        "sort_atoms": ["boolean"],
        "unbiased_z_hat": ["boolean"],
        "forget_factor": [Interval(numbers.Real, 0, 1, closed="both")],
        "chunk_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_atoms=5,
        n_times_atom=64,
        reg=0.1,
        rank1=True,
        uv_constraint="separate",
        window=False,
        center=True,
        n_init=3,
        D_init="greedy",
        lmbd_max="scaled",
        max_iter=100,
        tol=1e-3,
        pooling="stats",
        n_windows=4,
        pooling_windows="triangular",
        include_baseline=True,
        callback=None,
        sort_atoms=False,
        unbiased_z_hat=False,
        forget_factor=0.8,
        chunk_size=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_atoms = n_atoms
        self.n_times_atom = n_times_atom
        self.reg = reg
        self.rank1 = rank1
        self.uv_constraint = uv_constraint
        self.window = window
        self.center = center
        self.n_init = n_init
        self.D_init = D_init
        self.lmbd_max = lmbd_max
        self.max_iter = max_iter
        self.tol = tol
        self.pooling = pooling
        self.n_windows = n_windows
        self.pooling_windows = pooling_windows
        self.include_baseline = include_baseline
        self.callback = callback
        self.sort_atoms = sort_atoms
        self.unbiased_z_hat = unbiased_z_hat
        self.forget_factor = forget_factor
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _validate_signals(self, X, reset):
        """Return ``X`` as a float64 (n_trials, n_channels, n_times) array."""
        ndim = getattr(X, "ndim", None)
        if ndim is None and not hasattr(X, "iloc"):
            ndim = np.asarray(X, dtype=object).ndim if X is not None else None
        if ndim is not None and ndim > 3:
            raise ValueError(
                "X must be 2-D (n_trials, n_times) or 3-D (n_trials, n_channels, "
                f"n_times), got a {ndim}-D array."
            )
        if ndim == 3:
            shape = np.shape(X)
            if 0 in shape:
                raise ValueError(
                    "X must have at least one trial, one channel and one sample; "
                    f"got shape (n_trials, n_channels, n_times) = {shape}."
                )
        if not reset:
            # a 2-D input stands for univariate signals, a 3-D one for multichannel
            if self._fit_ndim == 2 and ndim == 3:
                X = np.asarray(X)
                if X.shape[1] != 1:
                    raise ValueError(
                        f"X has {X.shape[1]} channels, but CDLTransformer was "
                        "fitted on univariate (2-D) signals."
                    )
                X, ndim = X[:, 0, :], 2
            elif self._fit_ndim == 3 and ndim == 2:
                if self.n_channels_ != 1:
                    raise ValueError(
                        "X is 2-D (univariate signals), but CDLTransformer was "
                        f"fitted on signals with {self.n_channels_} channels."
                    )
                X, ndim = np.asarray(X)[:, None, :], 3
            elif ndim == 3:
                n_channels = np.asarray(X).shape[1]
                if n_channels != self.n_channels_:
                    raise ValueError(
                        f"X has {n_channels} channels, but CDLTransformer was "
                        f"fitted on signals with {self.n_channels_} channels."
                    )
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float64,
            allow_nd=ndim == 3,
            ensure_min_samples=1,
        )
        if X.ndim == 2:
            X = X[:, None, :]
        if reset:
            self._fit_ndim = ndim
        n_times = X.shape[2]
        if self.n_times_atom > n_times:
            raise ValueError(
                f"n_times_atom={self.n_times_atom} is longer than the signals: X has "
                f"n_times={n_times} samples ({n_times} feature(s) for 2-D input). "
                "Use shorter atoms or longer signals."
            )
        return X

    def _check_params(self):
        if self.window and self.n_times_atom < 3:
            raise ValueError(
                "window=True tapers the atoms to zero at both ends and needs "
                f"n_times_atom >= 3; got n_times_atom={self.n_times_atom}."
            )
        if self.lmbd_max != "fixed" and self.reg > 1:
            raise ValueError(
                f"The 'reg' parameter of CDLTransformer must be in (0, 1] with "
                f"lmbd_max={self.lmbd_max!r} (a fraction of lambda_max); got "
                f"{self.reg!r}. Use lmbd_max='fixed' for an absolute weight."
            )

    # --------------------------------------------------------------- helpers
    def _atom_set(self):
        window = tukey_window(self.n_times_atom) if self.window else None
        return _AtomSet(self.rank1, self.uv_constraint, window)

    def _set_atoms(self, atoms):
        u, v, D = atoms
        self.D_hat_ = D
        if self.rank1:
            self.u_hat_, self.v_hat_ = u, v
        else:
            uv = [_rank1_from_chunk(Dk) if np.any(Dk) else None for Dk in D]
            C, L = D.shape[1:]
            self.u_hat_ = np.array([x[0] if x else np.zeros(C) for x in uv])
            self.v_hat_ = np.array([x[1] if x else np.zeros(L) for x in uv])

    def _atoms(self):
        if self.rank1:
            return self.u_hat_, self.v_hat_, self.D_hat_
        return None, None, self.D_hat_

    def _user_atoms(self, n_channels):
        """``D_init`` given as an array, projected on the constraint set."""
        K, L = self.n_atoms, self.n_times_atom
        D0 = np.asarray(self.D_init, dtype=np.float64)
        if self.rank1 and D0.shape == (K, n_channels + L):
            chunks = _full_atoms(D0[:, :n_channels], D0[:, n_channels:])
        elif D0.shape == (K, n_channels, L):
            chunks = D0
        else:
            shapes = f"({K}, {n_channels}, {L})"
            if self.rank1:
                shapes += f" or ({K}, {n_channels + L})"
            raise ValueError(f"D_init must have shape {shapes}; got {D0.shape}.")
        if not np.all(np.isfinite(chunks)):
            raise ValueError("D_init contains NaN or infinity.")
        if not np.all(np.any(chunks != 0, axis=(1, 2))):
            raise ValueError("D_init has an all-zero atom.")
        atom_set = self._atom_set()
        if self.rank1 and D0.ndim == 2:
            u = D0[:, :n_channels] / np.maximum(
                np.linalg.norm(D0[:, :n_channels], axis=1, keepdims=True), 1.0)
            v = D0[:, n_channels:] / np.maximum(
                np.linalg.norm(D0[:, n_channels:], axis=1, keepdims=True), 1.0)
            return atom_set.from_factors(u, v)
        return atom_set.from_chunks(chunks)

    def _initial_atoms(self, X, rng):
        """The starting dictionary ``(u, v, D)`` of one run, on scaled signals."""
        n_trials, n_channels, n_times = X.shape
        K, L = self.n_atoms, self.n_times_atom
        if not isinstance(self.D_init, str):
            return self._user_atoms(n_channels)
        atom_set = self._atom_set()
        if self.D_init == "random":
            if self.rank1:
                u = rng.standard_normal((K, n_channels))
                v = rng.standard_normal((K, L))
                u /= np.linalg.norm(u, axis=1, keepdims=True)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                return atom_set.from_factors(u, v)
            return atom_set.from_chunks(rng.standard_normal((K, n_channels, L)))
        chunks = np.zeros((K, n_channels, L))
        if self.D_init == "greedy":
            energy = _window_energy(X, L)
            n, t = np.unravel_index(np.argmax(energy), energy.shape)
            chunks[0] = X[n, :, t : t + L]
        else:
            for k in range(K):
                n = rng.randint(n_trials)
                t = rng.randint(n_times - L + 1)
                chunks[k] = X[n, :, t : t + L]
        return atom_set.from_chunks(chunks)

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the atoms from signals.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals; a 2-D array holds univariate signals, one per row.
        y : None
            Ignored.

        Returns
        -------
        self : CDLTransformer
            The fitted transformer.
        """
        self._check_params()
        X = self._validate_signals(X, reset=True)
        n_trials, n_channels, n_times = X.shape
        self.n_channels_, self.n_times_ = n_channels, n_times
        if self.center:
            X = _center(X)
        self.scale_ = _signal_scale(X)
        Xs = X / self.scale_
        rng = check_random_state(self.random_state)
        seeded = isinstance(self.D_init, str) and self.D_init != "greedy"
        n_runs = self.n_init if seeded else 1
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_runs)

        starts = [self._initial_atoms(Xs, np.random.RandomState(seed))
                  for seed in seeds]
        if self.lmbd_max == "fixed":
            lam0 = np.full(self.n_atoms, self.reg / self.scale_)
        else:
            lam0 = np.full(self.n_atoms, self.reg * _lambda_max(Xs, starts[0]).max())
        # several starts run side by side (threads by default: the kernels
        # release the GIL; any joblib backend when one is set), each with a
        # serial z-step; one start spreads its z-step over the trials instead.
        # A callback runs in this process, so its starts run here in turn.
        parallel_starts = len(starts) > 1 and self.callback is None
        kwargs = dict(
            lam0=lam0, reg=self.reg, lmbd_max=self.lmbd_max,
            atom_set=self._atom_set(),
            max_iter=self.max_iter, tol=self.tol,
            n_jobs=1 if parallel_starts else self.n_jobs,
            callback=self.callback, scale=self.scale_,
        )
        runs = (delayed(_learn_monitored)(Xs, atoms, IterationMonitor(self),
                                          **kwargs) for atoms in starts)
        if parallel_starts:
            runs = Parallel(n_jobs=self.n_jobs, prefer="threads")(runs)
        else:
            runs = [func(*args, **kw) for func, args, kw in runs]
        best, losses = None, []
        for result, monitor in runs:
            losses.append(result[2][-1])
            if best is None or losses[-1] < best[0][2][-1]:
                best = (result, monitor)
        (atoms, z, pobj, lam, converged), monitor = best
        if self.sort_atoms:
            order = _sort_by_variance(atoms, z, self.rank1)
            atoms = tuple(None if a is None else a[order] for a in atoms)
            lam = np.asarray(lam)[order]
        monitor.finish(converged)
        self._set_atoms(atoms)
        self.lambda_ = np.asarray(lam, dtype=np.float64) * self.scale_
        self.n_iter_ = monitor.n_iter
        self.loss_curve_ = monitor.loss_curve()
        self.pobj_ = pobj
        self.init_losses_ = np.asarray(losses)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the atoms with one mini-batch of signals (online CDL).

        The first call starts the dictionary from ``X`` (as :meth:`fit` does with
        one run) and fixes the internal unit and the l1 weight. Each call codes
        ``X`` with the current atoms, adds its sufficient statistics ``z^T z`` and
        ``z^T X`` to those of the previous batches weighted by ``forget_factor``,
        and takes one d-step on the sum (the online algorithm of alphacsc, after
        Mairal et al. 2010).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            A mini-batch of signals, e.g. a chunk of a long recording.
        y : None
            Ignored.

        Returns
        -------
        self : CDLTransformer
            The updated transformer.
        """
        first = not hasattr(self, "n_batches_")
        self._check_params()
        X = self._validate_signals(X, reset=first)
        if self.center:
            X = _center(X)
        L = self.n_times_atom
        if first:
            self.n_channels_, self.n_times_ = X.shape[1], X.shape[2]
            self.scale_ = _signal_scale(X)
            Xs = X / self.scale_
            rng = check_random_state(self.random_state)
            seed = rng.randint(np.iinfo(np.int32).max)
            atoms = self._initial_atoms(Xs, np.random.RandomState(seed))
            if self.lmbd_max == "fixed":
                lam = np.full(self.n_atoms, self.reg / self.scale_)
            else:
                lam = np.full(self.n_atoms, self.reg * _lambda_max(Xs, atoms).max())
            self._ztz = np.zeros((self.n_atoms, self.n_atoms, 2 * L - 1))
            self._ztX = np.zeros((self.n_atoms, X.shape[1], L))
            self.n_batches_ = 0
            losses = []
        else:
            Xs = X / self.scale_
            atoms = self._atoms()
            lam = self.lambda_ / self.scale_
            losses = list(self.loss_curve_)
        if self.lmbd_max in ("per_atom", "shared"):
            lam = self.reg * _lambda_max(Xs, atoms)
            if self.lmbd_max == "shared":
                lam = np.full(self.n_atoms, lam.max())
        z, _ = _encode(Xs, atoms, lam, self.n_jobs)
        a = self.forget_factor
        self._ztz = a * self._ztz + compute_ztz(z, L)
        self._ztX = a * self._ztX + compute_ztX(z, Xs, L)
        Q, B = toeplitz_ztz(self._ztz), flatten_atoms(self._ztX)
        if np.any(z):
            atom_set = self._atom_set()
            atoms = atom_set.d_step(atoms, Q, B)
            unused = np.flatnonzero(np.diagonal(self._ztz[:, :, L - 1]) == 0.0)
            if unused.size:
                worst = _worst_window(Xs, z, atoms, L)
                atoms = atom_set.replace(atoms, unused[0], worst)
        # objective of this batch with the updated atoms
        ztz_b, ztX_b = compute_ztz(z, L), compute_ztX(z, Xs, L)
        loss = data_fit(flatten_atoms(atoms[2]), toeplitz_ztz(ztz_b),
                        flatten_atoms(ztX_b), 0.5 * float(np.sum(Xs * Xs)))
        loss += float(np.sum(lam * z.sum(axis=(0, 2))))
        self._set_atoms(atoms)
        self.lambda_ = np.asarray(lam, dtype=np.float64) * self.scale_
        self.n_batches_ += 1
        self.n_iter_ = self.n_batches_
        self.loss_curve_ = np.asarray(losses + [loss])
        self.pobj_ = self.loss_curve_.copy()
        return self

    # ------------------------------------------------------------- transform
    def transform_activations(self, X):
        """Sparse activations of the learned atoms in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals with the channels seen in fit; 3-D signals may have any length
            of at least ``n_times_atom``.

        Returns
        -------
        z : ndarray of shape (n_trials, n_atoms, n_times - n_times_atom + 1)
            Non-negative activations, solved with the dictionary fixed and the
            sparsity weight ``lambda_`` of the fit (refitted without shrinkage on
            their support when ``unbiased_z_hat=True``).
        """
        check_is_fitted(self)
        return self._activations(self._validate_signals(X, reset=False))

    def _activations(self, X):
        """:meth:`transform_activations` of validated signals (n, C, T)."""
        atoms = self._atoms()
        lam = self.lambda_ / self.scale_
        if self.chunk_size is not None and (
            X.shape[2] - self.n_times_atom + 1 > self.chunk_size
        ):
            z, converged = _encode_chunked(
                X, atoms, lam, self.scale_, center=self.center,
                chunk_size=self.chunk_size, unbiased=self.unbiased_z_hat,
                n_jobs=self.n_jobs,
            )
            self._warn_z_step(converged)
            z *= self.scale_  # in place: the output is the only full-size array
            return z
        if self.center:
            X = _center(X)
        Xs = X / self.scale_
        z, converged = _encode(Xs, atoms, lam, self.n_jobs)
        self._warn_z_step(converged)
        if self.unbiased_z_hat:
            z = _unbiased(Xs, atoms, z)
        return z * self.scale_

    def _warn_z_step(self, converged):
        if not np.all(converged):
            warnings.warn(
                f"The sparse coding (LGCD) of {np.count_nonzero(~converged)} "
                f"trial(s) stopped after {_MAX_PASSES_Z} passes before reaching its "
                "tolerance; the activations are approximate.",
                ConvergenceWarning,
            )

    def transform(self, X):
        """Pooled activations per atom and time window (or flattened activations).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals.

        Returns
        -------
        features : ndarray of shape (n_trials, n_features)
            For each atom, each of the ``n_windows`` windows and each statistic
            of ``pooling`` (in that order, the statistic varying fastest), the
            statistic of the activations in the window, then (with
            ``include_baseline=True``) the median of each channel; with
            ``pooling=None`` the activations flattened atom by atom.
        """
        check_is_fitted(self)
        X = self._validate_signals(X, reset=False)
        if self.pooling is None:
            z = self._activations(X)
            return z.reshape(z.shape[0], -1)
        n_valid_fit = self.n_times_ - self.n_times_atom + 1
        n_valid = X.shape[2] - self.n_times_atom + 1
        if min(self.n_windows, n_valid) != min(self.n_windows, n_valid_fit):
            raise ValueError(
                f"X has {X.shape[2]} samples per signal: too few for the "
                f"{min(self.n_windows, n_valid_fit)} pooling windows of the fit "
                f"(at least {self.n_times_atom + self.n_windows - 1} needed)."
            )
        z = self._activations(X)
        features = pool_activations(z, self.pooling, self.n_windows,
                                    self.pooling_windows)
        if self.include_baseline:
            features = np.hstack([features, np.median(X, axis=2)])
        return features

    def inverse_transform(self, X):
        """Rebuild signals from activations.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_atoms, n_times_valid) or \
                (n_trials, n_atoms * n_times_valid)
            Activations, as returned by :meth:`transform_activations` or by
            :meth:`transform` with ``pooling=None`` (pooled features cannot be
            inverted).

        Returns
        -------
        X_rec : ndarray of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Reconstructed signals, 2-D when the fit saw 2-D input.
        """
        check_is_fitted(self)
        z = np.asarray(X, dtype=np.float64)
        if z.ndim == 2:
            n_valid = self.n_times_ - self.n_times_atom + 1
            if z.shape[1] != self.n_atoms * n_valid:
                raise ValueError(
                    f"inverse_transform expects activations of shape (n_trials, "
                    f"{self.n_atoms}, n_times_valid) or flattened ones with "
                    f"{self.n_atoms * n_valid} columns; got shape {z.shape}. Pooled "
                    "features cannot be inverted."
                )
            z = z.reshape(z.shape[0], self.n_atoms, n_valid)
        if z.ndim != 3 or z.shape[1] != self.n_atoms:
            raise ValueError(
                f"inverse_transform expects activations of shape (n_trials, "
                f"{self.n_atoms}, n_times_valid); got shape {z.shape}."
            )
        if not np.all(np.isfinite(z)):
            raise ValueError("Activations contain NaN or infinity.")
        if self.rank1:
            X_rec = reconstruct(z, self.D_hat_, self.u_hat_, self.v_hat_)
        else:
            X_rec = reconstruct(z, self.D_hat_)
        return X_rec[:, 0, :] if self._fit_ndim == 2 else X_rec

    def score(self, X, y=None):
        """Return minus the sparse coding objective per trial, the dictionary fixed.

        Each trial is coded as in :meth:`transform_activations` (centred when
        ``center=True``, with the fitted atoms and l1 weights, and without the
        refit of ``unbiased_z_hat``), and the score is minus the z-step's
        objective averaged over the trials,

        .. math::

            -\\frac{1}{N} \\sum_n \\min_{z_n \\geq 0} \\frac12
            \\|X_n / s - \\sum_k z_{nk} * D_k\\|_2^2
            + \\sum_k \\frac{\\lambda_k}{s} \\|z_{nk}\\|_1,

        with ``s = scale_``: the objective of the fit (``loss_curve_``) in its
        internal units, per trial. Higher is better. As for
        :meth:`sklearn.decomposition.PCA.score`, it lets
        :class:`~sklearn.model_selection.GridSearchCV` compare fits on held-out
        trials, and it does not depend on the units of the signals.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals with the channels seen in fit; 3-D signals may have any length
            of at least ``n_times_atom``.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean over the trials of the sparse coding objective.

        Notes
        -----
        The score compares dictionaries under *one* objective: use it to tune
        what changes how well the atoms are learned at a given sparsity and
        size (``n_times_atom``, ``D_init``, ``n_init``, ``window``,
        ``uv_constraint``, ``max_iter``, ...). It is not a model selection
        criterion for the parameters that change the objective itself:

        - a larger ``reg`` raises the l1 weight, so the objective grows with it
          for any dictionary: the score favours the smallest ``reg`` of a grid;
        - more atoms can only lower the minimum over the activations (an atom
          left unused costs nothing): the score favours the largest
          ``n_atoms`` of a grid, as an in-sample fit would.

        Choose these two by the task the features serve, e.g. the
        cross-validated accuracy of a classifier in a
        :class:`~sklearn.pipeline.Pipeline` after the transformer.
        The trials are coded whole (``chunk_size`` does not apply).

        Examples
        --------
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.datasets import make_cdl_signals
        >>> from skdeep.decomposition import CDLTransformer
        >>> X = make_cdl_signals(n_trials=6, n_channels=3, n_times=400, n_atoms=2,
        ...                      n_times_atom=32, noise_level=0.05,
        ...                      random_state=0)[0]
        >>> cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2,
        ...                      random_state=0)
        >>> cdl.fit(X[:4]).score(X[4:]) < 0  # held-out trials
        True
        >>> search = GridSearchCV(cdl, {"n_times_atom": [8, 32]}, cv=3).fit(X)
        >>> search.best_params_  # the atoms of the simulation are 32 samples long
        {'n_times_atom': 32}
        """
        check_is_fitted(self)
        X = self._validate_signals(X, reset=False)
        if self.center:
            X = _center(X)
        Xs = X / self.scale_
        atoms = self._atoms()
        lam = self.lambda_ / self.scale_
        z, converged = _encode(Xs, atoms, lam, self.n_jobs)
        self._warn_z_step(converged)
        u, v, D = atoms
        return -float(np.mean(objective(Xs, z, lam, D, u, v)))

    def get_feature_names_out(self, input_features=None):
        """Get the names of the features of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``cdltransformer_atom{k}_window{j}_{statistic}`` for the pooled
            features, then ``cdltransformer_baseline{c}`` for the channels'
            baselines; ``cdltransformer{i}`` for flattened activations
            (``pooling=None``).
        """
        names = super().get_feature_names_out(input_features)
        if self.pooling is None:
            return names
        n_valid = self.n_times_ - self.n_times_atom + 1
        stats = ["rate" if s == "count" else s for s in _POOLING_STATS[self.pooling]]
        out = [f"cdltransformer_atom{k}_window{j}_{s}"
               for k in range(self.n_atoms)
               for j in range(min(self.n_windows, n_valid)) for s in stats]
        if self.include_baseline:
            out += [f"cdltransformer_baseline{c}" for c in range(self.n_channels_)]
        return np.asarray(out, dtype=object)

    @property
    def _n_features_out(self):
        n_valid = self.n_times_ - self.n_times_atom + 1
        if self.pooling is not None:
            n_windows = min(self.n_windows, n_valid)
            n_pooled = self.n_atoms * n_windows * len(_POOLING_STATS[self.pooling])
            return n_pooled + (self.n_channels_ if self.include_baseline else 0)
        return self.n_atoms * n_valid

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _unbiased(X, atoms, z, std=None):
    """Least-squares amplitudes of the activations on their support, kept >= 0.

    Solved by the z-step itself with no l1 weight and every coordinate outside
    the support given an infinite weight. ``std`` (n_trials,) is the spread of
    each whole trial (that of ``X`` by default), which sets the tolerance.
    """
    D = atoms[2]
    K = D.shape[0]
    out = z.copy()
    DtD = compute_DtD(D)
    norm_D = np.ascontiguousarray(np.diagonal(DtD[:, :, D.shape[2] - 1]))
    DtX = _correlate(X, atoms)
    # outside the support the correlation is pushed far below zero, so the
    # coordinate stays at zero; inside, the l1 weight is 0. The push only
    # needs to exceed what the support can add to the correlation.
    big = 1e3 * (np.abs(DtX).max() + 1.0) * (np.abs(DtD).sum() + 1.0)
    DtX = np.where(z > 0, DtX, DtX - big)
    if std is None:
        std = X.reshape(X.shape[0], -1).std(axis=1)
    tol = _TOL_Z * 1e-3 * np.maximum(std, _STD_FLOOR)
    _lgcd_batch(DtX, DtD, norm_D, np.zeros(K), out, tol, _MAX_PASSES_Z)
    return out


def _window_weights(n_valid, n_windows, windows):
    """(n_valid, n_windows) weight of each sample in each window.

    ``"hard"``: consecutive equal windows (up to one sample). ``"triangular"``:
    windows centred on ``n_windows`` points spread evenly from the first to the
    last sample, each sample shared between its two nearest centres in
    proportion to its closeness, so the weights of a sample sum to 1 and a
    feature changes smoothly as an activation moves in time.
    """
    n_windows = min(n_windows, n_valid)
    if windows == "hard" or n_windows == 1:
        bounds = np.linspace(0, n_valid, n_windows + 1).round().astype(int)
        index = np.searchsorted(bounds, np.arange(n_valid), side="right") - 1
        return (index[:, None] == np.arange(n_windows)).astype(np.float64)
    # multiply first: a sample on a centre gets exactly 0 in the next window
    position = np.arange(n_valid) * (n_windows - 1) / (n_valid - 1)
    return np.maximum(0.0, 1.0 - np.abs(position[:, None] - np.arange(n_windows)))


def pool_activations(activations, pooling="stats", n_windows=4, windows="triangular"):
    """Summarise activations per atom and time window into classifier features.

    Parameters
    ----------
    activations : array-like of shape (n_trials, n_atoms, n_times_valid)
        Non-negative activations, e.g. from
        :meth:`CDLTransformer.transform_activations`.
    pooling : {"stats", "max", "mean", "sum", "count"}, default="stats"
        Statistics per window: ``"stats"`` is the max, the mean and the rate of
        activations (fraction of nonzero samples); ``"count"`` the rate alone.
        With triangular windows the mean, the sum and the rate weigh each
        sample by its window weight, and the max is taken over the samples of
        nonzero weight.
    n_windows : int, default=4
        Number of time windows; at most ``n_times_valid`` are used.
    windows : {"triangular", "hard"}, default="triangular"
        ``"triangular"``: overlapping windows centred on ``n_windows`` points
        spread evenly from the first to the last sample, each sample shared
        between its two nearest centres in proportion to its closeness (the
        features move smoothly as an activation shifts in time, instead of
        jumping across a window border); ``"hard"``: consecutive equal windows
        (up to one sample). Both are the whole signal when ``n_windows=1``.

    Returns
    -------
    features : ndarray of shape (n_trials, n_atoms * n_windows * n_stats)
        Ordered by atom, then window, then statistic.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.decomposition import pool_activations
    >>> z = np.zeros((1, 1, 8))
    >>> z[0, 0, [1, 6]] = [2.0, 1.0]
    >>> pool_activations(z, "stats", n_windows=2, windows="hard")
    array([[2.  , 0.5 , 0.25, 1.  , 0.25, 0.25]])
    >>> pool_activations(z, "max", n_windows=3).round(3)  # centres 0, 3.5, 7
    array([[2., 2., 1.]])
    """
    z = np.asarray(activations, dtype=np.float64)
    if z.ndim != 3 or z.shape[2] == 0:
        raise ValueError(
            "activations must have shape (n_trials, n_atoms, n_times_valid) with "
            f"n_times_valid >= 1; got shape {z.shape}."
        )
    if pooling not in _POOLING_STATS:
        raise ValueError(
            f"pooling must be one of {sorted(_POOLING_STATS)}; got {pooling!r}."
        )
    if not isinstance(n_windows, numbers.Integral) or n_windows < 1:
        raise ValueError(f"n_windows must be a positive integer; got {n_windows!r}.")
    if windows not in ("triangular", "hard"):
        raise ValueError(
            f"windows must be 'triangular' or 'hard'; got {windows!r}."
        )
    n_trials, n_atoms, n_valid = z.shape
    W = _window_weights(n_valid, n_windows, windows)  # (n_valid, n_windows)
    stats = _POOLING_STATS[pooling]
    features = []
    if "max" in stats:
        support = W > 0
        features.append(np.stack(
            [z[:, :, col].max(axis=2) for col in support.T], axis=-1))
    if "mean" in stats or "sum" in stats:
        sums = z @ W
        features.append(sums / W.sum(axis=0) if "mean" in stats else sums)
    if "count" in stats:
        features.append((z > 0) @ W / W.sum(axis=0))
    # (n_trials, n_atoms, n_windows, n_stats), stats in the order of _POOLING_STATS
    return np.stack(features, axis=-1).reshape(n_trials, -1)
