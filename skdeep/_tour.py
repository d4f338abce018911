"""The tour behind ``python -m skdeep``.

Each entry fits one estimator on its simulator at a small size and reports a score
whose meaning is printed beside it, together with the fit time. ``--quick`` shrinks
the problems further; ``--only NAME`` (repeatable) runs the entries whose estimator
name contains one of the ``NAME`` (case-insensitive). Without PyTorch, the
entries of the deep estimators are listed as skipped, with the install command,
and the tour still exits 0.
"""

import argparse
import time
from dataclasses import dataclass

import numpy as np

_ENTRIES = []


_TORCH_SKIPPED = "skipped: needs PyTorch (see below)"


@dataclass
class TourResult:
    estimator: str
    task: str
    score: float
    meaning: str
    fit_time: float
    skipped: bool = False


def tour_entry(estimator, task, needs_torch=False):
    """Register ``func(quick) -> (score, meaning, fit_seconds)`` as a tour entry.

    ``needs_torch`` entries are skipped, with the install command, when PyTorch
    is not installed.
    """

    def register(func):
        func.needs_torch = needs_torch
        _ENTRIES.append((estimator, task, func))
        return func

    return register


def torch_available():
    """Whether PyTorch can be imported (the deep estimators need it)."""
    from .utils._torch import import_torch

    try:
        import_torch()
    except ImportError:
        return False
    return True


def _timed_fit(estimator, *args, **kwargs):
    start = time.perf_counter()
    estimator.fit(*args, **kwargs)
    return estimator, time.perf_counter() - start


# -- tour entries: one function per estimator ------------------------------------
# (each takes ``quick`` and returns (score, meaning, fit_seconds))

@tour_entry("CDLTransformer", "learn rank-1 atoms from multichannel signals")
def _tour_cdl(quick):
    from .datasets import make_cdl_signals
    from .decomposition import CDLTransformer
    from .metrics import dictionary_recovery_score

    X, u, v, _ = make_cdl_signals(
        n_trials=4 if quick else 10, n_channels=5, n_times=600 if quick else 2000,
        n_atoms=3, n_times_atom=32 if quick else 64, random_state=0,
    )
    cdl = CDLTransformer(n_atoms=3, n_times_atom=v.shape[1], random_state=0)
    cdl, fit_time = _timed_fit(cdl, X)
    score = dictionary_recovery_score(u[:, :, None] * v[:, None, :], cdl.D_hat_)
    return score, "matched atom correlation (1 = exact)", fit_time


@tour_entry("TensorCompleter", "complete a low-rank tensor from 10-30 % entries")
def _tour_tensor_completer(quick):
    from .datasets import make_low_rank_tensor
    from .metrics import missing_entry_error
    from .tensor import TensorCompleter

    shape, observed = ((12, 12, 12), 0.3) if quick else ((20, 20, 20), 0.1)
    X, X_true = make_low_rank_tensor(
        shape, ranks=2 if quick else 3, observed_fraction=observed, random_state=0
    )
    completer = TensorCompleter(
        init_scale=3e-2 if quick else 1e-2, tol=1e-3, track_every=0, random_state=0
    )
    completer, fit_time = _timed_fit(completer, X)
    return (
        missing_entry_error(X_true, completer.reconstruction_, X),
        "relative error on missing entries",
        fit_time,
    )


@tour_entry("NovelClassKMeans", "discover and name novel leaves of a lineage tree")
def _tour_novel_class_kmeans(quick):
    from .cluster import NovelClassKMeans
    from .datasets import make_hierarchical_blobs
    from .metrics import direct_label_accuracy

    X, y, y_true, tree, novel = make_hierarchical_blobs(
        n_samples=600 if quick else 5000, n_features=10, depth=3, n_novel=2,
        shrink=0.4, random_state=0,
    )
    model, fit_time = _timed_fit(NovelClassKMeans(tree, random_state=0), X, y)
    score = direct_label_accuracy(y_true, model.labels_, labels=novel)
    return score, _NAMING_MEANING, fit_time


# One draw of the simulator: sibling novel leaves cannot be told apart by the
# tree, so on a draw that holds two of them the leaf naming is a coin flip.
_NAMING_MEANING = "novel samples given the right leaf name (one draw)"


@tour_entry("HierarchicalGMM", "refine discovered novel leaves by EM")
def _tour_hierarchical_gmm(quick):
    from .cluster import HierarchicalGMM
    from .datasets import make_hierarchical_blobs
    from .metrics import direct_label_accuracy

    X, y, y_true, tree, novel = make_hierarchical_blobs(
        n_samples=600 if quick else 5000, n_features=10, depth=3, n_novel=2,
        shrink=0.4, random_state=0,
    )
    model, fit_time = _timed_fit(HierarchicalGMM(tree, random_state=0), X, y)
    score = direct_label_accuracy(y_true, model.labels_, labels=novel)
    return score, _NAMING_MEANING, fit_time


