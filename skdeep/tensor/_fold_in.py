"""Folding new samples in: their mode-0 rows with the other factors fixed.

With the other factors fixed the model is linear in a sample's row ``u`` of
``U_0``: ``x = u B + noise``, ``B`` the design (see :mod:`._model`). The fitted
rows give a Gaussian prior (their mean and covariance); a sample's row is its
posterior mean for a noise variance chosen on the held-out units: the one
whose fold-in of the training samples, from their training entries, best
predicts their held-out entries (:meth:`FoldIn.predict`), the very
predictions :meth:`transform` makes of a sample's missing entries.
"""

import numpy as np

# Floor of the fold-in noise variance (on unit-RMS data).
MIN_NOISE_VARIANCE = 1e-12
# The noise variances tried on the held-out units: these multiples of the
# fit's held-out mean squared error, 2**(k/2) for k = -12..10. The fit's own
# error is rarely the best: on digits (30 % missing) half of it, on images
# 1 to 32 times it (its rows are then shrunk more towards the typical row).
NOISE_MULTIPLIERS = 2.0 ** (np.arange(-12, 11) / 2)
# The samples' per-sample systems are gathered in chunks of at most this many
# floats.
_CHUNK_FLOATS = 2**22


def gaussian_prior(rows):
    """Mean and covariance of the fitted mode-0 rows ``(n, c_0)``."""
    mean = rows.mean(axis=0)
    centred = rows - mean
    return mean, centred.T @ centred / rows.shape[0]


def noise_variance(rows, design, entries):
    """Mean squared error of ``rows @ design`` at ``entries`` (floored)."""
    residual = entries.predict(rows, design) - entries.values
    return max(float(residual @ residual) / entries.size, MIN_NOISE_VARIANCE)


