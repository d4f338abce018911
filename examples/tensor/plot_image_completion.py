"""
====================================================
Filling in an image from 20 % of its pixels
====================================================

A colour image is a tensor of order 3 (rows x columns x channels). We hide 80 %
of the pixels of scikit-learn's sample photo, downsampled so that the example
runs in seconds, and fill them in with :class:`~skdeep.tensor.TensorCompleter`:
a deep Tucker factorization (each factor the product of two matrices) fitted
to the observed pixels from a small initialisation, with its default settings.
No rank is chosen: the implicit bias of gradient descent on the deep factors
towards low effective rank does the regularisation.

Next to it, tensorly's Tucker decomposition with a mask (an EM algorithm that
refills the missing entries at each iteration) needs its ranks fixed in advance;
we show two choices.
"""

# %%
# The image, and which pixels are observed
# ----------------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

from skdeep.tensor import TensorCompleter

image = load_sample_image("china.jpg").astype(np.float64) / 255
factor = 6  # average 6 x 6 blocks: a 71 x 106 x 3 tensor
h, w = image.shape[0] // factor * factor, image.shape[1] // factor * factor
small = image[:h, :w].reshape(h // factor, factor, w // factor, factor, 3)
small = small.mean(axis=(1, 3))

rng = np.random.RandomState(0)
observed_pixels = rng.rand(*small.shape[:2]) < 0.2
observed = np.repeat(observed_pixels[:, :, None], 3, axis=2)
X = np.where(observed, small, np.nan)
print(f"tensor of shape {X.shape}, {observed.mean():.0%} of the entries observed")


def psnr(filled):
    """Peak signal-to-noise ratio on the hidden pixels (higher is better)."""
    mse = np.mean((filled[~observed] - small[~observed]) ** 2)
    return 10 * np.log10(1.0 / mse)


# %%
# Deep Tucker completion
# ----------------------
# A photo is not exactly low rank: fitting the observed pixels exactly would
# fit their fine detail too (PSNR -1 dB on the hidden pixels after 10000
# iterations). With at least 200 observed entries, the default
# ``early_stopping="auto"`` holds 10 % of them out, stops once their error
# no longer falls, and restores the best parameters. Whole pixels are
# missing, so whole pixels are held out (``validation_units_``): a single
# channel held out would be guessed from the pixel's other two, an optimistic
# error that never stops the fit. Each row of the image is then completed
# from its observed pixels with the other factors fixed (the fold-in of
# ``transform``), under a prior learnt from the fitted rows: a Gaussian
# blended with the rows themselves (``empirical_weight_``), chosen on the
# held-out pixels. A guard compares the result with the mean fill there and
# blends the mean fill in (``baseline_weight_``) when the fit is not
# clearly better.
start = time.perf_counter()
completer = TensorCompleter(random_state=0)
filled_deep = completer.fit_transform(X)
time_deep = time.perf_counter() - start
print(f"deep Tucker: PSNR {psnr(filled_deep):.1f} dB in {time_deep:.1f} s")
print(f"held out: {completer.validation_units_}; weight of the mean fill: "
      f"{completer.baseline_weight_:.2f}")
print("effective ranks of the three unfoldings:",
      np.round(completer.history_["effective_rank"][-1], 2))

# %%
# tensorly's Tucker with a mask, at two fixed ranks
# -------------------------------------------------
# ``pip install tensorly`` (part of the ``bench`` extra).
try:
    import tensorly as tl
    from tensorly.decomposition import tucker
except ImportError:  # the comparison is optional
    tl = None

results = {"observed": None, "deep Tucker (skdeep)": filled_deep}
if tl is not None:
    for rank in (5, 15):
        start = time.perf_counter()
        start_fill = np.where(observed, small, small[observed].mean())
        core, factors = tucker(
            tl.tensor(start_fill), rank=[rank, rank, 3],
            mask=tl.tensor(observed.astype(float)), n_iter_max=100, random_state=0,
        )
        model = tl.to_numpy(tl.tucker_to_tensor((core, factors)))
        filled = np.where(observed, small, model)
        results[f"tensorly Tucker-EM, rank {rank}"] = filled
        print(f"tensorly Tucker rank ({rank}, {rank}, 3): PSNR {psnr(filled):.1f} dB "
              f"in {time.perf_counter() - start:.1f} s")

# %%
# Side by side
# ------------
panels = [("original", small), *results.items()]
fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.8))
for ax, (title, img) in zip(axes, panels):
    if img is None:  # the observed pixels, the rest in white
        img = np.where(observed, small, 1.0)
    elif title != "original":
        title = f"{title}\n{psnr(img):.1f} dB"
    ax.imshow(np.clip(img, 0, 1))
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# How training went
# -----------------
# From the random start the effective rank of every unfolding drops to about
# one, then grows step by step while the error on the observed pixels falls in
# matching steps: gradient descent on the deep factors adds one component at a
# time, the incremental learning behind their low-rank bias. The error on the
# held-out pixels follows it until the fine detail of the observed pixels is
# being fitted; the fit is stopped there.
history = completer.history_
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3))
ax0.semilogy(history["iteration"], history["train_error"], label="training")
ax0.semilogy(history["iteration"], history["validation_error"], label="held out")
ax0.set(xlabel="iteration", ylabel="relative error on observed pixels")
ax0.legend()
for mode, name in enumerate(["rows", "columns", "channels"]):
    ax1.plot(history["iteration"], history["effective_rank"][:, mode], label=name)
ax1.set(xlabel="iteration", ylabel="effective rank")
ax1.legend()
fig.tight_layout()
plt.show()
