"""The torch modules of :class:`~skdeep.neural.LipschitzClassifier`.

Dense layers whose weight is constrained to a largest singular value of at most
one (spectral normalisation by power iteration, optionally followed by Björck
orthonormalisation), the norm-preserving sorting activations (GroupSort2,
FullSort), the trained network and the plain network exported from it for
inference. This module imports torch at import time: the estimator imports it
inside ``fit`` and the prediction methods only. The classes are module-level so
that fitted estimators pickle.
"""

from ..utils._torch import import_torch

# import_torch gives the install hint when torch is missing.
torch = import_torch()
nn = torch.nn
F = torch.nn.functional

#: Activations of the network; both are 1-Lipschitz and preserve the l2 norm.
ACTIVATIONS = ("groupsort2", "fullsort")
#: Lipschitz constraints of the dense layers.
CONSTRAINTS = ("bjorck", "spectral")

# Power iterations run on a fresh layer, before its first training step.
_WARM_POWER_ITERATIONS = 20
# Björck: the iterations run without gradient stop when the Gram matrix is within
# this of the identity in Frobenius norm (its singular values then are within
# about 1e-6 of 1 after the last iteration), or after _BJORCK_MAX_ITER iterations.
_BJORCK_TOL = 1e-3
_BJORCK_MAX_ITER = 30


def group_sort2(z):
    """GroupSort with groups of two: each pair ``(a, b)`` becomes ``(min, max)``.

    The pairs are the coordinates ``i`` and ``i + h`` (``h`` half the width),
    and the minima are returned before the maxima: a fixed permutation of the
    usual interleaved layout, which the next dense layer absorbs. An odd last
    coordinate is passed through. The map is 1-Lipschitz and keeps the l2 norm.
    """
    half = z.shape[1] // 2
    a, b = z[:, :half], z[:, half : 2 * half]
    parts = [torch.minimum(a, b), torch.maximum(a, b)]
    if z.shape[1] % 2:
        parts.append(z[:, 2 * half :])
    return torch.cat(parts, dim=1)


def full_sort(z):
    """Sort the coordinates of every row (GroupSort with one group)."""
    return torch.sort(z, dim=1).values


def activate(z, activation):
    """Apply ``"groupsort2"`` or ``"fullsort"`` to the rows of ``z``."""
    return group_sort2(z) if activation == "groupsort2" else full_sort(z)


def _power_step(weight, u):
    """One power iteration on ``weight^T weight`` from the unit vector ``u``."""
    v = F.normalize(weight @ u, dim=0)
    return F.normalize(weight.T @ v, dim=0)


def bjorck(V, tol, max_iter):
    """Björck (Newton-Schulz) orthonormalisation of ``V`` (largest singular
    value about 1 or less), differentiable.

    ``V <- V (3/2 I - 1/2 V^T V)`` maps every singular value ``s`` in
    ``(0, sqrt(3))`` to ``s (3 - s^2) / 2``, which is at most 1 and converges
    to 1, so the rows (or columns, whichever are fewer) become orthonormal.
    The Gram matrix is taken on the smaller side. The iterations stop when the
    Gram matrix is within ``tol`` of the identity in Frobenius norm (or after
    ``max_iter`` of them), and one more is run (it squares the error). The
    gradient flows through every iteration: it is the exact derivative of the
    map applied, whose value the network uses. A single row or column is
    simply divided by its norm (the limit of the iteration).
    """
    if min(V.shape) == 1:  # one row or column: orthonormal once normalised
        return V / torch.linalg.vector_norm(V)
    wide = V.shape[0] <= V.shape[1]
    X = V if wide else V.T
    eye = torch.eye(X.shape[0], dtype=X.dtype, device=X.device)
    for _ in range(max_iter):
        gram = X @ X.T
        if float(torch.linalg.matrix_norm(gram.detach() - eye)) <= tol:
            break
        X = torch.addmm(X, gram, X, beta=1.5, alpha=-0.5)
    X = torch.addmm(X, X @ X.T, X, beta=1.5, alpha=-0.5)
    return X if wide else X.T


