"""The novelty test, the choice of the novel clusters and their names in the tree.

Pure functions on arrays, shared by :class:`NovelClassKMeans` and
:class:`HierarchicalGMM`. ``scores`` are per-sample, per-leaf evidences (minus
the squared distances for h-k-means, the log-joint for the h-GMM): the larger,
the better a leaf explains the sample.

- :func:`candidates` marks the unlabeled samples beyond the known classes'
  spread, among which half of the h-k-means starts seed their novel
  prototypes.
- :func:`novelty_margin` calibrates the novelty test on the labeled samples:
  a sample is novel when its best novel evidence beats its best known
  evidence by more than the labeled samples (all from known classes) do, but
  for a fraction ``level`` of them; :func:`confident_margin` makes that hold
  for the labeled samples at hand (training-conditional), and :func:`gate`
  applies it. The fits measure the labeled samples cross-fitted (each fold
  of :func:`calibration_folds` under the model refitted with its labels
  hidden); the ranking of the h-k-means starts, one solve each, measures
  them to the start itself with their own class refitted without them
  (:func:`loo_factors` and :func:`left_out`).
- :func:`supported_novel` drops the novel clusters too small or shown by the
  labeled samples they take to be pieces of known classes;
  :func:`select_novel` then, for ``n_novel_classes="auto"``, removes clusters
  greedily, the model refitted after each removal, while a penalised
  criterion (BIC) decreases;
  :func:`gated_objective` ranks the h-k-means starts with all this applied.
- :func:`rematch` gives the kept clusters their best novel leaves, and
  :func:`tree_names` names each at its leaf when the tree prefers that leaf
  clearly over the other novel leaves, at the deepest ancestor that holds
  the likely ones otherwise.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import binom

from ..utils._matching import hungarian_match
from ._hierarchy import tree_neighbors
from ._ncd_kernels import squared_distances

#: Probability with which the false-novel rate of the known samples stays at
#: most ``novelty_level`` for the labeled samples at hand
#: (:func:`confident_margin`).
CONFIDENCE = 0.8

#: Posterior mass a node must hold for a novel cluster to be named there.
NAMING_LEVEL = 0.9


#: Prior weight, in samples, of the pooled spread in each class's spread.
_SPREAD_PRIOR = 2.0


def candidates(X, y_index, known_means, known_idx, level):
    """Unlabeled samples beyond the known classes, for seeding novel prototypes.

    Distances are measured in units of each class's spread: the mean squared
    distance of its labeled samples to its mean fitted without them
    (leave-one-out: ``(n / (n - 1))**2`` times the distance to the mean),
    shrunk toward the pooled spread by :data:`_SPREAD_PRIOR` samples, so that
    a wide class does not hide a novel one next to a tight class. A sample is
    a candidate when its smallest such distance exceeds the ``1 - level``
    quantile of the same for the labeled samples. Returns a boolean mask over
    the unlabeled samples, or ``None`` when no labeled class has two samples
    to calibrate on.
    """
    labeled = y_index >= 0
    means = known_means[known_idx].astype(X.dtype)
    X_lab, own = X[labeled], y_index[labeled]
    pos = np.searchsorted(known_idx, own)
    counts = np.bincount(pos, minlength=known_idx.size).astype(float)
    ok = counts[pos] > 1
    if not ok.any():
        return None
    rows = np.arange(own.size)
    d_lab = squared_distances(X_lab, means).astype(np.float64)
    n_own = counts[pos]
    d_lab[rows, pos] *= (n_own / np.maximum(n_own - 1, 1)) ** 2
    own_d = np.where(ok, d_lab[rows, pos], 0.0)
    pooled = own_d.sum() / ok.sum()
    spread = (np.bincount(pos, weights=own_d, minlength=known_idx.size)
              + _SPREAD_PRIOR * pooled) / (
        np.bincount(pos, weights=ok.astype(float), minlength=known_idx.size)
        + _SPREAD_PRIOR)
    spread = np.maximum(spread, np.finfo(np.float64).tiny)
    threshold = np.quantile((d_lab / spread).min(axis=1)[ok], 1.0 - level)
    d_unl = squared_distances(X[~labeled], means).astype(np.float64) / spread
    return d_unl.min(axis=1) > threshold


def loo_factors(y_index, assignments, n_leaves, w_labeled, w_unlabeled):
    """How much farther a labeled sample lies from its class's centre fitted
    without it, per class: ``(W_k / (W_k - w_labeled))**2`` on its squared
    distance, ``W_k`` the weight of the samples the fit gave class ``k``
    (each labeled sample ``w_labeled``, each unlabeled one ``w_unlabeled``);
    ``inf`` where the sample is its class's only weight."""
    labeled = y_index >= 0
    weight = (w_labeled * np.bincount(y_index[labeled], minlength=n_leaves)
              + w_unlabeled * np.bincount(assignments[~labeled],
                                          minlength=n_leaves))
    rest = weight - w_labeled
    factor = np.full(n_leaves, np.inf)
    ok = rest > 1e-12 * np.maximum(weight, 1e-300)
    factor[ok] = (weight[ok] / rest[ok]) ** 2
    return factor


