"""Held-out validation of novel class discovery on real data shipped in packages.

Three data sets, each with a lineage tree built from domain knowledge (not
from the data):

- ``pbmc``: scanpy's ``pbmc68k_reduced`` (700 immune cells, 10 ``bulk_labels``
  cell types), 50 principal components fitted here on the raw (log-normalised)
  gene matrix ``adata.raw``; tree ``bench_ncd.PBMC_TREE`` (myeloid /
  lymphoid / progenitor; T cells split into CD4 and CD8).
- ``krumsiek``: scanpy's ``krumsiek11`` (640 simulated myeloid cells, 11
  genes, 5 types); tree: progenitor, then MEP (Ery, Mk) and GMP (Mo, Neu).
- ``digits``: scikit-learn's digits (1797 images, 64 pixels, 30 principal
  components); a two-level tree by shape :data:`DIGITS_TREE` (loops, strokes,
  curves).

Each configuration holds out one, two or three classes as novel (all their
samples unlabeled), labels a fraction (5 % or 30 %, at least 2 samples per
known class, stratified) of every other class, and fits every method with its
defaults on all samples. Columns (unlabeled samples):

- ``ACC``: Hungarian accuracy of the leaves (``labels_``);
- ``leaf``: novel samples named by their true leaf;
- ``anc``: novel samples named as novel at their true leaf or at one of its
  ancestors below the root (:func:`skdeep.metrics.hierarchical_naming_scores`);
- ``fnov``: unlabeled samples of known classes named as novel;
- ``k``: the number of novel clusters kept.

``tree`` fits :class:`~skdeep.cluster.NovelClassKMeans` /
:class:`~skdeep.cluster.HierarchicalGMM` with the lineage tree; ``flat`` with
the same leaves hanging from the root (no tree); ``auto`` with
``n_novel_classes="auto"`` on a tree that also holds every known class and two
absent leaves (``extra``): the number of novel classes is chosen by the fit.

Usage::

    python benchmarks/bench_ncd_real.py               # all, 3 seeds
    python benchmarks/bench_ncd_real.py --quick       # 1 seed
    python benchmarks/bench_ncd_real.py --data pbmc --table
    python benchmarks/bench_ncd_real.py --data pbmc --table \
        --held "CD4+/CD45RO+ Memory;CD8+/CD45RA+ Naive Cytotoxic"
    python benchmarks/bench_ncd_real.py --data pbmc --separability

``--separability`` measures, for each single held-out class, what the
features allow (no novel class discovery is fitted):

- ``10NN``: the share of its samples' 10 nearest neighbours in its class;
- ``LR clade`` / ``LR all``: balanced accuracy (5-fold) of a logistic
  regression trained with every label to tell it from the other leaves under
  its grandparent in the tree (e.g. the other T cells) / from all others;
- ``NC``: recall of the nearest true class mean (each sample's own mean fitted
  without it), every class's mean known;
- ``ceil 5%`` / ``ceil 30%``: the share of its samples a novel prototype at
  its true mean (fitted without the sample) takes from known prototypes at
  their labeled means (the split of the benchmark, 3 seeds), when the margin
  is set, as by an oracle, to let 5 % of the unlabeled known samples
  through: a ceiling for naming it under a 5 % false-novel rate.
"""

import argparse
import time
import warnings

import numpy as np
from bench_ncd import PBMC_TREE  # the lineage tree of the PBMC cell types
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import NearestNeighbors

from skdeep.cluster import HierarchicalGMM, NovelClassKMeans
from skdeep.metrics import cluster_accuracy, hierarchical_naming_scores

PBMC_HELD = [
    ("CD14+ Monocyte",), ("CD19+ B",), ("CD56+ NK",), ("CD34+",),
    ("Dendritic",), ("CD8+ Cytotoxic T",), ("CD4+/CD25 T Reg",),
    ("CD14+ Monocyte", "CD8+ Cytotoxic T"), ("Dendritic", "CD19+ B"),
    ("CD56+ NK", "CD34+"),
    ("CD14+ Monocyte", "CD19+ B", "CD56+ NK"),
    ("Dendritic", "CD8+ Cytotoxic T", "CD34+"),
]
KRUMSIEK_TREE = {"progenitor": "root", "MEP": "root", "GMP": "root",
                 "Ery": "MEP", "Mk": "MEP", "Mo": "GMP", "Neu": "GMP"}
KRUMSIEK_HELD = [("Ery",), ("Mo",), ("progenitor",), ("Ery", "Neu"),
                 ("Mk", "Mo", "progenitor")]
DIGITS_TREE = {"loops": "root", "strokes": "root", "curves": "root",
               0: "loops", 6: "loops", 8: "loops", 9: "loops",
               1: "strokes", 4: "strokes", 7: "strokes",
               2: "curves", 3: "curves", 5: "curves"}
DIGITS_HELD = [(0,), (4,), (3,), (8,), (1, 6), (2, 9), (5, 7, 8)]
#: Leaves absent from the data, added to the tree of the ``auto`` runs.
EXTRA = {"pbmc": {"Plasma": "lymphoid", "Neutrophil": "myeloid"},
         "krumsiek": {"Baso": "GMP", "Mast": "MEP"},
         "digits": {"loop_x": "loops", "stroke_x": "strokes"}}


