"""DriPP against the original dripp code (and tick's Hawkes EM) on the same data.

The setting of the paper's Fig. 2/3 (Allain et al., ICLR 2022): two drivers with
inter-stimulus intervals uniform in [1, 1.4] s of which a fraction is kept,
mu = 0.8, alpha = (0.8, 0.8), m = (0.4, 0.4), sigma = (0.2, 0.05), support
[0.03, 0.8] s. For each duration T and kept fraction, each method fits the same
simulated realisations; the table gives the fit time, the time ratio (anchor /
skdeep) and the relative sup-norm error of ``mu + alpha_p kappa_p`` of both. A
second table fits an inhibitory driver whose supports overlap (stimuli every
0.3-0.6 s, alpha = (0.8, -0.3)) with ``alpha_pos=False`` in both codes and gives
the estimated alpha_2 and the largest alpha error over the seeds.

Anchors:

* the original ``dripp`` code (``em_truncated_norm``: kernel discretised at
  ``sfreq=150`` Hz, 50 EM iterations, smart start, as in the paper's
  experiments). It does not run on numpy 2, so the script builds a virtualenv with
  ``numpy<2`` under ``benchmarks/_envs/dripp`` on first use (this needs the package
  index) and runs it in a subprocess. dripp is not on PyPI: pass a checkout of
  https://github.com/CedricAllain/dripp with ``--dripp-source`` (the script tries
  ``git clone`` into ``benchmarks/_envs/dripp-src`` otherwise). Its simulator
  (``simulate_data``, thinning) is also timed against ``make_driven_events``.
* ``tick``'s ``HawkesEM`` (non-parametric, piecewise-constant kernels on
  [0, 0.8] s), the drivers being extra nodes, installed in the same virtualenv.
* When the original code is unavailable, a straightforward discretised-grid EM
  written from the paper (numpy, kernel tabulated at ``sfreq``) stands in for it;
  the table says so.

    python benchmarks/bench_dripp.py                        # T in logspace(2, 4, 3)
    python benchmarks/bench_dripp.py --dripp-source PATH
    python benchmarks/bench_dripp.py --quick
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _anchor_env import ensure_anchor_env
from scipy.special import ndtr
from sklearn.exceptions import ConvergenceWarning

from skdeep.datasets import make_driven_events
from skdeep.metrics import intensity_error
from skdeep.point_process import DriPP
from skdeep.utils._event_pairs import find_pairs
from skdeep.utils._truncnorm import truncnorm_pdf

HERE = Path(__file__).resolve().parent
ENV_DIR = HERE / "_envs" / "dripp"
SRC_DIR = HERE / "_envs" / "dripp-src"
DRIPP_URL = "https://github.com/CedricAllain/dripp"
LOWER, UPPER, SFREQ, N_ITER_PAPER = 0.03, 0.8, 150.0, 50
TICK_GRID = np.linspace(0.0, 1.0, 2001)
INHIBITION = dict(n_drivers=2, baseline=1.0, alpha=[0.8, -0.3],
                  kernel_mean=[0.4, 0.3], kernel_std=[0.1, 0.15])

ANCHOR_CODE = r"""
import json, os, sys, time, types, warnings
import numpy as np
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
try:
    from tick.hawkes import HawkesEM
    HAVE_TICK = True
except Exception:  # dripp's simulator imports tick; its EM does not need it
    HAVE_TICK = False
    tick = types.ModuleType("tick"); hawkes = types.ModuleType("tick.hawkes")
    hawkes.SimuPoissonProcess = None
    sys.modules["tick"] = tick; sys.modules["tick.hawkes"] = hawkes
from dripp.trunc_norm_kernel.optim import em_truncated_norm

