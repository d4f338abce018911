"""Hungarian matching, shared by every metric that pairs estimated and true objects."""

import numpy as np
from scipy.optimize import linear_sum_assignment


def hungarian_match(score, maximize=True):
    """Best one-to-one pairing of the rows and columns of a score matrix.

    Parameters
    ----------
    score : array-like of shape (n_rows, n_cols)
        ``score[i, j]`` rates pairing row ``i`` with column ``j``.
    maximize : bool, default=True
        Maximise the total score (``False`` minimises a cost).

    Returns
    -------
    rows, cols : ndarray of int
        ``rows[k]`` is paired with ``cols[k]``; ``min(n_rows, n_cols)`` pairs.
    """
    score = np.asarray(score, dtype=float)
    if score.ndim != 2:
        raise ValueError(f"score must be a 2-D matrix, got shape {score.shape}.")
    if not np.all(np.isfinite(score)):
        raise ValueError("score must contain only finite values.")
    return linear_sum_assignment(score, maximize=maximize)