def load(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        data = load_digits()
        X = PCA(30, random_state=0).fit_transform(data.data)
        return X, data.target.astype(np.int64), DIGITS_TREE, DIGITS_HELD
    import scanpy as sc  # ships both data sets in its package: no download

    if name == "pbmc":
        adata = sc.datasets.pbmc68k_reduced()
        raw = adata.raw.X
        raw = raw.toarray() if hasattr(raw, "toarray") else np.asarray(raw)
        X = PCA(50, random_state=0).fit_transform(raw)
        y = adata.obs["bulk_labels"].astype(str).to_numpy().astype(object)
        return X, y, PBMC_TREE, PBMC_HELD
    adata = sc.datasets.krumsiek11()
    y = adata.obs["cell_type"].astype(str).to_numpy().astype(object)
    return np.asarray(adata.X, dtype=np.float64), y, KRUMSIEK_TREE, KRUMSIEK_HELD


def split(y_true, held, fraction, seed):
    """Labels: held-out classes and all but a stratified fraction unlabeled."""
    rng = np.random.RandomState(seed)
    marker = -1 if y_true.dtype.kind == "i" else "-1"
    y = np.full(y_true.shape, marker, dtype=y_true.dtype)
    for c in np.unique(y_true):
        if c in held:
            continue
        rows = np.flatnonzero(y_true == c)
        n = max(2, int(round(fraction * rows.size)))
        keep = rng.choice(rows, size=n, replace=False)
        y[keep] = y_true[keep]
    return y


def methods(tree, extra, seed):
    flat = {leaf: "root" for leaf in tree if leaf not in set(tree.values())}
    with_extra = {**tree, **extra}
    return {
        "KMeans": None,
        "NCK tree": lambda: NovelClassKMeans(tree, random_state=seed),
        "NCK flat": lambda: NovelClassKMeans(flat, random_state=seed),
        "NCK auto": lambda: NovelClassKMeans(
            with_extra, n_novel_classes="auto", random_state=seed),
        "GMM tree": lambda: HierarchicalGMM(tree, random_state=seed),
        "GMM flat": lambda: HierarchicalGMM(flat, random_state=seed),
        "GMM auto": lambda: HierarchicalGMM(
            with_extra, n_novel_classes="auto", random_state=seed),
    }


def run_case(X, y_true, tree, extra, held, fraction, seed, names):
    y = split(y_true, held, fraction, seed)
    unl = (y == -1) if y.dtype.kind == "i" else (y == "-1")
    rows = {}
    for name, make in methods(tree, extra, seed).items():
        if names and name not in names and name != "KMeans":
            continue
        start = time.perf_counter()
        if make is None:
            pred = KMeans(len(np.unique(y_true)), n_init=10,
                          random_state=seed).fit_predict(X)
            rows[name] = (cluster_accuracy(y_true[unl], pred[unl]), np.nan,
                          np.nan, np.nan, np.nan, time.perf_counter() - start)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make().fit(X, y)
        seconds = time.perf_counter() - start
        labels = np.asarray(model.labels_)
        nodes = getattr(model, "node_labels_", labels)
        scores = hierarchical_naming_scores(
            y_true[unl], nodes[unl], {**tree, **extra},
            novel=list(held) + list(extra))
        acc = cluster_accuracy(y_true[unl], labels[unl].astype(str))
        n_found = len(getattr(model, "discovered_classes_", []))
        rows[name] = (acc, scores["leaf"], scores["ancestor"],
                      scores["false_novel"], n_found, seconds)
    return rows


def _separable(X, y, rows):
    """Balanced accuracy (5-fold) of telling class ``rows`` from the others
    among the samples ``X`` (all labels given)."""
    folds = StratifiedKFold(min(5, int(rows.sum())), shuffle=True,
                            random_state=0)
    clf = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced")
    return balanced_accuracy_score(rows, cross_val_predict(clf, X, rows,
                                                           cv=folds))


def _ancestors(tree, node):
    """The ancestors of ``node`` in the ``{child: parent}`` tree, the root
    (``"root"``) included."""
    out = ["root"]
    while node in tree:
        node = tree[node]
        out.append(node)
    return out


def separability(X, y_true, tree, held_list, seeds, fractions):
    """What the features allow, per single held-out class (see the module
    docstring): one row ``(name, n, 10NN, LR clade, LR all, NC, ceilings)``."""
    classes = np.unique(y_true)
    means = np.array([X[y_true == c].mean(axis=0) for c in classes])
    sizes = np.array([np.sum(y_true == c) for c in classes])
    own = np.searchsorted(classes, y_true)
    d2 = ((X[:, None, :] - means[None]) ** 2).sum(axis=2)
    rows_all = np.arange(len(y_true))
    d2[rows_all, own] *= (sizes[own] / (sizes[own] - 1.0)) ** 2  # own: LOO
    nearest = classes[d2.argmin(axis=1)]
    neighbours = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(
        X, return_distance=False)[:, 1:]
    out = []
    for held in sorted({h[0] for h in held_list if len(h) == 1}, key=str):
        k = np.flatnonzero(classes == held)[0]
        mine = y_true == held
        top = tree.get(tree.get(held, "root"), "root")
        clade = [c for c in classes if top in _ancestors(tree, c)]
        in_clade = np.isin(y_true, clade)
        ceilings = []
        for fraction in fractions:
            named = []
            for seed in seeds:
                unl = split(y_true, (held,), fraction, seed) == (
                    -1 if y_true.dtype.kind == "i" else "-1")
                lab = ~unl
                known = np.array([X[lab & (y_true == c)].mean(axis=0)
                                  for c in classes if c != held])
                d_known = ((X[:, None, :] - known[None]) ** 2).sum(2).min(1)
                gap = d_known - d2[:, k]
                margin = max(0.0, np.quantile(gap[unl & ~mine], 0.95))
                named.append(np.mean(gap[unl & mine] > margin))
            ceilings.append(np.mean(named))
        out.append((str(held), int(mine.sum()),
                    np.mean(y_true[neighbours[mine]] == held),
                    _separable(X[in_clade], y_true, mine[in_clade])
                    if len(clade) > 1 else np.nan,
                    _separable(X, y_true, mine),
                    np.mean(nearest[mine] == held), *ceilings))
    return out


def _parse_held(text, y_true):
    """The configurations of ``--held`` whose classes are all in ``y_true``."""
    names = {str(c): c for c in np.unique(y_true)}
    configs = []
    for config in text.split(";"):
        classes = [c.strip() for c in config.split(",") if c.strip()]
        if classes and all(c in names for c in classes):
            configs.append(tuple(names[c] for c in classes))
    return configs


def _fmt(v, digits=2):
    return f"{v:.{digits}f}" if np.isfinite(v) else "  - "


def _row(v):
    """ACC, leaf, anc (2 decimals), fnov (3: it is checked against 0.05),
    k and seconds."""
    return " ".join(_fmt(x, 3 if i == 3 else 2).rjust(5) for i, x in enumerate(v))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed")
    parser.add_argument("--data", default="pbmc,krumsiek,digits")
    parser.add_argument("--methods", default="")
    parser.add_argument("--table", action="store_true",
                        help="print every configuration")
    parser.add_argument("--held", default="",
                        help="held-out configurations instead of the built-in "
                             "ones: classes joined by ',', configurations by "
                             "';' (e.g. 'CD4+/CD45RO+ Memory;0,4'); a data set "
                             "without all the classes of any is skipped")
    parser.add_argument("--separability", action="store_true",
                        help="what the features allow for each single "
                             "held-out class (see above), instead of the fits")
    args = parser.parse_args(argv)
    seeds = [0] if args.quick else [0, 1, 2]
    fractions = [0.05, 0.3]
    names = [m for m in args.methods.split(",") if m]
    for data in args.data.split(","):
        X, y_true, tree, held_list = load(data)
        if args.held:
            held_list = _parse_held(args.held, y_true)
            if not held_list:
                continue
        print(f"\n== {data}: {X.shape[0]} x {X.shape[1]}, "
              f"{len(np.unique(y_true))} classes")
        if args.separability:
            print(f"{'held out':<30} {'n':>4} {'10NN':>5} {'LR clade':>8} "
                  f"{'LR all':>6} {'NC':>5} " + " ".join(
                      f"{'ceil ' + format(f, '.0%'):>8}" for f in fractions))
            for name, n, *v in separability(X, y_true, tree, held_list, seeds,
                                            fractions):
                print(f"{name[:30]:<30} {n:>4} {v[0]:>5.2f} {_fmt(v[1]):>8} "
                      f"{v[2]:>6.2f} {v[3]:>5.2f} "
                      + " ".join(f"{x:>8.2f}" for x in v[4:]))
            continue
        print(f"{'held out':<44} {'lab':>4} {'method':<9} {'ACC':>5} {'leaf':>5} "
              f"{'anc':>5} {'fnov':>5} {'k':>4} {'s':>5}")
        summary = {}
        for fraction in fractions:
            for held in held_list:
                cases = [run_case(X, y_true, tree, EXTRA[data], held, fraction,
                                  seed, names) for seed in seeds]
                for name in cases[0]:
                    v = np.array([c[name] for c in cases]).mean(axis=0)
                    summary.setdefault((fraction, len(held), name), []).append(v)
                    if args.table:
                        label = " + ".join(map(str, held))[:44]
                        print(f"{label:<44} {fraction:>4.0%} {name:<9} "
                              + _row(v))
        print(f"-- mean over configurations ({len(seeds)} seeds each)")
        for (fraction, n_held, name), vals in summary.items():
            v = np.mean(vals, axis=0)
            print(f"{'held ' + str(n_held) + ' (' + str(len(vals)) + ' configs)':<44}"
                  f" {fraction:>4.0%} {name:<9} " + _row(v))


if __name__ == "__main__":
    main()
