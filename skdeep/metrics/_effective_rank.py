"""Effective rank of a matrix: the exponential of the entropy of its spectrum."""

import numpy as np
from sklearn.utils._param_validation import validate_params

from ..utils._validation import check_array_arg


@validate_params({"matrix": ["array-like"]}, prefer_skip_nested_validation=True)
def effective_rank(matrix):
    """Effective rank of a matrix (Roy and Vetterli, 2007).

    The singular values are normalised to sum to one, ``p_k = s_k / sum(s)``, and
    the effective rank is ``exp(-sum_k p_k log p_k)``: a real number between 1 and
    the rank, equal to ``r`` when the ``r`` non-zero singular values are equal.
    It is the quantity the deep-factorization papers plot to show the implicit
    low-rank bias of gradient descent.

    Parameters
    ----------
    matrix : array-like of shape (n_rows, n_columns)
        A finite 2-D array.

    Returns
    -------
    erank : float
        The effective rank; ``0.0`` for the zero matrix.

    Raises
    ------
    ValueError
        When ``matrix`` is not 2-D, is empty, holds ``NaN``, infinity, complex
        numbers or values that are not numbers.
    TypeError
        When ``matrix`` is sparse.

    References
    ----------
    .. [1] O. Roy and M. Vetterli, "The effective rank: a measure of effective
       dimensionality", European Signal Processing Conference, 2007 (eq. 2-3).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.metrics import effective_rank
    >>> round(effective_rank(np.eye(3)), 6)
    3.0
    >>> round(effective_rank(np.outer([1.0, 2.0], [3.0, 4.0])), 6)
    1.0
    """
    matrix = check_array_arg(matrix, "matrix", ndim=2)
    singular = np.linalg.svd(matrix, compute_uv=False)
    total = singular.sum()
    if total <= 0:
        return 0.0
    p = singular[singular > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))
