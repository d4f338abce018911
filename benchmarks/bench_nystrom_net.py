"""Benchmark of NystromNetClassifier at its defaults against tuned baselines.

Real data sets that ship inside installed packages: ``digits`` (8x8 images),
``wine``, ``breast_cancer`` and ``iris`` from scikit-learn, and, when aeon is
installed, its bundled UCR time series ``GunPoint``, ``ItalyPowerDemand`` and
``ArrowHead`` (train and test parts pooled). For each set and seed, 5, 10 and
20 training samples per class are drawn and the rest is the test set; "full"
is a stratified half / half split. A ``StandardScaler`` fitted on the training
samples scales both parts. Compared:

- ``SVC`` (RBF), ``C`` and ``gamma`` tuned by stratified CV,
- ``LogisticRegression``, ``C`` tuned by CV,
- ``MLPClassifier`` (default, ``max_iter=2000``),
- ``Nystroem`` + ``LogisticRegression``, ``gamma`` and ``C`` tuned by CV,
- skdeep's ``NystromNetClassifier`` at its defaults (and, for reference, with
  ``metric="adaptive"``).

It prints one table per set (mean ± std of the test accuracy over the seeds),
the margin of the default NystromNetClassifier over the best baseline, its fit
time and the number of fits that raised a ``ConvergenceWarning``. Everything
runs on one thread. ``python benchmarks/bench_nystrom_net.py`` runs all (about
half an hour on one core, most of it in the baselines' grid searches; with
``--cache results.json`` the baselines' results are kept and a second run only
refits the Nyström networks); ``--sets iris wine --seeds 2 --shots 5 10``
runs a part; ``--quick`` one seed; ``--per-seed`` adds, per shot count, the
default's accuracy on every split next to that of the best baseline (the one of
best mean), to see which splits carry a gap.
"""

import argparse
import json
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.kernel_approximation import Nystroem  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    StratifiedKFold,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from skdeep.neural import NystromNetClassifier  # noqa: E402

torch.set_num_threads(1)

SHOTS = [5, 10, 20, "full"]
BASELINES = ["SVC (C, gamma by CV)", "LogReg (C by CV)", "MLPClassifier",
             "Nystroem+LogReg (CV)"]
NYSTROM = ["NystromNet (default)", "NystromNet metric=adaptive"]


def _aeon(name):
    def load():
        from aeon import datasets as aeon_datasets

        X, y = aeon_datasets.load_classification(name)
        return X.reshape(X.shape[0], -1).astype(np.float64), np.asarray(y)

    return load


LOADERS = {
    "digits": lambda: datasets.load_digits(return_X_y=True),
    "wine": lambda: datasets.load_wine(return_X_y=True),
    "breast_cancer": lambda: datasets.load_breast_cancer(return_X_y=True),
    "iris": lambda: datasets.load_iris(return_X_y=True),
    "GunPoint": _aeon("GunPoint"),
    "ItalyPowerDemand": _aeon("ItalyPowerDemand"),
    "ArrowHead": _aeon("ArrowHead"),
}


def baselines(n_per_class, n_features, seed):
    cv = StratifiedKFold(min(5, n_per_class), shuffle=True, random_state=seed)
    scale = 1.0 / n_features  # gamma="scale" of standardised features
    gammas = [scale * f for f in (1 / 16, 1 / 4, 1, 4)]
    Cs = [0.1, 1, 10, 100, 1000]
    return {
        "SVC (C, gamma by CV)": GridSearchCV(SVC(), {"C": Cs, "gamma": gammas},
                                             cv=cv),
        "LogReg (C by CV)": GridSearchCV(
            LogisticRegression(max_iter=5000),
            {"C": [1e-3, 1e-2, 0.1, 1, 10, 100, 1000]}, cv=cv,
        ),
        "MLPClassifier": MLPClassifier(max_iter=2000, random_state=seed),
        "Nystroem+LogReg (CV)": GridSearchCV(
            Pipeline([("nys", Nystroem(n_components=100, random_state=seed)),
                      ("lr", LogisticRegression(max_iter=5000))]),
            {"nys__gamma": gammas, "lr__C": [0.1, 10, 1000]}, cv=cv,
        ),
    }


def nystrom_nets(seed):
    return {
        "NystromNet (default)": NystromNetClassifier(device="cpu",
                                                     random_state=seed),
        "NystromNet metric=adaptive": NystromNetClassifier(
            metric="adaptive", device="cpu", random_state=seed
        ),
    }


