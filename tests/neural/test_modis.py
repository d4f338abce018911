"""MODISIntegrator: alignment by the adversary, recovery, contract, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skdeep.datasets import make_multiomics
from skdeep.metrics import (
    modality_mixing_score,
    modality_prediction_score,
    semi_supervised_scores,
)
from skdeep.neural import MODISIntegrator

torch = pytest.importorskip("torch")

SIZES = (100, 80)


@pytest.fixture(scope="module")
def data():
    # 2000 unpaired samples (1000 per modality: continuous and count), 10 %
    # labeled, 5 classes, class 4 labeled in modality 0 only.
    return make_multiomics(
        n_samples=2000, n_features=SIZES, labeled_fraction=0.1,
        unlabeled_classes={1: [4]}, random_state=0,
    )


def _fit(X, y, **params):
    params = {"modalities": list(SIZES), "n_components": 8, "max_iter": 40,
              "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MODISIntegrator(**params).fit(X, y)


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return {adv: _fit(X, y, adversarial=adv) for adv in ("rpgan", "ce", None)}


def test_adversary_mixes_the_modalities(data, fitted):
    # Without the adversary the two modalities' latents are separable (a
    # modality classifier scores ~0.9 balanced accuracy, mixing entropy ~0.1);
    # with it they overlap: chance is 0.5 and perfect mixing 1.
    X, _, _, modality = data
    scores = {
        adv: (modality_mixing_score(m.transform(X), modality),
              modality_prediction_score(m.transform(X), modality))
        for adv, m in fitted.items()
    }
    # Measured (seed 0): none (0.13, 0.83), ce (0.81, 0.65), rpgan (0.89, 0.49).
    mix_none, pred_none = scores[None]
    assert pred_none > 0.75 and mix_none < 0.3
    for adv in ("rpgan", "ce"):
        mix, pred = scores[adv]
        assert mix > mix_none + 0.5, (adv, scores)
        assert pred < pred_none - 0.15, (adv, scores)
    # the relativistic loss mixes best: near chance for the modality classifier
    assert scores["rpgan"][0] > 0.8 and scores["rpgan"][1] < 0.6, scores


def test_curves_and_terms(fitted):
    model = fitted["rpgan"]
    assert model.n_iter_ == len(model.loss_curve_) >= 1
    assert np.all(np.isfinite(model.loss_curve_))
    for term in ("generator.reconstruction", "generator.kl",
                 "generator.classification", "generator.adversarial",
                 "discriminator", "discriminator.adversarial",
                 "discriminator.penalty"):
        assert model.loss_terms_[term].shape == (model.n_iter_,), term
    # reconstruction is learned: the standardised error drops well below 1
    rec = model.loss_terms_["generator.reconstruction"]
    assert rec[-1] < 0.8 * rec[0]
    assert "generator.adversarial" not in fitted[None].loss_terms_


def test_accuracy_against_per_modality_logistic_regressions(data, fitted):
    # Per-modality LR trained on each modality's own labels cannot predict
    # class 4 in modality 1 (never labeled there).
    X, y, y_true, modality = data
    unlabeled = y == -1
    pred = np.empty(len(y), dtype=y.dtype)
    start = 0
    for m, d in enumerate(SIZES):
        rows, cols = modality == m, slice(start, start + d)
        start += d
        lab = rows & ~unlabeled
        lr = LogisticRegression(max_iter=2000).fit(X[lab][:, cols], y[lab])
        pred[rows] = lr.predict(X[rows][:, cols])
    # Measured (seed 0): LR 0.74 on the unlabeled samples; MODIS with rpgan
    # 0.77, without the adversary 0.71; class 4 in modality 1: LR 0 (it never
    # saw it), no adversary 0.0, rpgan 0.70 (chance 0.2).
    model = fitted["rpgan"]
    modis = model.predict(X)
    hidden = (modality == 1) & (y_true == 4)
    assert np.mean(pred[hidden] == 4) == 0.0
    assert np.mean(fitted[None].predict(X)[hidden] == 4) < 0.2
    assert np.mean(modis[hidden] == 4) >= 0.5
    lr_scores = semi_supervised_scores(y_true, pred, y)
    scores = semi_supervised_scores(y_true, modis, y)
    assert scores["accuracy"] > lr_scores["accuracy"]
    assert scores["balanced_accuracy"] > lr_scores["balanced_accuracy"]
    assert set(scores) == {"accuracy", "balanced_accuracy", "nmi", "ari"}


def test_encoders_receive_a_nonzero_adversarial_gradient(data, fitted):
    # The public code's generator term sums to zero gradient; ours must not.
    from skdeep.neural import _modis_losses as losses

    X, _, _, modality = data
    model = fitted["rpgan"]
    net = model.network_
    Xs = torch.as_tensor(model._standardised(X[:200]))
    mod = torch.as_tensor(modality[:200])
    mus = []
    for m, cols in enumerate(model.modality_blocks_):
        rows = mod == m
        mu, _ = net.vaes[m].encode(Xs[rows][:, torch.as_tensor(cols)])
        mus.append((rows, mu))
    order = torch.cat([torch.nonzero(r).ravel() for r, _ in mus])
    mu = torch.cat([m for _, m in mus])
    _, logits = net.discriminator(mu)
    for loss_fn in (losses.rpgan_generator_loss, losses.ce_generator_loss):
        net.zero_grad()
        loss_fn(logits, mod[order], 2).backward(retain_graph=True)
        grad = sum(float(p.grad.abs().sum()) for p in net.vaes.parameters()
                   if p.grad is not None)
        assert grad > 1e-6, loss_fn.__name__
    # the relativistic discriminator loss uses the modality index: swapping
    # the modalities turns a low loss into a high one
    with torch.no_grad():
        d_loss = losses.rpgan_discriminator_loss(logits, mod[order], 2)
        swapped = losses.rpgan_discriminator_loss(logits, 1 - mod[order], 2)
    assert float(swapped) > float(d_loss)


def test_transform_predict_translate_shapes_and_determinism(data, fitted):
    X, y, _, modality = data
    model = fitted["rpgan"]
    Z = model.transform(X)
    assert Z.shape == (len(X), 8) and Z.dtype == np.float64
    np.testing.assert_array_equal(Z, model.transform(X))  # posterior means
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert model.translate(X, target=1).shape == (len(X), SIZES[1])
    full = model.inverse_transform(Z)
    assert full.shape == X.shape and np.all(np.isfinite(full))
    # translated modality-0 samples land in modality 1's feature range
    obs = X[modality == 1][:, SIZES[0]:]
    tr = model.translate(X[modality == 0], target=1)
    assert abs(tr.mean() - obs.mean()) < obs.std()
    again = _fit(X, y, adversarial="rpgan")
    np.testing.assert_array_equal(again.transform(X), Z)


def test_pickle_round_trip(data, fitted):
    X = data[0]
    model = fitted["ce"]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_paired_samples_and_string_labels(data):
    # A sample measured in both modalities fuses its posteriors; string labels.
    X, y, _, modality = data
    X = X[:300].copy()
    y = np.where(y[:300] == -1, -1, np.array(["a", "b", "c", "d", "e"],
                                               dtype=object)[y[:300]])
    X[0, SIZES[0]:] = np.nan_to_num(X[1, SIZES[0]:], nan=0.5)
    X[0, :SIZES[0]] = np.nan_to_num(X[0, :SIZES[0]], nan=0.5)
    model = _fit(X, y, max_iter=3, adversarial="ce", class_weight="balanced")
    assert set(model.classes_) <= {"a", "b", "c", "d", "e"}
    assert model.predict(X).dtype == object
    assert model.transform(X[:1]).shape == (1, 8)


def test_single_modality_default_and_early_stopping():
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(60, 5), rng.randn(60, 5) + 3]
    y = np.repeat([0, 1], 60)
    y[::3] = -1
    model = MODISIntegrator(n_components=2, max_iter=30, early_stopping=True,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_modalities_ == 1
    assert 1 <= model.best_iteration_ <= model.n_iter_
    assert model.score(X, np.repeat([0, 1], 60)) > 0.9


def test_default_training_converges_before_max_iter():
    # The stopping rule ends this fit at epoch 113 (measured, seed 0): the
    # reconstruction error still creeps down after the former default of 100
    # epochs, which stopped it with a ConvergenceWarning.
    X, y, y_true, _ = make_multiomics(n_samples=300, n_features=(20, 15),
                                      n_classes=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MODISIntegrator([20, 15], device="cpu", random_state=0).fit(X, y)
    assert 100 < model.n_iter_ < model.max_iter
    # 3 classes (chance 1/3); measured 0.71 on the unlabeled samples
    unlabeled = y == -1
    assert np.mean(model.predict(X[unlabeled]) == y_true[unlabeled]) > 0.6


def test_partial_nan_inside_a_block_is_masked_or_rejected(data):
    X, y, _, _ = data
    X = X[:200].copy()
    X_before = X.copy()
    row = np.flatnonzero(~np.isnan(X[:, 0]))[0]
    X[row, 0] = np.nan
    X_before[row, 0] = np.nan
    _fit(X, y[:200], max_iter=2)
    np.testing.assert_array_equal(X, X_before)  # input not mutated
    with pytest.raises(ValueError, match="NaN inside an observed block"):
        _fit(X, y[:200], max_iter=2, partial_blocks="error")


@pytest.mark.parametrize(
    "params, X_change, y_change, match",
    [
        ({"modalities": [40, 20]}, None, None, "cover the columns exactly"),
        ({"modalities": [[0, 1], list(range(1, 70))]}, None, None,
         "exactly once"),
        ({"modalities": [[0, "a"]]}, None, None, "column indices"),
        ({"modalities": [["a"], ["b"]]}, None, None, "no column names"),
        ({}, "empty_row", None, "no observed modality"),
        ({}, "drop_modality", None, "modality 1 has no sample"),
        ({}, None, "one_class", "1 class labeled"),
        ({}, None, "none", "requires y"),
        ({}, None, "float", "Unknown label type"),
        ({"class_weight": {9: 2.0}}, None, None, "class_weight"),
        ({"early_stopping": True, "validation_fraction": 0.001}, None, None,
         "validation_fraction"),
    ],
)
def test_bad_input(data, params, X_change, y_change, match):
    X, y, _, modality = data
    X, y, modality = X[:100].copy(), y[:100].copy(), modality[:100]
    if X_change == "empty_row":
        X[3] = np.nan
    elif X_change == "drop_modality":
        X, y = X[modality == 0], y[modality == 0]
    if y_change == "one_class":
        y[y > 0] = -1
    elif y_change == "none":
        y = None
    elif y_change == "float":
        y = y + 0.5
    with pytest.raises((ValueError, TypeError), match=match):
        _fit(X, y, max_iter=1, **params)


def test_bad_translate_target_and_device(data, fitted):
    X = data[0][:10]
    with pytest.raises(ValueError, match="target"):
        fitted["ce"].translate(X, target=2)
    with pytest.raises(ValueError, match="inverse_transform"):
        fitted["ce"].inverse_transform(np.zeros((2, 3)))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            _fit(data[0][:100], data[1][:100], device="cuda", max_iter=1)


# -- score: accuracy on the labeled samples only ----------------------------------

SMALL = dict(modalities=[20, 15], n_components=4, hidden_layer_sizes=(16,),
             discriminator_hidden_sizes=(16,), batch_size=None, learning_rate=1e-2,
             device="cpu", random_state=0)


@pytest.fixture(scope="module")
def small():
    # 300 samples, 20 % labeled, 3 classes
    X, y, y_true, _ = make_multiomics(
        n_samples=300, n_features=(20, 15), n_classes=3, labeled_fraction=0.2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MODISIntegrator(max_iter=10, **SMALL).fit(X, y)
    return X, y, y_true, model


def test_score_is_the_accuracy_on_the_labeled_samples(small):
    from sklearn.base import ClassifierMixin

    X, y, _, model = small
    labeled = y != -1
    pred = model.predict(X)
    expected = np.mean(pred[labeled] == y[labeled])
    assert 0.3 < expected < 1.0  # a fit of a few epochs: the check can fail
    assert model.score(X, y) == pytest.approx(expected)
    # ClassifierMixin.score counts every unlabeled sample as an error
    assert ClassifierMixin.score(model, X, y) <= labeled.mean()
    # the weights of the unlabeled samples do not matter
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    w_unl = np.where(labeled, w, 1e6)
    weighted = np.sum(w[labeled] * (pred[labeled] == y[labeled])) / w[labeled].sum()
    assert model.score(X, y, sample_weight=w_unl) == pytest.approx(weighted)


def test_score_reads_the_string_and_integer_markers(small):
    X, y, y_true, _ = small
    names = np.array(["B", "NK", "T"], dtype=object)
    y_str = np.where(y == -1, "-1", names[np.maximum(y, 0)]).astype(object)
    y_obj = y_str.copy()
    y_obj[y == -1] = -1  # strings with the integer marker in an object array
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MODISIntegrator(max_iter=10, **SMALL).fit(X, y_str)
    labeled = y != -1
    expected = np.mean(model.predict(X[labeled]) == y_str[labeled])
    assert model.score(X, y_str) == pytest.approx(expected)
    assert model.score(X, y_obj) == pytest.approx(expected)
    # a never-labeled sample is not scored: only the labeled ones count
    assert model.score(X, names[y_true]) != pytest.approx(expected)


def test_score_without_labeled_samples_raises(small):
    X, y, _, model = small
    with pytest.raises(ValueError, match="every sample of y is marked unlabeled"):
        model.score(X, np.full(len(y), -1))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.score(X, y[:-1])


def test_grid_search_optimises_the_labeled_accuracy(small):
    from sklearn.model_selection import GridSearchCV

    X, y, y_true, _ = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(MODISIntegrator(**SMALL), {"max_iter": [1, 60]},
                              cv=3).fit(X, y)
    assert search.best_params_ == {"max_iter": 60}
    # ClassifierMixin.score would stay below the labeled fraction (0.2)
    assert search.best_score_ > 0.6
    unlabeled = y == -1
    pred = search.best_estimator_.predict(X[unlabeled])
    assert np.mean(pred == y_true[unlabeled]) > 0.6


# -- shared helpers: the column-vector warning, the held-out views, class weights --


def test_column_vector_y_warns_at_the_calling_line(small):
    from sklearn.exceptions import DataConversionWarning

    X, y, _, model = small
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        column = MODISIntegrator(max_iter=2, **SMALL).fit(X, y[:, None])
        score = model.score(X, y[:, None])
    conversions = [w for w in caught if w.category is DataConversionWarning]
    assert len(conversions) == 2
    assert {w.filename for w in conversions} == {__file__}
    np.testing.assert_array_equal(column.classes_, model.classes_)
    assert score == model.score(X, y)


def test_early_stopping_holds_out_every_modality(small):
    # The held-out views are drawn by modality (validation_split with groups):
    # every modality loses the same fraction of its views.
    from skdeep.utils._validation import validation_split

    X, y, _, _ = small
    modality = np.nonzero(~np.isnan(X[:, [0, 20]]))[1]
    _, val = validation_split(len(modality), 0.2, np.random.RandomState(0),
                              groups=modality)
    np.testing.assert_array_equal(np.bincount(modality[val]),
                                  np.round(0.2 * np.bincount(modality)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MODISIntegrator(max_iter=5, early_stopping=True,
                                validation_fraction=0.2, **SMALL).fit(X, y)
    assert model.validation_loss_curve_.shape == (model.n_iter_,)
    assert 1 <= model.best_iteration_ <= model.n_iter_


def test_class_weight_dict_may_name_more_labels_than_classes(small):
    # scikit-learn's rule: a dict naming every class may carry extra labels
    X, y, _, _ = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MODISIntegrator(max_iter=1, class_weight={0: 1.0, 1: 2.0, 2: 1.0,
                                                          7: 3.0}, **SMALL)
        model.fit(X, y)
    assert model.classes_.tolist() == [0, 1, 2]
