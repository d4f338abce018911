"""CDLTransformer against alphacsc's BatchCDL on the same simulated signals.

alphacsc needs ``numpy<2``, so the script builds its own virtualenv for it under
``benchmarks/_envs/alphacsc`` on first use (this needs the package index) and runs it
in a subprocess on the same data, saved to a temporary ``.npz``. Both start from the
same initial atoms, use the same sparsity (``reg`` times lambda_max of the initial
atoms, alphacsc's ``lmbd_max="scaled"``), LGCD for the z-step and rank-1 atoms, and run
the same number of iterations (skdeep without its baseline removal, ``center=False``,
as alphacsc has none). The table reports fit time, the time to encode a long
multichannel recording (the same atoms, ``--long-times`` samples) with the learned
atoms, and the recovery score of the simulated atoms. A second table gives the cost
and the recovery of skdeep's starts: ``n_init`` chunk restarts and the greedy start.

    python benchmarks/bench_cdl.py            # 10 trials x 5 channels x 2000 samples
    python benchmarks/bench_cdl.py --quick    # a smaller problem
    python benchmarks/bench_cdl.py --uv-constraint joint --window  # their options

Last full run (2 shared cores, other jobs running; 1 thread each)::

  method                   fit (s)   s/iter  transform (s)  iters  recovery   objective
  skdeep CDLTransformer      4.686   0.0937          2.478     50    0.9995     98.3365
  alphacsc BatchCDL         89.294   2.0766         80.914     43    0.9995     98.3295
    speed-up vs alphacsc: fit x19.1 (x22.2 per iteration), transform x32.6
    (5 channels x 100000 samples); z-step alone, same atoms and lambda: x30.3,
    max relative gap of the activations 3.2e-11

    transform                   time (s)  peak extra (MB)  max rel gap
    one-shot                       3.189             13.7      0.0e+00
    chunk_size=20000               3.400              4.0      1.5e-11
    chunk_size=20000, n_jobs=2     3.458              6.9      1.5e-11
    chunk_size=5000, n_jobs=2      5.156              2.8      1.9e-11

    start                fit (s)   iters  recovery
    greedy (default)       3.602      13    0.9995
    chunk, n_init=1        2.031       9    0.9985
    chunk, n_init=3       10.995       9    0.9985
    chunk, n_init=5       18.954       9    0.9985
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _anchor_env import ensure_anchor_env
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from skdeep.datasets import make_cdl_signals
from skdeep.decomposition import CDLTransformer
from skdeep.metrics import dictionary_recovery_score

ENV_DIR = Path(__file__).resolve().parent / "_envs" / "alphacsc"

ANCHOR_CODE = r"""
import json, sys, time
import numpy as np
from alphacsc import BatchCDL
from alphacsc.update_z_multi import update_z_multi

data = np.load(sys.argv[1])
p = json.loads(str(data["params"]))
cdl = BatchCDL(
    n_atoms=p["n_atoms"], n_times_atom=p["n_times_atom"], reg=p["reg"],
    n_iter=p["n_iter"], n_jobs=1, solver_z="lgcd", rank1=True,
    uv_constraint=p["uv_constraint"], solver_d=p["solver_d"], window=p["window"],
    lmbd_max="scaled", eps=p["eps"], D_init=data["uv_init"], verbose=0,
    random_state=0,
)
start = time.perf_counter()
cdl.fit(data["X"])
fit_time = time.perf_counter() - start
start = time.perf_counter()
z_long = cdl.transform(data["X_long"])
transform_time = time.perf_counter() - start
# alphacsc's LGCD with skdeep's atoms and lambda, to compare the z-steps alone
start = time.perf_counter()
z_same = update_z_multi(data["X_long"], data["uv_skdeep"], reg=float(data["lam"]),
                        solver="lgcd", n_jobs=1)[0]
z_step_time = time.perf_counter() - start
np.savez(sys.argv[2], uv_hat=cdl.uv_hat_, z_hat=cdl.z_hat_, z_long=z_long,
         reg=np.max(cdl.reg_), z_same=z_same, z_step_time=z_step_time)
