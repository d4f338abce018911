"""The empirical prior of the fold-in: the training samples' rows themselves.

The Gaussian prior of :mod:`._fold_in` summarises the fitted mode-0 rows by
their mean and covariance; when they form clusters (the digits of
``load_digits``, the kinds of rows of an image) a sample's few observed
entries can say which cluster it is from, and the Gaussian posterior mean,
a ridge regression, cannot use it. The empirical prior puts mass
``1 / k`` on each of ``k`` atoms, the training samples' rows (their
Gaussian fold-in from all their observed entries); with Gaussian noise of
variance ``T`` on the observed entries, the posterior mean of a sample's row
is the average of the atoms weighted by ``exp(-|x_o - (a_j B)_o|^2 / 2T)``.
The completer blends it with the Gaussian posterior mean, ``(1 - w) g + w
e``, ``w`` and ``T`` chosen on the held-out units with the noise variance.

A sample never weighs its own atom (its missing entries would be read off a
fold-in of the very entries held out of it when the blend is chosen, and
``fit_transform`` and ``fit(X).transform(X)`` would differ): the training
samples are recognised by a digest of their data.

Cost: ``n_samples x k x m`` (``m`` the size of a sample) for the distances,
in chunks; at most :data:`MAX_ATOMS` atoms (a random subset of the training
samples beyond), so the fold-in is linear in the number of samples.
"""

import hashlib

import numpy as np

from ._fold_in import chunked_entries

# At most this many training samples' rows are atoms of the empirical prior.
MAX_ATOMS = 2048
# The temperatures ``T`` tried on the held-out units, as multiples of the
# fold-in's noise variance.
TEMPERATURE_MULTIPLIERS = 2.0 ** np.arange(-2, 7)
# The weights of the empirical posterior mean in the blend tried on the
# held-out units (0: the Gaussian fold-in only).
EMPIRICAL_WEIGHTS = np.linspace(0.0, 1.0, 5)
# The distances of a chunk of samples to the atoms: at most this many floats.
_CHUNK_FLOATS = 2**22


def sample_digests(X):
    """A 64-bit digest of every sample (slice along axis 0) of ``X``.

    Stable across processes (unlike :func:`hash`), so that a pickled
    completer still recognises its training samples.
    """
    flat = np.ascontiguousarray(np.reshape(X, (len(X), -1)), dtype=np.float64)
    return np.array(
        [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(),
                        "little", signed=True) for row in flat],
        dtype=np.int64,
    )


def choose_atoms(n_samples, rng):
    """Indices of the training samples whose rows are atoms (sorted)."""
    if n_samples <= MAX_ATOMS:
        return np.arange(n_samples)
    return np.sort(rng.choice(n_samples, MAX_ATOMS, replace=False))


class EmpiricalPrior:
    """Posterior means of samples' rows under the empirical prior of ``atoms``.

    Parameters
    ----------
    atoms : ndarray of shape (k, c_0)
        The atoms' rows.
    design : ndarray of shape (c_0, m)
        The design ``B``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._empirical_prior import EmpiricalPrior
    >>> atoms = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> design = np.eye(2)
    >>> flat = np.array([[0.9, np.nan], [np.nan, 1.2]])  # near one atom each
    >>> np.round(EmpiricalPrior(atoms, design).rows(flat, 0.01), 3)
    array([[1., 0.],
           [0., 1.]])
    """

    def __init__(self, atoms, design):
        self.atoms, self.design = atoms, design
        self.values = atoms @ design  # the atoms' samples, (k, m)
        k, m = self.values.shape
        # a chunk's samples and their distances within the budget
        self.step = max(1, _CHUNK_FLOATS // max(1, k, m))

    def _distances(self, flat, exclude):
        """Squared distances ``(n, k)`` of the observed entries of ``flat`` to
        the atoms' values there; ``exclude[i]`` (an atom's index, or -1) is
        the atom sample ``i`` does not weigh (an infinite distance)."""
        observed = ~np.isnan(flat)
        x = np.where(observed, flat, 0.0)
        distances = (
            np.einsum("im,im->i", x, x)[:, None]
            - 2.0 * (x @ self.values.T)
            + observed @ (self.values**2).T
        )
        np.clip(distances, 0.0, None, out=distances)
        if exclude is not None:
            mine = np.flatnonzero(exclude >= 0)
            distances[mine, exclude[mine]] = np.inf
        return distances

    def _rows(self, distances, temperature):
        """The posterior means of samples at ``distances`` from the atoms."""
        log_weights = distances / (-2.0 * temperature)
        log_weights -= log_weights.max(axis=1, keepdims=True)
        weights = np.exp(log_weights)
        weights /= weights.sum(axis=1, keepdims=True)
        return weights @ self.atoms

    def rows(self, flat, temperature, exclude=None):
        """Posterior-mean rows ``(n, c_0)`` of samples ``flat`` (``NaN``
        where missing) at temperature ``temperature``; ``exclude[i]``: the
        atom sample ``i`` does not weigh (-1: none)."""
        out = np.empty((len(flat), self.atoms.shape[1]))
        for lo in range(0, len(flat), self.step):
            chunk = slice(lo, lo + self.step)
            own = None if exclude is None else exclude[chunk]
            out[chunk] = self._rows(self._distances(flat[chunk], own), temperature)
        return out

    def predict(self, flat, rows, cols, temperatures, exclude=None):
        """The values at entries ``(rows, cols)`` of the posterior means of
        samples ``flat``, at every temperature: ``(len(temperatures),
        len(rows))``."""
        out = np.empty((len(temperatures), len(rows)))
        for samples, entries, local in chunked_entries(rows, self.step):
            own = None if exclude is None else exclude[samples]
            distances = self._distances(flat[samples], own)
            design = self.design[:, cols[entries]]
            for t, temperature in enumerate(temperatures):
                rows_t = self._rows(distances, temperature)[local]
                out[t, entries] = np.einsum("ec,ce->e", rows_t, design)
        return out
