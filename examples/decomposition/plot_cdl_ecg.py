"""
=======================================
Heartbeat patterns learned from an ECG
=======================================

A real signal that ships offline: the electrocardiogram bundled with PyWavelets
(``pywt.data.ecg``, 1024 samples at 360 Hz from the MIT-BIH arrhythmia database).
:class:`~skdeep.decomposition.CDLTransformer` learns two short patterns and the
sparse times at which they occur; the sum of the placed patterns rebuilds the signal.
This is the use the method was designed for on brain signals, where the atoms are
recurring waveforms and their activations the events.
"""

# %%
# Load the signal and learn two atoms of 100 samples (0.28 s)
# ------------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pywt

from skdeep.decomposition import CDLTransformer

ecg = pywt.data.ecg().astype(float)
sfreq = 360.0
X = ((ecg - ecg.mean()) / ecg.std())[None, :]  # one univariate trial

cdl = CDLTransformer(n_atoms=2, n_times_atom=100, reg=0.3, max_iter=100,
                     random_state=0).fit(X)
z = cdl.transform_activations(X)[0]
X_rec = cdl.inverse_transform(z[None])
error = np.linalg.norm(X_rec - X) / np.linalg.norm(X)
print(f"{cdl.n_iter_} iterations; {np.count_nonzero(z)} activations; "
      f"relative reconstruction error {error:.2f}")

# %%
# Atoms, activations and reconstruction
# -------------------------------------
times = np.arange(X.shape[1]) / sfreq
fig = plt.figure(figsize=(10, 6), layout="constrained")
grid = fig.add_gridspec(3, 3)
ax_atoms = fig.add_subplot(grid[:, 0])
for k, atom in enumerate(cdl.v_hat_):
    ax_atoms.plot(np.arange(atom.size) / sfreq, atom * cdl.u_hat_[k, 0],
                  color=f"C{k}", label=f"atom {k}")
ax_atoms.set(title="learned atoms", xlabel="time (s)")
ax_atoms.legend()

ax_sig = fig.add_subplot(grid[:2, 1:])
ax_sig.plot(times, X[0], "k", lw=1, label="ECG")
ax_sig.plot(times, X_rec[0], "C3", lw=1, alpha=0.8, label="reconstruction")
ax_sig.set(title="signal")
ax_sig.tick_params(labelbottom=False)
ax_sig.legend(loc="upper right")

ax_z = fig.add_subplot(grid[2, 1:], sharex=ax_sig)
for k in range(cdl.n_atoms):
    onsets = np.flatnonzero(z[k])
    ax_z.vlines(onsets / sfreq, 0, z[k, onsets], color=f"C{k}", lw=2,
                label=f"atom {k}")
ax_z.set(title="activations (onset of each atom)", xlabel="time (s)")
plt.show()
