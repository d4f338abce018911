"""TensorCompleter as an imputer in a classification pipeline, against sklearn's.

``load_digits`` with a fraction of its pixels removed at random (the same mask
for every method), ``make_pipeline(imputer, StandardScaler(),
LogisticRegression(max_iter=2000))``, 5-fold cross-validation (stratified, no
shuffle): mean accuracy and total wall and CPU time of the 5 fits and
predictions (CPU: the time on an idle core, when the machine is shared).

Run ``python benchmarks/bench_tensor_imputer.py`` (about 2 minutes on one
core); ``--missing 0.5`` changes the fraction removed.

Results, 2026-12-03, shared 2-core machine, one BLAS thread::

    imputer                 accuracy    std  wall (s)  CPU (s)
    SimpleImputer(mean)        0.854  0.026       0.2      0.2
    KNNImputer                 0.902  0.024       4.6      4.6
    IterativeImputer           0.886  0.035      14.0     13.8
    TensorCompleter            0.869  0.023     103.7     52.5

(With the polish phases of Tucker fits, ``skdeep/tensor/_polish.py``; its
wall time was taken on a loaded machine. They leave this table about as it
was: on one fit on 1437 samples the truncated model at ranks (8, 8) is not
better on the held-out entries than the deep one,
whose best point is kept, error 0.425 on the missing entries; the polish
costs about 80 iterations, about 1 s of CPU. The previous table, before
it: 0.865, 54.0 s of CPU.) (TensorCompleter before the rank growth phase
of Tucker fits with early stopping: 0.859 in 41.4 s of CPU, measured in the
same session as that table; one fit on 1437 samples then stops at
effective rank 3.2 with a relative error of 0.469 on the missing entries of
all 1797, against 5.8 and 0.425 with the phase,
in 8.1 s of CPU instead of 4.7. The same run before the guard blended in
the mean fill when the fit is not clearly better on the held-out entries:
TensorCompleter 0.856, 42.9 s of CPU. Each fold's fit stopped at effective
rank 3, with the mean fill's weight 0.27; the error on the missing entries of
held-out samples was 0.46, against 0.36 for IterativeImputer and 0.35 for
KNNImputer.)
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.tensor import TensorCompleter


def imputers(random_state=0):
    """The imputers compared, at their defaults."""
    return {
        "SimpleImputer(mean)": SimpleImputer(),
        "KNNImputer": KNNImputer(),
        "IterativeImputer": IterativeImputer(random_state=random_state),
        "TensorCompleter": TensorCompleter(random_state=random_state),
    }


def digits_with_missing(missing=0.3, seed=0):
    """Digits with ``missing`` of the pixels set to NaN at random."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    X = X.copy()
    X[rng.uniform(size=X.shape) < missing] = np.nan
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--missing", type=float, default=0.3)
    parser.add_argument("--only", default=None,
                        help="run only the imputer whose name contains this")
    args = parser.parse_args(argv)
    X, y = digits_with_missing(args.missing)
    print(f"digits, {args.missing:.0%} missing at random, 5-fold, "
          "imputer + StandardScaler + LogisticRegression(max_iter=2000)")
    print(f"{'imputer':22s} {'accuracy':>9s} {'std':>6s} {'wall (s)':>9s} "
          f"{'CPU (s)':>8s}")
    for name, imputer in imputers().items():
        if args.only and args.only not in name:
            continue
        pipe = make_pipeline(imputer, StandardScaler(),
                             LogisticRegression(max_iter=2000))
        start, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = cross_val_score(pipe, X, y, cv=5)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        print(f"{name:22s} {scores.mean():9.3f} {scores.std():6.3f} "
              f"{elapsed:9.1f} {cpu:8.1f}", flush=True)


if __name__ == "__main__":
    main()
