"""
=====================================================================
From recordings to latencies: evoked patterns found by CDL and DriPP
=====================================================================

The workflow of Allain, Gramfort and Moreau (ICLR 2022): convolutional dictionary
learning finds the recurring patterns of multichannel recordings and when they
occur; a driven point process then tells which stimulus drives which pattern, how
strongly, and at what latency.

We simulate recordings in which two kinds of stimuli each evoke one pattern at a
known latency, while a third pattern occurs spontaneously, then

1. learn the patterns with :class:`~skdeep.decomposition.CDLTransformer`,
2. turn the activations into MNE-style events with
   :func:`~skdeep.decomposition.activations_to_events`,
3. stack the stimulus events on, build DriPP's input with
   :func:`~skdeep.point_process.events_to_realisations`,
4. fit :class:`~skdeep.point_process.DriPP` per pattern and compare the estimated
   drivers and latencies with the true ones.
"""

# %%
# Simulated recordings
# --------------------
# Three recordings of 60 s, 5 channels at 150 Hz. Pattern 0 follows stimulus 1
# after 150 ms, pattern 1 follows stimulus 2 after 300 ms (each with a 15 ms
# jitter and a 70 % chance of a response), and pattern 2 occurs at random. Each
# pattern also occurs spontaneously at 0.1 Hz.
import matplotlib.pyplot as plt
import numpy as np

from skdeep.decomposition import CDLTransformer, activations_to_events
from skdeep.metrics import dictionary_recovery_score
from skdeep.point_process import DriPP, events_to_realisations

rng = np.random.RandomState(0)
sfreq, n_channels, duration, n_recordings = 150.0, 5, 60.0, 3
n_times = int(duration * sfreq)
L = 30  # 200 ms atoms
t = np.linspace(0, 1, L)
v_true = np.stack([
    np.sin(np.pi * t) * np.sin(2 * np.pi * 2 * t),             # biphasic
    np.exp(-0.5 * ((t - 0.5) / 0.12) ** 2),                     # monophasic
    np.sin(2 * np.pi * 3 * t) * np.hanning(L),                  # oscillatory burst
])
v_true /= np.linalg.norm(v_true, axis=1, keepdims=True)
u_true = rng.standard_normal((3, n_channels))
u_true /= np.linalg.norm(u_true, axis=1, keepdims=True)
true_latency = {0: 0.150, 1: 0.300}  # pattern -> latency of its onset, seconds
drives = {0: 1, 1: 2}  # pattern -> stimulus id

X = np.zeros((n_recordings, n_channels, n_times))
z_true = np.zeros((n_recordings, 3, n_times - L + 1))
stim_events = []
for r in range(n_recordings):
    # stimuli every 1.5-3 s, type 1 or 2 at random
    onsets = np.cumsum(rng.uniform(1.5, 3.0, size=40))
    onsets = onsets[onsets < duration - 1.0]
    kinds = rng.randint(1, 3, size=onsets.size)
    samples = np.round(onsets * sfreq).astype(int)
    stim_events.append(np.column_stack([samples, np.zeros_like(samples), kinds]))
    for k in range(3):
        spont = rng.uniform(0, duration - 0.5, size=rng.poisson(0.1 * duration))
        times = list(spont)
        if k in drives:
            evoked = onsets[(kinds == drives[k]) & (rng.rand(onsets.size) < 0.7)]
            times += list(evoked + true_latency[k] + 0.015 * rng.randn(evoked.size))
        idx = np.clip(np.round(np.array(times) * sfreq).astype(int), 0,
                      n_times - L)
        z_true[r, k, idx] = rng.uniform(1.0, 2.0, size=idx.size)
    for k in range(3):
        zv = np.convolve(z_true[r, k], v_true[k])
        X[r] += u_true[k][:, None] * zv[None, :]
X += 0.1 * X.std() * rng.standard_normal(X.shape)

# %%
# 1. Learn the patterns
# ---------------------
cdl = CDLTransformer(n_atoms=3, n_times_atom=L, reg=0.2, random_state=0).fit(X)
D_true = u_true[:, :, None] * v_true[:, None, :]
print(f"recovery score of the patterns: "
      f"{dictionary_recovery_score(D_true, cdl.D_hat_):.3f}")

