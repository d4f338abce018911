"""The scores of the tree clusterers, and GridSearchCV on them alone."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.datasets import make_hierarchical_blobs
from skdeep.utils import unlabeled_mask

TREE = {"a": "ab", "b": "ab", "c": "cd", "d": "cd", "ab": "r", "cd": "r"}


@pytest.fixture(scope="module")
def data():
    # string leaves, "-1" for the unlabeled samples; "c" or another leaf novel
    return make_hierarchical_blobs(240, 4, hierarchy=TREE, n_novel=1, random_state=0)


def _split(X, y):
    return (X[:160], y[:160]), (X[160:], y[160:])


def test_kmeans_score_clamps_labeled_samples_to_their_class(data):
    X, y, _, tree, _ = data
    (X_fit, y_fit), (X_test, y_test) = _split(X, y)
    model = NovelClassKMeans(tree, random_state=0).fit(X_fit, y_fit)
    d2 = ((X_test[:, None, :] - model.cluster_centers_[None]) ** 2).sum(-1)
    unl = unlabeled_mask(y_test)
    own = [list(model.classes_).index(v) for v in y_test[~unl]]
    expected = d2[unl].min(1).sum() + d2[~unl, own].sum()
    assert model.score(X_test, y_test) == pytest.approx(-expected, rel=1e-10)
    # without y every sample goes to its nearest prototype (KMeans.score)
    assert model.score(X_test) == pytest.approx(-d2.min(1).sum(), rel=1e-10)
    # the clamp can only add distance: a labeled sample given the label of a
    # far class costs its distance to that class's prototype
    assert model.score(X_test, y_test) <= model.score(X_test)
    i = np.flatnonzero(~unl)[0]
    far = int(np.argmax(d2[i]))
    y_wrong = y_test.copy()
    y_wrong[i] = model.classes_[far]
    drop = d2[i, far] - d2[i, list(model.classes_).index(y_test[i])]
    assert drop > 0
    assert model.score(X_test, y_wrong) == pytest.approx(
        model.score(X_test, y_test) - drop, rel=1e-10)


def test_gmm_score_is_the_semi_supervised_log_likelihood(data):
    X, y, _, tree, _ = data
    (X_fit, y_fit), (X_test, y_test) = _split(X, y)
    model = HierarchicalGMM(tree, random_state=0).fit(X_fit, y_fit)
    # log N(x | mean_k, diag(covariances_)) of every sample and component
    log_pdf = np.stack([multivariate_normal(m, np.diag(model.covariances_)).logpdf(
        X_test) for m in model.means_], axis=1)
    mixture = logsumexp(log_pdf + np.log(model.weights_), axis=1)
    unl = unlabeled_mask(y_test)
    own = [list(model.classes_).index(v) for v in y_test[~unl]]
    expected = np.r_[mixture[unl], log_pdf[~unl, own]].mean()
    assert model.score(X_test, y_test) == pytest.approx(expected, rel=1e-10)
    # without y: the mean log density of the mixture, as GaussianMixture.score
    assert model.score(X_test) == pytest.approx(mixture.mean(), rel=1e-10)
    assert model.score(X_test) == pytest.approx(model.score_samples(X_test).mean())


@pytest.mark.parametrize("Estimator", [NovelClassKMeans, HierarchicalGMM])
def test_score_reads_both_markers_and_rejects_unknown_labels(data, Estimator):
    X, y, _, tree, _ = data
    model = Estimator(tree, random_state=0).fit(X, y)
    y_int = y.copy()
    y_int[unlabeled_mask(y)] = -1  # the integer marker in an object array
    assert model.score(X, y_int) == model.score(X, y)
    # all unlabeled: the score without y
    assert model.score(X, np.full(len(y), "-1", dtype=object)) == model.score(X)
    y_bad = y.copy()
    y_bad[~unlabeled_mask(y)] = "ab"  # an internal node: not a class
    with pytest.raises(ValueError, match="'ab', which is not a leaf"):
        model.score(X, y_bad)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.score(X, y[:-1])


@pytest.mark.parametrize(
    "Estimator, grid, best",
    [
        # a hierarchy penalty so strong that it pulls every prototype to the
        # root fits held-out samples far worse
        (NovelClassKMeans, {"lambda_hierarchy": [0.05, 100.0]}, 0.05),
        # a variance floor of 1 (the data's largest deviation is 1 after the
        # internal rescaling) blurs the components
        (HierarchicalGMM, {"reg_covar": [1e-6, 1.0]}, 1e-6),
    ],
)
def test_grid_search_alone_on_simulator_labels(Estimator, grid, best):
    X, y, _, tree, _ = make_hierarchical_blobs(
        300, 5, depth=2, n_novel=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(Estimator(tree, n_init=3, random_state=0), grid)
        search.fit(X, y)
    (name,) = grid
    assert search.best_params_ == {name: best}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    low, high = sorted(search.cv_results_["mean_test_score"])
    assert high > low


@pytest.mark.parametrize("Estimator", [NovelClassKMeans, HierarchicalGMM])
def test_score_favours_more_novel_classes(Estimator):
    # the documented caveat: more prototypes fit held-out samples better, so
    # the score cannot choose the number of novel classes
    X, y, _, _, _ = make_hierarchical_blobs(
        300, 5, depth=2, n_novel=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(Estimator(n_init=3, random_state=0),
                              {"n_novel_classes": [1, 3]}).fit(X, y)
    assert search.best_params_ == {"n_novel_classes": 3}
