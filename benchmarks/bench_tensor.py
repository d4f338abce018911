"""Benchmark of TensorCompleter against the tools a user would otherwise pick.

On a 20 x 20 x 20 tensor of Tucker rank (3, 3, 3) with 5 to 50 % of its entries
observed, it compares the relative error on the missing entries and the fit time
of skdeep's deep Tucker completion (depths 1 to 3) with

- tensorly's ``parafac`` and ``tucker`` with ``mask`` (EM: the missing entries
  are refilled from the model at every iteration), given the true rank;
- HaLRTC (Liu et al. 2013), the sum-of-nuclear-norms ADMM, implemented below;
- on a 2-D problem (matrix completion), ``sklearn.impute.IterativeImputer``.

It then measures peak memory (``tracemalloc``, which sees numpy's buffers) and
time per iteration on a 100 x 100 x 100 tensor.

Run ``python benchmarks/bench_tensor.py`` (a few minutes) or ``--quick``.
Requires ``tensorly`` (``pip install skdeep[bench]``).
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

from skdeep.datasets import make_low_rank_tensor
from skdeep.metrics import missing_entry_error
from skdeep.tensor import TensorCompleter
from skdeep.tensor._model import unfold

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def _fold(matrix, mode, shape):
    moved = (shape[mode], *shape[:mode], *shape[mode + 1 :])
    return np.moveaxis(matrix.reshape(moved), 0, mode)


def halrtc(X, rho=1e-6, rho_growth=1.15, max_iter=500, tol=1e-7):
    """HaLRTC: low-rank tensor completion by ADMM on the sum of the nuclear
    norms of the unfoldings, with equal weights (Liu et al. 2013, Alg. 3)."""
    observed = ~np.isnan(X)
    shape, order = X.shape, X.ndim
    alpha = np.full(order, 1.0 / order)
    estimate = np.where(observed, X, 0.0)
    duals = [np.zeros(shape) for _ in range(order)]
    for _ in range(max_iter):
        previous = estimate
        auxiliaries = []
        active = False
        for mode in range(order):
            # singular value thresholding of the mode unfolding at alpha / rho
            U, s, Vt = np.linalg.svd(
                unfold(estimate + duals[mode] / rho, mode), full_matrices=False
            )
            s = np.maximum(s - alpha[mode] / rho, 0.0)
            active = active or s[0] > 0
            auxiliaries.append(_fold((U * s) @ Vt, mode, shape))
        estimate = sum(M - Y / rho for M, Y in zip(auxiliaries, duals)) / order
        estimate = np.where(observed, X, estimate)
        for mode in range(order):
            duals[mode] -= rho * (auxiliaries[mode] - estimate)
        rho *= rho_growth
        change = np.linalg.norm(estimate - previous) / max(
            np.linalg.norm(previous), 1e-12
        )
        # while rho is tiny every singular value is thresholded away and
        # nothing moves: that is not convergence
        if active and change < tol:
            break
    return estimate


def tensorly_fill(X, method, rank, n_iter_max=200):
    import tensorly as tl
    from tensorly.decomposition import parafac, tucker

    observed = ~np.isnan(X)
    start = tl.tensor(np.where(observed, X, np.nanmean(X)))
    mask = tl.tensor(observed.astype(float))
    if method == "parafac":
        cp = parafac(start, rank, mask=mask, n_iter_max=n_iter_max, init="random",
                     random_state=0)
        model = tl.cp_to_tensor(cp)
    else:
        tk = tucker(start, [rank] * X.ndim, mask=mask, n_iter_max=n_iter_max,
                    init="random", random_state=0)
        model = tl.tucker_to_tensor(tk)
    return np.where(observed, X, tl.to_numpy(model))


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def deep(depth, **kwargs):
    # deeper products need a larger initial scale to leave the origin
    init = {1: 1e-2, 2: 1e-2, 3: 1e-1}[depth]
    params = dict(depth=depth, init_scale=init, track_every=0, random_state=0)
    params.update(kwargs)
    return TensorCompleter(**params)


def accuracy_table(fractions, max_iter, seeds):
    rows = []
    for fraction in fractions:
        results = {}
        for seed in seeds:
            X, X_true = make_low_rank_tensor(
                (20, 20, 20), ranks=3, observed_fraction=fraction, random_state=seed
            )
            runs = {
                f"skdeep deep Tucker, depth {d}": lambda X=X, d=d: deep(
                    d, max_iter=max_iter
                ).fit_transform(X)
                for d in (1, 2, 3)
            }
            runs["tensorly parafac+mask, rank 3"] = lambda X=X: tensorly_fill(
                X, "parafac", 3
            )
            runs["tensorly tucker+mask, rank 3"] = lambda X=X: tensorly_fill(
                X, "tucker", 3
            )
            runs["HaLRTC"] = lambda X=X: halrtc(X)
            for name, run in runs.items():
                filled, seconds = timed(run)
                err = missing_entry_error(X_true, filled, X)
                results.setdefault(name, []).append((err, seconds))
        reference = np.mean([t for _, t in results["skdeep deep Tucker, depth 2"]])
        for name, values in results.items():
            errors, seconds = zip(*values)
            rows.append(("20x20x20", f"{fraction:.0%}", name, np.median(errors),
                         np.mean(seconds), np.mean(seconds) / reference))
    return rows


def matrix_table(fractions, max_iter, seeds):
    rows = []
    for fraction in fractions:
        results = {}
        for seed in seeds:
            X, X_true = make_low_rank_tensor(
                (100, 40), ranks=3, observed_fraction=fraction, random_state=seed
            )
            runs = {
                "skdeep deep matrix, depth 2": lambda X=X: deep(
                    2, max_iter=max_iter
                ).fit_transform(X),
                "IterativeImputer": lambda X=X: IterativeImputer(
                    max_iter=20, random_state=0
                ).fit_transform(X),
            }
            for name, run in runs.items():
                filled, seconds = timed(run)
                results.setdefault(name, []).append(
                    (missing_entry_error(X_true, filled, X), seconds)
                )
        reference = np.mean([t for _, t in results["skdeep deep matrix, depth 2"]])
        for name, values in results.items():
            errors, seconds = zip(*values)
            rows.append(("100x40", f"{fraction:.0%}", name, np.median(errors),
                         np.mean(seconds), np.mean(seconds) / reference))
    return rows


def memory_table(size, n_iter):
    X, _ = make_low_rank_tensor((size,) * 3, ranks=5, observed_fraction=0.1,
                                random_state=0)
    runs = {
        f"skdeep deep Tucker, depth 2, full ranks, {n_iter} it": lambda: deep(
            2, max_iter=n_iter
        ).fit(X),
        f"tensorly tucker+mask, rank 10, {n_iter} it": lambda: tensorly_fill(
            X, "tucker", 10, n_iter_max=n_iter
        ),
        f"HaLRTC, {n_iter} it": lambda: halrtc(X, max_iter=n_iter, tol=0),
    }
    rows = []
    for name, run in runs.items():
        tracemalloc.start()
        _, seconds = timed(run)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((name, peak / 2**20, seconds / n_iter))
    return rows


def scaling_table(cases, max_iter=3000):
    """size x observed fraction -> time, peak traced memory and error, both tools."""
    rows = []
    for size, fraction in cases:
        X, X_true = make_low_rank_tensor((size,) * 3, ranks=3,
                                         observed_fraction=fraction, random_state=0)
        runs = {
            "skdeep deep Tucker (defaults, tol=1e-3)": lambda X=X: TensorCompleter(
                tol=1e-3, max_iter=max_iter, track_every=0, random_state=0
            ).fit_transform(X),
            "tensorly tucker+mask, rank 3": lambda X=X: tensorly_fill(X, "tucker", 3),
        }
        for name, run in runs.items():
            tracemalloc.start()
            filled, seconds = timed(run)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append((f"{size}^3", f"{fraction:.0%}", name, seconds,
                         peak / 2**20, missing_entry_error(X_true, filled, X)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one observed fraction, one seed, fewer iterations")
    parser.add_argument("--scaling", action="store_true",
                        help="only the scaling table (20^3 to 200^3 at 1 %%)")
    args = parser.parse_args(argv)
    if args.scaling:
        cases = [(20, 0.1), (100, 0.05), (200, 0.01)]
        print(f"{'tensor':<8} {'obs.':>5}  {'method':<40} {'time (s)':>9} "
              f"{'peak MiB':>9} {'rel. error':>10}")
        for row in scaling_table(cases):
            print(f"{row[0]:<8} {row[1]:>5}  {row[2]:<40} {row[3]:>9.1f} "
                  f"{row[4]:>9.1f} {row[5]:>10.2e}")
        return
    if args.quick:
        fractions, seeds, max_iter, mem_size = [0.1], [0], 4000, 60
    else:
        fractions, seeds = [0.05, 0.1, 0.2, 0.5], [0, 1, 2]
        max_iter, mem_size = 10000, 100

    print("relative error on the missing entries (median over seeds) and fit time")
    header = f"{'tensor':<9} {'obs.':>5}  {'method':<32} {'rel. error':>10} " \
             f"{'time (s)':>9} {'time / deep-2':>13}"
    print(header)
    print("-" * len(header))
    rows = accuracy_table(fractions, max_iter, seeds)
    rows += matrix_table([0.2, 0.3, 0.5] if not args.quick else [0.3], max_iter, seeds)
    for shape, frac, name, err, seconds, ratio in rows:
        print(f"{shape:<9} {frac:>5}  {name:<32} {err:>10.2e} {seconds:>9.2f} "
              f"{ratio:>13.2f}")

    print(f"\npeak memory (tracemalloc) on a {mem_size}^3 tensor, 10 % observed")
    header = f"{'method':<48} {'peak (MiB)':>10} {'s / iteration':>14}"
    print(header)
    print("-" * len(header))
    for name, peak, per_iter in memory_table(mem_size, n_iter=5 if args.quick else 10):
        print(f"{name:<48} {peak:>10.1f} {per_iter:>14.3f}")


if __name__ == "__main__":
    main()