data = np.load(sys.argv[2])
meta = json.loads(str(data["meta"]))
grid = data["grid"]
results = []
for k, item in enumerate(meta["datasets"]):
    target = data[f"t{k}_0"]
    drivers = [data[f"t{k}_{p + 1}"] for p in range(item["n_drivers"])]
    start = time.perf_counter()
    try:
        out = em_truncated_norm(
            target, drivers, lower=meta["lower"], upper=meta["upper"],
            T=item["T"], sfreq=meta["sfreq"], initializer="smart_start",
            alpha_pos=item.get("alpha_pos", True),
            n_iter=meta["n_iter"], disable_tqdm=True)
        baseline, alpha, m, sigma = out[0]
    except Exception as exc:  # its alpha_pos=False may fail on log(lambda <= 0)
        print(f"dripp failed: {exc!r}", file=sys.stderr)
        nan = [float("nan")] * item["n_drivers"]
        baseline, alpha, m, sigma = float("nan"), nan, nan, nan
    fit_time = time.perf_counter() - start
    row = dict(dripp_time=fit_time, baseline=float(baseline),
               alpha=np.asarray(alpha, float).tolist(),
               m=np.asarray(m, float).tolist(),
               sigma=np.asarray(sigma, float).tolist())
    if HAVE_TICK and meta["tick"] and item.get("alpha_pos", True):
        try:
            em = HawkesEM(kernel_support=meta["upper"], kernel_size=16,
                          n_threads=1, max_iter=meta["n_iter"], tol=1e-8)
            start = time.perf_counter()
            em.fit([target, *drivers], end_times=item["T"])
            row["tick_time"] = time.perf_counter() - start
            row["tick_curves"] = [
                (em.baseline[0] + em.get_kernel_values(0, p + 1, grid)).tolist()
                for p in range(item["n_drivers"])]
        except Exception as exc:  # tick's wheels break on some Pythons
            print(f"tick HawkesEM failed: {exc!r}", file=sys.stderr)
            HAVE_TICK = False
    results.append(row)
simu_time = None
if meta["simu_T"]:
    try:
        from dripp.trunc_norm_kernel.simu import simulate_data
        start = time.perf_counter()
        simulate_data(lower=meta["lower"], upper=meta["upper"], m=[0.4, 0.4],
                      sigma=[0.2, 0.05], sfreq=meta["sfreq"], baseline=0.8,
                      alpha=[0.8, 0.8], T=meta["simu_T"], isi=[1.4, 1.0],
                      n_tasks=0.6, n_drivers=2, seed=0, return_nll=False)
        simu_time = time.perf_counter() - start
    except Exception as exc:
        print(f"dripp simulate_data failed: {exc!r}", file=sys.stderr)
print(json.dumps({"results": results, "tick": HAVE_TICK and meta["tick"],
                  "simu_time": simu_time}))
