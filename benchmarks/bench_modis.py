"""Benchmark of MODISIntegrator against what a user would otherwise pick.

On :func:`skdeep.datasets.make_multiomics` data (two unpaired modalities,
continuous and count-like, 5 classes, class 4 labeled in modality 0 only), it
compares the accuracy on the unlabeled samples, the recognition of class 4 in
modality 1, the modality mixing and the fit time of

- one logistic regression and one MLP per modality, each on its own labels;
- an MLP on the zero-filled concatenation of the blocks (NaN -> 0);
- MODIS without adversary, with the cross-entropy adversary and with the
  regularised relativistic one (``rpgan``, the default);
- MODIS with the public code's configuration (latent 64, batch 32, learning
  rate 1e-4, R1 weight 10): the public code itself is not a package and its
  relativistic generator term has zero gradient, so its hyper-parameters are
  run in this implementation.

Then the paper's synthetic study: sweeps of the labeled fraction and of the
class imbalance (one class made rare), and the fit time on CPU and, when
present, CUDA.

Run ``python benchmarks/bench_modis.py`` (about 10 minutes on 2 cores) or
``--quick``.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.datasets import make_multiomics
from skdeep.metrics import modality_mixing_score, semi_supervised_scores
from skdeep.neural import MODISIntegrator

SIZES = (100, 80)


def per_modality(make, X, y, modality):
    pred = np.empty_like(y)
    start = 0
    for m, d in enumerate(SIZES):
        rows, cols = modality == m, slice(start, start + d)
        start += d
        lab = rows & (y != -1)
        pred[rows] = make().fit(X[lab][:, cols], y[lab]).predict(X[rows][:, cols])
    return pred


def methods(max_iter):
    def modis(**kw):
        return lambda: MODISIntegrator(modalities=list(SIZES), n_components=8,
                                       max_iter=max_iter, random_state=0, **kw)

    return {
        "LR per modality": ("per", lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000))),
        "MLP per modality": ("per", lambda: make_pipeline(
            StandardScaler(), MLPClassifier((64,), max_iter=500, random_state=0))),
        "MLP zero-filled": ("concat", lambda: make_pipeline(
            StandardScaler(), MLPClassifier((64,), max_iter=500, random_state=0))),
        "MODIS none": ("modis", modis(adversarial=None)),
        "MODIS ce": ("modis", modis(adversarial="ce")),
        "MODIS rpgan": ("modis", modis()),
        "MODIS public cfg": ("modis", lambda: MODISIntegrator(
            modalities=list(SIZES), n_components=64, batch_size=32,
            learning_rate=1e-4, beta=0.016, gamma_gp=10.0, max_iter=max_iter,
            random_state=0)),
    }


def run(name, kind, make, X, y, y_true, modality):
    start = time.perf_counter()
    mix = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "per":
            pred = per_modality(make, X, y, modality)
        elif kind == "concat":
            lab = y != -1
            model = make().fit(np.nan_to_num(X[lab]), y[lab])
            pred = model.predict(np.nan_to_num(X))
        else:
            model = make().fit(X, y)
            pred = model.predict(X)
            mix = modality_mixing_score(model.transform(X), modality)
    seconds = time.perf_counter() - start
    scores = semi_supervised_scores(y_true, pred, y)
    hidden = (modality == 1) & (y_true == 4)
    return (name, scores["accuracy"], scores["balanced_accuracy"],
            float(np.mean(pred[hidden] == 4)), mix, seconds)


def table(rows, title):
    print(f"\n{title}")
    print(f"{'method':18s} {'unl.acc':>7s} {'bal.acc':>7s} {'cls4@B':>7s} "
          f"{'mixing':>7s} {'fit s':>7s}")
    for name, acc, bacc, c4, mix, sec in rows:
        print(f"{name:18s} {acc:7.3f} {bacc:7.3f} {c4:7.3f} {mix:7.3f} {sec:7.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n = 1000 if args.quick else 2000
    max_iter = 15 if args.quick else 40
    all_methods = methods(max_iter)

    X, y, y_true, modality = make_multiomics(
        n_samples=n, n_features=SIZES, labeled_fraction=0.1,
        unlabeled_classes={1: [4]}, random_state=0)
    table([run(name, kind, make, X, y, y_true, modality)
           for name, (kind, make) in all_methods.items()],
          f"{n} samples, 10 % labeled, class 4 labeled in modality 0 only")

    sweep = ["LR per modality", "MODIS none", "MODIS rpgan"]
    for fraction in ([0.05, 0.2] if args.quick else [0.02, 0.05, 0.2, 0.5]):
        data = make_multiomics(n_samples=n, n_features=SIZES,
                               labeled_fraction=fraction,
                               unlabeled_classes={1: [4]}, random_state=1)
        table([run(name, *all_methods[name], *data) for name in sweep],
              f"labeled fraction {fraction}")
    for rare in ([0.05] if args.quick else [0.2, 0.05, 0.02]):
        weights = [1.0, 1.0, 1.0, 1.0, rare]
        data = make_multiomics(n_samples=n, n_features=SIZES, weights=weights,
                               labeled_fraction=0.1, random_state=2)
        table([run(name, *all_methods[name], *data) for name in sweep]
              + [run("MODIS balanced", "modis", lambda: MODISIntegrator(
                  modalities=list(SIZES), n_components=8, max_iter=max_iter,
                  class_weight="balanced", random_state=0), *data)],
              f"class 4 rare (weight {rare} vs 1), cls4@B = its recall in mod. 1")

    import torch

    print("\nfit time (default MODIS, rpgan)")
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        model = MODISIntegrator(modalities=list(SIZES), max_iter=max_iter,
                                n_iter_no_change=max_iter, device=device,
                                random_state=0)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        seconds = time.perf_counter() - start
        print(f"{device:5s} {n} samples, {model.n_iter_} epochs: {seconds:6.1f} s "
              f"({seconds / model.n_iter_:.2f} s/epoch)")


if __name__ == "__main__":
    main()
