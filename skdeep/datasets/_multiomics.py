"""Unpaired, partly labeled multi-omics data with a known class structure."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._validation import check_array_arg, check_simulation_size

_NOISE_MODELS = ("continuous", "count", "methylation")


def _as_list(value, n, name, kind):
    if np.ndim(value) == 0:
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"{name} must be a {kind} or a list of {n}, got {value}.")
    return value


def _check_shares(value, n, name):
    """``n`` non-negative finite shares with a positive sum, normalised."""
    shares = check_array_arg(value, name, ndim=1)
    if shares.shape != (n,) or (shares < 0).any() or shares.sum() <= 0:
        raise ValueError(
            f"{name} must hold {n} non-negative proportions with a positive sum, "
            f"got {shares.tolist()}."
        )
    return shares / shares.sum()


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_latent": [Interval(Integral, 1, None, closed="left")],
        "noise_models": [StrOptions(set(_NOISE_MODELS)), list, tuple, None],
        "class_separation": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "weights": ["array-like", None],
        "labeled_fraction": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "unlabeled_classes": [dict, None],
        "n_target": [Interval(Integral, 0, None, closed="left")],
        "n_target_classes": [Interval(Integral, 1, None, closed="left")],
        "modality_fractions": ["array-like", None],
        "return_info": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_multiomics(
    n_samples=1000,
    n_features=(100, 80),
    *,
    n_classes=5,
    n_latent=8,
    noise_models=None,
    class_separation=5.0,
    noise=0.5,
    weights=None,
    labeled_fraction=0.1,
    unlabeled_classes=None,
    n_target=0,
    n_target_classes=1,
    modality_fractions=None,
    return_info=False,
    random_state=None,
):
    """Unpaired multi-omics samples measured in one modality each (InterSIM-like).

    Every sample has a class and a latent profile ``u = m_c + e`` in
    ``R^n_latent`` (class means ``m_c`` at distance about ``class_separation``,
    ``e ~ N(0, I)``). Each sample is measured in ONE modality ``k``, whose
    features are a modality-specific nonlinear map of ``u``
    (``s = tanh(u A_k + b_k) W_k``: a random one-hidden-layer network per
    modality) observed through the modality's noise model:

    - ``"continuous"`` (expression-like): ``x = s + noise * N(0, 1)``;
    - ``"count"`` (sequencing-like): ``x ~ Poisson(exp(0.5 s + 1))``;
    - ``"methylation"`` (beta values, bounded in ``(0, 1)``):
      ``x = sigmoid(s + noise * N(0, 1))``.

    The other modalities' blocks of the sample are NaN, the input format of
    :class:`~skdeep.neural.MODISIntegrator`. A fraction of every modality's
    samples keeps its label; the others are ``-1``. Classes can be left
    unlabeled in chosen modalities, and a small *target* cohort of new classes
    can be added beside the large *reference* one.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of reference samples (over all modalities).
    n_features : sequence of int, default=(100, 80)
        Number of features of each modality; its length is the number of
        modalities.
    n_classes : int, default=5
        Number of classes, the target classes included.
    n_latent : int, default=8
        Dimension of the shared latent profiles.
    noise_models : sequence of {"continuous", "count", "methylation"} or None, \
            default=None
        Noise model of each modality; ``None`` cycles through
        ``("continuous", "count", "methylation")``.
    class_separation : float, default=5.0
        Typical distance between class means, in units of the within-class
        standard deviation of the latent profiles.
    noise : float, default=0.5
        Noise level of the continuous and methylation modalities.
    weights : sequence of float or None, default=None
        Proportions of the reference classes (class imbalance); ``None`` is
        balanced. Its length is ``n_classes`` (or ``n_classes -
        n_target_classes`` with a target cohort).
    labeled_fraction : float or sequence of float, default=0.1
        Fraction of each modality's samples that keep their label.
    unlabeled_classes : dict or None, default=None
        ``{modality: [classes]}``: classes whose samples are all unlabeled in
        that modality (e.g. ``{1: [4]}``: class 4 is labeled in modality 0
        only).
    n_target : int, default=0
        Number of samples of a small target cohort, drawn from the last
        ``n_target_classes`` classes (absent from the reference cohort).
    n_target_classes : int, default=1
        Number of classes of the target cohort (used when ``n_target > 0``).
    modality_fractions : sequence of float or None, default=None
        Share of the samples measured in each modality; ``None`` is equal.
    return_info : bool, default=False
        Also return a dict with the ground truth: ``"latent"`` (the profiles),
        ``"class_means"``, ``"cohort"`` (0 reference, 1 target),
        ``"modalities"`` (the block sizes) and ``"noise_models"``.
    random_state : int, RandomState instance or None, default=None
        Seed of every draw.

    Returns
    -------
    X : ndarray of shape (n_samples + n_target, sum(n_features))
        The modalities' blocks side by side, NaN outside each sample's block.
    y : ndarray of shape (n_samples + n_target,)
        Observed labels, ``-1`` for unlabeled samples.
    y_true : ndarray of shape (n_samples + n_target,)
        The true class of every sample.
    modality : ndarray of shape (n_samples + n_target,)
        Index of the modality each sample is measured in.
    info : dict
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        When an argument is out of its range: a size below 1 (``n_classes``
        below 2), a negative, ``NaN`` or infinite ``noise`` or
        ``class_separation``, a ``labeled_fraction`` outside ``[0, 1]``,
        ``weights`` or ``modality_fractions`` that are not non-negative finite
        shares of the right length, an unknown noise model, modality or class in
        ``unlabeled_classes``, ``n_target_classes`` not below ``n_classes``, or
        ``X`` larger than 10**8 entries (800 MB of float64).
    TypeError
        When an argument has the wrong type (e.g. a float in ``n_features``).

    References
    ----------
    .. [1] P. Chalise, R. Raghavan, B. Fridley, "InterSIM: Simulation tool for
       multiple integrative 'omic datasets'", Computer Methods and Programs in
       Biomedicine, 2016 (the simulator the MODIS paper uses).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.datasets import make_multiomics
    >>> X, y, y_true, modality = make_multiomics(
    ...     n_samples=200, n_features=(30, 20), labeled_fraction=0.2,
    ...     unlabeled_classes={1: [4]}, random_state=0)
    >>> X.shape, np.bincount(modality).tolist()
    ((200, 50), [100, 100])
    >>> bool(np.isnan(X[modality == 0, 30:]).all())
    True
    >>> int(np.sum((y == 4) & (modality == 1)))
    0
    """
    sizes, noise_models, fractions = _check_modalities(
        n_features, noise_models, labeled_fraction)
    n_mod = len(sizes)
    n_target_cls = int(n_target_classes) if n_target > 0 else 0
    if n_target > 0 and not 1 <= n_target_cls < n_classes:
        raise ValueError(
            f"n_target_classes must be in [1, n_classes), got {n_target_classes!r}."
        )
    n_ref_cls = n_classes - n_target_cls
    if weights is None:
        weights = np.full(n_ref_cls, 1.0 / n_ref_cls)
    weights = _check_shares(weights, n_ref_cls, "weights")
    if modality_fractions is None:
        modality_fractions = np.full(n_mod, 1.0 / n_mod)
    modality_fractions = _check_shares(
        modality_fractions, n_mod, "modality_fractions"
    )
    unlabeled_classes = _check_unlabeled_classes(unlabeled_classes, n_mod, n_classes)
    check_simulation_size(
        (n_samples + n_target) * sum(sizes), "(n_samples + n_target) * sum(n_features)"
    )
    rng = check_random_state(random_state)

    # Classes, cohorts and modalities of the samples.
    y_ref = rng.choice(n_ref_cls, size=n_samples, p=weights)
    y_tgt = n_ref_cls + rng.randint(n_target_cls, size=n_target) if n_target else \
        np.empty(0, dtype=int)
    y_true = np.concatenate([y_ref, y_tgt]).astype(np.int64)
    cohort = np.r_[np.zeros(n_samples, dtype=np.int64), np.ones(n_target, np.int64)]
    modality = np.empty(len(y_true), dtype=np.int64)
    for part in (cohort == 0, cohort == 1):
        idx = np.flatnonzero(part)
        # exact shares, then a random order
        counts = np.floor(modality_fractions * len(idx)).astype(int)
        counts[: len(idx) - counts.sum()] += 1
        modality[idx] = rng.permutation(np.repeat(np.arange(n_mod), counts))

    # Shared latent profiles: class means on a scaled simplex-like design.
    class_means = rng.standard_normal((n_classes, n_latent))
    class_means *= class_separation / np.sqrt(2 * n_latent)
    latent = class_means[y_true] + rng.standard_normal((len(y_true), n_latent))
    X = _draw_modalities(rng, latent, modality, sizes, noise_models, noise)
    y = _hide_labels(rng, y_true, modality, fractions, unlabeled_classes)
    if not return_info:
        return X, y, y_true, modality
    info = {
        "latent": latent,
        "class_means": class_means,
        "cohort": cohort,
        "modalities": sizes,
        "noise_models": list(noise_models),
    }
    return X, y, y_true, modality, info


def _check_modalities(n_features, noise_models, labeled_fraction):
    """The size, noise model and labeled fraction of each modality."""
    sizes = np.atleast_1d(np.asarray(n_features, dtype=object))
    if sizes.ndim > 1 or sizes.size < 1:
        raise ValueError(
            f"n_features must be an int or a 1-D sequence of ints (one per modality), "
            f"got {n_features!r}."
        )
    for d in sizes:
        if not _is_int(d):
            raise TypeError(f"n_features must hold ints, got {d!r}.")
        if d < 1:
            raise ValueError(f"n_features must hold sizes >= 1, got {d!r}.")
    sizes = [int(d) for d in sizes]
    n_mod = len(sizes)
    if noise_models is None:
        noise_models = [_NOISE_MODELS[k % 3] for k in range(n_mod)]
    noise_models = _as_list(noise_models, n_mod, "noise_models", "str")
    for model in noise_models:
        if not isinstance(model, str) or model not in _NOISE_MODELS:
            raise ValueError(
                f"noise_models must hold values of {_NOISE_MODELS}, got {model!r}."
            )
    fractions = check_array_arg(labeled_fraction, "labeled_fraction", ndim=(0, 1))
    fractions = [float(f) for f in np.atleast_1d(fractions)]
    if len(fractions) == 1 and np.ndim(labeled_fraction) == 0:
        fractions = fractions * n_mod
    if len(fractions) != n_mod:
        raise ValueError(
            f"labeled_fraction must be a float or a list of {n_mod}, got "
            f"{len(fractions)} values."
        )
    if any(not 0 <= f <= 1 for f in fractions):
        raise ValueError(f"labeled_fraction must be in [0, 1], got {fractions}.")
    return sizes, noise_models, fractions


def _check_unlabeled_classes(unlabeled_classes, n_mod, n_classes):
    """``{modality: classes}`` whose samples are all unlabeled, checked."""
    unlabeled_classes = {} if unlabeled_classes is None else dict(unlabeled_classes)
    for m, classes in unlabeled_classes.items():
        if not _is_int(m) or not 0 <= m < n_mod:
            raise ValueError(
                f"unlabeled_classes keys must be modality indices in [0, {n_mod}), "
                f"got {m!r}."
            )
        bad = [c for c in np.atleast_1d(np.asarray(classes, dtype=object))
               if not _is_int(c) or not 0 <= c < n_classes]
        if bad:
            raise ValueError(
                f"unlabeled_classes[{m!r}] must list class indices in "
                f"[0, {n_classes}), got {bad}."
            )
    return unlabeled_classes


def _draw_modalities(rng, latent, modality, sizes, noise_models, noise):
    """Each sample's measurements in its own modality's columns, NaN elsewhere:
    a random one-hidden-layer map of the latent profile, then the noise model."""
    X = np.full((latent.shape[0], sum(sizes)), np.nan)
    n_latent = latent.shape[1]
    start = 0
    for m, (d, model) in enumerate(zip(sizes, noise_models)):
        hidden = max(2 * n_latent, 16)
        A = rng.standard_normal((n_latent, hidden)) / np.sqrt(n_latent)
        b = 0.5 * rng.standard_normal(hidden)
        W = rng.standard_normal((hidden, d)) * np.sqrt(2.0 / hidden)
        rows = modality == m
        s = np.tanh(latent[rows] @ A + b) @ W
        if model == "continuous":
            x = s + noise * rng.standard_normal(s.shape)
        elif model == "count":
            x = rng.poisson(np.exp(np.clip(0.5 * s + 1.0, -10, 6))).astype(float)
        else:
            x = 1.0 / (1.0 + np.exp(-(s + noise * rng.standard_normal(s.shape))))
        X[np.ix_(rows, np.arange(start, start + d))] = x
        start += d
    return X


def _hide_labels(rng, y_true, modality, fractions, unlabeled_classes):
    """``y_true`` with -1 for the samples left unlabeled in each modality."""
    y = y_true.copy()
    for m, fraction in enumerate(fractions):
        idx = np.flatnonzero(modality == m)
        n_lab = int(round(fraction * len(idx)))
        keep = np.zeros(len(idx), dtype=bool)
        keep[rng.choice(len(idx), n_lab, replace=False)] = True
        hidden_cls = np.isin(y_true[idx], np.atleast_1d(unlabeled_classes.get(m, [])))
        y[idx[~keep | hidden_cls]] = -1
    return y
