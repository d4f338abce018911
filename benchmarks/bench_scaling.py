"""How fit time grows with the size of the data, for each skdeep estimator.

Each estimator is fitted on data of sizes x1, x2, x4 and x8 along one axis (the
trials or the samples of CDL, the events of DriPP, the samples of the
clusterers and of the torch estimators, the observed entries of
TensorCompleter), with a fixed number of iterations (``tol=0``) so that the
time measures the cost of an iteration, not the number of them. The table
gives the times and the exponent ``b`` of the least-squares fit
``time ~ size**b`` on a log-log scale: 1 is linear. CDL and DriPP must stay
linear (the script exits with an error when their exponent exceeds 1.25).
Times are the best of ``--repeat`` runs, one thread (``OMP_NUM_THREADS=1``).

    OMP_NUM_THREADS=1 python benchmarks/bench_scaling.py          # ~2-4 min
    OMP_NUM_THREADS=1 python benchmarks/bench_scaling.py --quick  # smaller

Last run (2 shared cores, other jobs running; 1 thread; TensorCompleter's x1
time is noise from the load, the small sizes carry fixed costs)::

    estimator            axis                   x1     x2     x4     x8   base  expo
    --------------------------------------------------------------------------------
    CDLTransformer       trials (3x1000)     0.177  0.379  0.717  1.118      4  0.89
    CDLTransformer       samples (2x3 ch)    0.184  0.295  0.469  0.919   2000  0.76
    DriPP                events (4 real.)    0.011  0.018  0.059  0.096  21165  1.12
    NovelClassKMeans     samples             0.016  0.023  0.066  0.116   2000  1.00
    HierarchicalGMM      samples             0.041  0.094  0.172  0.340   2000  1.00
    TensorCompleter      observed entries    1.448  0.996  1.405  3.084   4000  0.38
    NystromNetClassifier samples             0.032  0.060  0.125  0.248    500  0.99
    MODISIntegrator      samples             0.174  0.399  0.840  1.587    500  1.06
    times in s (best of 2), fixed iterations; exponent b of time ~ size**b
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.datasets import (
    make_cdl_signals,
    make_driven_events,
    make_hierarchical_blobs,
    make_low_rank_tensor,
    make_multiomics,
)
from skdeep.decomposition import CDLTransformer
from skdeep.point_process import DriPP
from skdeep.tensor import TensorCompleter

FACTORS = (1, 2, 4, 8)
LINEAR = ("CDLTransformer", "DriPP")


def _best_time(fit, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


def cases(quick):
    """(estimator, axis, base size, fit(size factor) -> None)."""
    q = 0.5 if quick else 1.0

    def cdl_trials(f):
        n = int(4 * f)
        X = make_cdl_signals(n_trials=n, n_channels=3, n_times=int(1000 * q),
                             n_atoms=3, n_times_atom=32, noise_level=0.1,
                             random_state=0)[0]
        return lambda: CDLTransformer(n_atoms=3, n_times_atom=32, max_iter=10,
                                      tol=0.0, random_state=0).fit(X)

    def cdl_samples(f):
        X = make_cdl_signals(n_trials=2, n_channels=3, n_times=int(2000 * q * f),
                             n_atoms=3, n_times_atom=32, noise_level=0.1,
                             random_state=0)[0]
        return lambda: CDLTransformer(n_atoms=3, n_times_atom=32, max_iter=10,
                                      tol=0.0, random_state=0).fit(X)

    def dripp_events(f):
        end = 2000.0 * q * f
        X, _ = make_driven_events(n_realisations=4, end_time=end, random_state=0)
        return lambda: DriPP(lower=0.03, upper=0.8, max_iter=50, tol=0.0).fit(
            X, end_time=end)

    def ncd(est):
        def make(f):
            X, y, _, tree, _ = make_hierarchical_blobs(int(2000 * q * f), 10,
                                                       random_state=0)
            return lambda: est(tree, n_init=3, max_iter=20, tol=0.0,
                               random_state=0).fit(X, y)
        return make

    def tensor(f):
        # the rows grow: the observed entries grow with them (20 % observed)
        X, _ = make_low_rank_tensor(shape=(int(500 * q * f), 40), ranks=3,
                                    observed_fraction=0.2, random_state=0)
        return lambda: TensorCompleter(model="tucker", max_iter=200, tol=0.0,
                                       early_stopping=False,
                                       random_state=0).fit(X)

    out = [
        ("CDLTransformer", "trials (3x1000)", 4, cdl_trials),
        ("CDLTransformer", "samples (2x3 ch)", int(2000 * q), cdl_samples),
        ("DriPP", "events (4 real.)", None, dripp_events),
        ("NovelClassKMeans", "samples", int(2000 * q), ncd(NovelClassKMeans)),
        ("HierarchicalGMM", "samples", int(2000 * q), ncd(HierarchicalGMM)),
        ("TensorCompleter", "observed entries", int(500 * q * 40 * 0.2), tensor),
    ]
    try:
        from skdeep.neural import MODISIntegrator, NystromNetClassifier
        from skdeep.utils._torch import import_torch

        import_torch()
    except ImportError:
        return out

    def nystrom(f):
        X, y, *_ = make_multiomics(int(500 * q * f), n_features=(60, 40),
                                   labeled_fraction=1.0, random_state=0)
        X = np.nan_to_num(X)
        return lambda: NystromNetClassifier(n_landmarks=50, max_iter=10, tol=0.0,
                                            device="cpu",
                                            random_state=0).fit(X, y)

    def modis(f):
        X, y, *_ = make_multiomics(int(500 * q * f), n_features=(60, 40),
                                   random_state=0)
        return lambda: MODISIntegrator(modalities=[60, 40], n_components=8,
                                       max_iter=5, tol=0.0, device="cpu",
                                       random_state=0).fit(X, y)

    out += [
        ("NystromNetClassifier", "samples", int(500 * q), nystrom),
        ("MODISIntegrator", "samples", int(500 * q), modis),
    ]
    return out


def _dripp_events(f, quick):
    q = 0.5 if quick else 1.0
    X, _ = make_driven_events(n_realisations=4, end_time=2000.0 * q * f,
                              random_state=0)
    return sum(len(t) for r in X for t in r)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default=None, help="estimator name")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    header = (f"{'estimator':20s} {'axis':18s} " + " ".join(
        f"{'x' + str(f):>6s}" for f in FACTORS) + f" {'base':>6s} {'expo':>5s}")
    print(header)
    print("-" * len(header))
    failures = []
    for name, axis, base, make in cases(args.quick):
        if args.only and args.only != name:
            continue
        times = []
        for f in FACTORS:
            fit = make(f)
            fit()  # warm-up: numba compilation, torch start, caches
            times.append(_best_time(fit, args.repeat))
        if base is None:
            base = _dripp_events(1, args.quick)
        slope = np.polyfit(np.log(FACTORS), np.log(times), 1)[0]
        print(f"{name:20s} {axis:18s} " + " ".join(f"{t:6.3f}" for t in times)
              + f" {base:6d} {slope:5.2f}", flush=True)
        if name in LINEAR and slope > 1.25:
            failures.append(f"{name} ({axis}): exponent {slope:.2f}")
    print(f"times in s (best of {args.repeat}), fixed iterations; "
          "exponent b of time ~ size**b")
    if failures:
        print("NOT LINEAR: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
