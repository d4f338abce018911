"""
=========================================================
Integrating unpaired multi-omics data with MODIS
=========================================================

Two simulated omics (an expression-like continuous modality and a count-like
one) are measured on *different* samples: each sample has NaN in the block of
the modality it was not measured in. Only 10 % of the samples carry a class
label, and class 4 is never labeled in the count modality.

:class:`~skdeep.neural.MODISIntegrator` learns one VAE per modality into a
shared latent space, a class head, and a modality adversary trained with the
regularised relativistic GAN loss. We compare the latent space with and
without the adversary (coloured by modality and by class), and the accuracy on
the unlabeled samples against per-modality logistic regressions.
"""

# %%
# Data
# ----
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skdeep.datasets import make_multiomics
from skdeep.metrics import (
    cross_modal_transfer_accuracy,
    modality_mixing_score,
    modality_prediction_score,
    semi_supervised_scores,
)
from skdeep.neural import MODISIntegrator

sizes = (100, 80)
X, y, y_true, modality = make_multiomics(
    n_samples=2000, n_features=sizes, labeled_fraction=0.1,
    unlabeled_classes={1: [4]}, random_state=0,
)
print(f"X {X.shape}, labeled {np.mean(y != -1):.0%}, "
      f"per modality {np.bincount(modality).tolist()}")

# %%
# Baseline: one logistic regression per modality, on its own labels
# -----------------------------------------------------------------
unlabeled = y == -1
baseline = np.empty_like(y)
start = 0
for m, d in enumerate(sizes):
    rows, cols = modality == m, slice(start, start + d)
    start += d
    labeled = rows & ~unlabeled
    lr = LogisticRegression(max_iter=2000).fit(X[labeled][:, cols], y[labeled])
    baseline[rows] = lr.predict(X[rows][:, cols])

# %%
# MODIS with and without the adversary
# ------------------------------------
models, rows = {}, []
hidden = (modality == 1) & (y_true == 4)
for name, adversarial in [("no adversary", None), ("rpgan", "rpgan"),
                          ("ce", "ce")]:
    model = MODISIntegrator(modalities=list(sizes), n_components=8,
                            adversarial=adversarial, max_iter=40, random_state=0)
    start = time.perf_counter()
    # a fixed budget of 40 epochs keeps the example short; the stopping rule
    # would train on, so the ConvergenceWarning it raises is expected here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    fit_time = time.perf_counter() - start
    Z = model.transform(X)
    pred = model.predict(X)
    models[name] = Z
    rows.append((name, semi_supervised_scores(y_true, pred, y)["accuracy"],
                 np.mean(pred[hidden] == 4), modality_mixing_score(Z, modality),
                 modality_prediction_score(Z, modality),
                 cross_modal_transfer_accuracy(Z, y_true, modality), fit_time))
rows.insert(0, ("per-modality LR", semi_supervised_scores(y_true, baseline, y)[
    "accuracy"], np.mean(baseline[hidden] == 4), np.nan, np.nan, np.nan, np.nan))

print(f"{'method':16s} {'unl. acc':>8s} {'cls4@B':>7s} {'mixing':>7s} "
      f"{'mod.acc':>7s} {'transfer':>8s} {'fit s':>6s}")
for name, acc, c4, mix, mod_acc, transfer, fit_time in rows:
    print(f"{name:16s} {acc:8.3f} {c4:7.3f} {mix:7.3f} {mod_acc:7.3f} "
          f"{transfer:8.3f} {fit_time:6.1f}")

# %%
# The latent space, before and after the adversary
# ------------------------------------------------
# A 2-D PCA of the latent means. Without the adversary the two modalities sit
# apart; with it they overlap and the classes of both modalities coincide.
fig, axes = plt.subplots(2, 2, figsize=(9, 8))
for col, name in enumerate(["no adversary", "rpgan"]):
    xy = PCA(n_components=2).fit_transform(models[name])
    for m, marker in enumerate(["o", "^"]):
        rows_m = modality == m
        axes[0, col].scatter(*xy[rows_m].T, s=4, marker=marker,
                             label=f"modality {m}", alpha=0.5)
    axes[1, col].scatter(*xy.T, c=y_true, s=4, cmap="tab10", alpha=0.6)
    axes[0, col].set_title(f"{name}: coloured by modality")
    axes[1, col].set_title(f"{name}: coloured by class")
axes[0, 0].legend(markerscale=3)
fig.tight_layout()
plt.show()