def split(y, shots, seed):
    rng = np.random.RandomState(seed)
    if shots == "full":
        train, test = train_test_split(np.arange(y.size), test_size=0.5,
                                       stratify=y, random_state=seed)
        return train, test
    train = np.concatenate([
        rng.choice(np.flatnonzero(y == c), shots, replace=False)
        for c in np.unique(y)
    ])
    return train, np.setdiff1d(np.arange(y.size), train)


def run_set(name, seeds, methods, cache, shots_list):
    X, y = LOADERS[name]()
    results = {}  # (method, shots) -> list of (accuracy, seconds, warned)
    for shots in shots_list:
        for seed in seeds:
            train, test = split(y, shots, seed)
            scaler = StandardScaler().fit(X[train])
            X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
            n_per_class = int(np.bincount(np.unique(y[train],
                                                    return_inverse=True)[1]).min())
            models = {**baselines(n_per_class, X.shape[1], seed),
                      **nystrom_nets(seed)}
            for method in methods:
                key = f"{name}|{shots}|{seed}|{method}"
                if method in BASELINES and key in cache:
                    results.setdefault((method, shots), []).append(cache[key])
                    continue
                model = models[method]
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    start = time.perf_counter()
                    model.fit(X_train, y[train])
                    seconds = time.perf_counter() - start
                warned = any(issubclass(w.category, ConvergenceWarning)
                             for w in caught)
                cache[key] = (model.score(X_test, y[test]), seconds, warned)
                results.setdefault((method, shots), []).append(cache[key])
    return results


def report(name, results, methods, shots_list, per_seed=False):
    print(f"\n### {name}\n")
    print("| method | " + " | ".join(f"{s} / class" if s != "full" else "full"
                                      for s in shots_list) + " |")
    print("|---" * (len(shots_list) + 1) + "|")
    for method in methods:
        cells = []
        for shots in shots_list:
            acc = np.array([r[0] for r in results[method, shots]])
            cells.append(f"{acc.mean():.3f} ± {acc.std():.3f}")
        print(f"| {method} | " + " | ".join(cells) + " |")
    base = [m for m in methods if m in BASELINES]
    if "NystromNet (default)" in methods and base:
        margins, times, warned = [], [], []
        for shots in shots_list:
            best = max(np.mean([r[0] for r in results[m, shots]]) for m in base)
            runs = results["NystromNet (default)", shots]
            margins.append(np.mean([r[0] for r in runs]) - best)
            times.append(np.mean([r[1] for r in runs]))
            warned.append(sum(r[2] for r in runs))
        # four decimals: "within 0.01" is decided on the unrounded margin
        print("| default - best baseline | " + " | ".join(
            f"{m:+.4f}" for m in margins) + " |")
        print("| default fit time (s) | " + " | ".join(
            f"{t:.2f}" for t in times) + " |")
        print("| default ConvergenceWarnings | " + " | ".join(
            str(w) for w in warned) + " |")
        if per_seed:
            report_splits(results, base, shots_list)


def report_splits(results, base, shots_list):
    """Accuracy of the default on every split, and of the best baseline."""
    print("\n| shots | best baseline | per split: default / best baseline |")
    print("|---|---|---|")
    for shots in shots_list:
        best = max(base, key=lambda m: np.mean([r[0] for r in results[m, shots]]))
        pairs = zip(results["NystromNet (default)", shots], results[best, shots])
        print(f"| {shots} | {best} | " + ", ".join(
            f"{a[0]:.3f} / {b[0]:.3f}" for a, b in pairs) + " |")


def main(sets, seeds, methods, quick, cache, shots, per_seed=False):
    shots_list = [s if s == "full" else int(s) for s in shots]
    seeds = list(range(1 if quick else seeds))
    stored = {}
    if cache and os.path.exists(cache):
        with open(cache) as file:
            stored = json.load(file)
    for name in sets:
        try:
            results = run_set(name, seeds, methods, stored, shots_list)
        except ImportError as exc:  # aeon not installed
            print(f"\n### {name}: skipped ({exc})")
            continue
        report(name, results, methods, shots_list, per_seed)
        if cache:
            with open(cache, "w") as file:
                json.dump(stored, file)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(LOADERS),
                        choices=list(LOADERS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=BASELINES + NYSTROM,
                        choices=BASELINES + NYSTROM)
    parser.add_argument("--shots", nargs="+", default=[str(s) for s in SHOTS],
                        choices=[str(s) for s in SHOTS])
    parser.add_argument("--quick", action="store_true", help="one seed")
    parser.add_argument("--per-seed", action="store_true",
                        help="the default and the best baseline on every split")
    parser.add_argument("--cache", default=None,
                        help="JSON file keeping the baselines' results between runs")
    main(**vars(parser.parse_args()))
