"""
=====================================================
Few-shot digits with an adaptive Nyström layer
=====================================================

:class:`~skdeep.neural.NystromNetClassifier` replaces the top dense layers of a
network by a Nyström approximation of a kernel: an input is compared with a few
*landmarks* (training samples passed through the same backbone), and the kernel
vector goes through a linear map ``W`` that starts at ``K_mm^{-1/2}`` (the exact
Nyström map) and is then learned (Giffon et al. 2019). The layer has few
parameters, which is what a classifier trained on 5 to 20 samples per class
needs.

Here it learns the 10 digits of :func:`~sklearn.datasets.load_digits` from 5, 10
and 20 images per class, against the scikit-learn models one would reach for.
"""

# %%
# Data: pixels scaled to [0, 1], a fixed test half
# ------------------------------------------------
# By default the estimator standardises every feature with the training
# statistics (``scaling="standard"``), which suits tabular data. Pixels are
# better scaled as a whole: standardising each one amplifies the noise of the
# rarely inked ones, so here ``scaling="max_abs"`` keeps the pixels' relative
# sizes. The models are tiny, so torch runs on one thread.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from skdeep.neural import NystromNetClassifier

torch.set_num_threads(1)
# scikit-learn's Nystroem baseline warns when asked for more components than
# the few training samples (it then uses them all)
warnings.filterwarnings("ignore", message="n_components > n_samples")

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_pool, X_test, y_pool, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)


def few_shot(n_per_class, seed):
    rng = np.random.RandomState(seed)
    return np.concatenate([
        rng.choice(np.flatnonzero(y_pool == c), n_per_class, replace=False)
        for c in range(10)
    ])


# %%
# Accuracy against the number of training images per class
# --------------------------------------------------------
# Two draws of the training images per shot count; the baselines are an RBF
# ``SVC``, a logistic regression on the pixels, and a ``Nystroem`` map followed
# by a logistic regression. The Nyström network picks its weight decay by
# inner cross-validation and holds one kernel block per bandwidth (multiples
# of the median heuristic): nothing to tune by hand.
models = {
    "NystromNetClassifier": lambda s: NystromNetClassifier(
        scaling="max_abs", device="cpu", random_state=s
    ),
    "SVC (RBF)": lambda s: SVC(),
    "LogisticRegression": lambda s: LogisticRegression(max_iter=5000),
    "Nystroem + LogisticRegression": lambda s: make_pipeline(
        Nystroem(gamma=0.03, n_components=100, random_state=s),
        LogisticRegression(max_iter=5000),
    ),
}
shots = [5, 10, 20]
scores = {name: np.zeros((len(shots), 2)) for name in models}
for i, n_per_class in enumerate(shots):
    for seed in range(2):
        train = few_shot(n_per_class, seed)
        for name, make in models.items():
            model = make(seed).fit(X_pool[train], y_pool[train])
            scores[name][i, seed] = model.score(X_test, y_test)
for name, values in scores.items():
    print(f"{name:<30}", "  ".join(f"{v:.3f}" for v in values.mean(axis=1)))

# %%
# Sampled and learned landmarks
# -----------------------------
# With ``landmarks="sample"`` the landmarks are training images (stratified by
# class); with ``landmarks="learned"`` they start there and are trained as
# free inputs, still passed through the backbone.
train = few_shot(5, 0)
sampled = NystromNetClassifier(n_landmarks=10, scaling="max_abs", device="cpu",
                               random_state=0)
sampled.fit(X_pool[train], y_pool[train])
learned = NystromNetClassifier(n_landmarks=10, landmarks="learned",
                               scaling="max_abs", learning_rate=0.02,
                               device="cpu", random_state=0)
learned.fit(X_pool[train], y_pool[train])

fig = plt.figure(figsize=(10, 6.5), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1.6, 1])
ax = top.subplots()
for name, values in scores.items():
    ax.errorbar(shots, values.mean(axis=1), yerr=values.std(axis=1),
                marker="o", capsize=3, label=name,
                linewidth=2.5 if name.startswith("Nystrom") and "+" not in name else 1)
ax.set_xticks(shots)
ax.set_xlabel("training images per class")
ax.set_ylabel(f"accuracy on {y_test.size} test digits")
ax.set_title("Few-shot digits")
ax.legend(loc="lower right")
axes = bottom.subplots(2, 10)
order_s = np.argsort(y_pool[train][sampled.landmark_indices_], kind="stable")
order_l = np.argsort(y_pool[train][learned.landmark_indices_], kind="stable")
for j in range(10):
    axes[0, j].imshow(sampled.landmarks_[order_s[j]].reshape(8, 8), cmap="gray_r",
                      vmin=0, vmax=1)
    axes[1, j].imshow(learned.landmarks_[order_l[j]].reshape(8, 8), cmap="gray_r")
    for row in axes[:, j]:
        row.set_xticks([])
        row.set_yticks([])
axes[0, 0].set_ylabel("sampled")
axes[1, 0].set_ylabel("learned")
bottom.suptitle("the 10 landmarks of a 5-shot model")
plt.show()
