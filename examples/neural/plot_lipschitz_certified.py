"""
======================================================
Certified robustness with a 1-Lipschitz network
======================================================

:class:`~skdeep.neural.LipschitzClassifier` trains a network whose every layer
has spectral norm at most one, with the hinge-regularised Kantorovich-Rubinstein
loss of Serrurier et al. (2021). Since the network is 1-Lipschitz, the size of
its score is a distance: no perturbation of l2 norm below
:meth:`~skdeep.neural.LipschitzClassifier.certified_radius` can change a
prediction.

First, on a 2-D problem, the decision boundary and the radius are drawn: the
level lines of the score are (nearly) parallel and one unit apart, so the
certified radius of a point is its distance to the boundary. Then, on the
breast cancer data, the accuracy is compared with the *certified* accuracy at
several radii, for the Lipschitz network and an unconstrained MLP attacked by
projected gradient descent.
"""

# %%
# A 2-D problem: the score is a distance to the boundary
# ------------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skdeep.metrics import certified_accuracy
from skdeep.neural import LipschitzClassifier

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_moons(n_samples=400, noise=0.1, random_state=0)
# the two moons are about 0.3 apart: a small margin, and a small KR weight so
# that the hinge term can bend the boundary around them
clf = LipschitzClassifier(hidden_layer_sizes=(64, 64), alpha=0.02, margin=0.05,
                          max_iter=150, device="cpu", random_state=0).fit(X, y)

xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1.0, 1.5, 125))
grid = np.column_stack([xx.ravel(), yy.ravel()])
score = clf.decision_function(grid).reshape(xx.shape)

fig, ax = plt.subplots(figsize=(7, 4.5))
levels = np.arange(-1.0, 1.01, 0.1)
contour = ax.contourf(xx, yy, score, levels=levels, cmap="RdBu", extend="both")
ax.contour(xx, yy, score, levels=[0], colors="k", linewidths=2)
ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=12)
# the certified disc of a few points: it never crosses the boundary
for i in [3, 50, 120, 260]:
    r = clf.certified_radius(X[i : i + 1])[0]
    ax.add_patch(plt.Circle(X[i], r, fill=False, color="gold", linewidth=2))
fig.colorbar(contour, ax=ax, label="score f(x) (level lines 0.1 apart)")
ax.set_title(f"1-Lipschitz score, train accuracy {clf.score(X, y):.2f}; "
             "gold: certified discs")
ax.set_aspect("equal", adjustable="box")
plt.tight_layout()

# %%
# Breast cancer: accuracy against certified accuracy
# --------------------------------------------------
# The features are standardised on the training part; the radii are in those
# standardised units (the estimator never rescales its inputs). The MLP has no
# certificate: its accuracy under an l2 projected-gradient attack at each
# radius is an *upper* bound of its robust accuracy, whereas the certified
# accuracy of the Lipschitz network is a *lower* bound of its own.
X, y = load_breast_cancer(return_X_y=True)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                          random_state=0)
scaler = StandardScaler().fit(X_tr)
X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)

lip = LipschitzClassifier(max_iter=100, device="cpu", random_state=0).fit(X_tr, y_tr)
mlp = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=300,
                    random_state=0).fit(X_tr, y_tr)


def mlp_scores(x):
    for i, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        x = x @ torch.as_tensor(W) + torch.as_tensor(b)
        x = torch.relu(x) if i < len(mlp.coefs_) - 1 else x
    return x[:, 0]


def pgd_accuracy(f, X, y, eps, steps=40):
    """Accuracy of ``sign(f)`` under an l2 PGD attack of radius ``eps``."""
    x0 = torch.as_tensor(X)
    sign = torch.as_tensor(2.0 * y - 1.0)
    delta = torch.zeros_like(x0, requires_grad=True)
    fooled = torch.zeros(len(x0), dtype=torch.bool)
    for _ in range(steps):
        margin = sign * f(x0 + delta)
        fooled |= (margin <= 0).detach()
        (grad,) = torch.autograd.grad(margin.sum(), delta)
        with torch.no_grad():
            delta -= 2.5 * eps / steps * grad / grad.norm(dim=1, keepdim=True)
            delta *= (eps / delta.norm(dim=1, keepdim=True).clamp_min(1e-12)).clamp(
                max=1.0
            )
    return float((~fooled).numpy().mean())


eps_values = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0])
certified = certified_accuracy(lip, X_te, y_te, eps_values)
mlp_attacked = [mlp.score(X_te, y_te)] + [
    pgd_accuracy(mlp_scores, X_te, y_te, e) for e in eps_values[1:]
]
lip_attacked = [lip.score(X_te, y_te)] + [
    pgd_accuracy(lambda x: lip.net_(x)[:, 0], X_te, y_te, e) for e in eps_values[1:]
]
print(f"{'eps':>5} {'Lipschitz certified':>20} {'Lipschitz PGD':>14} {'MLP PGD':>8}")
for row in zip(eps_values, certified, lip_attacked, mlp_attacked):
    print("{:>5.2f} {:>20.3f} {:>14.3f} {:>8.3f}".format(*row))

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(eps_values, certified, "o-", label="Lipschitz net: certified (lower bound)")
ax.plot(eps_values, lip_attacked, "s--", label="Lipschitz net: under PGD")
ax.plot(eps_values, mlp_attacked, "^--", label="MLP: under PGD (upper bound)")
ax.set_xlabel("l2 radius eps (standardised units)")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.02)
ax.legend(loc="lower left")
ax.set_title("Breast cancer: robust accuracy against the radius")
plt.tight_layout()

# %%
# The certified accuracy at ``eps = 0`` is the clean accuracy (up to ties).
# The PGD curve of the Lipschitz network stays close to its certified curve:
# its scores have gradients of norm one almost everywhere, so the certificate
# is nearly tight. On clean inputs and at small radii the MLP does as well
# under this attack, but that is only an upper bound of its robust accuracy:
# from radius 1 on the attack already brings it below the *certified*
# accuracy of the Lipschitz network, and nothing certifies its predictions.
