"""
===========================================================
Choosing the optimiser of a torch model: Adam, SGD and INNA
===========================================================

Every torch estimator of skdeep that takes an ``optimizer`` parameter trains
with one of three optimisers (see :ref:`optimizers`):

- ``"adam"``: :class:`torch.optim.Adam`, default step ``1e-3``;
- ``"sgd"``: :class:`torch.optim.SGD` with momentum 0.9, default step ``1e-2``;
- ``"inna"``: :class:`skdeep.utils.INNA`, the inertial Newton algorithm of
  Castera et al. (JMLR 2021), default step ``0.1`` with ``alpha=0.5`` and
  ``beta=0.1``.

``learning_rate=None`` takes the optimiser's default step, and
``optimizer_params`` passes its other options. This example trains the same
:class:`~skdeep.neural.MODISIntegrator` with each of them on real
measurements that install offline: scikit-learn's handwritten digits, cut into
two unpaired "modalities" (the left and the right half of the image, each
image measured by one half only, as in
:ref:`sphx_glr_auto_examples_neural_plot_unpaired_digits_panels.py`), and
compares their training loss curves and their accuracy on held-out images.
"""

# %%
# Two unpaired panels of the digits
# ---------------------------------
# 30 % of the images are held out for testing; 20 % of the training images
# keep their label.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdeep.neural import MODISIntegrator

digits = load_digits()
images, y_all = digits.images, digits.target
n = len(y_all)
rng = np.random.RandomState(0)
left = images[:, :, :4].reshape(n, -1)
right = images[:, :, 4:].reshape(n, -1)
panel = rng.permutation(np.arange(n) % 2)  # which half measures each image
X = np.hstack([left, right])
X[panel == 0, 32:] = np.nan
X[panel == 1, :32] = np.nan

X_train, X_test, y_train, y_test = train_test_split(
    X, y_all, test_size=0.3, stratify=y_all, random_state=0)
y_labeled = y_train.copy()
y_labeled[rng.uniform(size=len(y_labeled)) > 0.2] = -1

# %%
# What ``alpha`` and ``beta`` do
# ------------------------------
# INNA follows the dynamics :math:`\ddot\theta + \alpha\dot\theta +
# \beta\nabla^2 J(\theta)\dot\theta + \nabla J(\theta) = 0`: a heavy ball on
# the loss :math:`J`, slowed by a friction ``alpha`` (the same in every
# direction) and by a *Newtonian* damping ``beta`` that grows with the
# curvature, so that the ball stops oscillating across the steep walls of a
# narrow valley while it keeps its speed along the valley. The Hessian is never
# computed: one INNA step costs one gradient, like SGD.
#
# With a constant step :math:`\gamma` (``learning_rate``), INNA is SGD with
# momentum :math:`1 - \alpha\gamma` and step :math:`\gamma^2`, plus a damping
# term of weight :math:`\gamma(\beta - \gamma)` on the change of the gradient.
# At the defaults, :math:`\gamma = \beta = 0.1`, that weight is zero: INNA is
# then exactly SGD with momentum 0.95 and step 0.01. The damping acts when the
# step is below ``beta``; the last run below sets ``beta=0.5`` and
# ``learning_rate=0.2``: momentum 0.9, gradient step 0.04 and damping weight
# 0.06. Its control is the same heavy ball without the damping, SGD with
# momentum 0.9 and step 0.04.
#
# Each fit runs until skdeep's stopping rule ends it: here, when the loss has
# decreased by less than 0.5 % of its first value over 10 epochs (``tol=5e-3``);
# ``max_iter=200`` is never reached. No adversary (``adversarial=None``) keeps
# the example short: the shared labels align the two panels.
runs = {
    "Adam (lr=1e-3)": dict(optimizer="adam"),
    "SGD, momentum 0.9 (lr=1e-2)": dict(optimizer="sgd"),
    "INNA, defaults (lr=0.1, beta=0.1)": dict(optimizer="inna"),
    "SGD, momentum 0.9 (lr=0.04)": dict(optimizer="sgd", learning_rate=0.04),
    "INNA (lr=0.2, beta=0.5)": dict(optimizer="inna", learning_rate=0.2,
                                    optimizer_params={"alpha": 0.5, "beta": 0.5}),
}
models = {}
for name, params in runs.items():
    models[name] = MODISIntegrator(
        modalities=[32, 32], n_components=16, adversarial=None, batch_size=128,
        max_iter=200, tol=5e-3, device="cpu", random_state=0, **params,
    ).fit(X_train, y_labeled)

print(f"{'optimizer':36s} {'epochs':>6s} {'final loss':>10s} {'test acc.':>9s}")
for name, model in models.items():
    print(f"{name:36s} {model.n_iter_:6d} {model.loss_curve_[-1]:10.3f} "
          f"{model.score(X_test, y_test):9.3f}")

# %%
# The loss curves
# ---------------
# ``loss_curve_`` holds the training objective at every epoch (reconstruction,
# KL and class terms); the legend gives the accuracy on the held-out images.
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, model in models.items():
    accuracy = model.score(X_test, y_test)
    ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_,
            label=f"{name}: test accuracy {accuracy:.3f}")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_yscale("log")
ax.legend(fontsize="small")
ax.set_title("MODISIntegrator on two unpaired halves of the digits")
fig.tight_layout()
plt.show()

# %%
# When to choose INNA
# -------------------
# On this small, well-scaled problem, at their default steps, Adam (which
# rescales every coordinate) descends fastest in the first epochs, and INNA,
# there SGD with momentum 0.95, ends below SGD with momentum 0.9. With a larger
# step and ``beta=0.5``, INNA descends fastest of all, but most of that gain
# comes from the larger gradient step: the heavy ball with the same momentum
# and step (SGD, ``lr=0.04``) follows a close curve in the first epochs; the
# Newtonian damping adds a smaller, later gain. All the runs reach a similar
# held-out accuracy (0.69 to 0.72).
#
# INNA's step is tuned as SGD's is (its gradient step is about
# ``learning_rate * beta``, so a step tuned for Adam is far too small): start
# from ``learning_rate=beta`` and let the damping act by lowering the step
# below ``beta`` or by raising ``beta``; a step above ``beta`` turns the
# damping into an anti-damping. Choose INNA over SGD with momentum when the
# loss has narrow valleys in which the momentum oscillates (ill-conditioned
# problems, deep networks); keep Adam for badly scaled parameters. The user
# guide's section :ref:`inna` describes the three regimes of ``alpha`` and
# ``beta`` and the step decay.
