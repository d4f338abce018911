"""The torch modules of :class:`~skdeep.neural.NystromNetClassifier`.

This module imports torch at import time: the estimator imports it inside
``fit`` and the prediction methods only. The classes are module-level so that
fitted estimators pickle.
"""

import copy

from ..utils._torch import import_torch
from ._nystrom_setup import KERNELS_WITH_GAMMA

# import_torch gives the install hint when torch is missing.
torch = import_torch()
nn = torch.nn
F = torch.nn.functional

# L-BFGS iterations per epoch, and its memory.
LBFGS_INNER = 20
LBFGS_MEMORY = 10
# Rows x landmarks x features above which the chi2 kernel is computed by chunks.
_CHI2_CHUNK = 2**22


def l2_normalize(z, eps):
    """Rows of ``z`` divided by ``sqrt(||z||^2 + eps)`` (smooth at zero)."""
    return z / torch.sqrt((z * z).sum(dim=1, keepdim=True) + eps)


def _chi2_distance(A, B):
    # sum_k (a_k - b_k)^2 / (a_k + b_k), terms with a_k + b_k = 0 count 0 (as
    # sklearn.metrics.pairwise.chi2_kernel); features are expected non-negative.
    rows = max(1, _CHI2_CHUNK // max(1, B.shape[0] * B.shape[1]))
    parts = []
    for start in range(0, A.shape[0], rows):
        a = A[start : start + rows, None, :]
        b = B[None, :, :]
        total = a + b
        safe = torch.where(total > 0, total, torch.ones_like(total))
        diff = torch.where(total > 0, (a - b) ** 2 / safe, torch.zeros_like(total))
        parts.append(diff.sum(dim=2))
    return torch.cat(parts)


def pairwise_distance(kernel, A, B):
    """The distance inside ``kernel`` (``k = exp(-gamma d)``) between rows."""
    if kernel == "rbf":
        d = (A * A).sum(1)[:, None] - 2 * A @ B.T + (B * B).sum(1)[None, :]
        return d.clamp_min(0)
    if kernel == "laplacian":
        return torch.cdist(A, B, p=1)
    if kernel == "chi2":
        return _chi2_distance(A, B)
    raise ValueError(f"kernel {kernel!r} has no distance.")


def arccos_kernel(A, B):
    """Arc-cosine kernel of degree 1 (Cho and Saul 2009) of ``[a / sqrt(p), 1]``.

    The covariance of an infinitely wide ReLU layer with weights of variance
    ``1 / p`` (``p`` features) and biases of variance 1:
    ``||a'|| ||b'|| J(cos t) / pi`` with ``J(c) = sqrt(1 - c^2) + (pi -
    arccos c) c``. The cosine is kept a few ulps inside ``[-1, 1]``, where
    the gradient of ``J`` (``pi - arccos c``) is finite.
    """
    scale = A.shape[1] ** -0.5
    a = torch.cat([A * scale, torch.ones_like(A[:, :1])], dim=1)
    b = torch.cat([B * scale, torch.ones_like(B[:, :1])], dim=1)
    na = a.norm(dim=1, keepdim=True)  # >= 1: the bias coordinate
    nb = b.norm(dim=1, keepdim=True)
    edge = 1 - 10 * torch.finfo(A.dtype).eps
    c = ((a @ b.T) / (na * nb.T)).clamp(-edge, edge)
    J = torch.sqrt(1 - c * c) + (torch.pi - torch.arccos(c)) * c
    return na * nb.T * J / torch.pi


def kernel_matrix(kernel, A, B, gamma):
    """``[k(a_i, b_j)]`` for one of the kernels of ``NystromNetClassifier``."""
    if kernel == "linear":
        return A @ B.T
    if kernel == "arccos":
        return arccos_kernel(A, B)
    if kernel == "cosine":
        eps = torch.finfo(A.dtype).tiny
        a = A / (A.norm(dim=1, keepdim=True) + eps)
        b = B / (B.norm(dim=1, keepdim=True) + eps)
        return a @ b.T
    return torch.exp(-gamma * pairwise_distance(kernel, A, B))


def median_gamma(kernel, Z):
    """``1 / median`` of the kernel's distance between distinct rows of ``Z``."""
    if Z.shape[0] < 2:
        return 1.0
    d = pairwise_distance(kernel, Z, Z)
    i, j = torch.triu_indices(Z.shape[0], Z.shape[0], offset=1)
    median = float(torch.median(d[i, j].to(torch.float64)))
    return 1.0 / median if median > 0 else 1.0


def inverse_sqrt_psd(K):
    """``K^{-1/2}`` of a symmetric PSD matrix, eigenvalues floored.

    The eigendecomposition runs in float64; eigenvalues below
    ``10 * m * eps(K.dtype) * max eigenvalue`` (and below ``1e-12``) are raised
    to that floor, as :class:`sklearn.kernel_approximation.Nystroem` floors its
    singular values, so the map stays finite when landmarks nearly coincide.
    """
    K64 = K.detach().to(torch.float64)
    K64 = (K64 + K64.T) / 2
    S, U = torch.linalg.eigh(K64)
    top = float(S.max()) if S.numel() else 1.0
    floor = max(1e-12, 10 * K.shape[0] * float(torch.finfo(K.dtype).eps) * top)
    S = S.clamp_min(floor)
    return ((U / torch.sqrt(S)) @ U.T).to(K.dtype)


def kernel_blocks(kernels, gammas, A, B):
    """``[k(a_i, b_j)]`` for every kernel (with its bandwidth), as a list."""
    return [kernel_matrix(k, A, B, g) for k, g in zip(kernels, gammas)]


def exact_maps(kernels, gammas, Z_landmarks):
    """The exact Nyström maps ``K_mm^{-1/2}``, one per kernel, stacked."""
    return torch.stack([
        inverse_sqrt_psd(K)
        for K in kernel_blocks(kernels, gammas, Z_landmarks, Z_landmarks)
    ])


def nystrom_features(kernels, gammas, Z, Z_landmarks):
    """Nyström features of the rows ``Z`` with the exact maps of the landmark
    rows ``Z_landmarks`` (numpy in, numpy out, float64): the features of the
    network without a backbone and with ``metric="fixed"``."""
    with torch.no_grad():
        Z = torch.as_tensor(Z, dtype=torch.float64)
        L = torch.as_tensor(Z_landmarks, dtype=torch.float64)
        blocks = kernel_blocks(kernels, gammas, Z, L)
        maps = exact_maps(kernels, gammas, L)
        return torch.cat([K @ W.T for K, W in zip(blocks, maps)], dim=1).numpy()


class MLPBackbone(nn.Module):
    """Dense layers with ReLU activations (``hidden_layer_sizes``)."""

    def __init__(self, n_features, hidden_layer_sizes):
        super().__init__()
        layers, width = [], n_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class CNNBackbone(nn.Module):
    """A small conv net: two blocks of 3x3 convolution, ReLU and 2x2 max pooling."""

    def __init__(self, in_channels, channels=(32, 64)):
        super().__init__()
        layers, width = [], in_channels
        for size in channels:
            layers += [
                nn.Conv2d(width, size, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            width = size
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x).flatten(1)


class NystromNet(nn.Module):
    """Backbone, Nyström kernel layer(s) with a linear metric, softmax layer.

    ``h = concat_k W_k [k(z(x), z(l_j))]_j`` with ``z = phi(x)`` (divided by
    ``||phi(x)||`` with ``normalize``) and the landmarks ``l_j`` passed
    through the same backbone ``phi``; the logits are ``classifier(h)``.

    Parameters
    ----------
    backbone : nn.Module or None
        ``phi``; ``None`` is the identity on the input features.
    input_shape : tuple or None
        Shape each flat row is read as before the backbone.
    landmarks : Tensor of shape (n_landmarks, n_features)
        Landmark inputs (flat rows).
    learn_landmarks : bool
        Landmarks are parameters (else a buffer).
    kernels : list of str
    gammas : list of float or None
    adaptive : bool
        The metric ``W`` is a parameter (else recomputed as ``K_mm^{-1/2}``).
    n_classes : int
    train_backbone : bool
        False keeps the backbone frozen and in eval mode.
    eps : float
        Added under the square root of the l2 normalisation.
    normalize : bool
        l2-normalise the features ``z`` (else ``z = phi(x)``).
    """

    def __init__(
        self,
        backbone,
        input_shape,
        landmarks,
        learn_landmarks,
        kernels,
        gammas,
        adaptive,
        n_classes,
        train_backbone,
        eps,
        normalize=True,
    ):
        super().__init__()
        self.normalize = normalize
        self.backbone = backbone
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.kernels = list(kernels)
        self.gammas = list(gammas)
        self.adaptive = adaptive
        self.eps = eps
        if learn_landmarks:
            self.landmarks = nn.Parameter(landmarks.clone())
        else:
            self.register_buffer("landmarks", landmarks.clone())
        self.set_train_backbone(train_backbone)
        m = landmarks.shape[0]
        # The landmark features change during training when they are learned
        # or pass through a trained backbone.
        self.moving_landmarks = learn_landmarks or (
            backbone is not None and train_backbone and _has_params(backbone)
        )
        with torch.no_grad():
            W0 = self.exact_metric()
        self.register_buffer("metric_init", W0.clone())
        if adaptive:
            self.metric = nn.Parameter(W0.clone())
        else:
            self.register_buffer("metric", W0.clone())
        self.classifier = nn.Linear(len(self.kernels) * m, n_classes).to(
            landmarks.dtype
        )

    # -- pieces ---------------------------------------------------------------
    def embed(self, x):
        """Normalised backbone features ``z(x)`` of flat rows ``x``."""
        if self.backbone is None:
            z = x
        else:
            if self.input_shape is not None:
                x = x.reshape(x.shape[0], *self.input_shape)
            z = self.backbone(x).flatten(1)
        return l2_normalize(z, self.eps) if self.normalize else z

    def kernel_vectors(self, x, z_landmarks=None):
        """List (one per kernel) of ``[k(z(x), z(l_j))]_j``."""
        z = self.embed(x)
        zl = self.embed(self.landmarks) if z_landmarks is None else z_landmarks
        return kernel_blocks(self.kernels, self.gammas, z, zl)

    def exact_metric(self):
        """``K_mm^{-1/2}`` of the current landmark features, one per kernel."""
        return exact_maps(self.kernels, self.gammas, self.embed(self.landmarks))

    def refresh_metric(self):
        """Set the fixed metric to ``K_mm^{-1/2}`` of the current landmarks."""
        if not self.adaptive:
            with torch.no_grad():
                self.metric.copy_(self.exact_metric())

    def features(self, x):
        """Nyström features ``h`` of flat rows ``x``."""
        if self.training and not self.adaptive and self.moving_landmarks:
            self.refresh_metric()  # the exact map of the current landmarks
        vectors = self.kernel_vectors(x)
        return torch.cat([k @ W.T for k, W in zip(vectors, self.metric)], dim=1)

    def forward(self, x):
        return self.classifier(self.features(x))

    def metric_deviation(self):
        """``||W - W_0||_F^2`` summed over the kernels."""
        return ((self.metric - self.metric_init) ** 2).sum()

    def set_train_backbone(self, train_backbone):
        """Train (True) or freeze (False) the backbone from now on."""
        self.train_backbone = train_backbone
        if self.backbone is not None:
            for p in self.backbone.parameters():
                p.requires_grad_(train_backbone)

    def train(self, mode=True):
        super().train(mode)
        if self.backbone is not None and not self.train_backbone:
            self.backbone.eval()  # a frozen backbone keeps its statistics
        return self


def _has_params(module):
    return any(True for _ in module.parameters())


def decay_parameters(net):
    """Weights under the ``alpha`` penalty: trained backbone and classifier
    weights (no biases, landmarks nor metric)."""
    params = [net.classifier.weight]
    if net.backbone is not None and net.train_backbone:
        params += [
            p for name, p in net.backbone.named_parameters()
            if p.requires_grad and not name.endswith("bias")
        ]
    return params


def make_backbone(spec, n_features, hidden_layer_sizes, input_shape):
    """The backbone ``phi`` of a ``backbone`` parameter (a module is deep-copied).

    ``spec`` is None (no backbone), ``"mlp"``, ``"cnn"`` (on rows read as
    ``input_shape = (C, H, W)``) or a ``torch.nn.Module``.
    """
    if spec is None:
        return None
    if isinstance(spec, str) and spec == "mlp":
        return MLPBackbone(n_features, hidden_layer_sizes)
    if isinstance(spec, str) and spec == "cnn":
        return CNNBackbone(input_shape[0])
    if not isinstance(spec, nn.Module):
        raise TypeError(
            "backbone must be None, 'mlp', 'cnn' or a torch.nn.Module, got "
            f"{type(spec).__name__}."
        )
    return copy.deepcopy(spec)


def landmark_features(backbone, landmarks, input_shape, eps, normalize):
    """Features ``z`` of the landmark inputs before training."""
    with torch.no_grad():
        if backbone is None:
            z = landmarks
        else:
            x = landmarks if input_shape is None else landmarks.reshape(
                -1, *input_shape
            )
            try:
                z = backbone(x).flatten(1)
            except RuntimeError as exc:
                raise ValueError(
                    f"backbone failed on inputs of shape {tuple(x.shape)} (set "
                    f"input_shape to the shape it expects): {exc}"
                ) from exc
        return l2_normalize(z, eps) if normalize else z


def initial_gammas(kernels, gammas, z, factors=None):
    """The bandwidths: a ``None`` becomes :func:`median_gamma` of the landmark
    features ``z`` times its entry of ``factors`` (1 by default); kernels
    without a bandwidth get ``None``."""
    factors = [1.0] * len(kernels) if factors is None else factors
    return [
        (float(g) if g is not None else median_gamma(k, z) * f)
        if k in KERNELS_WITH_GAMMA
        else None
        for k, g, f in zip(kernels, gammas, factors)
    ]


def build_nystrom_net(backbone, landmark_inputs, *, n_features, hidden_layer_sizes,
                      input_shape, kernels, gammas, gamma_factors, learn_landmarks,
                      adaptive, n_classes, train_backbone, eps, normalize, device,
                      dtype):
    """A new :class:`NystromNet` on ``device`` in ``dtype``.

    ``backbone`` is the estimator's parameter (see :func:`make_backbone`);
    ``landmark_inputs`` are the drawn rows. A ``None`` in ``gammas`` becomes
    :func:`median_gamma` of the initial landmark features times its entry of
    ``gamma_factors``. Draws the initial
    weights from torch's global generator (the caller seeds it).
    """
    phi = make_backbone(backbone, n_features, hidden_layer_sizes, input_shape)
    if phi is not None:
        phi = phi.to(device=device, dtype=dtype)
        phi.eval()
    L = torch.as_tensor(landmark_inputs, dtype=dtype, device=device)
    z = landmark_features(phi, L, input_shape, eps, normalize)
    if "chi2" in kernels and bool((z < 0).any()):
        raise ValueError(
            "kernel='chi2' needs non-negative features; the backbone outputs "
            "negative values."
        )
    return NystromNet(phi, input_shape, L, learn_landmarks, kernels,
                      initial_gammas(kernels, gammas, z, gamma_factors), adaptive,
                      n_classes,
                      train_backbone, eps, normalize)


def nystrom_param_groups(net, learning_rate_metric):
    """The trained parameters as optimiser groups: the adaptive metric in its
    own group with its own step size, the others at the optimiser's."""
    metric = net.metric if net.adaptive else None
    main = [p for p in net.parameters() if p.requires_grad and p is not metric]
    groups = [{"params": main}]
    if metric is not None:
        groups.append({"params": [metric], "lr": learning_rate_metric})
    return groups


def nystrom_lbfgs(net, tolerance_grad):
    """Full-batch L-BFGS (strong Wolfe line search) on the trained parameters:
    the solver of the network without a backbone, whose features are an
    ill-conditioned linear map of the kernel vectors (Adam's steps of one size
    for every parameter would not do). An epoch ends early once no gradient
    entry passes ``tolerance_grad`` (in the units of the minimised loss)."""
    return torch.optim.LBFGS(
        [p for p in net.parameters() if p.requires_grad], lr=1.0,
        max_iter=LBFGS_INNER, history_size=LBFGS_MEMORY,
        tolerance_grad=tolerance_grad,
        tolerance_change=1e-12, line_search_fn="strong_wolfe",
    )


def nystrom_objective(net, decayed, alpha, metric_penalty, batch, forward=None):
    """Training loss of a batch ``(X, y, sample_weight)`` and its terms.

    The weighted cross-entropy (mean over the batch of ``weight * ce``), plus
    ``alpha / 2`` times the squared norm of the ``decayed`` weights, plus, for
    an adaptive metric, ``metric_penalty / 2 * ||W - W_0||_F^2``. ``forward``
    maps the batch's ``X`` to the logits (``net`` by default; the softmax layer
    when ``X`` holds fixed Nyström features).
    """
    xb, yb, wb = batch
    logits = (net if forward is None else forward)(xb)
    ce = (F.cross_entropy(logits, yb, reduction="none") * wb).mean()
    decay = 0.5 * alpha * sum((p * p).sum() for p in decayed)
    terms = {"cross_entropy": ce, "weight_decay": decay}
    total = ce + decay
    if net.adaptive:
        deviation = 0.5 * metric_penalty * net.metric_deviation()
        terms["metric_penalty"] = deviation
        total = total + deviation
    return total, terms


def weighted_cross_entropy(net, X, y, weight):
    """``sum(weight * ce) / sum(weight)`` of the network on ``(X, y)``, a float."""
    ce = F.cross_entropy(net(X), y, reduction="none")
    return float((ce * weight).sum() / weight.sum().clamp_min(1e-300))
