"""CDLTransformer features for classification against logistic regression on raw data.

Real labeled signals that install offline: the nine classification sets bundled
inside ``aeon`` (UCR/UEA archive; univariate and multivariate, official train/test
splits; variable-length sets padded with their last value). Every pipeline is
``[features] -> StandardScaler -> LogisticRegression(max_iter=2000)``; the
dictionary is ``CDLTransformer(n_atoms=8, n_times_atom=min(32, n_times // 3),
random_state=0)``, fitted once per set, its features computed three ways:

- ``hard, no baseline``: consecutive equal windows, activations only (the former
  default);
- ``triangular, no baseline``: overlapping triangular windows;
- ``default``: triangular windows and each channel's baseline (its median).

``raw LR`` is logistic regression on the raw samples (choosing ``C`` by
cross-validation does not improve it on these sets).

    python benchmarks/bench_cdl_features.py    # needs aeon (pip install aeon)

Last run (2 shared cores), test accuracy::

  features      UnitT  Italy  GunPt  Basic  JapVo  Arrow  Pickup  OSULf  ACSF1  mean
  raw LR        0.909  0.963  0.853  0.725  0.992  0.731  0.580   0.459  0.620  0.759
  hard, no bl   0.773  0.920  0.747  0.750  0.619  0.760  0.580   0.508  0.460  0.680
  triang, no bl 0.909  0.943  0.773  0.775  0.619  0.777  0.560   0.541  0.530  0.714
  default       0.909  0.944  0.773  0.950  0.938  0.777  0.700   0.537  0.540  0.785

The default wins on 4 sets, ties on 1 and loses on 4 (GunPoint, ItalyPowerDemand,
JapaneseVowels, ACSF1) against raw LR.
"""

import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.decomposition import CDLTransformer

DATASETS = ["UnitTest", "ItalyPowerDemand", "GunPoint", "BasicMotions",
            "JapaneseVowels", "ArrowHead", "PickupGestureWiimoteZ", "OSULeaf", "ACSF1"]
FEATURES = {
    "hard, no baseline": dict(pooling_windows="hard", include_baseline=False),
    "triangular, no baseline": dict(pooling_windows="triangular",
                                    include_baseline=False),
    "default": dict(pooling_windows="triangular", include_baseline=True),
}


def _as_array(X, n_times):
    """(n, C, T) float array; series shorter than ``n_times`` padded by their end."""
    return np.stack([np.pad(np.asarray(x, dtype=float),
                            ((0, 0), (0, n_times - np.shape(x)[1])), mode="edge")
                     for x in X])


def load(name):
    from aeon.datasets import load_classification  # ships these sets: no download

    X_train, y_train = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    n_times = max(np.shape(x)[1] for x in [*X_train, *X_test])
    return (_as_array(X_train, n_times), y_train, _as_array(X_test, n_times),
            y_test)


def logistic_regression():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def main():
    warnings.simplefilter("ignore")
    scores = {name: [] for name in ["raw LR", *FEATURES]}
    for dataset in DATASETS:
        X_train, y_train, X_test, y_test = load(dataset)
        flat = [X.reshape(len(X), -1) for X in (X_train, X_test)]
        scores["raw LR"].append(
            logistic_regression().fit(flat[0], y_train).score(flat[1], y_test))
        if X_train.shape[1] == 1:  # univariate: the 2-D layout
            X_train, X_test = X_train[:, 0], X_test[:, 0]
        start = time.perf_counter()
        cdl = CDLTransformer(n_atoms=8, n_times_atom=min(32, X_train.shape[-1] // 3),
                             random_state=0).fit(X_train)
        fit_seconds = time.perf_counter() - start
        for name, params in FEATURES.items():
            cdl.set_params(**params)
            clf = logistic_regression().fit(cdl.transform(X_train), y_train)
            scores[name].append(clf.score(cdl.transform(X_test), y_test))
        print(f"{dataset:<22} " + " ".join(
            f"{name}: {values[-1]:.3f}" for name, values in scores.items())
            + f"  (CDL fit {fit_seconds:.1f} s)", flush=True)
    raw = np.array(scores["raw LR"])
    print(f"\n{'features':<24}" + "".join(f"{d[:10]:>11}" for d in DATASETS)
          + f"{'mean':>8}  W/T/L vs raw LR")
    for name, values in scores.items():
        values = np.array(values)
        wins, losses = np.sum(values > raw + 1e-9), np.sum(values < raw - 1e-9)
        record = "" if name == "raw LR" else (
            f"  {wins}/{len(values) - wins - losses}/{losses}")
        print(f"{name:<24}" + "".join(f"{v:>11.3f}" for v in values)
              + f"{values.mean():>8.3f}{record}")


if __name__ == "__main__":
    main()
