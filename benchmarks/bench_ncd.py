"""Benchmark of hierarchical novel class discovery against KMeans and GaussianMixture.

Data: :func:`skdeep.datasets.make_hierarchical_blobs` (a binary lineage tree of
depth 3, i.e. 8 leaf classes, 2 of them novel, half of the known samples labeled,
offsets shrinking by 0.4 per level). Every method fits the same data in this process.

Quality on the unlabeled samples: ``hungarian`` is the accuracy after the best
matching of clusters to classes; ``direct`` compares leaf *names* without matching
(only the methods that name their clusters have one); ``novel`` is the direct
accuracy on the novel classes. ``x KMeans`` is the fit time over KMeans' (n_init=1).

Usage::

    python benchmarks/bench_ncd.py            # 10k x 20 and 100k x 50, 5 seeds
    python benchmarks/bench_ncd.py --quick    # 10k x 20, 1 seed
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.datasets import make_hierarchical_blobs
from skdeep.metrics import cluster_accuracy, direct_label_accuracy
from skdeep.utils import unlabeled_mask


def _timed(make, fit):
    start = time.perf_counter()
    out = fit(make())
    return out, time.perf_counter() - start


def run_case(n_samples, n_features, seed, with_adam):
    X, y, y_true, tree, novel = make_hierarchical_blobs(
        n_samples, n_features, depth=3, branching=2, n_novel=2, shrink=0.4,
        random_state=seed,
    )
    unl = unlabeled_mask(y)
    n_leaves = len(set(y_true))
    methods = {
        "KMeans (n_init=1)": (
            lambda: KMeans(n_leaves, n_init=1, random_state=seed),
            lambda m: m.fit(X).labels_,
            False,
        ),
        "GaussianMixture (diag)": (
            lambda: GaussianMixture(n_leaves, covariance_type="diag",
                                    random_state=seed),
            lambda m: m.fit(X).predict(X),
            False,
        ),
        "NovelClassKMeans": (
            lambda: NovelClassKMeans(tree, random_state=seed),
            lambda m: m.fit_predict(X, y),
            True,
        ),
        "NovelClassKMeans (adam)": (
            lambda: NovelClassKMeans(tree, solver="adam", random_state=seed),
            lambda m: m.fit_predict(X, y),
            True,
        ),
        "HierarchicalGMM": (
            lambda: HierarchicalGMM(tree, random_state=seed),
            lambda m: m.fit_predict(X, y),
            True,
        ),
    }
    if not with_adam:
        del methods["NovelClassKMeans (adam)"]
    rows = {}
    for name, (make, fit, named) in methods.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pred, seconds = _timed(make, fit)
        pred = np.asarray(pred)
        rows[name] = (
            cluster_accuracy(y_true[unl], pred[unl]),
            direct_label_accuracy(y_true[unl], pred[unl]) if named else np.nan,
            direct_label_accuracy(y_true, pred, labels=novel) if named else np.nan,
            seconds,
        )
    return rows


def _fmt(value):
    return f"{value:.3f}" if np.isfinite(value) else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k x 20, one seed")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per size")
    args = parser.parse_args(argv)
    sizes = [(10_000, 20)] if args.quick else [(10_000, 20), (100_000, 50)]
    n_seeds = args.seeds or (1 if args.quick else 5)
    # Compile the numba kernels outside the timings.
    run_case(200, 5, 0, with_adam=True)
    header = (f"{'data':>10}  {'method':<24} {'hungarian':>9} {'direct':>7} "
              f"{'novel':>6} {'fit s':>7} {'x KMeans':>8}")
    print(header)
    print("-" * len(header))
    for n_samples, n_features in sizes:
        per_seed = [run_case(n_samples, n_features, seed, with_adam=True)
                    for seed in range(n_seeds)]
        names = list(per_seed[0])
        mean = {name: np.nanmean([r[name] for r in per_seed], axis=0)
                if name.startswith(("Novel", "Hier")) else
                np.mean([r[name] for r in per_seed], axis=0) for name in names}
        base = mean["KMeans (n_init=1)"][3]
        for name in names:
            hung, direct, novel, seconds = mean[name]
            print(f"{n_samples // 1000:>5}k x {n_features:<2} {name:<24} "
                  f"{hung:>9.3f} {_fmt(direct):>7} {_fmt(novel):>6} "
                  f"{seconds:>7.3f} {seconds / base:>8.2f}")
    print(f"\n(means over {n_seeds} seed(s); 8 leaf classes, 2 novel)")


if __name__ == "__main__":
    main()
