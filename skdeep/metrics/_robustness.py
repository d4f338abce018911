"""Robustness metrics of classifiers with a certificate."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import validate_params

from ..utils._validation import check_array_arg, check_label_array


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like"],
        "y": ["array-like"],
        "eps": [Real, "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def certified_accuracy(estimator, X, y, eps):
    """Fraction of samples classified correctly with a certified radius > eps.

    A sample counts when the prediction is its label and no perturbation of l2
    norm at most ``eps`` can change that prediction, as certified by the
    estimator's ``certified_radius`` (e.g. a fitted
    :class:`~skdeep.neural.LipschitzClassifier`). It is a lower bound of the
    accuracy under any attack of radius ``eps``; at ``eps=0`` it is the
    accuracy of the samples whose radius is positive (all but the ties).

    Parameters
    ----------
    estimator : fitted classifier
        Has ``predict(X)`` and ``certified_radius(X)``.
    X : array-like of shape (n_samples, n_features)
        Inputs, in the units the radius is certified in.
    y : array-like of shape (n_samples,)
        True labels.
    eps : float or array-like of float
        Non-negative radius, or several (one accuracy each).

    Returns
    -------
    accuracy : float or ndarray of shape (n_eps,)
        In ``[0, 1]``; an array when ``eps`` is an array.

    Raises
    ------
    TypeError
        When ``estimator`` has no ``certified_radius`` method.
    ValueError
        When ``eps`` is negative or not finite, or ``y`` does not have one
        label per row of ``X``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdeep.metrics import certified_accuracy
    >>> from skdeep.neural import LipschitzClassifier
    >>> X, y = make_blobs(n_samples=100, centers=[[-3, 0], [3, 0]],
    ...                   random_state=0)
    >>> clf = LipschitzClassifier(max_iter=30, device="cpu", random_state=0)
    >>> clf = clf.fit(X, y)
    >>> acc = certified_accuracy(clf, X, y, [0.0, 1.0, 100.0])
    >>> bool(acc[0] >= acc[1] >= acc[2]), float(acc[2])
    (True, 0.0)
    """
    if not callable(getattr(estimator, "certified_radius", None)):
        raise TypeError(
            "estimator must have a certified_radius method (e.g. a fitted "
            f"LipschitzClassifier); got {type(estimator).__name__}."
        )
    scalar = np.ndim(eps) == 0
    eps = check_array_arg(np.atleast_1d(eps), "eps", ndim=1)
    if (eps < 0).any():
        raise ValueError(f"eps must be non-negative, got {eps.min()!r}.")
    y = check_label_array(y, "y", allow_empty=False)
    n_rows = np.shape(X)[0] if np.ndim(X) else 0
    if y.shape[0] != n_rows:
        raise ValueError(
            f"y has {y.shape[0]} labels but X has {n_rows} rows; they must match."
        )
    correct = np.asarray(estimator.predict(X)) == y
    radius = np.asarray(estimator.certified_radius(X))
    accuracy = (correct[None, :] & (radius[None, :] > eps[:, None])).mean(axis=1)
    return float(accuracy[0]) if scalar else accuracy