print(json.dumps({"fit_time": fit_time, "transform_time": transform_time,
                  "n_iter": (len(cdl.pobj_) - 1) // 2}))
"""


def run_anchor(python, X, X_long, uv_init, params, uv_skdeep, lam):
    with tempfile.TemporaryDirectory() as tmp:
        data, out, script = (Path(tmp) / f for f in ("data.npz", "out.npz", "a.py"))
        np.savez(data, X=X, X_long=X_long, uv_init=uv_init, params=json.dumps(params),
                 uv_skdeep=uv_skdeep, lam=lam)
        script.write_text(ANCHOR_CODE)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        proc = subprocess.run(
            [str(python), str(script), str(data), str(out)],
            capture_output=True, text=True, env=env,
        )
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return None
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        arrays = np.load(out)
        result.update({k: arrays[k] for k in arrays.files})
        return result


def objective(X, D, z, lam):
    """0.5 ||X - sum_k z_k * D_k||^2 + lam * ||z||_1, the same formula for both."""
    rebuilt = sum(
        np.stack([[np.convolve(zn[k], D[k, c]) for c in range(D.shape[1])]
                  for zn in z])
        for k in range(D.shape[0])
    )
    return 0.5 * np.sum((X - rebuilt) ** 2) + lam * z.sum()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller problem")
    parser.add_argument("--n-iter", type=int, default=None)
    parser.add_argument("--no-anchor", action="store_true", help="skdeep only")
    parser.add_argument("--uv-constraint", choices=["separate", "joint"],
                        default="separate", help="alphacsc's solver_d 'joint' "
                        "runs with 'joint', 'alternate_adaptive' with 'separate'")
    parser.add_argument("--window", action="store_true", help="Tukey-tapered atoms")
    parser.add_argument("--long-times", type=int, default=None,
                        help="length of the long recording encoded by transform")
    args = parser.parse_args(argv)

    if args.quick:
        sizes = dict(n_trials=4, n_channels=5, n_times=800, n_atoms=3, n_times_atom=32)
        n_iter = args.n_iter or 20
    else:
        sizes = dict(n_trials=10, n_channels=5, n_times=2000, n_atoms=3,
                     n_times_atom=64)
        n_iter = args.n_iter or 50
    X, u, v, _ = make_cdl_signals(noise_level=0.1, random_state=0, **sizes)
    D_true = u[:, :, None] * v[:, None, :]
    # one long recording with the same atoms (same seed: same u and v)
    long_times = args.long_times or (20_000 if args.quick else 100_000)
    X_long = make_cdl_signals(noise_level=0.1, random_state=0, **dict(
        sizes, n_trials=1, n_times=long_times))[0]
    reg = 0.1
    params = dict(n_atoms=sizes["n_atoms"], n_times_atom=sizes["n_times_atom"],
                  reg=reg, n_iter=n_iter, eps=1e-10, uv_constraint=args.uv_constraint,
                  solver_d="joint" if args.uv_constraint == "joint"
                  else "alternate_adaptive", window=args.window)

    # both methods start from the same chunks of signal (best rank-1 of each)
    rng = check_random_state(0)
    L = sizes["n_times_atom"]
    uv_init = []
    for _ in range(sizes["n_atoms"]):
        n, t = rng.randint(X.shape[0]), rng.randint(X.shape[2] - L + 1)
        U, _, Vt = np.linalg.svd(X[n, :, t : t + L], full_matrices=False)
        uv_init.append(np.concatenate([U[:, 0], Vt[0]]))
    uv_init = np.array(uv_init)

    cdl = CDLTransformer(n_atoms=sizes["n_atoms"], n_times_atom=sizes["n_times_atom"],
                         reg=reg, max_iter=n_iter, tol=0.0, D_init=uv_init,
                         center=False, uv_constraint=args.uv_constraint,
                         window=args.window, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cdl.set_params(max_iter=2).fit(X[:2])  # compile the numba kernels
        cdl.set_params(max_iter=n_iter)
        start = time.perf_counter()
        cdl.fit(X)
        fit_time = time.perf_counter() - start
    start = time.perf_counter()
    z_long = cdl.transform_activations(X_long)
    transform_time = time.perf_counter() - start
    rows = [("skdeep CDLTransformer", fit_time, transform_time, cdl.n_iter_,
             dictionary_recovery_score(D_true, cdl.D_hat_),
             cdl.loss_curve_[-1] * cdl.scale_**2)]
    lam = float(cdl.lambda_[0])

    anchor = None
    if not args.no_anchor:
        python = ensure_anchor_env(ENV_DIR, ["numpy<2", "alphacsc"])
        if python is not None:
            anchor = run_anchor(python, X, X_long, uv_init, params,
                                np.hstack([cdl.u_hat_, cdl.v_hat_]), lam)
    if anchor is not None:
        C = sizes["n_channels"]
        uv = anchor["uv_hat"]
        D_anchor = uv[:, :C, None] * uv[:, None, C:]
        rows.append(("alphacsc BatchCDL", anchor["fit_time"], anchor["transform_time"],
                     anchor["n_iter"], dictionary_recovery_score(D_true, D_anchor),
                     objective(X, D_anchor, anchor["z_hat"], lam)))
        print(f"lambda: skdeep {lam:.6g}, alphacsc {float(anchor['reg']):.6g}")

    print(f"\ndata: {sizes}, reg={reg}, {n_iter} iterations, uv_constraint="
          f"{args.uv_constraint}, window={args.window}, long recording "
          f"{X_long.shape[1]} channels x {X_long.shape[2]} samples; 1 thread each\n")
    header = ("method", "fit (s)", "s/iter", "transform (s)", "iters", "recovery",
              "objective")
    print("{:<22} {:>9} {:>8} {:>14} {:>6} {:>9} {:>11}".format(*header))
    for name, ft, tt, it, score, obj in rows:
        print(f"{name:<22} {ft:>9.3f} {ft / it:>8.4f} {tt:>14.3f} {it:>6d} "
              f"{score:>9.4f} {obj:>11.4f}")
    if anchor is not None:
        per_iter = (anchor["fit_time"] / anchor["n_iter"]) / (fit_time / cdl.n_iter_)
        print(f"\nspeed-up vs alphacsc: fit x{anchor['fit_time'] / fit_time:.1f} "
              f"(x{per_iter:.1f} per iteration), "
              f"transform x{anchor['transform_time'] / transform_time:.1f}")
        corr = dictionary_recovery_score(cdl.D_hat_, D_anchor)
        print(f"atoms of the two fits: matched correlation {corr:.6f}")
        gap = np.abs(z_long - anchor["z_same"]).max() / np.abs(z_long).max()
        print(f"z-step alone on the long signal, same atoms and lambda: alphacsc "
              f"{float(anchor['z_step_time']):.3f} s, skdeep {transform_time:.3f} s "
              f"(x{float(anchor['z_step_time']) / transform_time:.1f}); "
              f"max relative gap of the activations {gap:.1e}")
    elif not args.no_anchor:
        print("\nalphacsc could not run; only skdeep is reported.")

    # the long recording in chunks: time, traced peak memory (NumPy allocations,
    # beside the returned activations) and the gap to the one-shot solve
    print(f"\ntransform of the long recording ({X_long.shape[1]} channels x "
          f"{X_long.shape[2]} samples): one-shot and in chunks")
    print("{:<26} {:>9} {:>16} {:>12}".format(
        "transform", "time (s)", "peak extra (MB)", "max rel gap"))
    for name, chunk_size, n_jobs in [("one-shot", None, 1),
                                     ("chunk_size=20000", 20_000, 1),
                                     ("chunk_size=20000, n_jobs=2", 20_000, 2),
                                     ("chunk_size=5000, n_jobs=2", 5_000, 2)]:
        cdl.set_params(chunk_size=chunk_size, n_jobs=n_jobs)
        start = time.perf_counter()
        z = cdl.transform_activations(X_long)
        elapsed = time.perf_counter() - start
        tracemalloc.start()
        z = cdl.transform_activations(X_long)
        peak = tracemalloc.get_traced_memory()[1] - z.nbytes
        tracemalloc.stop()
        gap = np.abs(z - z_long).max() / np.abs(z_long).max()
        print(f"{name:<26} {elapsed:>9.3f} {peak / 1e6:>16.1f} {gap:>12.1e}")
    cdl.set_params(chunk_size=None, n_jobs=None)

    # the cost of the starts: n_init chunk restarts against the greedy start
    print("\nstarts (skdeep defaults otherwise: tol=1e-3, max_iter=100)")
    print("{:<18} {:>9} {:>7} {:>9}".format("start", "fit (s)", "iters", "recovery"))
    for name, params in [("greedy (default)", dict(D_init="greedy")),
                         ("chunk, n_init=1", dict(D_init="chunk", n_init=1)),
                         ("chunk, n_init=3", dict(D_init="chunk", n_init=3)),
                         ("chunk, n_init=5", dict(D_init="chunk", n_init=5))]:
        est = CDLTransformer(n_atoms=sizes["n_atoms"], n_times_atom=L, reg=reg,
                             random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            est.fit(X)
            elapsed = time.perf_counter() - start
        print(f"{name:<18} {elapsed:>9.3f} {est.n_iter_:>7d} "
              f"{dictionary_recovery_score(D_true, est.D_hat_):>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