# match each estimated atom to a true pattern (largest correlation)
corr = np.array([[np.abs(np.correlate(vh, vt, "full")).max() for vt in v_true]
                 for vh in cdl.v_hat_])
match = corr.argmax(axis=1)  # estimated atom -> true pattern

fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), sharey=True)
for k, ax in enumerate(axes):
    j = int(np.flatnonzero(match == k)[0]) if np.any(match == k) else None
    ax.plot(np.arange(L) / sfreq * 1e3, v_true[k], "k", label="true")
    if j is not None:
        sign = np.sign(np.dot(cdl.u_hat_[j], u_true[k]))
        lag = np.argmax(np.correlate(sign * cdl.v_hat_[j], v_true[k], "full")) - L + 1
        ax.plot((np.arange(L) + lag) / sfreq * 1e3, sign * cdl.v_hat_[j], "C1--",
                label=f"atom {j}")
    ax.set_title(f"pattern {k}")
    ax.set_xlabel("ms")
    ax.legend(fontsize=8)
fig.tight_layout()

# %%
# 2-3. Activations to events, events to DriPP's input
# ---------------------------------------------------
# An activation above 30 % of its atom's largest activation is an event, placed
# at the centre of the atom's energy (robust to shifts of the learned atom, and
# to lobes of equal height); atom ``j`` gets the event id ``10 + j``.


def centre(v):
    """Centre of energy of each temporal atom, in samples."""
    return np.round((v**2 * np.arange(v.shape[1])).sum(1) / (v**2).sum(1)).astype(int)


z = cdl.transform_activations(X)
peaks = centre(cdl.v_hat_)
atom_events = activations_to_events(
    z, threshold=0.3 * z.max(axis=(0, 2)), event_ids=10 + np.arange(3),
    offset=peaks,
)
events = [np.vstack([s, a]) for s, a in zip(stim_events, atom_events)]

# %%
# 4. Which stimulus drives which pattern, and when
# ------------------------------------------------
# One DriPP per atom with the two stimuli as drivers. The latency of a pattern
# is measured at its centre, so the true latency is the onset latency plus the
# position of the true pattern's centre.
rows = []
for j in range(3):
    realisations = events_to_realisations(events, sfreq, target_id=10 + j,
                                          driver_ids=[1, 2])
    model = DriPP(lower=0.0, upper=0.8, random_state=0).fit(
        realisations, end_time=duration)
    k = match[j]
    true_driver = drives.get(k)
    true_peak = (true_latency[k] + centre(v_true)[k] / sfreq
                 if true_driver else np.nan)
    best = int(np.argmax(model.alpha_))
    rows.append((j, k, true_driver, true_peak, model.alpha_, best + 1,
                 model.kernel_mean_[best]))
    print(f"atom {j} (pattern {k}): alpha = {np.round(model.alpha_, 2)}, "
          f"kernel means = {np.round(model.kernel_mean_, 3)} s")

print("\natom  pattern  true driver  est. driver  true latency  est. latency")
for j, k, td, tp, alpha, ed, em in rows:
    driven = alpha.max() > 0.3  # a driver explains a sizeable share of events
    est = f"stim {ed}" if driven else "none"
    true = f"stim {td}" if td else "none"
    lat = f"{em * 1e3:6.0f} ms" if driven else "      -"
    tlat = f"{tp * 1e3:6.0f} ms" if td else "      -"
    print(f"{j:4d}  {k:7d}  {true:>11}  {est:>11}  {tlat:>12}  {lat:>12}")

# %%
# The stimulus-locked patterns are found with their drivers and latencies within
# a few milliseconds; the spontaneous pattern is driven by neither stimulus.
fig, ax = plt.subplots(figsize=(5, 3))
for _, k, td, tp, _, _, em in rows:
    if td:
        ax.plot(k, tp * 1e3, "ko", label="true" if k == 0 else None)
        ax.plot(k, em * 1e3, "C1x", ms=10, label="estimated" if k == 0 else None)
ax.set_xticks([0, 1], ["pattern 0", "pattern 1"])
ax.set_ylabel("latency of the centre (ms)")
ax.legend()
fig.tight_layout()
plt.show()
