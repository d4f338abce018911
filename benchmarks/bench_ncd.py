"""Benchmark of hierarchical novel class discovery against KMeans and GaussianMixture.

Settings (every method fits the same data in this process):

- ``easy``: :func:`skdeep.datasets.make_hierarchical_blobs`, a binary lineage tree
  of depth 3 (8 leaves, 2 novel), half of the known samples labeled, offsets
  shrinking by 0.4 per level.
- ``hard``: the same tree with the novel classes inside the spread of the known
  ones (noise 1.5), class sizes over a ratio of 10 and Student-t(3) noise.
- ``pbmc`` (``--real``, needs ``scanpy``, whose package ships the data: no
  download): scanpy's ``pbmc68k_reduced``, 700 real PBMC cells, 50 principal
  components, the 10 ``bulk_labels`` cell types on the lineage tree
  :data:`PBMC_TREE` (16 nodes; myeloid / lymphoid, T cells split into CD4 and
  CD8). Two cell types of different branches are held out as novel (4 pairs),
  half of the other cells are labeled.

Columns, on the unlabeled samples: ``ACC`` Hungarian accuracy; ``leaf``: novel
samples given the right leaf name; ``parent``: the right parent (subtree) name;
``iter``: the mean ``n_iter_`` of the fits (EM iterations for HierarchicalGMM,
the best start's passes for NovelClassKMeans).
Sibling novel leaves share their prior, so their leaf names are a coin flip;
``parent`` is the meaningful figure then. ``no tree``: ``lambda_hierarchy=0``;
``known fixed``: ``known_means="labeled"`` (the known means stay at their labeled
means, as in the paper's h-GMM).
Baselines: ``KMeans(n_init=10)`` and ``GaussianMixture(diag, n_init=3)``.

Usage::

    python benchmarks/bench_ncd.py            # easy and hard, 10k x 20, 5 seeds
    python benchmarks/bench_ncd.py --quick    # 3k x 20, 2 seeds
    python benchmarks/bench_ncd.py --real     # adds pbmc68k_reduced (scanpy)
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
from skdeep.metrics import cluster_accuracy
from skdeep.utils import unlabeled_mask

PBMC_TREE = {
    "CD34+": "root", "myeloid": "root", "lymphoid": "root",
    "CD14+ Monocyte": "myeloid", "Dendritic": "myeloid",
    "CD19+ B": "lymphoid", "CD56+ NK": "lymphoid", "T": "lymphoid",
    "CD4": "T", "CD8": "T",
    "CD4+/CD25 T Reg": "CD4", "CD4+/CD45RO+ Memory": "CD4",
    "CD4+/CD45RA+/CD25- Naive T": "CD4",
    "CD8+ Cytotoxic T": "CD8", "CD8+/CD45RA+ Naive Cytotoxic": "CD8",
}
PBMC_NOVEL = [("CD14+ Monocyte", "CD8+ Cytotoxic T"), ("Dendritic", "CD19+ B"),
              ("CD14+ Monocyte", "CD4+/CD25 T Reg"), ("CD56+ NK", "Dendritic")]


def simulated_cases(setting, n_samples, seeds):
    extra = dict(cluster_std=1.5, imbalance=10.0, tail_df=3.0) if (
        setting == "hard") else {}
    for seed in seeds:
        X, y, y_true, tree, _ = make_hierarchical_blobs(
            n_samples, 20, depth=3, n_novel=2, shrink=0.4, random_state=seed,
            **extra)
        yield X, y, y_true, tree, seed


def pbmc_cases(seeds):
    import scanpy as sc  # ships pbmc68k_reduced in its package

    adata = sc.datasets.pbmc68k_reduced()
    X = np.asarray(adata.obsm["X_pca"], dtype=np.float64)
    y_true = adata.obs["bulk_labels"].astype(str).to_numpy().astype(object)
    for pair in PBMC_NOVEL:
        for seed in seeds:
            rng = np.random.RandomState(seed)
            novel = np.isin(y_true, pair)
            y = y_true.copy()
            # string labels: "-1" marks the unlabeled cells (one label type, as
            # make_hierarchical_blobs returns)
            y[novel | (rng.uniform(size=len(y)) < 0.5)] = "-1"
            yield X, y, y_true, PBMC_TREE, seed


def run_case(X, y, y_true, tree, seed):
    unl = unlabeled_mask(y)
    known = set(y[~unl].tolist())
    novel = np.array([v not in known for v in y_true])
    n_leaves = len(set(y_true.tolist()))

    def parent(labels):
        return np.array([tree.get(v, v) for v in labels], dtype=object)

    def fitted(model, *args):
        model.fit(X, *args)
        labels = model.labels_ if hasattr(model, "labels_") else model.predict(X)
        return labels, model.n_iter_

    methods = {
        "KMeans (n_init=10)": lambda: fitted(KMeans(n_leaves, n_init=10,
                                                    random_state=seed)),
        "GaussianMixture (n_init=3)": lambda: fitted(GaussianMixture(
            n_leaves, covariance_type="diag", n_init=3, random_state=seed)),
        "NovelClassKMeans": lambda: fitted(NovelClassKMeans(
            tree, random_state=seed), y),
        "NovelClassKMeans no tree": lambda: fitted(NovelClassKMeans(
            tree, lambda_hierarchy=0.0, random_state=seed), y),
        "HierarchicalGMM": lambda: fitted(HierarchicalGMM(
            tree, random_state=seed), y),
        "HierarchicalGMM no tree": lambda: fitted(HierarchicalGMM(
            tree, lambda_hierarchy=0.0, random_state=seed), y),
        "HierarchicalGMM known fixed": lambda: fitted(HierarchicalGMM(
            tree, known_means="labeled", random_state=seed), y),
    }
    rows = {}
    for name, fit in methods.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            pred, n_iter = fit()
            seconds = time.perf_counter() - start
        pred = np.asarray(pred, dtype=object)
        named = not name.startswith(("KMeans", "Gaussian"))
        leaf = np.mean(pred[novel] == y_true[novel]) if named else np.nan
        par = np.mean(parent(pred[novel]) == parent(y_true[novel])) if (
            named) else np.nan
        rows[name] = (cluster_accuracy(y_true[unl], pred[unl].astype(str)), leaf,
                      par, n_iter, seconds)
    return rows


def _fmt(value):
    return f"{value:.3f}" if np.isfinite(value) else "-"


def report(label, cases):
    per_case = [run_case(*case) for case in cases]
    for name in per_case[0]:
        values = np.array([r[name] for r in per_case])
        acc, leaf, par, n_iter, seconds = values.mean(axis=0)
        print(f"{label:>14}  {name:<28} {acc:>6.3f} {_fmt(leaf):>6} {_fmt(par):>6} "
              f"{values[:, 0].min():>7.3f} {n_iter:>6.1f} {seconds:>7.2f}")
    print(f"{'':>14}  ({len(per_case)} cases)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3k x 20, 2 seeds")
    parser.add_argument("--real", action="store_true",
                        help="add scanpy's pbmc68k_reduced (needs scanpy)")
    args = parser.parse_args(argv)
    n_samples, seeds = (3000, range(2)) if args.quick else (10_000, range(5))
    run_case(*next(simulated_cases("easy", 200, [0])))  # compile numba kernels
    print(f"{'data':>14}  {'method':<28} {'ACC':>6} {'leaf':>6} {'parent':>6} "
          f"{'min ACC':>7} {'iter':>6} {'fit s':>7}")
    for setting in ("easy", "hard"):
        report(f"{setting} {n_samples // 1000}k", simulated_cases(
            setting, n_samples, seeds))
    if args.real:
        report("pbmc68k", pbmc_cases(range(3)))


if __name__ == "__main__":
    main()
