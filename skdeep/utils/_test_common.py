"""Default instances and small test data for the contract tests of every estimator.

Like scikit-learn's ``instance_generator``: the contract harness builds each
estimator with the parameters below (small sizes so the checks run fast) and feeds
it the data returned by :func:`make_test_data`. An estimator that needs no special
settings needs no entry.
"""

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.datasets import make_blobs
from sklearn.utils import get_tags

# Constructor parameters that keep the checks fast; keyed by class name.
INIT_PARAMS = {}
INIT_PARAMS["TensorCompleter"] = {"max_iter": 50, "track_every": 0}
INIT_PARAMS["CDLTransformer"] = {"n_atoms": 2, "n_times_atom": 2, "max_iter": 5}
INIT_PARAMS["LipschitzClassifier"] = {
    "hidden_layer_sizes": (16,), "max_iter": 50, "batch_size": 32,
}
INIT_PARAMS["MODISIntegrator"] = {
    "n_components": 4, "hidden_layer_sizes": (16,),
    "discriminator_hidden_sizes": (16,), "max_iter": 30, "batch_size": 32,
}


def construct_instance(estimator_class):
    """A fast, seeded instance of ``estimator_class`` for the contract tests."""
    params = dict(INIT_PARAMS.get(estimator_class.__name__, {}))
    estimator = estimator_class(**params)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    return estimator


def make_test_data(estimator, random_state=0):
    """Small ``(X, y)`` suited to ``estimator``; ``y`` is None when it takes none.

    Semi-supervised estimators (tag ``semi_supervised``... declared through
    ``target_tags.required`` and a ``-1`` convention) get a third of the labels
    masked with ``-1``.
    """
    rng = np.random.RandomState(random_state)
    name = type(estimator).__name__
    if name in TEST_DATA:
        return TEST_DATA[name](rng)
    X, y = make_blobs(n_samples=60, n_features=4, centers=3, random_state=rng)
    tags = get_tags(estimator)
    if tags.input_tags.positive_only:
        X -= X.min()
    if is_classifier(estimator) or is_regressor(estimator) or tags.target_tags.required:
        return X, y
    return X, None


# Data makers for estimators whose input is not a plain blob matrix; keyed by name.
TEST_DATA = {}
TEST_DATA["CDLTransformer"] = lambda rng: (rng.standard_normal((12, 80)), None)


def _novel_class_data(rng):
    # Blob 2 is a novel class (all unlabeled); a third of the others is unlabeled.
    X, y = make_blobs(n_samples=60, n_features=4, centers=3, random_state=rng)
    y[(y == 2) | (rng.uniform(size=60) < 1 / 3)] = -1
    return X, y


TEST_DATA["NovelClassKMeans"] = _novel_class_data
TEST_DATA["HierarchicalGMM"] = _novel_class_data


# Semi-supervised clusterers: sklearn's check_clustering calls fit(X) without y,
# which these estimators require (-1 marks the unlabeled samples).
_NEEDS_Y = "fit needs y (-1 for unlabeled samples); check_clustering fits X alone"
EXPECTED_FAILED_CHECKS = {
    name: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
    }
    for name in ("NovelClassKMeans", "HierarchicalGMM")
}
# Semi-supervised classifiers: the check trains on the labels [-1, 1], and -1
# marks an unlabeled sample (scikit-learn exempts its own by name, e.g.
# LabelSpreading and SelfTrainingClassifier).
EXPECTED_FAILED_CHECKS["MODISIntegrator"] = {
    "check_classifiers_classes": "-1 marks unlabeled samples, as in scikit-learn's "
    "semi-supervised classifiers"
}


def expected_failed_checks(estimator):
    """Checks an estimator is known to fail, with the reason (sklearn's xfail)."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def _driven_event_data(rng):
    from ..datasets import make_driven_events

    X, _ = make_driven_events(end_time=300.0, random_state=rng)
    return X, None


TEST_DATA["DriPP"] = _driven_event_data


def _low_rank_matrix(rng):
    # Completion needs low-rank data: on blobs the escape phase sits on a saddle
    # for longer than the stopping rule's window.
    from ..datasets import make_low_rank_tensor

    X, _ = make_low_rank_tensor(
        (60, 4), ranks=2, observed_fraction=0.8, random_state=rng
    )
    return X, None


TEST_DATA["TensorCompleter"] = _low_rank_matrix
