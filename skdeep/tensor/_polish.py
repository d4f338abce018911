"""The polish: the deep Tucker model truncated to the ranks it revealed.

The deep factorization's implicit low-rank bias sets the effective ranks of
the model early (the escape from the small start); its L-BFGS phase then
spends most of its iterations polishing a model of those ranks, slowly: the
directions the data do not use stay small but alive, and L-BFGS goes on
fitting them. :func:`compress_tucker` truncates the model to the ranks its
singular values reveal (the truncated HOSVD of the model, computed from the
factors and the core without forming the tensor); :func:`padded_layers`
writes the truncated model back into the deep layers, balanced, with zeros
in every other direction, where the gradient of every zero entry is zero: a
fresh L-BFGS from there (the polish phase of :func:`._schedule.schedule`)
fits the model of those ranks only; the rank growth rounds of
:mod:`._growth` then add ranks one at a time while the held-out units
improve. The layers keep their shapes, so both
backends run it as one more phase of their loop, judged on the held-out
units as the others; early stopping keeps the best held-out point of all
the phases, the polished one only when it is better.

On 20 x 20 x 20 tensors of Tucker rank 3 (10-30 % observed), L-BFGS from
the truncated model reached an error of 1e-5 on the missing entries in
25-250 iterations, where the deep model's L-BFGS took 1000-5800 to 1e-4.
"""

import numpy as np

from ..utils._tensor_algebra import mode_dot, unfold
from ._model import chain

# A singular value of a mode unfolding of the deep model counts towards the
# rank when it is at least this share of the largest one.
RANK_TOL = 1e-2
# The L-BFGS phase before the polish ends by the rule at this tolerance (or
# the completer's, when larger) once the fit is (almost) exact (see
# ``_schedule.schedule``): the polish does the rest. Measured on the 20 x 20
# x 20 problems of ``benchmarks/bench_tensor_speed.py``: 1e-2 and 0.1 cost
# about as much with a window of a quarter of ``n_iter_no_change``; an
# eighth (``_schedule.SWITCH_WINDOW_DIVISOR``) saved about 10 % (errors at
# most 5e-5), but with 0.1 let one fit stop at an error of 1.2e-2.
SWITCH_TOL = 3e-2


def compress_tucker(factors, core, rank_tol=RANK_TOL):
    """The truncated HOSVD of the Tucker model ``core x_k factors[k]``.

    The factors are orthonormalised (``U_k = Q_k R_k``) and the small core
    ``core x_k R_k`` decomposed: mode ``k`` keeps the left singular vectors of
    its unfolding whose singular values are at least ``rank_tol`` times the
    largest (at least one), which are those of the model's mode-``k``
    unfolding.

    Returns
    -------
    factors : list of ndarray
        ``(n_k, r_k)`` with orthonormal columns.
    core : ndarray of shape (r_1, ..., r_d)

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._polish import compress_tucker
    >>> rng = np.random.RandomState(0)
    >>> core = np.zeros((4, 4, 4))
    >>> core[:2, :2, :2] = rng.standard_normal((2, 2, 2))
    >>> factors = [rng.standard_normal((6, 4)) for _ in range(3)]
    >>> small, small_core = compress_tucker(factors, core + 1e-6)
    >>> small_core.shape
    (2, 2, 2)
    """
    bases, small = [], core
    for k, U in enumerate(factors):
        Q, R = np.linalg.qr(U)
        bases.append(Q)
        small = mode_dot(small, R, k)
    kept = []
    for k in range(small.ndim):
        vectors, values, _ = np.linalg.svd(unfold(small, k), full_matrices=False)
        rank = max(1, int(np.sum(values >= rank_tol * values[0])))
        kept.append(vectors[:, :rank])
    for k, V in enumerate(kept):
        small = mode_dot(small, V.T, k)
    return [Q @ V for Q, V in zip(bases, kept)], small


def padded_layers(factors, core, layers, core_shape):
    """The Tucker model ``core x_k factors[k]`` in deep layers of given shapes.

    Mode ``k``'s layers (the shapes of ``layers[k]``) become ``A_1 = [a
    U_k, 0]`` and ``A_j = [[a I, 0], [0, 0]]`` (``j > 1``), the core ``core /
    a**(depth * order)`` padded with zeros to ``core_shape``: the same model,
    with the layers and the core of equal norms (``a``), and zeros in every
    direction the truncation removed.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._model import chain
    >>> from skdeep.tensor._polish import padded_layers
    >>> from skdeep.utils._tensor_algebra import reconstruct
    >>> rng = np.random.RandomState(0)
    >>> factors = [np.linalg.qr(rng.standard_normal((5, 2)))[0] for _ in range(3)]
    >>> core = rng.standard_normal((2, 2, 2))
    >>> shapes = [[np.zeros((5, 5)), np.zeros((5, 4))] for _ in range(3)]
    >>> layers, padded = padded_layers(factors, core, shapes, (4, 4, 4))
    >>> deep = reconstruct("tucker", [chain(mode) for mode in layers], padded)
    >>> bool(np.allclose(deep, reconstruct("tucker", factors, core)))
    True
    """
    depth = len(layers[0])
    order = len(factors)
    a = float(np.linalg.norm(core)) ** (1.0 / (depth * order + 1)) or 1.0
    new = []
    for U, mode in zip(factors, layers):
        rank = U.shape[1]
        arrays = [np.zeros(np.shape(A)) for A in mode]
        arrays[0][:, :rank] = a * U
        for A in arrays[1:]:
            A[:rank, :rank] = a * np.eye(rank)
        new.append(arrays)
    padded = np.zeros(core_shape)
    padded[tuple(slice(0, U.shape[1]) for U in factors)] = core / a ** (depth * order)
    return new, padded


class PolishStart:
    """``on_start`` of the polish phase: truncate the best held-out deep model.

    The backend binds its model's ``snapshot()`` (numpy layers and core) and
    ``load(state)`` (:meth:`bind`). It restores the best held-out parameters
    so far, truncates that deep model at ``rank_tol``
    (:func:`compress_tucker`) and writes the result back
    (:func:`padded_layers`). ``ranks`` records the ranks kept.
    """

    def __init__(self, rank_tol=RANK_TOL):
        self.rank_tol = rank_tol
        self.snapshot = self.load = self.entries = None
        self.ranks = None

    def bind(self, snapshot, load, entries=None):
        """The backend's model: ``snapshot() -> (layers, core)``, ``load``;
        its training entries (an :class:`~._model.ObservedEntries`)."""
        self.snapshot, self.load, self.entries = snapshot, load, entries

    def __call__(self, control):
        layers, core, factors, small = self.truncated_best(control)
        self.ranks = tuple(U.shape[1] for U in factors)
        self.load(padded_layers(factors, small, layers, core.shape))

    def truncated_best(self, control):
        """The best held-out point, restored: its deep ``(layers, core)``
        and its truncation ``(factors, small_core)`` at ``rank_tol``."""
        if control.best is not None:
            control.best.restore()
        layers, core = self.snapshot()
        factors, small = compress_tucker([chain(mode) for mode in layers], core,
                                         self.rank_tol)
        return layers, core, factors, small
