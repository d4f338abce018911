"""Benchmark of NystromNetClassifier in the few-shot regime on digits.

Half of ``load_digits`` (pixels scaled to [0, 1]) is a fixed test set; from the
other half, 5, 10 and 20 training samples per class are drawn (3 seeds), and the
whole half ("full", ~900 samples). Compared, each at a strong setting:

- ``SVC`` (RBF) with ``C`` and ``gamma`` tuned by 5-fold CV,
- ``LogisticRegression`` (default),
- ``Nystroem`` (100 components, ``gamma`` tuned by CV) + ``LogisticRegression``,
- ``MLPClassifier`` (default, ``max_iter=2000``),
- the dense-head network: an MLP whose top layer is a dense ReLU layer as wide
  as the Nyström layer (``hidden_layer_sizes=(128, 100)``),
- skdeep's ``NystromNetClassifier`` at its defaults (no backbone, adaptive
  metric, 100 landmarks) and with the ``"mlp"`` backbone (128 units), on the
  CPU and, when present, on CUDA.

It prints the mean test accuracy (± std over the seeds) and the mean fit time.
Everything runs on one thread: the models are small and several threads only
add overhead. Run ``python benchmarks/bench_nystrom_net.py`` (about two minutes
on a laptop) or ``--quick`` (one seed).
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
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
from sklearn.svm import SVC  # noqa: E402

from skdeep.neural import NystromNetClassifier  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=ConvergenceWarning)
warnings.filterwarnings("ignore", message="n_landmarks")
warnings.filterwarnings("ignore", message="n_components > n_samples")


def _cv(n_per_class):
    return StratifiedKFold(min(5, n_per_class), shuffle=True, random_state=0)


def methods(n_per_class, seed, cuda):
    cv = _cv(n_per_class)
    models = {
        "SVC (C, gamma by CV)": GridSearchCV(
            SVC(), {"C": [0.1, 1, 10, 100], "gamma": ["scale", 0.01, 0.03, 0.1]},
            cv=cv,
        ),
        "LogisticRegression": LogisticRegression(max_iter=5000),
        "Nystroem+LogReg (gamma by CV)": GridSearchCV(
            Pipeline([("nys", Nystroem(n_components=100, random_state=seed)),
                      ("lr", LogisticRegression(max_iter=5000))]),
            {"nys__gamma": [0.01, 0.03, 0.1]}, cv=cv,
        ),
        "MLPClassifier": MLPClassifier(max_iter=2000, random_state=seed),
        "dense head (MLP 128-100)": MLPClassifier(
            hidden_layer_sizes=(128, 100), max_iter=2000, random_state=seed
        ),
        "NystromNet (default)": NystromNetClassifier(device="cpu", random_state=seed),
        "NystromNet mlp backbone": NystromNetClassifier(
            backbone="mlp", device="cpu", random_state=seed
        ),
    }
    if cuda:
        models["NystromNet (default, CUDA)"] = NystromNetClassifier(
            device="cuda", random_state=seed
        )
    return models


def few_shot(y, n_per_class, rng):
    return np.concatenate([
        rng.choice(np.flatnonzero(y == c), n_per_class, replace=False)
        for c in np.unique(y)
    ])


def main(quick=False):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=0
    )
    cuda = torch.cuda.is_available()
    seeds = [0] if quick else [0, 1, 2]
    settings = [5, 10, 20, "full"]
    acc, fit_time = {}, {}
    for setting in settings:
        for seed in seeds:
            rng = np.random.RandomState(seed)
            if setting == "full":
                train = np.arange(y_pool.size)
                n_per_class = int(np.bincount(y_pool).min())
            else:
                train = few_shot(y_pool, setting, rng)
                n_per_class = setting
            for name, model in methods(n_per_class, seed, cuda).items():
                start = time.perf_counter()
                model.fit(X_pool[train], y_pool[train])
                elapsed = time.perf_counter() - start
                acc.setdefault((name, setting), []).append(
                    model.score(X_test, y_test)
                )
                fit_time.setdefault((name, setting), []).append(elapsed)
        print(f"  done: {setting} per class", flush=True)

    names = list(methods(5, 0, cuda))
    header = f"{'method':<32}" + "".join(
        f"{str(s) + ' / class':>16}" for s in settings
    ) + f"{'fit s (20)':>12}{'fit s (full)':>14}"
    print(f"\ntest accuracy on {y_test.size} digits (mean ± std over "
          f"{len(seeds)} seed(s))")
    print(header)
    print("-" * len(header))
    for name in names:
        cells = "".join(
            f"{np.mean(acc[name, s]):>10.3f} ±{np.std(acc[name, s]):.3f}"
            for s in settings
        )
        print(f"{name:<32}{cells}{np.mean(fit_time[name, 20]):>12.2f}"
              f"{np.mean(fit_time[name, 'full']):>14.2f}")
    best = {
        s: max(np.mean(acc[n, s]) for n in names if not n.startswith("Nystrom"))
        for s in settings
    }
    print("\nbest sklearn baseline: " + ", ".join(
        f"{s}: {best[s]:.3f}" for s in settings))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed")
    main(**vars(parser.parse_args()))