"""


def ensure_dripp_source(path):
    if path is not None:
        return Path(path) if (Path(path) / "dripp").is_dir() else None
    if (SRC_DIR / "dripp").is_dir():
        return SRC_DIR
    proc = subprocess.run(
        ["git", "clone", "-q", "--depth", "1", DRIPP_URL, str(SRC_DIR)],
        capture_output=True, check=False,
    )
    return SRC_DIR if proc.returncode == 0 else None


def run_anchor(python, source, datasets, use_tick, simu_T):
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "data.npz", Path(tmp) / "anchor.py"
        arrays, meta = {}, []
        for k, (X, T, *flags) in enumerate(datasets):
            for p, times in enumerate(X[0]):
                arrays[f"t{k}_{p}"] = times
            meta.append({"T": T, "n_drivers": len(X[0]) - 1,
                         "alpha_pos": not flags})
        info = dict(datasets=meta, lower=LOWER, upper=UPPER, sfreq=SFREQ,
                    n_iter=N_ITER_PAPER, tick=use_tick, simu_T=simu_T)
        np.savez(data, meta=json.dumps(info), grid=TICK_GRID, **arrays)
        script.write_text(ANCHOR_CODE)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", MPLBACKEND="Agg")
        proc = subprocess.run(
            [str(python), str(script), str(source), str(data)],
            capture_output=True, text=True, env=env,
        )
        if proc.returncode != 0 or not proc.stdout.strip():
            print(proc.stderr[-3000:])
            return None
        if proc.stderr.strip():
            print(proc.stderr.strip()[-500:])
        return json.loads(proc.stdout.strip().splitlines()[-1])


def grid_em(target, drivers, T, n_iter=N_ITER_PAPER, sfreq=SFREQ):
    """Fallback anchor: the paper's EM with delays and kernel on a time grid.

    A plain reimplementation (numpy, one pass per driver and iteration), used only
    when the original code cannot run.
    """
    grid = np.arange(LOWER, UPPER + 1 / sfreq, 1 / sfreq)
    pairs = []
    for driver in drivers:
        idx, delay = find_pairs(target, driver, LOWER, UPPER)
        pairs.append((idx, np.clip(np.round((delay - LOWER) * sfreq), 0,
                                   grid.size - 1).astype(int)))
    # smart start from the empirical delays (on the grid)
    n_in = np.unique(np.concatenate([idx for idx, _ in pairs])).size
    covered = sum(min(UPPER - LOWER, gap) for gap in np.diff(
        np.sort(np.concatenate(drivers)))) + UPPER - LOWER
    mu = (target.size - n_in) / (T - covered)
    alpha, m, s = [], [], []
    for (_, cell), driver in zip(pairs, drivers):
        d = grid[cell]
        support = sum(min(UPPER - LOWER, g) for g in np.diff(driver)) + UPPER - LOWER
        alpha.append(max(d.size / support - mu, 0.0))
        m.append(d.mean())
        s.append(d.std())
    alpha, m, s = (np.array(v) for v in (alpha, m, s))
    for _ in range(n_iter):
        mass = ndtr((UPPER - m) / s) - ndtr((LOWER - m) / s)
        tables = [a * np.exp(-0.5 * ((grid - mp) / sp) ** 2) / (sp * np.sqrt(
            2 * np.pi) * z) for a, mp, sp, z in zip(alpha, m, s, mass)]
        lam = np.full(target.size, mu)
        for (idx, cell), table in zip(pairs, tables):
            np.add.at(lam, idx, table[cell])
        new_mu = np.sum(mu / lam) / T
        for p, ((idx, cell), table) in enumerate(zip(pairs, tables)):
            r = table[cell] / lam[idx]
            total = r.sum()
            if total <= 0:
                continue
            d = grid[cell]
            a, b = (LOWER - m[p]) / s[p], (UPPER - m[p]) / s[p]
            c = s[p] * np.sqrt(2 * np.pi) * mass[p]
            ea, eb = np.exp(-a * a / 2), np.exp(-b * b / 2)
            c_s = a * ea - b * eb + c / s[p]
            new_s = np.cbrt(c / c_s * np.sum(r * (d - m[p]) ** 2) / total)
            m[p] = np.sum(r * d) / total - s[p] ** 2 * (ea - eb) / c
            s[p] = max(new_s, 1e-5)
            alpha[p] = total / drivers[p].size
        mu = new_mu
    return mu, alpha, m, s


def tick_error(truth, curves):
    errors = []
    for p, curve in enumerate(curves):
        true = truth["baseline"] + truth["alpha"][p] * truncnorm_pdf(
            TICK_GRID, truth["kernel_mean"][p], truth["kernel_std"][p], LOWER, UPPER
        )
        errors.append(np.max(np.abs(true - np.asarray(curve))) / true.max())
    return max(errors)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--n-seeds", type=int, default=None)
    parser.add_argument("--dripp-source", default=None,
                        help="a checkout of the original dripp repository")
    parser.add_argument("--no-anchor", action="store_true", help="skdeep only")
    parser.add_argument("--no-tick", action="store_true")
    args = parser.parse_args(argv)

    durations = [100.0, 1000.0] if args.quick else list(np.logspace(2, 4, 3))
    fractions = [0.6] if args.quick else [0.1, 0.3, 0.6]
    n_seeds = args.n_seeds or (1 if args.quick else 2)
    simu_T = 200.0 if args.quick else 1000.0

    # short, sparse recordings may stop at max_iter: the table shows the iterations
    warnings.simplefilter("ignore", ConvergenceWarning)
    DriPP(lower=LOWER, upper=UPPER).fit(make_driven_events(end_time=50.0)[0])
    settings, datasets, rows = [], [], []
    for T in durations:
        for frac in fractions:
            for seed in range(n_seeds):
                X, truth = make_driven_events(
                    end_time=T, kept_fraction=frac, lower=LOWER, upper=UPPER,
                    random_state=seed,
                )
                start = time.perf_counter()
                model = DriPP(lower=LOWER, upper=UPPER).fit(X, end_time=T)
                rows.append(dict(T=T, frac=frac, time=time.perf_counter() - start,
                                 error=intensity_error(truth, model),
                                 n_iter=model.n_iter_))
                settings.append(truth)
                datasets.append((X, float(T)))

    # an inhibitory driver whose supports overlap (stimuli every 0.3-0.6 s on a
    # 0.77 s support): DriPP(alpha_pos=False), against dripp's alpha_pos=False
    inhibition_rows = []
    for T in ([1000.0, 3000.0] if args.quick else [1000.0, 3000.0, 10000.0]):
        for seed in range(max(n_seeds, 2)):
            X, truth = make_driven_events(
                end_time=T, random_state=seed, isi=(0.3, 0.6), **INHIBITION)
            start = time.perf_counter()
            model = DriPP(lower=LOWER, upper=UPPER, alpha_pos=False).fit(
                X, end_time=T)
            inhibition_rows.append(dict(
                T=T, time=time.perf_counter() - start, alpha=model.alpha_,
                n_iter=model.n_iter_, index=len(datasets)))
            datasets.append((X, float(T), "inhibition"))

    anchor, anchor_name = None, "original dripp (numpy<2 virtualenv)"
    if not args.no_anchor:
        source = ensure_dripp_source(args.dripp_source)
        python = None
        if source is not None:
            python = ensure_anchor_env(
                ENV_DIR,
                ["numpy<2", "scipy", "matplotlib", "tqdm", "pandas"],
                optional=("tick",),  # the Hawkes anchor and dripp's simulator
            )
        if source is None:
            print(f"original dripp source not found (clone {DRIPP_URL} and pass "
                  "--dripp-source)")
        if python is not None:
            anchor = run_anchor(python, source, datasets, not args.no_tick, simu_T)
        if anchor is None:
            anchor_name = "paper's EM on a 150 Hz grid (reimplementation, numpy)"
            results = []
            for X, T, *_ in datasets:
                start = time.perf_counter()
                mu, alpha, m, s = grid_em(X[0][0], X[0][1:], T)
                results.append(dict(dripp_time=time.perf_counter() - start,
                                    baseline=mu, alpha=alpha, m=m, sigma=s))
            anchor = {"results": results, "tick": False, "simu_time": None}

    print(f"\nanchor: {anchor_name if anchor else 'none'}; skdeep DriPP: exact "
          f"delays, numba EM, tol-based stop; anchor: {N_ITER_PAPER} iterations")
    header = (f"{'T (s)':>7} {'kept':>5} | {'skdeep s':>9} {'err':>6} {'iter':>5} |"
              f" {'anchor s':>9} {'err':>6} {'ratio':>7}")
    if anchor and anchor["tick"]:
        header += f" | {'tick s':>7} {'err':>6}"
    print(header)
    print("-" * len(header))
    keys = sorted({(r["T"], r["frac"]) for r in rows})
    for T, frac in keys:
        members = [i for i, r in enumerate(rows) if (r["T"], r["frac"]) == (T, frac)]
        sk_time = np.mean([rows[i]["time"] for i in members])
        sk_err = np.mean([rows[i]["error"] for i in members])
        n_iter = np.mean([rows[i]["n_iter"] for i in members])
        line = f"{T:7.0f} {frac:5.1f} | {sk_time:9.4f} {sk_err:6.3f} {n_iter:5.0f} |"
        if anchor:
            res = [anchor["results"][i] for i in members]
            an_time = np.mean([r["dripp_time"] for r in res])
            an_err = np.mean([
                intensity_error(settings[i], dict(
                    baseline=r["baseline"], alpha=r["alpha"], kernel_mean=r["m"],
                    kernel_std=r["sigma"], lower=LOWER, upper=UPPER))
                for i, r in zip(members, res)
            ])
            line += f" {an_time:9.4f} {an_err:6.3f} {an_time / sk_time:6.0f}x"
            if anchor["tick"]:
                tk_time = np.mean([r["tick_time"] for r in res])
                tk_err = np.mean([tick_error(settings[i], r["tick_curves"])
                                  for i, r in zip(members, res)])
                line += f" | {tk_time:7.3f} {tk_err:6.3f}"
        print(line)

    true_alpha = np.array(INHIBITION["alpha"])
    print(f"\ninhibition, overlapping supports (isi 0.3-0.6 s, alpha = "
          f"{true_alpha.tolist()}): max |alpha error| over "
          f"{max(n_seeds, 2)} seeds")
    header = (f"{'T (s)':>7} | {'skdeep s':>9} {'alpha_2':>8} {'max err':>8} "
              f"{'iter':>5} | {'anchor s':>9} {'alpha_2':>8} {'max err':>8}")
    print(header)
    print("-" * len(header))
    for T in sorted({r["T"] for r in inhibition_rows}):
        group = [r for r in inhibition_rows if r["T"] == T]
        alphas = np.array([r["alpha"] for r in group])
        line = (f"{T:7.0f} | {np.mean([r['time'] for r in group]):9.3f} "
                f"{alphas[:, 1].mean():8.3f} "
                f"{np.abs(alphas - true_alpha).max():8.3f} "
                f"{np.mean([r['n_iter'] for r in group]):5.0f} |")
        if anchor and len(anchor["results"]) > group[-1]["index"]:
            res = [anchor["results"][r["index"]] for r in group]
            an_alpha = np.array([r["alpha"] for r in res])
            line += (f" {np.mean([r['dripp_time'] for r in res]):9.3f} "
                     f"{an_alpha[:, 1].mean():8.3f} "
                     f"{np.abs(an_alpha - true_alpha).max():8.3f}")
        print(line)

    start = time.perf_counter()
    make_driven_events(end_time=simu_T, random_state=0)
    sim_time = time.perf_counter() - start
    line = f"\nsimulation of T={simu_T:.0f} s: skdeep {sim_time:.4f} s"
    if anchor and anchor["simu_time"] is not None:
        line += (f", original thinning {anchor['simu_time']:.2f} s "
                 f"({anchor['simu_time'] / sim_time:.0f}x)")
    print(line)


if __name__ == "__main__":
    sys.exit(main())