#: Folds of the cross-fitted calibration of the novelty test.
N_FOLDS = 5


def calibration_folds(y_index, n_folds=N_FOLDS):
    """The fold of each sample for the cross-fitted calibration, ``-1`` for
    the unlabeled samples and those never hidden.

    Stratified and deterministic: the ``m``-th labeled sample of a class goes
    to fold ``m % n_folds``, so that every fold leaves each class at least
    one labeled sample; a class with a single labeled sample is never hidden
    (its leaf would lose its label).
    """
    folds = np.full(y_index.shape, -1, dtype=np.intp)
    for k in np.unique(y_index[y_index >= 0]):
        rows = np.flatnonzero(y_index == k)
        if rows.size > 1:
            folds[rows] = np.arange(rows.size) % n_folds
    return folds


def fold_weights(y_index, hidden):
    """The weight of each labeled sample in the refit of the cross-fitted
    calibration that hides the ``hidden`` samples' labels: ``n / (n - h)``
    for the ``n - h`` labels left (``n`` labeled samples, ``h`` of them
    hidden), 1 elsewhere (the entries of the hidden and unlabeled samples
    are not read). The labels left carry the labeled mass of the full fit:
    h-k-means' labeled term is a mean over the labeled samples, so these
    weights leave its refit as it is, while EM counts samples, and without
    them a refit would loosen the hold of every known component on its
    labels by a fraction ``h / n`` (a fifth), so that the hidden samples
    would be measured against components weaker than those the unlabeled
    samples face."""
    labeled = y_index >= 0
    kept = int(np.sum(labeled & ~hidden))
    weights = np.ones(y_index.shape[0])
    if kept:
        weights[labeled] = labeled.sum() / kept
    return weights


def left_out(scores, y_labeled, factors, offsets):
    """The labeled samples' evidences with their own class's centre fitted
    without them: the novelty test is calibrated on these, since a class's
    centre is pulled toward its own labeled samples. An evidence is
    ``offset - q / 2``, ``q`` the squared distance in its units, and ``q``
    grows by the class's :func:`loo_factors`; samples alone in their class
    are left out."""
    rows = np.arange(len(y_labeled))
    factor = factors[y_labeled]
    scores = np.array(scores, dtype=np.float64, copy=True)
    q = 2.0 * (offsets[y_labeled] - scores[rows, y_labeled])
    keep = np.isfinite(factor)
    scores[rows[keep], y_labeled[keep]] -= 0.5 * (factor[keep] - 1.0) * q[keep]
    return scores[keep]


def gated_objective(X, y_index, known, w_labeled, w_unlabeled, level,
                    min_cluster_size):
    """The h-k-means data terms with the unlabeled samples restricted by the
    novelty test and the novel clusters restricted to those it supports
    (:func:`supported_novel`), as a function of a solution: how
    :func:`~._hkmeans.hkmeans` picks its best start when ``level`` is set (a
    start whose novel prototype splits a known class has labeled samples of
    that class on the novel side, so the test sends the split back: its
    objective rises)."""
    labeled = y_index >= 0
    y_lab = y_index[labeled]
    rows = np.arange(y_lab.size)

    def objective(solution):
        d2 = squared_distances(X, solution.centers.astype(X.dtype)).astype(
            np.float64)
        factors = loo_factors(y_index, solution.assignments, known.size,
                              w_labeled, w_unlabeled)
        scores_lab = left_out(-d2[labeled], y_lab, factors,
                              np.zeros(known.size))
        active, margin = supported_novel(-d2[~labeled], scores_lab, known, level,
                                         min_cluster_size)
        allowed = gate(-d2[~labeled], known, active, margin)
        return (w_labeled * d2[labeled][rows, y_lab].sum()
                - w_unlabeled * allowed.max(axis=1, initial=-np.inf).sum())

    return objective


