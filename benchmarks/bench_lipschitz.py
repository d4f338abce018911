"""Benchmark of LipschitzClassifier against deel-torchlip and an unconstrained MLP.

Real data sets that ship inside scikit-learn: ``breast_cancer`` (2 classes, 30
features) and ``digits`` (10 classes, 64 features). Each set is split 70 / 30
(stratified, seeded) and standardised with a ``StandardScaler`` fitted on the
training part; radii are in those standardised units.

Compared, in one run, on one thread:

- skdeep's ``LipschitzClassifier`` (Björck-constrained dense layers, GroupSort2,
  hinge-KR loss), given float32 ``X`` so that it trains in float32 as
  deel-torchlip does (and, for reference, given float64 ``X``: it then trains in
  float64);
- deel-torchlip with the same architecture and loss: ``SpectralLinear`` layers
  (spectral normalisation then Björck), ``GroupSort2``, ``HKRLoss`` /
  ``HKRMulticlassLoss`` with ``alpha = 1 / (1 + our alpha)`` and
  ``min_margin = 2 * our margin`` (the same loss up to a constant factor),
  trained by a plain PyTorch loop with the same optimiser (Adam), learning
  rate, batch size, number of epochs and initial seed, and exported with
  ``vanilla_export`` for evaluation;
- scikit-learn's ``MLPClassifier`` (ReLU, same hidden sizes): no certificate.

Both Lipschitz models train for the same fixed number of epochs (``tol=0``).
Reported per set: clean test accuracy, certified accuracy at each ``eps``
(correct and certified radius ``> eps``: ``|f|`` for two classes,
``(top1 - top2) / sqrt(2)`` beyond, for both Lipschitz models), robust
accuracy under an l2 PGD attack at ``eps`` (an upper bound of the true robust
accuracy, which the certified accuracy bounds from below), the fit time per
epoch and the time ratio (deel-torchlip / skdeep; above 1 means skdeep is
faster). Every figure is the mean over the seeds.

Run from an environment with deel-torchlip installed::

    python benchmarks/bench_lipschitz.py            # 3 seeds, about 3 minutes
    python benchmarks/bench_lipschitz.py --quick    # 1 seed, fewer epochs
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skdeep.neural import LipschitzClassifier  # noqa: E402

torch.set_num_threads(1)

LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}
EPSILONS = (0.25, 0.5, 1.0)
HIDDEN = (64, 64)
ALPHA, MARGIN, LR, BATCH = 0.02, 1.0, 5e-3, 128


# -- deel-torchlip ---------------------------------------------------------------
def _deel_fit(X, y_enc, n_classes, epochs, seed):
    """Train the deel-torchlip network; (exported model, seconds per epoch)."""
    from deel import torchlip

    torch.manual_seed(seed)
    n_out = 1 if n_classes == 2 else n_classes
    sizes = [X.shape[1], *HIDDEN, n_out]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torchlip.SpectralLinear(a, b))
        if i < len(sizes) - 2:
            layers.append(torchlip.GroupSort2())
    model = torchlip.Sequential(*layers)
    a = 1.0 / (1.0 + ALPHA)
    if n_classes == 2:
        loss_fn = torchlip.HKRLoss(alpha=a, min_margin=2 * MARGIN)
        target = torch.as_tensor(2.0 * y_enc - 1.0, dtype=torch.float32)[:, None]
    else:
        loss_fn = torchlip.HKRMulticlassLoss(alpha=a, min_margin=2 * MARGIN)
        target = torch.nn.functional.one_hot(
            torch.as_tensor(y_enc), n_classes
        ).to(torch.float32)
    x = torch.as_tensor(X, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for s in range(0, len(x), BATCH):
            idx = order[s : s + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), target[idx])
            loss.backward()
            optimizer.step()
    per_epoch = (time.perf_counter() - start) / epochs
    model.eval()
    return model.vanilla_export().to(torch.float64), per_epoch


# -- evaluation ------------------------------------------------------------------
def _scores(forward, X):
    with torch.no_grad():
        return forward(torch.as_tensor(X, dtype=torch.float64)).numpy()


def _radius(scores):
    if scores.shape[1] == 1:
        return np.abs(scores[:, 0])
    top = np.sort(scores, axis=1)
    return (top[:, -1] - top[:, -2]) / np.sqrt(2.0)


def _predict(scores):
    return (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(1)


def _margin(out, y):
    """Positive while the prediction is ``y``: ``y f`` or ``f_y - max f_other``."""
    if out.shape[1] == 1:
        return (2.0 * y - 1.0) * out[:, 0]
    true = out.gather(1, y[:, None])[:, 0]
    other = out.scatter(1, y[:, None], -np.inf).amax(1)
    return true - other


def pgd_robust_accuracy(forward, X, y, eps, steps=50):
    """Accuracy under an l2 PGD attack of radius ``eps`` (margin loss)."""
    x0 = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y)
    delta = torch.zeros_like(x0, requires_grad=True)
    step = 2.5 * eps / steps
    fooled = torch.zeros(len(x0), dtype=torch.bool)
    for _ in range(steps):
        margin = _margin(forward(x0 + delta), yt)
        fooled |= (margin <= 0).detach()
        (grad,) = torch.autograd.grad(margin.sum(), delta)
        with torch.no_grad():
            g = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
            delta -= step * g
            norm = delta.norm(dim=1, keepdim=True)
            delta *= torch.clamp(eps / norm.clamp_min(1e-12), max=1.0)
    with torch.no_grad():
        fooled |= _margin(forward(x0 + delta), yt) <= 0
    return float((~fooled).numpy().mean())


def _mlp_forward(mlp):
    Ws = [torch.as_tensor(W) for W in mlp.coefs_]
    bs = [torch.as_tensor(b) for b in mlp.intercepts_]

    def forward(x):
        for i, (W, b) in enumerate(zip(Ws, bs)):
            x = x @ W + b
            if i < len(Ws) - 1:
                x = torch.relu(x)
        return x

    return forward


def _evaluate(forward, X, y, certified=True):
    scores = _scores(forward, X)
    correct = _predict(scores) == y
    row = {"acc": correct.mean()}
    radius = _radius(scores)
    for eps in EPSILONS:
        if certified:
            row[f"cert@{eps}"] = (correct & (radius > eps)).mean()
        row[f"pgd@{eps}"] = pgd_robust_accuracy(forward, X, y, eps)
    return row


def run_set(name, seed, epochs):
    X, y = LOADERS[name](return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    classes, ytr = np.unique(ytr, return_inverse=True)
    yte = np.searchsorted(classes, yte)
    rows = {}

    for label, dtype in [("skdeep LipschitzClassifier", np.float32),
                         ("skdeep, float64 X", np.float64)]:
        clf = LipschitzClassifier(
            hidden_layer_sizes=HIDDEN, alpha=ALPHA, margin=MARGIN, learning_rate=LR,
            batch_size=BATCH, max_iter=epochs, tol=0.0, device="cpu",
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            clf.fit(Xtr.astype(dtype), ytr)
            seconds = (time.perf_counter() - start) / clf.n_iter_
        rows[label] = {**_evaluate(clf.net_, Xte, yte), "s/epoch": seconds}

    deel_model, deel_time = _deel_fit(Xtr, ytr, classes.size, epochs, seed)
    rows["deel-torchlip (same net, loss)"] = {
        **_evaluate(deel_model, Xte, yte), "s/epoch": deel_time
    }

    mlp = MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=epochs,
                        random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        mlp.fit(Xtr, ytr)
        mlp_time = (time.perf_counter() - start) / mlp.n_iter_
    rows["MLPClassifier (unconstrained)"] = {
        **_evaluate(_mlp_forward(mlp), Xte, yte, certified=False),
        "s/epoch": mlp_time,
    }
    return rows


def _warm_up():
    """Run both trainers once, untimed: the first torch fit of a process pays
    one-off imports and initialisations."""
    X, y = datasets.load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LipschitzClassifier(max_iter=2, device="cpu").fit(X, y)
    _deel_fit(X, y, 3, 2, 0)


def _print_table(name, runs):
    keys = ["acc", *[f"cert@{e}" for e in EPSILONS], *[f"pgd@{e}" for e in EPSILONS],
            "s/epoch"]
    print(f"\n{name} ({len(runs)} seed(s); eps in standardised units)")
    print(f"{'model':<32}" + "".join(f"{k:>10}" for k in keys))
    for model in runs[0]:
        cells = []
        for k in keys:
            values = [run[model].get(k) for run in runs]
            cells.append(
                f"{'-':>10}" if values[0] is None
                else f"{np.mean(values):>10.4f}" if k == "s/epoch"
                else f"{np.mean(values):>10.3f}"
            )
        print(f"{model:<32}" + "".join(cells))
    ours = np.mean([r["skdeep LipschitzClassifier"]["s/epoch"] for r in runs])
    deel = np.mean([r["deel-torchlip (same net, loss)"]["s/epoch"] for r in runs])
    print(f"time ratio per epoch (deel-torchlip / skdeep): {deel / ours:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one seed and 30 epochs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--sets", nargs="+", default=list(LOADERS))
    args = parser.parse_args()
    seeds = 1 if args.quick else args.seeds
    epochs = 30 if args.quick else args.epochs
    _warm_up()
    for name in args.sets:
        runs = [run_set(name, seed, epochs) for seed in range(seeds)]
        _print_table(name, runs)


if __name__ == "__main__":
    main()