class LipschitzLinear(nn.Module):
    """Dense layer ``x W^T + b`` whose weight has spectral norm at most one.

    The trained parameter ``weight`` is free; the layer uses
    ``W = weight / sigma`` with ``sigma`` the largest singular value estimated
    by one power iteration per training step from the previous estimate
    (``u``, a buffer), then, with ``constraint="bjorck"``, the Björck
    orthonormalisation of ``W`` (all singular values 1: the layer preserves
    the norm of the gradients).

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    constraint : {"bjorck", "spectral"}
        The constraint.
    """

    def __init__(self, n_in, n_out, constraint):
        super().__init__()
        self.constraint = constraint
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        nn.init.orthogonal_(self.weight)
        self.bias = nn.Parameter(torch.zeros(n_out))
        u = F.normalize(torch.randn(n_in), dim=0)
        with torch.no_grad():
            for _ in range(_WARM_POWER_ITERATIONS):
                u = _power_step(self.weight, u)
        self.register_buffer("u", u)

    def constrained_weight(self, tol=None, max_iter=_BJORCK_MAX_ITER):
        """The constrained weight ``W`` (differentiable in ``weight``)."""
        weight = self.weight
        if self.training:
            with torch.no_grad():
                self.u.copy_(_power_step(weight, self.u))
        sigma = torch.linalg.vector_norm(weight @ self.u.detach())
        V = weight / sigma
        if self.constraint == "bjorck":
            V = bjorck(V, _BJORCK_TOL if tol is None else tol, max_iter)
        return V

    def forward(self, x):
        return F.linear(x, self.constrained_weight(), self.bias)


class LipschitzNet(nn.Module):
    """The trained network: constrained dense layers and sorting activations.

    ``sizes`` lists the widths from the input to the output (1 output for two
    classes, one per class beyond).
    """

    def __init__(self, sizes, activation, constraint):
        super().__init__()
        self.activation = activation
        self.layers = nn.ModuleList(
            [LipschitzLinear(a, b, constraint) for a, b in zip(sizes[:-1], sizes[1:])]
        )

    def forward(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = activate(x, self.activation)
        return x

    def export(self, dtype):
        """The weights and biases of an exact 1-Lipschitz copy, as ``dtype``.

        Each weight goes through the constraint of training once more, in
        ``dtype`` (the spectral normalisation with the exact largest singular
        value), and is then divided by its exact largest singular value when
        that exceeds one, so every layer's spectral norm is at most 1 up to the
        rounding of ``dtype``.
        """
        weights, biases = [], []
        with torch.no_grad():
            for layer in self.layers:
                raw = layer.weight.detach().to(dtype)
                sigma = torch.linalg.matrix_norm(raw, ord=2)
                W = raw / sigma
                if layer.constraint == "bjorck":
                    W = bjorck(W, _BJORCK_TOL, _BJORCK_MAX_ITER)
                top = torch.linalg.matrix_norm(W, ord=2)
                if top > 1:
                    W = W / top
                weights.append(W.clone())
                biases.append(layer.bias.detach().to(dtype).clone())
        return weights, biases


class ExportedNet(nn.Module):
    """The inference network: fixed weights of spectral norm at most one.

    A plain stack of dense layers (weights and biases are buffers, so the
    module has no trainable parameter) and the activation of training; it is
    1-Lipschitz from the input to the vector of scores in the l2 norm.
    """

    def __init__(self, weights, biases, activation):
        super().__init__()
        self.activation = activation
        self.n_layers = len(weights)
        for i, (W, b) in enumerate(zip(weights, biases)):
            self.register_buffer(f"weight{i}", W)
            self.register_buffer(f"bias{i}", b)

    def forward(self, x):
        for i in range(self.n_layers):
            x = F.linear(x, getattr(self, f"weight{i}"), getattr(self, f"bias{i}"))
            if i < self.n_layers - 1:
                x = activate(x, self.activation)
        return x


def build_lipschitz_net(n_features, hidden_layer_sizes, n_outputs, activation,
                        constraint):
    """The network of :class:`~skdeep.neural.LipschitzClassifier` (float32;
    convert it with ``.to(dtype)``)."""
    sizes = [n_features, *hidden_layer_sizes, n_outputs]
    return LipschitzNet(sizes, activation, constraint)
