"""The z-step of convolutional dictionary learning, and what is built on it.

With the atoms fixed, the activations of each trial solve a convex sparse
coding problem, solved by the LGCD kernels of :mod:`._lgcd`. This module runs
them on signals in internal units: the whole trials at once (:func:`encode`,
trials in parallel through joblib), long recordings in overlapping chunks
(:func:`encode_chunked`), and the least-squares refit of the amplitudes on
their support (:func:`unbiased`).
"""

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.exceptions import ConvergenceWarning

from ..utils._warnings import warn
from ._lgcd import _lgcd_batch, compute_DtD, compute_DtX

# LGCD stops when no coordinate moves by more than this fraction of std(X_n), as
# in alphacsc; the cap on passes over the segments is never reached in practice.
_TOL_Z = 1e-3
_MAX_PASSES_Z = 100_000
# std(X_n) is floored at this fraction of the unit of the fit (the RMS of the
# training signals), so that a flat trial does not ask for an exact solution.
_STD_FLOOR = 1e-3
# A chunk of a long recording is first solved with this many LGCD segments (of
# 2 * n_times_atom - 1 samples) of margin on each side of the part it keeps;
# where two neighbouring chunks disagree around their boundary both are solved
# again with twice the margin (see ``encode_chunked``).
_CHUNK_MARGIN_SEGMENTS = 4
_CHUNK_MAX_MARGIN_SEGMENTS = 64
# two chunks agree at their boundary when their activations there differ by less
# than this fraction of the z-step tolerance: a different path of the descent
# moves them by about the tolerance, rounding by ~1e-12 of it
_CHUNK_AGREEMENT = 1e-6
# samples per block when the statistics of a long trial are accumulated
_STATS_BLOCK = 1 << 13


# ------------------------------------------------------------ z-step pieces
def correlate(X, atoms):
    """``DtX`` for the atoms ``(u, v, D)`` (rank-1 when ``u`` is not None)."""
    u, v, D = atoms
    if u is not None:
        return compute_DtX(X, D, u, v)
    return compute_DtX(X, D)


def lambda_max(X, atoms):
    """Per atom, the smallest l1 weight for which its activations are all zero."""
    DtX = correlate(X, atoms)
    return np.maximum(DtX.max(axis=(0, 2)), 0.0)


def _gram(D):
    """The atoms' cross-correlations ``DtD`` and their squared norms."""
    DtD = compute_DtD(D)
    return DtD, np.ascontiguousarray(np.diagonal(DtD[:, :, D.shape[2] - 1]))


def _weights(lam, n_atoms):
    """One float64 l1 weight per atom, contiguous, for the kernels."""
    return np.ascontiguousarray(np.broadcast_to(lam, (n_atoms,)), dtype=np.float64)


def _trial_std(X):
    """The spread of each trial of ``X`` (n, C, T) over channels and samples."""
    return X.reshape(X.shape[0], -1).std(axis=1)


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


def encode(X, atoms, lam, n_jobs, z0=None):
    """Z-step with the atoms fixed; returns the activations and the LGCD flags."""
    D = atoms[2]
    DtX = correlate(X, atoms)
    DtD, norm_D = _gram(D)
    z = np.zeros_like(DtX) if z0 is None else z0
    tol = _TOL_Z * np.maximum(_trial_std(X), _STD_FLOOR)
    return _z_step(DtX, DtD, norm_D, _weights(lam, D.shape[0]), z, tol, n_jobs)


def unbiased(X, atoms, z, std=None):
    """Least-squares amplitudes of the activations on their support, kept >= 0.

    Solved by the z-step itself with no l1 weight and every coordinate outside
    the support given an infinite weight. ``std`` (n_trials,) is the spread of
    each whole trial (that of ``X`` by default), which sets the tolerance.
    """
    D = atoms[2]
    out = z.copy()
    DtD, norm_D = _gram(D)
    DtX = correlate(X, atoms)
    # outside the support the correlation is pushed far below zero, so the
    # coordinate stays at zero; inside, the l1 weight is 0. The push only
    # needs to exceed what the support can add to the correlation.
    big = 1e3 * (np.abs(DtX).max() + 1.0) * (np.abs(DtD).sum() + 1.0)
    DtX = np.where(z > 0, DtX, DtX - big)
    if std is None:
        std = _trial_std(X)
    tol = _TOL_Z * 1e-3 * np.maximum(std, _STD_FLOOR)
    _lgcd_batch(DtX, DtD, norm_D, np.zeros(D.shape[0]), out, tol, _MAX_PASSES_Z)
    return out


