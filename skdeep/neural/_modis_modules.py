"""The torch modules of :class:`~skdeep.neural.MODISIntegrator`.

This private module imports torch at import time; :mod:`skdeep.neural._modis`
imports it inside ``fit``/``predict`` only. The classes live at module level so
that fitted estimators pickle. The losses are in
:mod:`skdeep.neural._modis_losses`.
"""

from ..utils._torch import import_torch

# import_torch gives the install hint when torch is missing.
torch = import_torch()
nn = torch.nn

_SLOPE = 0.2  # LeakyReLU slope of the paper's code


def _mlp(sizes, *, batch_norm, last_activation):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or last_activation:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(_SLOPE))
    return nn.Sequential(*layers)


class ModalityVAE(nn.Module):
    """Gaussian VAE of one modality: MLP encoder (BatchNorm, LeakyReLU) with a
    mean and a log-variance head, and the mirrored decoder."""

    def __init__(self, n_features, hidden, n_components):
        super().__init__()
        hidden = list(hidden)
        self.encoder = _mlp(
            [n_features, *hidden], batch_norm=True, last_activation=True
        )
        width = hidden[-1] if hidden else n_features
        self.mean = nn.Linear(width, n_components)
        self.log_var = nn.Linear(width, n_components)
        self.decoder = _mlp(
            [n_components, *hidden[::-1], n_features],
            batch_norm=True,
            last_activation=False,
        )

    def encode(self, x):
        h = self.encoder(x)
        # A bounded log-variance keeps exp() finite in early epochs.
        return self.mean(h), torch.clamp(self.log_var(h), -12.0, 8.0)

    def decode(self, z):
        return self.decoder(z)


class LatentDiscriminator(nn.Module):
    """The shared trunk on the latent with its two heads: the class head and
    the modality head (the adversary). No normalisation layer, so every row is
    scored independently (needed by the per-sample gradient penalties)."""

    def __init__(self, n_components, hidden, n_classes, n_modalities):
        super().__init__()
        hidden = list(hidden)
        self.trunk = _mlp([n_components, *hidden], batch_norm=False,
                          last_activation=True)
        width = hidden[-1] if hidden else n_components
        self.class_head = nn.Linear(width, n_classes)
        self.modality_head = nn.Linear(width, n_modalities)

    def forward(self, z):
        h = self.trunk(z)
        return self.class_head(h), self.modality_head(h)


class MODISNetwork(nn.Module):
    """Per-modality VAEs and the latent discriminator."""

    def __init__(self, block_sizes, hidden_sizes, n_components, head_sizes,
                 n_classes):
        super().__init__()
        self.vaes = nn.ModuleList(
            [
                ModalityVAE(d, hidden, n_components)
                for d, hidden in zip(block_sizes, hidden_sizes)
            ]
        )
        self.discriminator = LatentDiscriminator(
            n_components, head_sizes, n_classes, len(block_sizes)
        )

    def fused_posterior(self, blocks, observed):
        """Product of the Gaussian posteriors of the observed modalities.

        ``blocks[m]`` is the (zero-filled) input of modality ``m`` for all rows,
        ``observed`` a boolean ``(n, n_modalities)`` mask. Returns the mean and
        log-variance of the product of the observed experts (precision-weighted
        mean); with a single observed modality this is its posterior.
        """
        precision_sum = 0.0
        weighted = 0.0
        for m, vae in enumerate(self.vaes):
            mu, log_var = vae.encode(blocks[m])
            precision = torch.exp(-log_var) * observed[:, m : m + 1]
            precision_sum = precision_sum + precision
            weighted = weighted + precision * mu
        precision_sum = torch.clamp(precision_sum, min=1e-12)
        return weighted / precision_sum, -torch.log(precision_sum)
