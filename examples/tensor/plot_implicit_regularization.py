"""
========================================================
Depth and the implicit low-rank bias of gradient descent
========================================================

The deep factorizations of :class:`~skdeep.tensor.TensorCompleter` are
over-parametrised: with ``ranks="full"`` a Tucker model can fit any tensor, and
with 10 % of the entries observed it can fit them in countless ways. Which
solution gradient descent finds depends on the depth of the factors: started
from the same small initialisation, deeper products of matrices grow their
leading directions first and keep the others small, so the *effective rank*
(the exponential of the entropy of the normalised singular values) of every
unfolding of the reconstruction stays low, and the missing entries are
recovered. This is the key figure of Milanesi et al. (2021) and Hariz et al.
(2022).

We complete a 20 x 20 x 20 tensor of Tucker rank (3, 3, 3) from 10 % of its
entries with factors of depth 1, 2 and 3, and track the effective rank of the
three unfoldings along training.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdeep.datasets import make_low_rank_tensor
from skdeep.metrics import effective_rank, missing_entry_error
from skdeep.tensor import TensorCompleter

X, X_true = make_low_rank_tensor(
    (20, 20, 20), ranks=3, model="tucker", observed_fraction=0.1, random_state=0
)
truth_ranks = [effective_rank(np.moveaxis(X_true, i, 0).reshape(20, -1))
               for i in range(3)]
print("effective ranks of the truth:", np.round(truth_ranks, 2))

# %%
# The same initial scale of every layer for the three depths
# -----------------------------------------------------------
# Trained with the default optimizer (Adam from the small start, then L-BFGS,
# which keeps the effective ranks reached by Adam). The initial scale matters:
# at ``init_scale=0.1`` depth 2 already ends at effective ranks of about 7 and
# an error of 0.5 with this optimizer, so we use ``0.03`` for all three depths.
# The data are noise-free and we study the training itself: every observed
# entry is used for training (``early_stopping=False``; by default a tenth of
# them would be held out to stop the fit early).
fits = {}
for depth in (1, 2, 3):
    completer = TensorCompleter(
        depth=depth, init_scale=0.03, max_iter=5000, tol=1e-5, track_every=50,
        early_stopping=False, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        X_filled = completer.fit_transform(X)
    error = missing_entry_error(X_true, X_filled, X)
    fits[depth] = (completer, error)
    final_ranks = np.round(completer.history_["effective_rank"][-1], 2)
    print(f"depth {depth}: relative error on the missing entries {error:.2e}, "
          f"final effective ranks {final_ranks}")

# %%
# Effective rank and training error along the iterations
# -------------------------------------------------------
# All three depths fit the observed entries; only the deeper ones do it with a
# low-rank tensor, and so only they recover the missing entries.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
for (depth, (completer, error)), color in zip(fits.items(), ["C0", "C1", "C2"]):
    history = completer.history_
    ax0.plot(history["iteration"], history["effective_rank"].mean(axis=1),
             color=color, label=f"depth {depth} (error on missing {error:.0e})")
    ax1.semilogy(history["iteration"], history["train_error"], color=color,
                 label=f"depth {depth}")
ax0.axhline(np.mean(truth_ranks), color="k", ls="--", lw=1, label="truth")
ax0.set(xlabel="iteration", ylabel="effective rank (mean over modes)")
ax0.legend(fontsize=8)
ax1.set(xlabel="iteration", ylabel="relative error on observed entries")
ax1.legend(fontsize=8)
fig.tight_layout()
plt.show()