def warn_z_step(converged):
    """Warn when the LGCD of some trials stopped at its cap on passes."""
    if not np.all(converged):
        warn(
            f"The sparse coding (LGCD) of {np.count_nonzero(~converged)} "
            f"trial(s) stopped after {_MAX_PASSES_Z} passes before reaching its "
            "tolerance; the activations are approximate.",
            ConvergenceWarning,
        )


# --------------------------------------------------- chunks of long signals
def _trial_stats(X, n, center, scale):
    """Per-channel baseline and the spread of the centred trial ``X[n]``.

    The spread is that of ``(X[n] - baseline) / scale`` (internal units) over
    channels and samples, as ``std`` computes it, accumulated in blocks of
    samples so that no copy of the trial is made (the median copies one
    channel); dividing before squaring keeps huge signals finite.
    """
    n_channels, n_times = X.shape[1], X.shape[2]
    med = np.zeros((n_channels, 1))
    if center:
        for c in range(n_channels):
            med[c, 0] = np.median(X[n, c])
    blocks = range(0, n_times, _STATS_BLOCK)
    total = sum(float(np.sum((X[n, :, a:a + _STATS_BLOCK] - med) / scale))
                for a in blocks)
    mean = total / (n_channels * n_times)
    sq = 0.0
    for a in blocks:
        dev = (X[n, :, a:a + _STATS_BLOCK] - med) / scale - mean
        sq += float(np.sum(dev * dev))
    return med, np.sqrt(sq / (n_channels * n_times))


def _solve_chunk(X_part, med, scale, atoms, DtD, norm_D, lam, tol, std, keep, half,
                 refit):
    """Activations of one chunk ``X_part`` (C, len) of a trial, internal units.

    Returns the kept part ``keep = (a, b)`` (indices in the chunk), the
    activations on ``[a - half, a + half)`` and ``[b - half, b + half)`` (clipped
    to the chunk: what the neighbours' are compared with) and the LGCD flag.
    """
    Xc = ((X_part - med) / scale)[None]
    DtX = correlate(Xc, atoms)
    z = np.zeros_like(DtX)
    _, converged = _lgcd_batch(DtX, DtD, norm_D, lam, z, np.array([tol]),
                               _MAX_PASSES_Z)
    del DtX
    if refit:
        z = unbiased(Xc, atoms, z, std=np.array([std]))
    z = z[0]
    a, b = keep
    n = z.shape[1]
    left = z[:, max(a - half, 0):min(a + half, n)].copy()
    right = z[:, max(b - half, 0):min(b + half, n)].copy()
    return z[:, a:b], left, right, bool(converged[0])


def _neighbours(indices):
    """The indices and their neighbours on both sides."""
    return {j + d for j in indices for d in (-1, 0, 1)}