def _gaps(scores, known, active):
    """Best active novel evidence minus best known evidence, per sample."""
    novel = active & ~known
    if not novel.any():
        return np.full(scores.shape[0], -np.inf)
    return scores[:, novel].max(axis=1) - scores[:, known].max(axis=1)


def novelty_margin(scores_labeled, known, active, level):
    """The margin of the novelty test, calibrated on labeled samples.

    The conformal ``1 - level`` quantile of the gap (best novel minus best
    known evidence) over the ``n`` labeled samples, their ``ceil((1 - level)
    * (n + 1))``-th smallest (their largest when that rank passes ``n``), and
    never below zero. A sample is novel when its gap exceeds it: a sample
    exchangeable with the labeled ones (of a known class) does so with
    probability at most ``level``, whatever ``n``. ``level=None`` gives zero
    (the plain most-probable leaf).
    """
    if level is None or scores_labeled.shape[0] == 0:
        return 0.0
    gaps = _gaps(scores_labeled, known, active)
    if not np.isfinite(gaps).any():
        return 0.0
    rank = min(int(np.ceil((1.0 - level) * (gaps.size + 1))), gaps.size)
    return max(0.0, float(np.sort(gaps)[rank - 1]))


def confident_margin(scores_labeled, known, active, level):
    """The margin of the novelty test that holds for the labeled samples at
    hand: training-conditional (PAC) conformal calibration.

    :func:`novelty_margin` bounds the false-novel rate on average over the
    draws of the labeled samples; for one draw the rate of its ``k``-th
    smallest gap exceeds ``level`` with probability ``P(B <= n - k)``, ``B ~
    Binomial(n, level)`` (the rate is a ``Beta(n + 1 - k, k)`` variable).
    The margin is the smallest gap whose rate stays at most ``level`` with
    probability :data:`CONFIDENCE`; with too few labeled samples for that
    (``(1 - level)**n > 1 - CONFIDENCE``) the largest, and never below
    :func:`novelty_margin`.
    """
    margin = novelty_margin(scores_labeled, known, active, level)
    if level is None or scores_labeled.shape[0] == 0:
        return margin
    gaps = _gaps(scores_labeled, known, active)
    if not np.isfinite(gaps).any():
        return margin
    n = gaps.size
    # the most gaps left above the margin: the largest j with
    # P(Binomial(n, level) <= j) <= 1 - CONFIDENCE (none: -1, the largest)
    j = int(binom.ppf(1.0 - CONFIDENCE, n, level))
    if binom.cdf(j, n, level) > 1.0 - CONFIDENCE:
        j -= 1
    k = n - max(j, 0)
    return max(margin, float(np.sort(gaps)[k - 1]))


def gate(scores, known, active, margin):
    """``scores`` with the leaves a sample may not take set to ``-inf``.

    Inactive leaves are closed to every sample; novel leaves are closed to the
    samples whose gap does not exceed ``margin`` (they keep their best known
    leaf).
    """
    out = np.array(scores, copy=True)  # dtype kept
    out[:, ~active] = -np.inf
    fails = ~(_gaps(scores, known, active) > margin)
    out[np.ix_(fails, ~known)] = -np.inf
    return out


