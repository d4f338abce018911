"""
===========================================================
Stimulus-evoked kernels of a driven point process (DriPP)
===========================================================

A target process (for instance the activations of a brain pattern) is driven by
two stimulus trains: each stimulus raises the target intensity after a delay
that follows a truncated Gaussian kernel,
``lambda(t) = mu + sum_p alpha_p sum_j kappa_p(t - t_j^p)``.
We simulate the setting of the DriPP paper (Allain et al., ICLR 2022), fit
:class:`~skdeep.point_process.DriPP` by EM and compare the estimated and true
intensities ``mu + alpha_p kappa_p``; then we measure how the relative sup-norm
error shrinks as the recording grows longer, and fit a driver that *inhibits*
the target (``alpha_pos=False``).
"""

# %%
# Simulate and fit
# ----------------
# Two drivers with inter-stimulus intervals in [1, 1.4] s of which 60 % are
# kept; the kernels have the same mean (0.4 s) but different widths.
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import truncnorm

from skdeep.datasets import make_driven_events
from skdeep.metrics import intensity_error
from skdeep.point_process import DriPP

X, truth = make_driven_events(end_time=2000.0, random_state=0)
model = DriPP(lower=truth["lower"], upper=truth["upper"])
model.fit(X, end_time=truth["end_time"])
print(f"baseline: true {truth['baseline']:.2f}, estimated {model.baseline_:.2f}")
print(f"alpha:    true {truth['alpha']}, estimated {np.round(model.alpha_, 2)}")
print(f"EM iterations: {model.n_iter_}")

# %%
# True and estimated intensities after a stimulus of each driver
# --------------------------------------------------------------
delays = np.linspace(0, 1.0, 1000)
estimated = model.baseline_ + model.alpha_[:, None] * model.kernel(delays)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for p, ax in enumerate(axes):
    m, s = truth["kernel_mean"][p], truth["kernel_std"][p]
    kernel = truncnorm(
        (truth["lower"] - m) / s, (truth["upper"] - m) / s, loc=m, scale=s
    )
    true_curve = truth["baseline"] + truth["alpha"][p] * kernel.pdf(delays)
    ax.plot(delays, true_curve, "k--", label="truth")
    ax.plot(delays, estimated[p], color=f"C{p}", label="DriPP")
    ax.set_title(
        f"driver {p + 1}: m={truth['kernel_mean'][p]}, "
        f"sigma={truth['kernel_std'][p]}"
    )
    ax.set_xlabel("delay after the stimulus (s)")
axes[0].set_ylabel("intensity")
axes[0].legend()
fig.tight_layout()

# %%
# Error against the duration of the recording
# -------------------------------------------
# The relative sup-norm error ``||lambda_p - lambda_hat_p||_inf / ||lambda_p||_inf``
# (the paper's Fig. 2), averaged over a few simulations per duration.
durations = np.logspace(2, 4, 5)
errors = np.array(
    [
        [
            intensity_error(
                truth_,
                DriPP(lower=truth_["lower"], upper=truth_["upper"]).fit(
                    X_, end_time=T
                ),
            )
            for X_, truth_ in (
                make_driven_events(end_time=T, random_state=seed) for seed in range(5)
            )
        ]
        for T in durations
    ]
)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(durations, errors.mean(1), yerr=errors.std(1), marker="o", capsize=3)
ax.set(xscale="log", yscale="log", xlabel="duration T (s)",
       ylabel="relative sup-norm error")
fig.tight_layout()

# %%
# An inhibitory driver
# --------------------
# The second driver now removes 0.3 expected events per stimulus
# (``alpha_2 = -0.3``), and the stimuli come every 0.3-0.6 s, so that up to
# three inhibitory kernels overlap. The paper's EM keeps every ``alpha >= 0``;
# with ``alpha_pos=False`` the inhibited baseline ``b`` is clipped at zero
# (``max(0, b)``, the process the simulator draws) and every parameter takes a
# damped Newton step on the log-likelihood, which lets ``alpha`` change sign.
X, truth = make_driven_events(
    end_time=3000.0, baseline=1.0, alpha=[0.8, -0.3], kernel_mean=[0.4, 0.3],
    kernel_std=[0.1, 0.15], isi=(0.3, 0.6), random_state=0,
)
inhibition = DriPP(lower=truth["lower"], upper=truth["upper"], alpha_pos=False)
inhibition.fit(X, end_time=truth["end_time"])
print(f"alpha: true {truth['alpha']}, estimated {np.round(inhibition.alpha_, 3)}")
print(f"kernel means: true {truth['kernel_mean']}, "
      f"estimated {np.round(inhibition.kernel_mean_, 3)}")
estimated = inhibition.baseline_ + inhibition.alpha_[:, None] * inhibition.kernel(
    delays)
fig, ax = plt.subplots(figsize=(5, 3.5))
m, s = truth["kernel_mean"][1], truth["kernel_std"][1]
kernel = truncnorm((truth["lower"] - m) / s, (truth["upper"] - m) / s, loc=m, scale=s)
ax.plot(delays, truth["baseline"] + truth["alpha"][1] * kernel.pdf(delays), "k--",
        label="truth")
ax.plot(delays, estimated[1], color="C1", label="DriPP(alpha_pos=False)")
ax.set(xlabel="delay after the stimulus (s)", ylabel="intensity",
       title="an inhibitory driver")
ax.legend()
fig.tight_layout()
plt.show()
