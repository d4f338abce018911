"""skdeep's INNA against the authors' PyTorch INNA, step by step.

Castera, Bolte, Févotte and Pauwels (JMLR 2021) publish their optimiser in the
repository camcastera/INNA-for-DeepLearning. Given a local checkout of it, this
script trains two copies of one small network (the same initial weights, the
same mini-batches of the iris data bundled with scikit-learn) for 100 steps, one
with the authors' ``INNA`` and one with :class:`skdeep.utils.INNA`, and prints the
largest difference between the two sets of weights over all the steps, next to
how far the weights moved (so that a small difference is not a frozen run).
Nothing is downloaded.

.. code-block:: bash

    git clone https://github.com/camcastera/INNA-for-DeepLearning /tmp/inna
    python benchmarks/bench_inna_anchor.py --authors-code /tmp/inna

Settings: the authors' defaults (``lr=0.1, alpha=0.5, beta=0.1``), the same with
their per-step decay ``decaypower=0.5``, and a setting whose step differs from
``beta`` (``lr=0.05, alpha=1.3, beta=0.5``), each in float64 and float32.
``weight_decay`` is left at 0: the authors add it to the weight update only,
skdeep adds it to the gradient (as :class:`torch.optim.SGD`).
"""

import argparse
import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_iris

from skdeep.utils import INNA

N_STEPS = 100
BATCH_SIZE = 32
SETTINGS = [
    ("defaults", dict(lr=0.1, alpha=0.5, beta=0.1), 0.0),
    ("defaults, decaypower=0.5", dict(lr=0.1, alpha=0.5, beta=0.1), 0.5),
    ("lr=0.05, alpha=1.3, beta=0.5", dict(lr=0.05, alpha=1.3, beta=0.5), 0.0),
]


def load_authors_inna(path):
    """The authors' ``INNA`` class from a checkout (or its ``inna.py``)."""
    path = Path(path)
    candidates = [path] if path.is_file() else [
        path / "INNA_for_pytorch" / "inna.py", path / "inna.py"
    ]
    for candidate in candidates:
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location("authors_inna", candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.INNA, candidate
    sys.exit(f"no INNA_for_pytorch/inna.py under {path}")


def make_data():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    # float32 values, so that the float32 runs and their float64 reference see
    # the same data
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)


def make_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )


def flat(net):
    return torch.cat([p.detach().reshape(-1).double() for p in net.parameters()])


def trajectory(optimizer_class, hyper, decaypower, dtype, seed=0):
    """The weights after each of the ``N_STEPS`` steps, and the final loss."""
    X, y = make_data()
    X = X.to(dtype)
    net = make_net(seed).to(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = dict(hyper, **{
            "decay_power" if optimizer_class is INNA else "decaypower": decaypower
        })
        optimizer = optimizer_class(net.parameters(), **kwargs)
    order = torch.Generator().manual_seed(seed)
    loss_fn = torch.nn.CrossEntropyLoss()
    weights, batches = [flat(net)], []
    for _ in range(N_STEPS):
        if not batches:
            batches = list(torch.randperm(len(X), generator=order).split(BATCH_SIZE))
        index = batches.pop(0)
        optimizer.zero_grad()
        loss_fn(net(X[index]), y[index]).backward()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # their deprecated sub_ overload
            optimizer.step()
        weights.append(flat(net))
    with torch.no_grad():
        loss = float(loss_fn(net(X), y))
    return torch.stack(weights), loss


def max_difference(a, b):
    return float((a - b).abs().max())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authors-code", required=True,
                        help="checkout of camcastera/INNA-for-DeepLearning")
    args = parser.parse_args(argv)
    authors_inna, where = load_authors_inna(args.authors_code)
    torch.set_num_threads(1)
    print(f"authors' code: {where.name}; torch {torch.__version__}; "
          f"iris, MLP 4-16-3, batches of {BATCH_SIZE}, {N_STEPS} steps\n")
    header = (f"{'setting':<30}{'dtype':<9}{'|ours - authors|':>18}"
              f"{'|ours - ref|':>14}{'|authors - ref|':>17}{'|moved|':>9}"
              f"{'loss':>8}")
    print(header)
    print("-" * len(header))
    worst_float64 = 0.0
    for name, hyper, decaypower in SETTINGS:
        # the reference: the authors' scheme in float64 from the same weights
        reference, _ = trajectory(authors_inna, hyper, decaypower, torch.float64)
        for dtype in (torch.float64, torch.float32):
            ours, loss = trajectory(INNA, hyper, decaypower, dtype)
            theirs, _ = trajectory(authors_inna, hyper, decaypower, dtype)
            worst = max_difference(ours, theirs)
            if dtype == torch.float64:
                worst_float64 = max(worst_float64, worst)
            print(f"{name:<30}{str(dtype).split('.')[1]:<9}{worst:>18.2e}"
                  f"{max_difference(ours, reference):>14.2e}"
                  f"{max_difference(theirs, reference):>17.2e}"
                  f"{max_difference(ours[-1], ours[0]):>9.3f}{loss:>8.4f}")
    verdict = "equal" if worst_float64 <= 1e-6 else "DIFFERENT"
    print(f"\nmax over the {N_STEPS} steps and the weights; ref: the authors' "
          "optimiser in float64 from the same weights and data.")
    print(f"float64: {verdict} to 1e-6 (max difference {worst_float64:.2e})")
    return 0 if np.isfinite(worst_float64) and worst_float64 <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
