"""Benchmark of the INNA optimiser against Adam and SGD with momentum.

Every torch estimator that takes ``optimizer`` trains with
:class:`torch.optim.Adam`, :class:`torch.optim.SGD` (momentum 0.9) or
:class:`skdeep.utils.INNA` (``alpha=0.5``, ``beta=0.1``). This script fits each
of them with each optimiser

- at its default learning rate (what ``learning_rate=None`` stands for:
  Adam 1e-3, SGD 1e-2 and INNA 0.1 unless the estimator overrides them), and
- at the best learning rate of the grid ``default * (0.3, 1, 3)``, chosen on a
  validation split carved out of the training data (never on the test data),

on three problems:

``nystrom``
    :class:`~skdeep.neural.NystromNetClassifier` with its MLP backbone and 50
    landmarks on scikit-learn's digits, a stratified 70 / 30 train / test
    split, 40 epochs; validation: 25 % of the training part; score: test
    accuracy.
``modis``
    :class:`~skdeep.neural.MODISIntegrator` on
    :func:`~skdeep.datasets.make_multiomics` (1000 samples, two unpaired
    modalities, 20 % labeled, class 4 labeled in modality 0 only), 40 epochs;
    validation: accuracy on 30 % of the labeled samples, hidden from the fit;
    score: accuracy on the unlabeled samples against the simulator's true
    classes.
``tensor``
    :class:`~skdeep.tensor.TensorCompleter` with ``backend="torch"`` on a
    30 x 30 x 30 Tucker tensor of ranks 3 from
    :func:`~skdeep.datasets.make_low_rank_tensor` (10 % observed); validation:
    relative error on 20 % of the observed entries, hidden from the fit;
    score: :func:`~skdeep.metrics.missing_entry_error` (lower is better). The
    completer has no SGD with momentum: its plain gradient descent ``"gd"``
    runs beside.

It prints, per problem, one table (learning rate, validation score of the
chosen rate, final training loss, test score, ``n_iter_``, fit time; ``*``
marks a fit stopped by ``max_iter``) and a summary of every loss curve (its
value at 0, 10, 25, 50 and 100 % of the epochs); ``--save curves.json`` also
writes the curves. An estimator, or an optimiser, that the installed estimator
does not accept is skipped with a note.

Everything runs on one thread. ``python benchmarks/bench_inna.py`` runs all
three problems (a few minutes on 2 cores), ``--estimators modis`` a part and
``--quick`` a smoke run on smaller problems with a grid of two rates.
"""

import argparse
import json
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from skdeep.datasets import make_low_rank_tensor, make_multiomics
from skdeep.metrics import missing_entry_error, semi_supervised_scores
from skdeep.utils._optimizers import DEFAULT_LEARNING_RATES, OPTIMIZERS

ESTIMATORS = ("nystrom", "modis", "tensor")
GRID = (0.3, 1.0, 3.0)
QUICK_GRID = (1.0, 3.0)
CURVE_POINTS = (0.0, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Problem:
    """One estimator on one data set: how to fit and score it.

    ``fit_score(estimator, stage)`` fits ``estimator`` on the training part
    of ``stage`` ("validation": the training part less the validation split;
    "test": the whole training part) and returns the score on the held-out
    part of that stage.
    """

    name: str
    estimator: object
    fit_score: object
    score_name: str
    greater_is_better: bool = True
    optimizers: tuple = OPTIMIZERS


@dataclass
class Fit:
    optimizer: str
    learning_rate: float
    score: float = np.nan
    loss: float = np.nan
    n_iter: int = 0
    stopped: bool = False
    seconds: float = np.nan
    curve: list = field(default_factory=list)
    error: str = ""


# --- the problems -----------------------------------------------------------


def nystrom_problem(quick):
    from skdeep.neural import NystromNetClassifier

    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:600], y[:600]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    X_fit, X_val, y_fit, y_val = train_test_split(
        X_train, y_train, test_size=0.25, stratify=y_train, random_state=0)

    def fit_score(estimator, stage):
        if stage == "validation":
            return estimator.fit(X_fit, y_fit).score(X_val, y_val)
        return estimator.fit(X_train, y_train).score(X_test, y_test)

    # with backbone=None the network is a kernel model whose softmax layer
    # starts at its solution: the MLP backbone gives the optimisers the work
    estimator = NystromNetClassifier(backbone="mlp", n_landmarks=50,
                                     max_iter=30 if quick else 40, device="cpu",
                                     random_state=0)
    return Problem("NystromNetClassifier, digits", estimator, fit_score,
                   "test accuracy")


