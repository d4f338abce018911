"""Time of TensorCompleter at its defaults: against tensorly, torch against numpy.

1. 20 x 20 x 20 tensors of Tucker rank (3, 3, 3) (10, 20 and 30 % observed,
   seeds 0-2): CPU seconds and relative error on the missing entries of
   ``TensorCompleter(random_state=0)`` (default ``tol``) and of tensorly's
   ``tucker`` with ``mask`` at the true rank from its SVD start (up to 500 EM
   iterations, ``tol=1e-10``), and the ratio of the total CPU times.
2. The torch backend on the CPU against the numpy backend, the same defaults
   (``tol=1e-3``), on a 30^3 (10 %) and a 60^3 (5 %) tensor of Tucker rank 3:
   CPU seconds of each (the best of five runs, after a warm-up that imports
   torch) and their ratio.

CPU time (``time.process_time``, one BLAS thread) rather than wall time: the
machines these were measured on were shared. Run
``python benchmarks/bench_tensor_speed.py`` (about 3 minutes).

Results, 2026-12-03, shared 2-core machine: 20^3, the 9 problems, with
the polish, the growth rounds and the package's L-BFGS
(``skdeep/tensor/_polish.py``, ``_growth.py``, ``_lbfgs.py``; exact
low-rank fits have no growth): skdeep 2.2-2.6 s of CPU in all (0.12-0.6 s
each; errors 8e-9 to 2.4e-5), tensorly 1.5-1.9 s (errors 1e-9 to 3e-4,
0.48 and 0.56 on two 10 % seeds): a ratio of 1.31-1.48 over four runs;
1.53 (2.7 s against 1.8 s) once the fold-in's noise and empirical prior
were chosen on the held-out units at the end of every fit.
With scipy's L-BFGS-B: 4.1-4.3 s against 1.7-1.8 s, 2.38-2.46; with the
earlier growth by Adam: 5.6 s against 2.2 s, 2.6; before the polish:
skdeep 28.1 s (1.4-8.9 s each, 1000-5800 iterations; errors 7e-5 to
2e-4, 1.2e-2 on one 10 % seed), a ratio of 12.8. torch / numpy CPU time
(best of 5, both on the package's L-BFGS; the torch backend with numpy's
arithmetic on views of its tensors for these small problems and the
gradients handed to its optimisers without a backward pass): 1.26-1.50 at
30^3 (10 %) and 1.11-1.17 at 60^3 (5 %) over five runs, 292-299
iterations each, errors 4e-7 and 6e-8. Before (torch's own arithmetic
and autograd's replay of the gradients): 1.63-2.20 and 1.09-1.46. At
100^3 (5 %), where torch's arithmetic is used, 0.92 times the numpy
backend's time (``bench_tensor.py --scaling``).
"""

import time
import warnings

from bench_tensor import tensorly_fill
from sklearn.exceptions import ConvergenceWarning

from skdeep.datasets import make_low_rank_tensor
from skdeep.metrics import missing_entry_error
from skdeep.tensor import TensorCompleter

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def cpu(func, *args):
    start = time.process_time()
    out = func(*args)
    return out, time.process_time() - start


def against_tensorly(fractions=(0.1, 0.2, 0.3), seeds=(0, 1, 2)):
    print("20^3, Tucker rank 3: CPU s and error on the missing entries")
    print(f"{'obs.':>4} {'seed':>4} {'skdeep s':>9} {'error':>9} "
          f"{'tensorly s':>10} {'error':>9}")
    totals = [0.0, 0.0]
    for fraction in fractions:
        for seed in seeds:
            X, X_true = make_low_rank_tensor((20, 20, 20), ranks=3,
                                             observed_fraction=fraction,
                                             random_state=seed)
            ours, t_ours = cpu(TensorCompleter(random_state=0).fit_transform, X)
            theirs, t_theirs = cpu(lambda X: tensorly_fill(
                X, "tucker", 3, n_iter_max=500, init="svd", tol=1e-10), X)
            totals[0] += t_ours
            totals[1] += t_theirs
            print(f"{fraction:4.0%} {seed:4d} {t_ours:9.2f} "
                  f"{missing_entry_error(X_true, ours, X):9.2e} {t_theirs:10.2f} "
                  f"{missing_entry_error(X_true, theirs, X):9.2e}", flush=True)
    print(f"total CPU: skdeep {totals[0]:.1f} s, tensorly {totals[1]:.1f} s, "
          f"ratio {totals[0] / totals[1]:.2f}")


def torch_against_numpy(cases=((30, 0.1), (60, 0.05))):
    warm, _ = make_low_rank_tensor((8, 8, 8), ranks=2, observed_fraction=0.5,
                                   random_state=0)
    for backend in ("numpy", "torch"):
        TensorCompleter(backend=backend, device="cpu", max_iter=20,
                        random_state=0).fit(warm)
    print("torch (CPU) against numpy, defaults with tol=1e-3: CPU s (best of 5)")
    for size, fraction in cases:
        X, X_true = make_low_rank_tensor((size,) * 3, ranks=3,
                                         observed_fraction=fraction, random_state=0)
        times = {}
        for backend in ("numpy", "torch") * 5:
            completer = TensorCompleter(backend=backend, device="cpu", tol=1e-3,
                                        random_state=0)
            filled, seconds = cpu(completer.fit_transform, X)
            if seconds < times.get(backend, (float("inf"),))[0]:
                times[backend] = (seconds, completer.n_iter_,
                                  missing_entry_error(X_true, filled, X))
        for backend, (seconds, n_iter, error) in times.items():
            print(f"{size}^3 {fraction:4.0%} {backend:6s} n_iter {n_iter:5d} "
                  f"CPU {seconds:6.2f} s error {error:.2e}")
        print(f"{size}^3 torch / numpy: {times['torch'][0] / times['numpy'][0]:.2f}",
              flush=True)


if __name__ == "__main__":
    against_tensorly()
    torch_against_numpy()
