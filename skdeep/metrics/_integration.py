"""Scores of multi-omics integration: label recovery and modality mixing."""

import numbers
from numbers import Integral

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    adjusted_rand_score,
    balanced_accuracy_score,
    normalized_mutual_info_score,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._validation import check_array_arg, check_label_array, unlabeled_mask
from ._cluster import check_label_pair


def _check_latent(Z, modality):
    Z = check_array_arg(Z, "Z", ndim=2)
    modality = check_label_array(modality, "modality")
    if modality.shape[0] != Z.shape[0]:
        raise ValueError(
            f"modality must have one entry per row of Z ({Z.shape[0]}), got "
            f"{modality.shape[0]}."
        )
    _, codes = np.unique(modality, return_inverse=True)
    if codes.max(initial=0) < 1:
        raise ValueError("modality must hold at least two distinct modalities.")
    return Z, codes


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "y": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def semi_supervised_scores(y_true, y_pred, y):
    """Accuracy, balanced accuracy, NMI and ARI on the unlabeled samples.

    The figures a semi-supervised integration is judged by: how well the
    samples whose label was hidden (``y == -1``) are classified.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes of all samples.
    y_pred : array-like of shape (n_samples,)
        Predicted classes, in the vocabulary of ``y_true``.
    y : array-like of shape (n_samples,)
        The labels given to the fit; ``-1`` marks the unlabeled samples, which
        are scored.

    Returns
    -------
    scores : dict
        ``"accuracy"``, ``"balanced_accuracy"``, ``"nmi"`` and ``"ari"`` on the
        unlabeled samples.

    Raises
    ------
    ValueError
        When the arrays are not 1-D, differ in length, hold ``NaN`` labels, or
        ``y`` marks no sample unlabeled.
    TypeError
        When ``y_true`` or ``y_pred`` mixes labels of different types.

    Examples
    --------
    >>> from skdeep.metrics import semi_supervised_scores
    >>> scores = semi_supervised_scores([0, 0, 1, 1], [0, 1, 1, 1], [0, -1, -1, 1])
    >>> scores["accuracy"], scores["balanced_accuracy"]
    (0.5, 0.5)
    """
    y_true, y_pred = check_label_pair(y_true, y_pred, dtype=object)
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty.")
    try:
        y = np.asarray(y, dtype=object)
    except ValueError as exc:
        raise ValueError(f"y must be a 1-D array of labels ({exc}).") from exc
    if y.shape != y_true.shape:
        raise ValueError(
            f"y must have the shape of y_true {y_true.shape}, got {y.shape}."
        )
    if any(isinstance(v, numbers.Real) and v != v for v in y.ravel()):
        raise ValueError(
            "y holds NaN labels; mark unlabeled samples with -1."
        )
    unlabeled = unlabeled_mask(y)
    if not unlabeled.any():
        raise ValueError("y has no unlabeled sample (-1) to score.")
    t, p = y_true[unlabeled].astype(str), y_pred[unlabeled].astype(str)
    return {
        "accuracy": float(accuracy_score(t, p)),
        "balanced_accuracy": float(balanced_accuracy_score(t, p)),
        "nmi": float(normalized_mutual_info_score(t, p)),
        "ari": float(adjusted_rand_score(t, p)),
    }


