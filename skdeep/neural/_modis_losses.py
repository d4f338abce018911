"""The losses of :class:`~skdeep.neural.MODISIntegrator`.

The two training steps (:func:`discriminator_loss`, :func:`generator_loss`), the
validation loss of early stopping and their parts: the per-modality encoding of
a batch, the reconstruction error, the class cross-entropy, the KL term and the
modality adversary's relativistic (or cross-entropy) losses with their gradient
penalties. The estimator binds a network and a :class:`LossSettings` to the step
losses with :func:`functools.partial`.

This private module imports torch at import time; :mod:`skdeep.neural._modis`
imports it inside ``fit`` only.
"""

from dataclasses import dataclass

from ..utils._torch import import_torch

# import_torch gives the install hint when torch is missing.
torch = import_torch()
F = torch.nn.functional


@dataclass(frozen=True)
class LossSettings:
    """What the losses need beside the network and the batch.

    Attributes
    ----------
    columns : list of torch.Tensor
        Column indices of each modality's block, on the training device.
    class_weight : torch.Tensor or None
        Weight of each class in the cross-entropy (None: unweighted mean).
    adversarial : {"rpgan", "ce"} or None
        Loss of the modality adversary; None without one (one modality).
    beta : float
        Weight of the KL term.
    lambda_adversarial : float
        Weight of the adversarial term in the encoders' loss.
    gamma_gp : float
        Weight of the R1 + R2 penalties (``gamma_gp / 2 * (R1 + R2)``).
    """

    columns: list
    class_weight: object
    adversarial: object
    beta: float
    lambda_adversarial: float
    gamma_gp: float

    @property
    def n_modalities(self):
        return len(self.columns)


# -- the parts -------------------------------------------------------------------
def encode_views(vaes, columns, x, modality, present, sample):
    """Per-modality posteriors of a batch of views, in the batch's row order.

    Each row ``i`` is encoded by the VAE of its modality ``modality[i]`` from
    its block of columns. Returns ``(z, mu, log_var, parts)``: the latents
    (drawn from the posteriors when ``sample``, else their means), the
    posterior means and log-variances, and per modality in the batch
    ``(z, x_block, present_block, m)`` for the reconstruction error.
    """
    order, mus, log_vars, parts = [], [], [], []
    for m in range(len(columns)):
        rows = torch.nonzero(modality == m).ravel()
        if rows.numel() == 0:
            continue
        x_m = x[rows][:, columns[m]]
        present_m = present[rows][:, columns[m]]
        mu, log_var = vaes[m].encode(x_m)
        z = mu
        if sample:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        order.append(rows)
        mus.append(mu)
        log_vars.append(log_var)
        parts.append((z, x_m, present_m, m))
    order = torch.cat(order)

    def in_batch_order(blocks):
        out = mus[0].new_zeros((len(x), mus[0].shape[1]))
        return out.index_copy(0, order, torch.cat(blocks))

    z = in_batch_order([part[0] for part in parts])
    return z, in_batch_order(mus), in_batch_order(log_vars), parts


def class_loss(logits, y, class_weight):
    """Class cross-entropy of the labeled rows (``y >= 0``); 0 without any."""
    labeled = y >= 0
    if not labeled.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[labeled], y[labeled], weight=class_weight)


def reconstruction_error(vaes, parts):
    """Mean squared error over the measured entries, averaged over modalities."""
    errors = [
        torch.sum(present_m * (vaes[m].decode(z) - x_m) ** 2)
        / torch.clamp(present_m.sum(), min=1.0)
        for z, x_m, present_m, m in parts
    ]
    return sum(errors) / len(errors)