def supported_novel(scores_unl, scores_lab, known, level, min_cluster_size):
    """The novel leaves the data support, and the margin of the test.

    A novel leaf is dropped (the worst first, the margin recalibrated after
    each drop) while it fails either check:

    - **size**: fewer than ``min_cluster_size`` unlabeled samples pass the
      novelty test into it;
    - **leak**: the labeled samples it takes (passing the test, measured as
      the caller calibrates them) say it is a piece of known classes. If it
      were, it would hold labeled samples at the labeled rate ``r`` of the
      data; if novel, at most at a rate ``eps = level * r`` (a fraction
      ``level`` of its size from known classes). With ``L`` labeled and
      ``U`` unlabeled samples taken, it is dropped when the binomial
      likelihood ratio favours a known piece by more than ``1 / level`` to
      one: ``L log(r / eps) + U log((1 - r) / (1 - eps)) > log(1 / level)``
      (with few labels a single labeled sample is weak evidence).

    With ``level=None`` only the size is checked.
    """
    active = known.copy()
    active[~known] = True
    n_lab, n_unl = scores_lab.shape[0], scores_unl.shape[0]
    r = n_lab / max(n_lab + n_unl, 1)
    while True:
        margin = confident_margin(scores_lab, known, active, level)
        sizes = np.bincount(np.argmax(gate(scores_unl, known, active, margin),
                                      axis=1), minlength=known.size)
        badness = np.where(sizes < min_cluster_size, np.inf, -np.inf)
        if level is not None and n_lab and 0 < r < 1:
            leaks = np.bincount(np.argmax(gate(scores_lab, known, active, margin),
                                          axis=1), minlength=known.size)
            eps = level * r
            llr = leaks * np.log(r / eps) + sizes * np.log((1 - r) / (1 - eps))
            badness = np.maximum(badness, np.where(llr > -np.log(level), llr,
                                                   -np.inf))
        badness[~(active & ~known)] = -np.inf
        if not np.any(badness > -np.inf):
            return active, margin
        active[np.argmax(badness)] = False


def select_novel(scores_unl, scores_lab, known, *, level, min_cluster_size,
                 auto, n_params, soft, log_weights=None, log_norm=0.0,
                 refit=None, n_labeled=0):
    """The active leaves: known ones, and the novel ones the data support.

    The novel leaves that pass :func:`supported_novel` are kept. With
    ``auto``, novel leaves are then removed one at a time (the one whose
    removal lowers the criterion most) while the criterion
    ``-2 log L + n_params * n_novel * log(n)`` decreases (``n`` the
    unlabeled samples plus ``n_labeled``, the labeled ones the likelihood
    counts), ``log L`` the log-likelihood of the unlabeled samples under the
    gated model (plus that of the labeled ones, with ``refit``): the
    best allowed leaf's evidence (``soft=False``, the classification
    likelihood of k-means) or the log-sum over the allowed leaves with the
    mixing weights renormalised over the active ones (``soft=True``), plus
    ``log_norm`` per sample (the normalising constant the evidences leave
    out, which changes when a refit changes the model's variance).

    ``refit(active)``, when given, fits the model again with only the
    ``active`` leaves open to the unlabeled samples and returns
    ``(scores_unl, scores_lab, criterion, model)``, ``criterion`` the
    ``log_weights`` and ``log_norm`` of the refitted model, ``ll_labeled``
    the log-likelihood of the labeled samples (each in its class) and
    optionally ``scores``, the unlabeled samples' log-densities under the
    model the criterion judges when they are not the evidences of the test
    (the leaves the test closes stay closed): every candidate set
    of leaves is then judged by its own fitted model (the samples of a
    removed cluster move the centres of the clusters that take them), not
    by the model fitted with all the leaves.

    Returns
    -------
    active : ndarray of bool
    margin : float
    model : object or None
        What ``refit`` returned for the chosen leaves (``None`` without a
        refit).
    """
    active, margin = supported_novel(scores_unl, scores_lab, known, level,
                                     min_cluster_size)
    if not auto:
        return active, margin, None
    n = max(scores_unl.shape[0] + n_labeled, 2)

    def criterion(act, s_unl, s_lab, model_terms):
        marg = confident_margin(s_lab, known, act, level)
        s = gate(s_unl, known, act, marg)
        if model_terms.get("scores") is not None:  # the criterion's own model
            s = np.where(np.isfinite(s), model_terms["scores"], -np.inf)
        if soft:
            s = s - logsumexp(model_terms["log_weights"][act])
            ll = logsumexp(s, axis=1).sum()
        else:
            ll = s.max(axis=1).sum()
        ll += model_terms["log_norm"] * s.shape[0]
        ll += model_terms.get("ll_labeled", 0.0)
        return -2.0 * ll + n_params * np.sum(act & ~known) * np.log(n), marg

    def fitted(act):
        if refit is None:
            terms = dict(log_weights=log_weights, log_norm=log_norm)
            return scores_unl, scores_lab, terms, None
        return refit(act)

    state = fitted(active)
    best, margin = criterion(active, *state[:3])
    while np.any(active & ~known):
        trials = []
        for j in np.flatnonzero(active & ~known):
            act = active.copy()
            act[j] = False
            trial = fitted(act)
            trials.append((*criterion(act, *trial[:3]), act, trial))
        value, marg, act, trial = min(trials, key=lambda t: t[0])
        if value >= best:
            break
        best, margin, active, state = value, marg, act, trial
    return active, margin, state[3]