@validate_params(
    {
        "Z": ["array-like"],
        "modality": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def modality_mixing_score(Z, modality, n_neighbors=15):
    """kNN mixing entropy of the modalities in a latent space.

    For every sample, the entropy of the modalities among its ``n_neighbors``
    nearest neighbours (itself excluded), divided by the entropy of the global
    modality proportions, averaged over samples: 1 when every neighbourhood
    holds the modalities in their global proportions (perfect mixing), 0 when
    every neighbourhood holds a single modality (separate clouds).

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
        Latent coordinates (e.g. ``MODISIntegrator.transform``).
    modality : array-like of shape (n_samples,)
        Modality of each sample (at least two distinct values).
    n_neighbors : int, default=15
        Neighbourhood size.

    Returns
    -------
    score : float
        Mean normalised mixing entropy, in ``[0, 1]`` up to sampling noise
        (a neighbourhood can be more even than the global proportions).

    Raises
    ------
    ValueError
        When ``Z`` is not a finite, real, non-empty 2-D array, when ``modality``
        is not 1-D with one entry per row of ``Z`` and two distinct values, or
        when ``n_neighbors`` is not an int in ``[1, n_samples)``.
    TypeError
        When ``modality`` mixes labels of different types.

    See Also
    --------
    modality_prediction_score : The same question asked to a classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.metrics import modality_mixing_score
    >>> rng = np.random.RandomState(0)
    >>> Z = rng.standard_normal((200, 2))
    >>> separated = np.r_[Z[:100], Z[100:] + 50]
    >>> modality = np.repeat([0, 1], 100)
    >>> modality_mixing_score(separated, modality)
    0.0
    >>> bool(modality_mixing_score(Z, modality) > 0.8)
    True
    """
    Z, codes = _check_latent(Z, modality)
    if n_neighbors >= Z.shape[0]:
        raise ValueError(
            f"n_neighbors={n_neighbors} must be smaller than the number of samples "
            f"({Z.shape[0]})."
        )
    n_mod = codes.max() + 1
    # the score is invariant to the scale of Z: centre it and divide by a power
    # of two near its largest deviation, so that latents near 1e300 or 1e-300
    # neither overflow nor underflow in the distances
    Z = Z - Z.mean(axis=0) if np.all(np.isfinite(Z.mean(axis=0))) else Z / 2.0
    spread = float(np.max(np.abs(Z)))
    if spread > 0:
        Z = Z / 2.0 ** np.round(np.log2(spread))
    dist, neighbours = (
        NearestNeighbors(n_neighbors=n_neighbors + 1).fit(Z).kneighbors(Z)
    )
    neighbours = neighbours[:, 1:]
    counts = np.zeros((Z.shape[0], n_mod))
    np.add.at(counts, (np.repeat(np.arange(Z.shape[0]), n_neighbors),
                       codes[neighbours].ravel()), 1.0)
    # a sample with more than n_neighbors exact duplicates has no nearest
    # ones (the neighbour search would break the tie by index): its
    # neighbourhood is all its duplicates, in their proportions
    tied = dist[:, -1] == 0
    if tied.any():
        _, group = np.unique(Z, axis=0, return_inverse=True)
        group = group.ravel()
        per_group = np.zeros((group.max() + 1, n_mod))
        np.add.at(per_group, (group, codes), 1.0)
        own = per_group[group[tied]]
        own[np.arange(own.shape[0]), codes[tied]] -= 1.0  # itself excluded
        counts[tied] = own * n_neighbors / own.sum(axis=1, keepdims=True)
    p = counts / n_neighbors
    with np.errstate(divide="ignore", invalid="ignore"):
        local = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
    q = np.bincount(codes) / len(codes)
    global_entropy = -np.sum(q * np.log(q))
    return float(np.mean(local) / global_entropy)


@validate_params(
    {
        "Z": ["array-like"],
        "modality": ["array-like"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def modality_prediction_score(Z, modality, cv=3, random_state=0):
    """Balanced accuracy of a classifier predicting the modality from the latent.

    Cross-validated logistic regression on ``Z``; chance level is
    ``1 / n_modalities``. Low values mean well mixed modalities (the
    discriminator's view of the latent).

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
        Latent coordinates.
    modality : array-like of shape (n_samples,)
        Modality of each sample.
    cv : int, default=3
        Number of stratified folds.
    random_state : int, default=0
        Seed of the fold split.

    Returns
    -------
    score : float
        Mean balanced accuracy over the folds.

    Raises
    ------
    ValueError
        When ``Z`` is not a finite, real, non-empty 2-D array, when ``modality``
        is not 1-D with one entry per row of ``Z`` and two distinct values, or
        when ``cv`` is not an int in ``[2, n]`` with ``n`` the size of the smallest
        modality.
    TypeError
        When ``modality`` mixes labels of different types.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.metrics import modality_prediction_score
    >>> rng = np.random.RandomState(0)
    >>> Z = rng.standard_normal((300, 3))
    >>> modality = np.repeat([0, 1, 2], 100)
    >>> bool(modality_prediction_score(Z + 5 * modality[:, None], modality) > 0.99)
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Z, codes = _check_latent(Z, modality)
    smallest = int(np.bincount(codes).min())
    if cv > smallest:
        raise ValueError(
            f"cv={cv} folds need at least {cv} samples of every modality; the "
            f"smallest modality has {smallest}."
        )
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    scores = cross_val_score(model, Z, codes, cv=folds, scoring="balanced_accuracy")
    return float(np.mean(scores))


@validate_params(
    {
        "Z": ["array-like"],
        "y_true": ["array-like"],
        "modality": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def cross_modal_transfer_accuracy(Z, y_true, modality, n_neighbors=5):
    """Accuracy of labels transferred across modalities by nearest neighbours.

    For every ordered pair of modalities ``(a, b)``, a kNN classifier fitted on
    the latents of modality ``a`` with their true classes predicts the samples
    of modality ``b``; the accuracies are averaged over the pairs. It measures
    whether the classes of different modalities land at the same place (the
    alignment), which mixing alone does not.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
        Latent coordinates.
    y_true : array-like of shape (n_samples,)
        True classes.
    modality : array-like of shape (n_samples,)
        Modality of each sample.
    n_neighbors : int, default=5
        Neighbours of the kNN classifier.

    Returns
    -------
    accuracy : float
        Mean over ordered modality pairs, in ``[0, 1]``.

    Raises
    ------
    ValueError
        When ``Z`` is not a finite, real, non-empty 2-D array, when ``modality``
        is not 1-D with one entry per row of ``Z`` and two distinct values, or
        when ``y_true`` is not 1-D with one label per row of ``Z``, or
        ``n_neighbors`` is not a positive int.
    TypeError
        When ``modality`` or ``y_true`` mixes labels of different types.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.metrics import cross_modal_transfer_accuracy
    >>> rng = np.random.RandomState(0)
    >>> y_true = np.tile([0, 1], 50)
    >>> Z = rng.standard_normal((100, 2)) + 10 * y_true[:, None]
    >>> modality = np.repeat([0, 1], 50)
    >>> cross_modal_transfer_accuracy(Z, y_true, modality)
    1.0
    >>> cross_modal_transfer_accuracy(Z + 10 * modality[:, None], y_true, modality)
    0.5
    """
    from sklearn.neighbors import KNeighborsClassifier

    Z, codes = _check_latent(Z, modality)
    y_true = check_label_array(y_true, "y_true")
    if y_true.shape != (Z.shape[0],):
        raise ValueError(
            f"y_true must have one entry per row of Z ({Z.shape[0]}), got shape "
            f"{y_true.shape}."
        )
    y_true = y_true.astype(str)
    scores = []
    for a in range(codes.max() + 1):
        source = codes == a
        knn = KNeighborsClassifier(n_neighbors=min(n_neighbors, int(source.sum())))
        knn.fit(Z[source], y_true[source])
        for b in range(codes.max() + 1):
            if b != a:
                target = codes == b
                scores.append(np.mean(knn.predict(Z[target]) == y_true[target]))
    return float(np.mean(scores))