def kl_to_standard_normal(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)) summed over dimensions, per row."""
    return 0.5 * torch.sum(mu**2 + torch.exp(log_var) - 1.0 - log_var, dim=1)


# -- the modality adversary ------------------------------------------------------
def _relativistic_pairs(logits, modality, n_modalities, sign):
    """Mean of ``softplus(sign * (D_a(z_b) - D_a(z_a)))`` over the pairs of rows
    of every ordered pair of modalities ``(a, b)``, then over those pairs."""
    total, n_pairs = 0.0, 0
    for a in range(n_modalities):
        own = logits[modality == a, a]
        if own.numel() == 0:
            continue
        for b in range(n_modalities):
            other = logits[modality == b, a]
            if b == a or other.numel() == 0:
                continue
            total = total + F.softplus(sign * (other[None, :] - own[:, None])).mean()
            n_pairs += 1
    return total / max(n_pairs, 1)


def rpgan_discriminator_loss(logits, modality, n_modalities):
    """Relativistic pairing loss of the modality head.

    For every ordered pair of modalities ``(a, b)``, the logit of modality ``a``
    should be larger on a latent of ``a`` than on a latent of ``b``:
    ``softplus(D_a(z_b) - D_a(z_a))`` averaged over all pairs of rows of the
    batch, then over the pairs of modalities.
    """
    return _relativistic_pairs(logits, modality, n_modalities, 1.0)


def rpgan_generator_loss(logits, modality, n_modalities):
    """The encoders' side of the relativistic pairing: the reverse ordering,
    ``softplus(D_a(z_a) - D_a(z_b))``; it moves latents of both modalities."""
    return _relativistic_pairs(logits, modality, n_modalities, -1.0)


def zero_centred_penalties(discriminator, z, modality, n_modalities):
    """R1 + R2 gradient penalties of the modality head at the latents.

    For the logit ``D_a``, R1 is the mean squared gradient norm at the latents
    of modality ``a`` ("real" for ``D_a``) and R2 at the latents of the other
    modalities ("fake"); both are averaged over ``a``. The graph is kept
    (``create_graph=True``) so the penalty trains the discriminator.
    """
    z = z.detach().requires_grad_(True)
    _, logits = discriminator(z)
    total = 0.0
    for a in range(n_modalities):
        (grad,) = torch.autograd.grad(logits[:, a].sum(), z, create_graph=True)
        sq_norm = grad.pow(2).sum(dim=1)
        own = modality == a
        r1 = sq_norm[own].mean() if own.any() else sq_norm.sum() * 0.0
        r2 = sq_norm[~own].mean() if (~own).any() else sq_norm.sum() * 0.0
        total = total + r1 + r2
    return total / n_modalities


def ce_generator_loss(logits, modality, n_modalities):
    """The encoders' side of the cross-entropy adversary: cross-entropy towards
    the uniform distribution over the modalities (the discriminator's
    confusion, which moves the mass of the own modality to the others).

    Targeting the *other* modalities only flips two modalities into each
    other's place, which a discriminator still separates perfectly.
    """
    log_p = F.log_softmax(logits, dim=1)
    return -log_p.mean(dim=1).mean()


# -- the training steps and the validation loss ----------------------------------
def discriminator_loss(network, settings, batch):
    """Loss of the discriminator step on a batch ``(x, modality, y, present)``.

    The trunk and both heads are trained on the detached latents: the class
    cross-entropy plus the modality adversary's loss (with its gradient
    penalties for ``"rpgan"``). The adversary judges the posterior means: the
    deterministic coordinates that ``transform`` returns are the ones aligned.
    """
    x, modality, y, present = batch
    disc, n_mod = network.discriminator, settings.n_modalities
    with torch.no_grad():
        z, mu, _, _ = encode_views(network.vaes, settings.columns, x, modality,
                                   present, sample=True)
    class_logits, _ = disc(z)
    cls = class_loss(class_logits, y, settings.class_weight)
    terms = {"classification": cls}
    loss = cls
    if settings.adversarial is not None:
        _, mod_logits = disc(mu)
    if settings.adversarial == "rpgan":
        adv = rpgan_discriminator_loss(mod_logits, modality, n_mod)
        penalty = zero_centred_penalties(disc, mu, modality, n_mod)
        loss = loss + adv + 0.5 * settings.gamma_gp * penalty
        terms.update(adversarial=adv, penalty=penalty)
    elif settings.adversarial == "ce":
        adv = F.cross_entropy(mod_logits, modality)
        loss = loss + adv
        terms.update(adversarial=adv)
    return loss, terms


def generator_loss(network, settings, batch):
    """Loss of the generator (auto-encoders) step on a batch.

    Reconstruction + ``beta`` KL + class cross-entropy on sampled latents, plus
    ``lambda_adversarial`` times the adversarial term through the (not
    stepped) discriminator.
    """
    x, modality, y, present = batch
    disc = network.discriminator
    z, mu, log_var, parts = encode_views(network.vaes, settings.columns, x,
                                         modality, present, sample=True)
    rec = reconstruction_error(network.vaes, parts)
    kl = kl_to_standard_normal(mu, log_var).mean()
    class_logits, _ = disc(z)
    cls = class_loss(class_logits, y, settings.class_weight)
    loss = rec + settings.beta * kl + cls
    terms = {"reconstruction": rec, "kl": kl, "classification": cls}
    if settings.adversarial is not None:
        _, mod_logits = disc(mu)
        adversary = (
            rpgan_generator_loss if settings.adversarial == "rpgan"
            else ce_generator_loss
        )
        adv = adversary(mod_logits, modality, settings.n_modalities)
        loss = loss + settings.lambda_adversarial * adv
        terms["adversarial"] = adv
    return loss, terms


def validation_loss(network, settings, data):
    """Reconstruction + ``beta`` KL + class cross-entropy of held-out views, on
    the posterior means (deterministic); a float."""
    x, modality, y, present = data
    _, mu, log_var, parts = encode_views(network.vaes, settings.columns, x,
                                         modality, present, sample=False)
    class_logits, _ = network.discriminator(mu)
    kl = kl_to_standard_normal(mu, log_var).mean()
    return float(
        reconstruction_error(network.vaes, parts)
        + settings.beta * kl
        + class_loss(class_logits, y, settings.class_weight)
    )