def modis_problem(quick):
    from skdeep.neural import MODISIntegrator

    sizes = (100, 80)
    X, y, y_true, _ = make_multiomics(
        n_samples=500 if quick else 1000, n_features=sizes, labeled_fraction=0.2,
        unlabeled_classes={1: [4]}, random_state=0)
    labeled = np.flatnonzero(y != -1)
    rng = np.random.RandomState(0)
    hidden = rng.choice(labeled, size=int(0.3 * len(labeled)), replace=False)
    y_fit = y.copy()
    y_fit[hidden] = -1

    def fit_score(estimator, stage):
        if stage == "validation":
            pred = estimator.fit(X, y_fit).predict(X[hidden])
            return float(np.mean(pred == y[hidden]))
        pred = estimator.fit(X, y).predict(X)
        return semi_supervised_scores(y_true, pred, y)["accuracy"]

    estimator = MODISIntegrator(modalities=list(sizes), n_components=8,
                                max_iter=15 if quick else 40, device="cpu",
                                random_state=0)
    return Problem("MODISIntegrator, make_multiomics", estimator, fit_score,
                   "unlabeled accuracy")


def tensor_problem(quick):
    from skdeep.tensor import TensorCompleter

    shape = (20, 20, 20) if quick else (30, 30, 30)
    X, X_true = make_low_rank_tensor(shape, ranks=3, observed_fraction=0.1,
                                     random_state=0)
    observed = np.flatnonzero(~np.isnan(X))
    rng = np.random.RandomState(0)
    hidden = rng.choice(observed, size=int(0.2 * len(observed)), replace=False)
    X_fit = X.copy()
    X_fit.flat[hidden] = np.nan

    def fit_score(estimator, stage):
        if stage == "validation":
            filled = estimator.fit_transform(X_fit)
            # the hidden observed entries play the truth: no test entry is read
            return missing_entry_error(X.flat[hidden], filled.flat[hidden],
                                       X_fit.flat[hidden])
        return missing_entry_error(X_true, estimator.fit_transform(X), X)

    estimator = TensorCompleter(backend="torch", max_iter=500 if quick else 1000,
                                device="cpu", random_state=0)
    # the completer has no SGD with momentum: its plain gradient descent "gd"
    # (the papers' object of study) stands beside
    return Problem(f"TensorCompleter(backend='torch'), {shape} tensor", estimator,
                   fit_score, "missing-entry error", greater_is_better=False,
                   optimizers=("adam", "sgd", "gd", "inna"))


PROBLEMS = {"nystrom": nystrom_problem, "modis": modis_problem,
            "tensor": tensor_problem}


# --- running ----------------------------------------------------------------


def _check(estimator, **params):
    """``None`` if ``estimator`` accepts ``params``, else the reason."""
    missing = sorted(set(params) - set(estimator.get_params()))
    if missing:
        return f"it has no parameter {', '.join(missing)}"
    try:
        clone(estimator).set_params(**params)._validate_params()
    except InvalidParameterError as exc:
        return str(exc).splitlines()[0]
    return None


def default_learning_rate(estimator, optimizer):
    """The step ``learning_rate=None`` stands for in ``estimator``.

    The project-wide default when the estimator does not take ``None``.
    """
    trial = clone(estimator).set_params(optimizer=optimizer)
    if _check(trial, learning_rate=None) is None and hasattr(trial, "_learning_rate"):
        trial.set_params(learning_rate=None)
        return float(trial._learning_rate())
    rates = getattr(trial, "_default_learning_rates", DEFAULT_LEARNING_RATES)
    return rates.get(optimizer, DEFAULT_LEARNING_RATES.get(optimizer, 1e-2))


def run_fit(problem, stage, optimizer, learning_rate):
    estimator = clone(problem.estimator).set_params(
        optimizer=optimizer, learning_rate=learning_rate)
    fit = Fit(optimizer, learning_rate)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fit.score = float(problem.fit_score(estimator, stage))
        except (ValueError, FloatingPointError, RuntimeError) as exc:
            # a diverging run raises a ValueError naming learning_rate
            fit.error = str(exc).splitlines()[0][:70]
            return fit
    fit.seconds = time.perf_counter() - start
    fit.stopped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    fit.n_iter = int(estimator.n_iter_)
    fit.curve = [float(v) for v in estimator.loss_curve_]
    fit.loss = fit.curve[-1] if fit.curve else np.nan
    return fit


