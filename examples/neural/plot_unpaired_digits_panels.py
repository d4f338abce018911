"""
=============================================================
Unpaired panels of real measurements: digits seen by halves
=============================================================

A stand-in for diagonal integration on real measurements that install offline:
scikit-learn's handwritten digits (8 x 8 images) are cut into two feature
panels, the left half and the right half of the image, and every image is
measured with ONE panel only (unpaired: no sample has both). 20 % of the
images are labeled, and digit 9 is labeled in the left panel only.

Per-panel classifiers cannot name a right-panel 9. :class:`~skdeep.neural.
MODISIntegrator` aligns the two panels in one latent space through the shared
labels and the modality adversary, and carries the name over.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skdeep.metrics import modality_mixing_score, semi_supervised_scores
from skdeep.neural import MODISIntegrator

digits = load_digits()
images, y_true = digits.images, digits.target
rng = np.random.RandomState(0)
n = len(y_true)
left = images[:, :, :4].reshape(n, -1)
right = images[:, :, 4:].reshape(n, -1)
panel = rng.permutation(np.arange(n) % 2)  # which half each image is measured by
X = np.hstack([left, right])
X[panel == 0, 32:] = np.nan
X[panel == 1, :32] = np.nan

y = y_true.copy()
y[rng.uniform(size=n) > 0.2] = -1
y[(panel == 1) & (y_true == 9)] = -1  # 9 labeled in the left panel only

# %%
# Per-panel logistic regressions on their own labels
# --------------------------------------------------
baseline = np.empty_like(y)
for p, cols in enumerate([slice(0, 32), slice(32, 64)]):
    rows = panel == p
    labeled = rows & (y != -1)
    lr = LogisticRegression(max_iter=5000).fit(X[labeled][:, cols], y[labeled])
    baseline[rows] = lr.predict(X[rows][:, cols])

# %%
# MODIS on the two panels
# -----------------------
results = {}
for name, adversarial in [("no adversary", None), ("rpgan", "rpgan")]:
    model = MODISIntegrator(modalities=[32, 32], n_components=16,
                            adversarial=adversarial, max_iter=60,
                            class_weight="balanced", random_state=0)
    # a fixed budget of 60 epochs keeps the example short; the stopping rule
    # would train on, so the ConvergenceWarning it raises is expected here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    results[name] = model

hidden = (panel == 1) & (y_true == 9)
print(f"{'method':16s} {'unl. acc':>8s} {'right-panel 9s':>14s} {'mixing':>7s}")
print(f"{'per-panel LR':16s} "
      f"{semi_supervised_scores(y_true, baseline, y)['accuracy']:8.3f} "
      f"{np.mean(baseline[hidden] == 9):14.3f} {'':>7s}")
for name, model in results.items():
    pred = model.predict(X)
    print(f"{name:16s} {semi_supervised_scores(y_true, pred, y)['accuracy']:8.3f} "
          f"{np.mean(pred[hidden] == 9):14.3f} "
          f"{modality_mixing_score(model.transform(X), panel):7.3f}")

# %%
# Translating a left half into a right half
# -----------------------------------------
# The decoder of the right panel draws the missing half of left-panel images.
model = results["rpgan"]
show = np.flatnonzero(panel == 0)[:6]
right_drawn = model.translate(X[show], target=1).reshape(-1, 8, 4)
fig, axes = plt.subplots(2, 6, figsize=(9, 3.5))
for i, idx in enumerate(show):
    axes[0, i].imshow(images[idx], cmap="gray_r")
    axes[0, i].set_title(f"true {y_true[idx]}")
    axes[1, i].imshow(np.hstack([images[idx][:, :4], right_drawn[i]]),
                      cmap="gray_r")
    axes[1, i].set_title("left + drawn right")
for ax in axes.ravel():
    ax.set_axis_off()
fig.tight_layout()
plt.show()
