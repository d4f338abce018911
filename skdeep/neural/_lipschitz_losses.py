"""The hinge-regularised Kantorovich-Rubinstein (HKR) losses.

Serrurier et al. (CVPR 2021) train a 1-Lipschitz network ``f`` with

    L(f) = hinge_m(f) - alpha * KR(f),

* ``KR(f) = E[f(x) | y = +1] - E[f(x) | y = -1]``, the dual objective of the
  Wasserstein-1 distance between the two classes (maximised);
* ``hinge_m(f) = E[max(0, m - y f(x))]``, which asks every sample to lie at
  distance at least ``m`` (the margin, in the units of ``x``) from the
  decision boundary ``f = 0``.

The paper writes ``KR + lambda * hinge`` (``lambda`` weighting the hinge term);
our ``alpha`` is ``1 / lambda`` (the weight of the KR term against the hinge
term). With ``K > 2`` classes the loss is one-vs-all on the ``K`` scores: the KR
term is averaged over the classes, and the hinge term of a sample is
``((K - 1) max(0, m - f_y) + sum_{k != y} max(0, m + f_k)) / K`` (the positive
term reweighted by ``K - 1`` so that it balances the ``K - 1`` negative ones).

Expectations are weighted by the sample weights, within the batch. A class
absent from a batch contributes no conditional mean (its term is 0).

torch is imported by the caller; the functions only use tensor methods.
"""


def _class_mean(values, weights, mask):
    """``sum(w f [mask]) / sum(w [mask])`` per column; 0 where the mask is empty.

    ``values`` and ``mask`` are ``(n,)`` or ``(n, K)``; ``weights`` is ``(n,)``.
    """
    w = weights if values.dim() == 1 else weights[:, None]
    w = w * mask
    total = w.sum(dim=0)
    return (w * values).sum(dim=0) / total.clamp_min(1e-30)


def hkr_binary(scores, y_sign, weights, alpha, margin):
    """HKR loss of a binary problem and its two terms.

    Parameters
    ----------
    scores : tensor of shape (n,)
        ``f(x)`` of the batch.
    y_sign : tensor of shape (n,)
        Labels as ``-1`` and ``+1`` (``+1`` is the class of positive scores).
    weights : tensor of shape (n,)
        Non-negative sample weights.
    alpha, margin : float
        Weight of the KR term and margin of the hinge term.

    Returns
    -------
    loss : scalar tensor
        ``hinge - alpha * kr``.
    terms : dict
        ``{"hinge": hinge, "kr": kr}`` (scalar tensors).
    """
    hinge = (weights * (margin - y_sign * scores).clamp_min(0)).sum() / weights.sum()
    positive = (y_sign > 0).to(scores.dtype)
    kr = _class_mean(scores, weights, positive) - _class_mean(
        scores, weights, 1 - positive
    )
    return hinge - alpha * kr, {"hinge": hinge, "kr": kr}


def hkr_multiclass(scores, one_hot, weights, alpha, margin):
    """One-vs-all HKR loss of ``K`` classes and its two terms.

    Parameters
    ----------
    scores : tensor of shape (n, K)
        The ``K`` scores of the batch.
    one_hot : tensor of shape (n, K)
        One-hot encoded labels (1 for the true class, 0 elsewhere).
    weights : tensor of shape (n,)
        Non-negative sample weights.
    alpha, margin : float
        Weight of the KR term and margin of the hinge term.

    Returns
    -------
    loss : scalar tensor
        ``hinge - alpha * kr``.
    terms : dict
        ``{"hinge": hinge, "kr": kr}`` (scalar tensors).
    """
    n_classes = scores.shape[1]
    sign = 2 * one_hot - 1
    per_entry = (margin - sign * scores).clamp_min(0)
    per_entry = per_entry * (1 + (n_classes - 2) * one_hot)  # true class x (K - 1)
    per_sample = per_entry.mean(dim=1)
    hinge = (weights * per_sample).sum() / weights.sum()
    kr = (
        _class_mean(scores, weights, one_hot)
        - _class_mean(scores, weights, 1 - one_hot)
    ).mean()
    return hinge - alpha * kr, {"hinge": hinge, "kr": kr}
