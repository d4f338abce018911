"""The atoms of convolutional dictionary learning: their set and their starts.

Atoms are passed around as a tuple ``(u, v, D)``: the spatial maps ``u``
(n_atoms, n_channels) and temporal atoms ``v`` (n_atoms, n_times_atom) of
rank-1 atoms, ``None`` for full-rank ones, and the full atoms ``D`` (n_atoms,
n_channels, n_times_atom) in both cases. :class:`_AtomSet` is the constraint set
and the d-step that keeps the atoms in it; :func:`initial_atoms` builds the
starting dictionary of one run.
"""

import numpy as np

from ._dstep import update_D, update_uv, update_uv_joint


def _rank1_from_chunk(chunk):
    """Best rank-1 approximation ``u v^T`` of a (C, L) chunk, both unit norm."""
    U, s, Vt = np.linalg.svd(chunk, full_matrices=False)
    u, v = U[:, 0], Vt[0]
    # fix the SVD's sign so that the result does not depend on LAPACK
    if v[np.argmax(np.abs(v))] < 0:
        u, v = -u, -v
    return u, v


def rank1_factors(D):
    """The best rank-1 factors ``(u, v)`` of each full atom (zeros for a zero atom)."""
    uv = [_rank1_from_chunk(Dk) if np.any(Dk) else None for Dk in D]
    C, L = D.shape[1:]
    u = np.array([x[0] if x else np.zeros(C) for x in uv])
    v = np.array([x[1] if x else np.zeros(L) for x in uv])
    return u, v


def full_atoms(u, v):
    """The full atoms ``u_k v_k^T``, (K, C, L), of rank-1 factors."""
    return u[:, :, None] * v[:, None, :]


def window_energy(X, L):
    """Energy of every window of length ``L``: (n, T - L + 1)."""
    energy = np.sum(X * X, axis=1)
    csum = np.concatenate(
        [np.zeros((X.shape[0], 1)), np.cumsum(energy, axis=1)], axis=1
    )
    return csum[:, L:] - csum[:, :-L]


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
        return u, v, full_atoms(u, v)

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
            return u, v, full_atoms(u, v)
        return None, None, update_D(D, Q, B, window=self.window)

    def replace(self, atoms, k, chunk):
        """``atoms`` with atom ``k`` restarted on a (C, L) chunk of signal."""
        u, v, D = atoms
        new = self.from_chunks(chunk[None])
        if self.rank1:
            u, v = u.copy(), v.copy()
            u[k], v[k] = new[0][0], new[1][0]
            return u, v, full_atoms(u, v)
        D = D.copy()
        D[k] = new[2][0]
        return None, None, D


def _user_atoms(D_init, atom_set, n_atoms, n_channels, n_times_atom):
    """``D_init`` given as an array, projected on the constraint set."""
    K, L = n_atoms, n_times_atom
    D0 = np.asarray(D_init, dtype=np.float64)
    if atom_set.rank1 and D0.shape == (K, n_channels + L):
        chunks = full_atoms(D0[:, :n_channels], D0[:, n_channels:])
    elif D0.shape == (K, n_channels, L):
        chunks = D0
    else:
        shapes = f"({K}, {n_channels}, {L})"
        if atom_set.rank1:
            shapes += f" or ({K}, {n_channels + L})"
        raise ValueError(f"D_init must have shape {shapes}; got {D0.shape}.")
    if not np.all(np.isfinite(chunks)):
        raise ValueError("D_init contains NaN or infinity.")
    if not np.all(np.any(chunks != 0, axis=(1, 2))):
        raise ValueError("D_init has an all-zero atom.")
    if atom_set.rank1 and D0.ndim == 2:
        u = D0[:, :n_channels] / np.maximum(
            np.linalg.norm(D0[:, :n_channels], axis=1, keepdims=True), 1.0)
        v = D0[:, n_channels:] / np.maximum(
            np.linalg.norm(D0[:, n_channels:], axis=1, keepdims=True), 1.0)
        return atom_set.from_factors(u, v)
    return atom_set.from_chunks(chunks)


def _random_atoms(atom_set, rng, K, C, L):
    """Gaussian atoms, projected on the set."""
    if atom_set.rank1:
        u = rng.standard_normal((K, C))
        v = rng.standard_normal((K, L))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return atom_set.from_factors(u, v)
    return atom_set.from_chunks(rng.standard_normal((K, C, L)))


def initial_atoms(X, D_init, atom_set, n_atoms, n_times_atom, rng):
    """The starting dictionary ``(u, v, D)`` of one run, on scaled signals ``X``.

    ``D_init`` is the estimator's parameter: ``"greedy"`` (the window of largest
    energy, the other atoms zero until the fit adds them), ``"chunk"`` (windows
    at random times), ``"random"`` (Gaussian atoms) or an array.
    """
    n_trials, n_channels, n_times = X.shape
    K, L = n_atoms, n_times_atom
    if not isinstance(D_init, str):
        return _user_atoms(D_init, atom_set, K, n_channels, L)
    if D_init == "random":
        return _random_atoms(atom_set, rng, K, n_channels, L)
    chunks = np.zeros((K, n_channels, L))
    if D_init == "greedy":
        energy = window_energy(X, L)
        n, t = np.unravel_index(np.argmax(energy), energy.shape)
        chunks[0] = X[n, :, t : t + L]
    else:
        for k in range(K):
            n = rng.randint(n_trials)
            t = rng.randint(n_times - L + 1)
            chunks[k] = X[n, :, t : t + L]
    return atom_set.from_chunks(chunks)
