"""
=========================================================
Recovering atoms and classifying signals with their atoms
=========================================================

:class:`~skdeep.decomposition.CDLTransformer` learns a few short patterns (atoms) and
the sparse times at which they occur. On signals simulated by
:func:`~skdeep.datasets.make_cdl_signals` the true atoms are known, so we can check
that they are recovered, up to a shift in time, with
:func:`~skdeep.metrics.dictionary_recovery_score`.

In a second part the transformer is a feature extractor in a scikit-learn pipeline:
two classes of signals differ only in which pattern occurs, at random times. A
linear model on the raw samples cannot see it; the per-atom maximum activation can.
"""

# %%
# Simulated multichannel signals
# ------------------------------
# Ten trials of five channels; each is a sum of three rank-1 atoms (a spatial map
# times a temporal pattern) placed at sparse random times, plus noise.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.datasets import make_cdl_signals
from skdeep.decomposition import CDLTransformer
from skdeep.metrics import dictionary_recovery_score
from skdeep.utils._matching import hungarian_match

X, u, v, z = make_cdl_signals(
    n_trials=10, n_channels=5, n_times=2000, n_atoms=3, n_times_atom=64,
    noise_level=0.2, random_state=0,
)
cdl = CDLTransformer(n_atoms=3, n_times_atom=64, reg=0.1, random_state=0).fit(X)
score = dictionary_recovery_score(u[:, :, None] * v[:, None, :], cdl.D_hat_)
print(f"{cdl.n_iter_} iterations, recovery score {score:.4f}")

# %%
# True and learned atoms
# ----------------------
# Each learned atom is paired with a true one; the learned temporal pattern is
# shifted onto the true one for display (the model cannot tell a shift of the atom
# from a shift of its activations).
L = v.shape[1]
corr = np.array([[np.abs(np.correlate(vh, vt, "full")).max() for vh in cdl.v_hat_]
                 for vt in v])
rows, cols = hungarian_match(corr)
fig, axes = plt.subplots(2, 3, figsize=(10, 5), layout="constrained")
for k, j in zip(rows, cols):
    c = np.correlate(cdl.v_hat_[j], v[k], "full")
    lag = int(np.argmax(np.abs(c))) - (L - 1)
    sign = np.sign(c[lag + L - 1])
    axes[0, k].plot(v[k], "k", lw=3, alpha=0.4, label="true")
    axes[0, k].plot(np.arange(L) - lag, sign * cdl.v_hat_[j], "C1", label="learned")
    axes[0, k].set_title(f"temporal atom {k}")
    width = 0.4
    channels = np.arange(u.shape[1])
    axes[1, k].bar(channels - width / 2, u[k], width, color="0.6", label="true")
    axes[1, k].bar(channels + width / 2, sign * cdl.u_hat_[j], width, color="C1",
                   label="learned")
    axes[1, k].set_xlabel("channel")
axes[0, 0].legend()
axes[1, 0].set_ylabel("spatial map")
fig.suptitle(f"Recovery score {score:.3f}")
plt.show()

# %%
# The objective decreases at every z-step and d-step
# ---------------------------------------------------
# ``pobj_`` holds the objective after every half-step; ``loss_curve_`` holds one
# value per iteration, after its d-step.
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(np.arange(len(cdl.pobj_)) / 2, cdl.pobj_, ".-", label="pobj_")
ax.plot(np.arange(1, cdl.n_iter_ + 1), cdl.loss_curve_, "o", label="loss_curve_")
ax.set(xlabel="iteration", ylabel="objective", yscale="log")
ax.legend()
plt.show()

# %%
# Atoms as features for classification
# ------------------------------------
# Univariate signals of two classes: class 0 holds the triangle and sine patterns,
# class 1 the square and sine patterns, all at random times.
rng = np.random.RandomState(0)
n_trials, n_times = 160, 400
_, _, v3, z3 = make_cdl_signals(
    n_trials=n_trials, n_channels=1, n_times=n_times, n_atoms=3, n_times_atom=32,
    n_events=3, random_state=1,
)
y = rng.randint(2, size=n_trials)
z3[y == 0, 1] = 0.0  # no square in class 0
z3[y == 1, 0] = 0.0  # no triangle in class 1
signals = np.stack([
    sum(np.convolve(z3[n, k], v3[k]) for k in range(3)) for n in range(n_trials)
])
signals += 0.1 * signals.std() * rng.standard_normal(signals.shape)
X_train, X_test, y_train, y_test = train_test_split(
    signals, y, test_size=0.5, random_state=0, stratify=y
)

baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
baseline.fit(X_train, y_train)
print(f"logistic regression on raw samples: {baseline.score(X_test, y_test):.3f}")

pipe = make_pipeline(
    CDLTransformer(n_times_atom=32, random_state=0), StandardScaler(),
    LogisticRegression(),
)
search = GridSearchCV(
    pipe, {"cdltransformer__n_atoms": [2, 3, 4], "cdltransformer__reg": [0.1, 0.3]},
    cv=3,
)
search.fit(X_train, y_train)
print(f"best parameters: {search.best_params_}")
print(f"CDL pooled activations + logistic regression: "
      f"{search.score(X_test, y_test):.3f}")

# %%
# The learned atoms of the tuned pipeline, and the largest activation of each
# atom in the test trials (the pipeline's features pool it per time window,
# beside the mean and the rate of activations and the baseline).
best = search.best_estimator_.named_steps["cdltransformer"]
features = best.transform_activations(X_test).max(axis=2)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
for k, atom in enumerate(best.v_hat_):
    axes[0].plot(atom, label=f"atom {k}")
axes[0].set_title("learned atoms")
axes[0].legend()
order = np.argsort(features.std(axis=0))[::-1][:2]
for label in (0, 1):
    sel = y_test == label
    axes[1].scatter(features[sel, order[0]], features[sel, order[1]],
                    label=f"class {label}", alpha=0.7)
axes[1].set(xlabel=f"max activation of atom {order[0]}",
            ylabel=f"max activation of atom {order[1]}")
axes[1].legend()
plt.show()
