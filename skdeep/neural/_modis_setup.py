"""What :class:`~skdeep.neural.MODISIntegrator` sets up before training.

The class codes of semi-supervised labels, the guard on the size of the
network's tensors, and the loss settings and optimiser steps bound to a built
network. torch is imported inside the functions.
"""

from functools import partial

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from ..utils._torch import import_torch
from ..utils._training import TrainingStep
from ..utils._validation import check_semi_supervised_y, check_tensor_size
from ._modis_inputs import ravel_column_y

# Adam's betas of the paper's public code (a GAN-style first moment).
ADAM_BETAS = (0.5, 0.999)


def encode_labels(y, n_samples, estimator_name):
    """``(classes, codes)``: the labeled classes and each sample's code (-1 for
    unlabeled samples); at least two classes must be labeled."""
    y = ravel_column_y(y)
    if y.dtype.kind == "f":
        check_classification_targets(y)
    y, labeled = check_semi_supervised_y(y, n_samples)
    classes, y_code = np.unique(y[labeled], return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"only {len(classes)} class labeled in y; {estimator_name} needs "
            "labeled samples of at least two classes (-1 marks unlabeled samples)."
        )
    codes = np.full(n_samples, -1, dtype=np.int64)
    codes[labeled] = y_code
    return classes, codes


def check_network_sizes(blocks, hidden, head, n_views, *, batch_size,
                        n_components, adversarial):
    """Refuse parameters whose largest tensor would pass the size limit.

    ``blocks`` are the modalities' columns, ``hidden`` the encoders' widths,
    ``head`` the discriminator's, and ``n_views`` the number of training rows
    of each modality. The network is float32 (4 bytes an entry). Every width
    is tagged with the parameter that sets it (``None`` for the data's own
    sizes); a tensor names the parameter of its largest tagged width.
    """
    per_modality = [n if batch_size is None else min(batch_size, n)
                    for n in n_views]
    rows = sum(per_modality)
    latent = (n_components, "n_components")

    def check_layers(widths, what):
        for (a, tag_a), (b, tag_b) in zip(widths[:-1], widths[1:]):
            tagged = [(w, t) for w, t in ((a, tag_a), (b, tag_b)) if t]
            check_tensor_size(4 * a * b, f"a {a} x {b} weight matrix of {what}",
                              max(tagged)[1])
        width, tag = max(w for w in widths if w[1])
        check_tensor_size(
            4 * rows * width,
            f"the activations of {rows} rows in a layer of width {width} of {what}",
            tag,
        )

    for cols, widths in zip(blocks, hidden):
        check_layers(
            [(len(cols), None), *((w, "hidden_layer_sizes") for w in widths), latent],
            "an auto-encoder",
        )
    check_layers([latent, *((w, "discriminator_hidden_sizes") for w in head)],
                 "the discriminator")
    if adversarial == "rpgan" and len(per_modality) > 1:
        big = sorted(per_modality)[-2:]
        check_tensor_size(
            4 * big[0] * big[1],
            f"the {big[1]} x {big[0]} pairs of the relativistic loss in a batch",
            "batch_size",
        )


def loss_settings(estimator, class_weight, device):
    """The :class:`LossSettings` of a fitted-blocks ``estimator`` on ``device``."""
    from ._modis_losses import LossSettings

    torch = import_torch()
    return LossSettings(
        columns=[torch.as_tensor(c, dtype=torch.long, device=device)
                 for c in estimator.modality_blocks_],
        class_weight=(
            None if class_weight is None
            else torch.as_tensor(class_weight, dtype=torch.float32, device=device)
        ),
        adversarial=estimator.adversarial if estimator.n_modalities_ > 1 else None,
        beta=estimator.beta,
        lambda_adversarial=estimator.lambda_adversarial,
        gamma_gp=estimator.gamma_gp,
    )


def training_steps(network, settings, make_optimizer):
    """The discriminator step, then the generator step, of every batch.

    ``make_optimizer(params)`` builds the optimiser of each step (the
    estimator's ``optimizer``; Adam with the paper's betas by default).
    """
    from . import _modis_losses as losses

    return [
        TrainingStep(make_optimizer(network.discriminator.parameters()),
                     partial(losses.discriminator_loss, network, settings),
                     name="discriminator"),
        TrainingStep(make_optimizer(network.vaes.parameters()),
                     partial(losses.generator_loss, network, settings),
                     name="generator"),
    ]