class FoldIn:
    """The fold-in of samples ``flat`` (``NaN`` where missing), at any noise.

    Under the Gaussian prior ``N(mean, covariance)`` the posterior mean of a
    sample's row is a ridge solution in the prior's whitened coordinates,
    ``u = m + L (C C^T + s^2 I)^{-1} C (x_o - m B_o)`` with
    ``Sigma = L L^T``, ``C = L^T B_o`` and ``B_o`` the columns of the
    observed entries; it keeps the fit's low-rank bias (directions the
    fitted rows do not use get no weight) and gives a sample with nothing
    observed the typical row ``m``. ``C C^T`` is formed once per pattern of
    observed entries (in each chunk of samples); its eigendecomposition
    serves every noise variance ``s^2`` of :meth:`predict`.

    Parameters
    ----------
    flat : ndarray of shape (n_samples, prod of the other sizes)
        The samples, on the scale of the fit, ``NaN`` where missing.
    design : ndarray of shape (c_0, prod of the other sizes)
        The design ``B``.
    mean, covariance : ndarray
        The prior of :func:`gaussian_prior`.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._fold_in import FoldIn
    >>> design = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> flat = np.array([[2.0, 3.0, np.nan]])  # u = (2, 3) fits exactly
    >>> rows = FoldIn(flat, design, np.zeros(2), np.eye(2)).rows(1e-12)
    >>> np.round(rows @ design, 6)
    array([[2., 3., 5.]])
    """

    def __init__(self, flat, design, mean, covariance):
        values, vectors = np.linalg.eigh(covariance)
        self.root = vectors * np.sqrt(np.clip(values, 0.0, None))
        self.whitened = self.root.T @ design  # (c, m)
        self.mean, self.design = mean, design
        self.observed = ~np.isnan(flat)
        target = np.where(self.observed, flat - mean @ design, 0.0)
        self.projected = target @ self.whitened.T  # C (x_o - m B_o), (n, c)
        # a chunk's (samples, c, c) systems within the budget
        self.step = max(1, _CHUNK_FLOATS // max(1, self.root.shape[1] ** 2))

    def _grams(self, chunk):
        """``(gram, pattern)`` of the samples ``chunk``: the ``C C^T`` of
        their patterns of observed entries, and the pattern of each."""
        patterns, pattern = np.unique(self.observed[chunk], axis=0, return_inverse=True)
        c = self.whitened.shape[0]
        gram = np.empty((len(patterns), c, c))
        for k, observed in enumerate(patterns):
            # the observed columns only: the cost follows the entries
            columns = self.whitened[:, observed]
            gram[k] = columns @ columns.T
        return gram, pattern.ravel()

    def _spectrum(self, chunk):
        """The eigendecomposition of the ``C C^T`` of every sample of
        ``chunk``, and its ``C (x_o - m B_o)`` in the eigenvectors: what
        :meth:`_whitened_rows` needs at any noise."""
        gram, pattern = self._grams(chunk)
        eigenvalues, eigenvectors = np.linalg.eigh(gram)
        vectors = eigenvectors[pattern]
        projected = np.einsum("kcd,kc->kd", vectors, self.projected[chunk])
        return np.clip(eigenvalues, 0.0, None)[pattern], vectors, projected

    @staticmethod
    def _whitened_rows(spectrum, noise):
        """``(C C^T + s^2 I)^{-1} C (x_o - m B_o)`` of the samples of a
        :meth:`_spectrum`."""
        eigenvalues, vectors, projected = spectrum
        return np.einsum("kcd,kd->kc", vectors, projected / (eigenvalues + noise))

    def rows(self, noise):
        """Posterior-mean rows ``(n_samples, c_0)`` at noise variance ``noise``."""
        n_samples = self.observed.shape[0]
        rows = np.tile(self.mean, (n_samples, 1))
        ridge = noise * np.eye(self.root.shape[1])
        for lo in range(0, n_samples, self.step):
            chunk = slice(lo, lo + self.step)
            gram, pattern = self._grams(chunk)
            # one noise: a solve per sample is cheaper than the spectra
            z = np.linalg.solve(gram[pattern] + ridge, self.projected[chunk, :, None])
            rows[chunk] += z[:, :, 0] @ self.root.T
        return rows

    def predict(self, rows, cols, noises):
        """The fold-in's values at entries ``(rows, cols)``, for every noise.

        Returns ``(len(noises), len(rows))``: row ``t`` at noise variance
        ``noises[t]``.
        """
        out = np.empty((len(noises), len(rows)))
        for samples, entries, local in chunked_entries(rows, self.step):
            spectrum = self._spectrum(samples)
            typical = self.mean @ self.design[:, cols[entries]]
            whitened = self.whitened[:, cols[entries]]  # (c, entries)
            for t, noise in enumerate(noises):
                z = self._whitened_rows(spectrum, noise)[local]
                out[t, entries] = typical + np.einsum("ec,ce->e", z, whitened)
        return out


def chunked_entries(rows, step):
    """The entries ``rows`` (their samples' indices) by chunks of samples.

    Yields ``(samples, entries, local)`` for chunks of at most ``step`` of
    the samples with an entry: the samples (increasing), the positions in
    ``rows`` of their entries, and the position of each one's sample in
    ``samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._fold_in import chunked_entries
    >>> for chunk in chunked_entries(np.array([4, 1, 4, 2]), step=2):
    ...     print(*(part.tolist() for part in chunk))
    [1, 2] [1, 3] [0, 1]
    [4] [0, 2] [0, 0]
    """
    order = np.argsort(rows, kind="stable")
    samples = np.unique(rows)
    bounds = np.append(np.searchsorted(rows[order], samples), len(rows))
    for lo in range(0, len(samples), step):
        hi = min(lo + step, len(samples))
        entries = order[bounds[lo] : bounds[hi]]
        yield samples[lo:hi], entries, np.searchsorted(samples[lo:hi], rows[entries])


def fold_in_rows(flat, design, mean, covariance, noise):
    """Posterior-mean mode-0 rows ``(n_samples, c_0)`` of samples ``flat``.

    See :class:`FoldIn`; ``noise`` is the noise variance.
    """
    return FoldIn(flat, design, mean, covariance).rows(noise)