@tour_entry("DriPP", "learn stimulus-evoked kernels of a driven point process")
def _tour_dripp(quick):
    from .datasets import make_driven_events
    from .metrics import intensity_error
    from .point_process import DriPP

    X, truth = make_driven_events(
        end_time=1000.0 if quick else 10000.0, random_state=0
    )
    model = DriPP(lower=truth["lower"], upper=truth["upper"])
    model, fit_time = _timed_fit(model, X, end_time=truth["end_time"])
    score = intensity_error(truth, model)
    return score, "relative sup-norm intensity error (0 = exact)", fit_time


@tour_entry(
    "NystromNetClassifier", "learn 10 digits from 5 images per class", needs_torch=True
)
def _tour_nystrom_net(quick):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from .neural import NystromNetClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=0
    )
    rng = np.random.RandomState(0)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y_pool == c), 5, replace=False) for c in range(10)]
    )
    # pixels share one unit: scale them together (standardising each pixel
    # would amplify the noise of the rarely inked ones; see the user guide)
    model = NystromNetClassifier(scaling="max_abs", device="cpu", random_state=0)
    model, fit_time = _timed_fit(model, X_pool[train], y_pool[train])
    return model.score(X_test, y_test), "test accuracy on 899 digits", fit_time


@tour_entry(
    "MODISIntegrator", "integrate two unpaired omics, 10 % labeled", needs_torch=True
)
def _tour_modis(quick):
    from .datasets import make_multiomics
    from .metrics import semi_supervised_scores
    from .neural import MODISIntegrator

    X, y, y_true, modality = make_multiomics(
        n_samples=600 if quick else 2000, n_features=(100, 80),
        unlabeled_classes={1: [4]}, random_state=0,
    )
    # Default training (stopped by its own rule); --quick only shrinks the latent.
    shrink = {"n_components": 8} if quick else {}
    model = MODISIntegrator([100, 80], random_state=0, **shrink)
    model, fit_time = _timed_fit(model, X, y)
    scores = semi_supervised_scores(y_true, model.predict(X), y)
    return scores["accuracy"], "accuracy on the unlabeled samples", fit_time


@tour_entry(
    "LipschitzClassifier", "certify breast cancer predictions against l2 noise",
    needs_torch=True,
)
def _tour_lipschitz(quick):
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from .metrics import certified_accuracy
    from .neural import LipschitzClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_tr)
    # quick: a coarser stopping rule (40 epochs instead of 82, the same score)
    model = LipschitzClassifier(tol=1e-2 if quick else 1e-4, random_state=0)
    model, fit_time = _timed_fit(model, scaler.transform(X_tr), y_tr)
    score = certified_accuracy(model, scaler.transform(X_te), y_te, 0.5)
    return score, "test accuracy certified at l2 radius 0.5 (std. units)", fit_time


# -- end of tour entries -----------------------------------------------------------


def run_tour(quick=False, only=None, stream=print):
    """Run the tour entries and return their :class:`TourResult` rows.

    ``only`` is a name or a list of names; an entry runs when its estimator name
    contains one of them (case-insensitive).
    """
    if isinstance(only, str):
        only = [only]
    names = ", ".join(sorted({name for name, _, _ in _ENTRIES}))
    for pattern in only or ():
        if not any(pattern.lower() in entry[0].lower() for entry in _ENTRIES):
            raise ValueError(
                f"--only {pattern!r} matches no estimator; known: {names}."
            )
    entries = [
        entry
        for entry in _ENTRIES
        if not only or any(p.lower() in entry[0].lower() for p in only)
    ]
    has_torch = None
    results = []
    for estimator, task, func in entries:
        if func.needs_torch:
            has_torch = torch_available() if has_torch is None else has_torch
            if not has_torch:
                results.append(
                    TourResult(estimator, task, np.nan, _TORCH_SKIPPED, 0.0, True)
                )
                stream(f"  skip: {estimator:<22} needs PyTorch")
                continue
        score, meaning, fit_time = func(quick)
        results.append(TourResult(estimator, task, score, meaning, fit_time))
        stream(f"  done: {estimator:<22} {task} ({fit_time:.2f} s)")
    return results


def format_table(results):
    """Render tour results as a plain-text table."""
    header = ("estimator", "task", "score", "meaning", "fit time")
    rows = [
        (
            r.estimator,
            r.task,
            "-" if r.skipped else f"{r.score:.4g}",
            r.meaning,
            "-" if r.skipped else f"{r.fit_time:.2f} s",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdeep",
        description="A tour of skdeep: every estimator on its simulator.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller problems: about 15 s in all (the first run of skdeep also "
        "compiles its numba kernels, once)",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only the estimators whose name has NAME (repeatable)",
    )
    args = parser.parse_args(argv)
    from . import __version__

    print(f"skdeep {__version__}: a tour on simulated and bundled data\n")
    start = time.perf_counter()
    try:
        results = run_tour(quick=args.quick, only=args.only)
    except ValueError as exc:
        parser.error(str(exc))
    print()
    print(format_table(results))
    print(f"\ntotal: {time.perf_counter() - start:.1f} s")
    n_skipped = sum(r.skipped for r in results)
    if n_skipped:
        print(
            f"{n_skipped} deep estimator(s) skipped: PyTorch is not installed. "
            "Install it with pip install 'skdeep-research[torch]' (or, from a "
            "clone, pip install '.[torch]') and run the tour again."
        )
    return 0