class _ChunkedZStep:
    """The chunks of the z-step of :func:`encode_chunked` and their margins.

    Chunk ``i`` is ``chunks[i] = (trial, a, b)``: it keeps the activations of
    samples ``[a, b)`` and is solved with ``margin[i]`` samples of the
    recording on each side. ``windows[i]`` holds the activations it found
    around its two boundaries, which :meth:`check` compares with its
    neighbours'.
    """

    def __init__(self, X, atoms, lam, scale, *, center, chunk_size, refit):
        n_trials, _, n_times = X.shape
        D = atoms[2]
        self.L = L = D.shape[2]
        seg_len = 2 * L - 1
        chunk = max(seg_len, -(-int(chunk_size) // seg_len) * seg_len)
        self.X, self.atoms, self.scale, self.refit = X, atoms, scale, refit
        self.n_valid = n_valid = n_times - L + 1
        self.DtD, self.norm_D = _gram(D)
        self.lam = _weights(lam, D.shape[0])
        self.stats = [_trial_stats(X, n, center, scale) for n in range(n_trials)]
        self.tols = [_TOL_Z * max(std, _STD_FLOOR) for _, std in self.stats]
        self.chunks = [(n, a, min(a + chunk, n_valid)) for n in range(n_trials)
                       for a in range(0, n_valid, chunk)]
        self.margin = [0] * len(self.chunks)
        self.base_margin = _CHUNK_MARGIN_SEGMENTS * seg_len
        self.max_margin = min(_CHUNK_MAX_MARGIN_SEGMENTS * seg_len, n_valid)
        self.z = np.zeros((n_trials, D.shape[0], n_valid))
        self.converged = np.ones(len(self.chunks), dtype=bool)
        self.windows = {}

    def jobs(self, todo):
        """The solves of the chunks ``todo``, made as joblib asks for them."""
        # the slices are views, and each job gets its own slice only
        for i in todo:
            n, a, b = self.chunks[i]
            # a chunk not solved yet starts with the margin that sufficed so far
            self.margin[i] = max(self.margin[i], self.base_margin)
            m = self.margin[i]
            sa, sb = max(a - m, 0), min(b + m, self.n_valid)
            med, std = self.stats[n]
            yield delayed(_solve_chunk)(
                self.X[n, :, sa:sb + self.L - 1], med, self.scale, self.atoms,
                self.DtD, self.norm_D, self.lam, self.tols[n], std,
                (a - sa, b - sa), m // 2, self.refit,
            )

    def check(self, i, redo):
        """Compare chunks ``i`` and ``i + 1`` around their boundary."""
        n, _, b = self.chunks[i]
        margin = min(self.margin[i], self.margin[i + 1])
        if self.chunks[i + 1][0] != n or margin >= self.n_valid:
            return  # another trial, or both solved the whole trial
        h = margin // 2
        lo, hi = max(b - h, 0), min(b + h, self.n_valid)
        r0, right = self.windows[i][2], self.windows[i][3]
        l0, left = self.windows[i + 1][0], self.windows[i + 1][1]
        gap = np.max(np.abs(right[:, lo - r0:hi - r0] - left[:, lo - l0:hi - l0]),
                     initial=0.0)
        if gap > _CHUNK_AGREEMENT * self.tols[n]:
            redo.update((i, i + 1))
            # the activations' effects reach farther than this margin: the
            # chunks still to solve start with twice of it
            self.base_margin = min(max(self.base_margin, 4 * h),
                                   self.max_margin // 4)

    def collect(self, todo, results):
        """Store the results as they come, check the boundaries; the chunks to redo."""
        pending, redo = set(todo), set()
        for i, (z_kept, left, right, conv) in zip(todo, results):
            n, a, b = self.chunks[i]
            self.z[n, :, a:b] = z_kept
            h = self.margin[i] // 2
            self.windows[i] = (max(a - h, 0), left, max(b - h, 0), right)
            self.converged[i] = conv
            pending.discard(i)
            if i - 1 in self.windows:
                self.check(i - 1, redo)
            if i + 1 in self.windows and i + 1 not in pending:
                self.check(i, redo)
            # keep the windows a later check may need: the last two chunks and
            # the neighbours of the chunks to solve again
            keep = _neighbours(redo)
            for j in [j for j in self.windows if j < i - 1 and j not in keep]:
                del self.windows[j]
        return redo

    def next_round(self, redo):
        """Double the margins of the chunks to solve again; their sorted indices."""
        # where the descent's path depends on samples farther away than the
        # largest margin (dense activations), the chunks keep their solutions:
        # they differ from the whole-trial solve by about the z-step tolerance,
        # as the whole-trial solve itself does from the exact minimiser
        redo = {i for i in redo if self.margin[i] < self.max_margin}
        for i in redo:
            self.margin[i] = min(2 * self.margin[i], self.max_margin)
        keep = _neighbours(redo)
        self.windows = {j: w for j, w in self.windows.items() if j in keep}
        return sorted(redo)

    def trial_flags(self):
        """Whether the LGCD of every chunk of each trial converged."""
        flags = np.ones(self.z.shape[0], dtype=bool)
        for (n, _, _), conv in zip(self.chunks, self.converged):
            flags[n] &= conv
        return flags


def encode_chunked(X, atoms, lam, scale, *, center, chunk_size, refit, n_jobs):
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
    whole-trial solve up to rounding. ``refit`` applies :func:`unbiased` to
    each chunk.
    """
    solve = _ChunkedZStep(X, atoms, lam, scale, center=center,
                          chunk_size=chunk_size, refit=refit)
    todo = list(range(len(solve.chunks)))
    while todo:
        # threads by default (the kernels release the GIL), any joblib backend
        # when set; results come in order, as they are ready
        results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
            solve.jobs(todo)
        )
        todo = solve.next_round(solve.collect(todo, results))
    return solve.z, solve.trial_flags()