def leaf_priors(centers, tree, known, n_neighbors):
    """Where the tree places every leaf: the mean of the ``centers`` of its
    :func:`~._hierarchy.tree_neighbors` (the h-k-means prior of a novel leaf)."""
    return np.array([
        centers[tree_neighbors(tree, known, n_neighbors, leaf)].mean(axis=0)
        for leaf in range(len(tree.leaves))])


def rematch(centers, tree, known, active, n_neighbors):
    """The leaf each kept novel cluster should hold, as a reordering of the
    leaves.

    The solver names all its novel prototypes together, those the novelty
    test then drops included; the kept ones are matched again (Hungarian) to
    the novel leaves, minimising the summed squared distances to the leaves'
    priors (:func:`leaf_priors`). Returns ``order``: leaf ``l`` takes the
    fitted column ``order[l]`` (known leaves keep theirs; dropped clusters
    fill the novel leaves left over, in order).
    """
    order = np.arange(known.size)
    novel_idx = np.flatnonzero(~known)
    kept = np.flatnonzero(active & ~known)
    if not kept.size:
        return order
    priors = leaf_priors(centers, tree, known, n_neighbors)[novel_idx]
    cost = np.sum((centers[kept][:, None, :] - priors[None, :, :]) ** 2, axis=2)
    rows, cols = hungarian_match(cost / max(cost.max(), np.finfo(float).tiny),
                                 maximize=False)
    taken = novel_idx[cols]
    order[taken] = kept[rows]
    free = np.setdiff1d(novel_idx, taken)
    order[free] = np.setdiff1d(novel_idx, kept[rows])
    return order


def tree_names(centers, tree, known, active, n_neighbors):
    """The node each leaf's cluster is reported at.

    Known leaves are reported as themselves. A kept novel cluster, with
    centre ``c``, has a posterior over the novel leaves ``l`` proportional to
    ``exp(-||c - prior_l||^2 / (2 tau^2))``, ``prior_l`` where the tree
    places ``l`` (:func:`leaf_priors`) and ``tau^2`` the placement error per
    feature: the mean squared deviation of the known leaves from their
    priors, or the cluster's own squared deviation from its nearest prior
    (the maximum-likelihood value for this cluster) when smaller; with few
    known leaves the former is measured on priors from far clades only.
    The cluster is named at the deepest node on the path from its leaf to
    the root whose novel leaves hold a posterior mass of at least
    :data:`NAMING_LEVEL`: its leaf when the tree tells it apart from the
    other novel leaves, an ancestor ("novel, unnamed" below it) when two
    novel leaves sit alike in the tree (e.g. siblings), the root when the
    tree says nothing (a flat tree with several novel leaves).

    Returns
    -------
    nodes : list
        One node name per leaf (``tree.leaves`` order).
    """
    leaves = tree.leaves
    names = [tree.nodes[leaf] for leaf in leaves]
    novel_idx = np.flatnonzero(~known)
    if not novel_idx.size:
        return names
    priors = leaf_priors(centers, tree, known, n_neighbors)
    known_idx = np.flatnonzero(known)
    tau2 = (np.mean((centers[known_idx] - priors[known_idx]) ** 2)
            if known_idx.size > 1 else 0.0)  # per feature
    A = tree.ancestor_matrix()
    for j in np.flatnonzero(active & ~known):
        cost = np.sum((priors[novel_idx] - centers[j]) ** 2, axis=1)
        own = min(tau2, cost.min() / centers.shape[1]) if tau2 else (
            cost.min() / centers.shape[1])
        logp = -cost / (2.0 * max(own, np.finfo(float).tiny))
        post = np.exp(logp - logsumexp(logp))
        node = leaves[j]
        while node >= 0:
            if post[A[novel_idx, node] > 0].sum() >= NAMING_LEVEL:
                break
            node = tree.parent[node]
        names[j] = tree.nodes[max(node, 0)]
    return names