def benchmark(problem, grid):
    """Rows ``(optimizer, "default" or "best", Fit, validation score)``."""
    rows, notes = [], []
    if (reason := _check(problem.estimator, optimizer="inna")) is not None:
        notes.append(f"skipped: optimizer='inna' is not accepted ({reason})")
        return rows, notes
    sign = 1.0 if problem.greater_is_better else -1.0
    for optimizer in problem.optimizers:
        if (reason := _check(problem.estimator, optimizer=optimizer)) is not None:
            notes.append(f"{optimizer} skipped ({reason})")
            continue
        default = default_learning_rate(problem.estimator, optimizer)
        searched = [run_fit(problem, "validation", optimizer, default * f)
                    for f in grid]
        valid = [f for f in searched if np.isfinite(f.score)]
        notes.append(f"{optimizer} validation scores: " + ", ".join(
            f"lr={f.learning_rate:.3g}: "
            + (f"failed ({f.error})" if f.error else f"{f.score:.4f}")
            for f in searched))
        # ties (e.g. runs that all stay at the start) keep the default step
        best = max(valid, key=lambda f: (sign * f.score,
                                         f.learning_rate == default)) if valid else None
        val_default = next((f.score for f in searched
                            if f.learning_rate == default), np.nan)
        rows.append((optimizer, "default",
                     run_fit(problem, "test", optimizer, default), val_default))
        if best is not None and best.learning_rate != default:
            rows.append((optimizer, "best",
                         run_fit(problem, "test", optimizer, best.learning_rate),
                         best.score))
        elif best is not None:
            rows.append((optimizer, "best", rows[-1][2], best.score))
    return rows, notes


def print_table(problem, rows, notes):
    print(f"\n{problem.name}: {problem.score_name} "
          f"({'higher' if problem.greater_is_better else 'lower'} is better)")
    print(f"{'optimizer':9s} {'lr':>7s} {'chosen':>7s} {'val':>7s} "
          f"{'train loss':>11s} {'test':>7s} {'n_iter':>7s} {'fit s':>6s}")
    for optimizer, kind, fit, val in rows:
        if fit.error:
            print(f"{optimizer:9s} {fit.learning_rate:7.3g} {kind:>7s} {val:7.3f}  "
                  f"failed: {fit.error}")
            continue
        n_iter = f"{fit.n_iter}{'*' if fit.stopped else ''}"
        print(f"{optimizer:9s} {fit.learning_rate:7.3g} {kind:>7s} {val:7.3f} "
              f"{fit.loss:11.4g} {fit.score:7.4f} {n_iter:>7s} {fit.seconds:6.1f}")
    for note in notes:
        print(f"  note: {note}")
    if not rows:
        return
    print("loss curves (value at 0, 10, 25, 50, 100 % of the epochs):")
    shown = set()
    for optimizer, _kind, fit, _ in rows:
        if not fit.curve or id(fit) in shown:
            continue
        shown.add(id(fit))
        curve = np.asarray(fit.curve)
        points = [curve[int(round(p * (len(curve) - 1)))] for p in CURVE_POINTS]
        print(f"  {optimizer:5s} lr={fit.learning_rate:<7.3g} "
              + " ".join(f"{v:9.4g}" for v in points))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller problems and a grid of two rates")
    parser.add_argument("--estimators", nargs="+", choices=ESTIMATORS,
                        default=list(ESTIMATORS))
    parser.add_argument("--save", metavar="PATH",
                        help="write every fit and its loss curve to a JSON file")
    args = parser.parse_args(argv)
    grid = QUICK_GRID if args.quick else GRID

    import torch

    torch.set_num_threads(1)
    saved = {}
    with threadpool_limits(1):
        for key in args.estimators:
            try:
                problem = PROBLEMS[key](args.quick)
            except ImportError as exc:
                print(f"\n{key}: skipped ({exc})")
                continue
            rows, notes = benchmark(problem, grid)
            print_table(problem, rows, notes)
            saved[key] = [dict(optimizer=o, chosen=k, validation_score=v,
                               **{n: getattr(f, n) for n in (
                                   "learning_rate", "score", "loss", "n_iter",
                                   "stopped", "seconds", "curve", "error")})
                          for o, k, f, v in rows]
    if args.save:
        with open(args.save, "w") as stream:
            json.dump(saved, stream, indent=1, default=float)
        print(f"\ncurves written to {args.save}")


if __name__ == "__main__":
    main()
