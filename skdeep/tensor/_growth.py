"""Rank growth: the next rank-one direction of the residual, one round at a time.

Gradient descent on a deep factorization from a small start learns the
ranks one after the other: it leaves a plateau along the leading rank-one
direction of the residual, fits it, and sits on the next plateau (the
greedy low-rank learning that small-initialisation gradient flow follows
in the limit, Li, Luo and Lyu, ICLR 2021). How long it sits there depends
on how small the unused directions have become, and after L-BFGS they are
tiny: a fresh Adam from there first threw the model far away (its first
steps move every parameter by the step size) and the rank it then found
came by chance (on 18 crops of two photographs, one rounding difference
moved errors on the missing pixels by up to 0.13).

A growth round takes that escape explicitly. From the best held-out point
so far, truncated to the ranks it revealed (:func:`._polish.compress_tucker`),
it finds the leading rank-one term of the training residual (a few sweeps
of the higher-order power method on the observed entries,
:func:`residual_rank_one`), adds its direction to the basis of every mode
that has room for one more rank, adds the term to the core with the step
that minimises the training loss along it (:func:`grow_tucker`), and writes
the model back into the deep layers with zeros elsewhere
(:func:`._polish.padded_layers`); a fresh L-BFGS fits that model, judged on
the held-out units over a short window. The rounds go on until ``GROWTH_PATIENCE``
rounds in a row did not improve the best held-out point (a round after one
that did not adds its term to the model that one started from); the fit
keeps the best of all.
"""

import numpy as np

from ._model import design_matrix
from ._polish import RANK_TOL, PolishStart, padded_layers

# Sweeps of the power method for the residual's rank-one term; it is a
# direction to start from (L-BFGS fits the rest), not a decomposition.
POWER_SWEEPS = 10
# A mode gains a direction only when the term's vector has at least this
# share of its norm outside the mode's basis.
NEW_DIRECTION_MIN = 1e-3
# The rounds end after this many rounds in a row that did not improve the
# best held-out point; a round after one that did not goes on from the model
# that one started from, with one more term. The held-out gain of a round
# near the end is of the order of the split's noise, and whether a round
# gains can turn on rounding: on the flower crop of the tests (40 %
# observed), one try stopped at effective ranks (3.9, 3.7, 2) and 0.259 on
# the missing pixels; with two, the numpy backend grew to ranks 6 and 0.245
# but the torch backend, whose path differs by rounding from iteration 100
# on, stopped at (3.8, 4.0, 2) and 0.257 after two rounds that missed the
# best by 5 % and 0.7 %; with three, both reach 0.245. Mean error on the 18
# image fits of ``bench_tensor_images.py``: 0.2286, 0.2268, 0.2259 with
# one, two and three tries (0.2259 and 0.2252 on two other masks of each
# with two and three), no cell worse with three; on 18 crops of two
# photographs (53 x 80 pixels, 15-40 % observed, three masks): 0.2866,
# 0.2815, 0.2809; digits as an imputer unchanged.
GROWTH_PATIENCE = 3


def growth_rounds(core):
    """The most rounds worth running: the largest rank the core allows."""
    return max(np.shape(core))


def entry_indices(entries):
    """The multi-index ``(i_0, ..., i_{d-1})`` of every observed entry."""
    flat = entries.rows * entries.unfolded_shape[1] + entries.cols
    return np.unravel_index(flat, entries.shape)


def residual_rank_one(indices, residual, shape, sweeps=POWER_SWEEPS):
    """Unit vectors ``u_k`` of the leading rank-one term of a sparse tensor.

    The tensor has the values ``residual`` at the multi-indices ``indices``
    and zeros elsewhere (the gradient of the squared error with respect to
    the model, up to a factor). The higher-order power method
    ``u_k <- T x_{j != k} u_j`` starts from the root of the residual's
    energy along every mode, which is deterministic and has no sign to
    cancel.

    Returns
    -------
    vectors : list of ndarray or None
        ``None`` when the residual is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.tensor._growth import residual_rank_one
    >>> rng = np.random.RandomState(0)
    >>> a, b, c = rng.standard_normal(4), rng.standard_normal(5), rng.standard_normal(3)
    >>> T = np.einsum("i,j,k->ijk", a, b, c)
    >>> u = residual_rank_one(np.indices(T.shape).reshape(3, -1), T.ravel(), T.shape)
    >>> bool(abs(u[0] @ a) / np.linalg.norm(a) > 1 - 1e-12)
    True
    """
    order = len(shape)
    vectors = []
    for k in range(order):
        energy = np.sqrt(np.bincount(indices[k], weights=residual**2,
                                     minlength=shape[k]))
        norm = np.linalg.norm(energy)
        if norm == 0:
            return None
        vectors.append(energy / norm)
    for _ in range(sweeps):
        for k in range(order):
            weights = residual.copy()
            for j in range(order):
                if j != k:
                    weights *= vectors[j][indices[j]]
            vector = np.bincount(indices[k], weights=weights, minlength=shape[k])
            norm = np.linalg.norm(vector)
            if norm == 0:
                return None
            vectors[k] = vector / norm
    return vectors


def grow_tucker(factors, core, vectors, indices, residual, max_ranks):
    """The Tucker model plus the rank-one term ``c u_0 o ... o u_{d-1}``.

    ``factors`` (orthonormal columns) and ``core`` are the model,
    ``residual`` its error (model minus data) at the entries ``indices``.
    Mode ``k`` gains the part of ``u_k`` outside its basis as a new column
    when its rank is below ``max_ranks[k]`` and that part is not negligible;
    the term is then exactly ``core``'s new entries, ``c`` times the outer
    product of the coordinates of the ``u_k`` in the new bases (in a mode
    without a new column, the projection of ``u_k`` on its basis). ``c``
    minimises the squared error at the entries along the whole term (the
    exact step when every mode has room; L-BFGS refits it in any case).

    Returns
    -------
    factors : list of ndarray
        The bases, with orthonormal columns.
    core : ndarray
    """
    term = np.ones(residual.shape[0])
    for vector, index in zip(vectors, indices):
        term *= vector[index]
    size = float(term @ term)
    step = -float(residual @ term) / size if size > 0 else 0.0
    new_factors, coordinates = [], []
    for U, vector, max_rank in zip(factors, vectors, max_ranks):
        inside = U.T @ vector
        outside = vector - U @ inside
        norm = float(np.linalg.norm(outside))
        if U.shape[1] < max_rank and norm > NEW_DIRECTION_MIN:
            new_factors.append(np.column_stack([U, outside / norm]))
            coordinates.append(np.append(inside, norm))
        else:
            new_factors.append(U)
            coordinates.append(inside)
    grown = np.zeros(tuple(U.shape[1] for U in new_factors))
    grown[tuple(slice(0, n) for n in core.shape)] = core
    added = step
    for vector in coordinates:
        added = np.multiply.outer(added, vector)
    return new_factors, grown + added


class GrowthStart(PolishStart):
    """``on_start`` of a rank growth round (see the module's docstring).

    The backend binds its model's ``snapshot``, ``load`` and the training
    entries (:meth:`bind`). ``previous``: the round before (``None`` for
    the first). A round starts from the best held-out point, or, when the
    round before did not improve it, from the model that round started
    from (``grown``). It ends its phase before it starts after
    ``GROWTH_PATIENCE`` rounds in a row that did not improve the best
    held-out point, when the round before did not run, when the first
    starts at a training loss below ``exact_loss`` (an exact low-rank fit:
    no rank to add), and when no mode has room for one more rank.
    ``ranks`` records the ranks of the grown model.
    """

    def __init__(self, previous=None, exact_loss=0.0, rank_tol=RANK_TOL):
        super().__init__(rank_tol)
        self.previous = previous
        self.exact_loss = exact_loss
        self.first_epoch = None  # the first epoch of the round, when it runs
        self.grown = None  # the (factors, core) the round started from
        self.indices = None  # the multi-indices of the training entries

    def __call__(self, control):
        if self._skipped(control):
            control.end_phase()
            return
        layers, core, factors, small = self.truncated_best(control)
        if self.previous is not None and not self.previous.improved(control):
            # one more term on the model the round before started from
            factors, small = self.previous.grown
        max_ranks = core.shape
        if all(U.shape[1] >= r for U, r in zip(factors, max_ranks)):
            control.end_phase()  # no mode has room for one more rank
            return
        entries = self.entries
        design = design_matrix("tucker", factors, small)
        residual = entries.predict(factors[0], design) - entries.values
        if self.indices is None:  # the entries do not change from round to round
            self.indices = entry_indices(entries)
        vectors = residual_rank_one(self.indices, residual, entries.shape)
        if vectors is None:
            control.end_phase()  # an exact fit of the training entries
            return
        grown, grown_core = grow_tucker(factors, small, vectors, self.indices,
                                        residual, max_ranks)
        self.ranks = grown_core.shape
        self.grown = grown, grown_core
        self.first_epoch = control.n_iter + 1
        self.load(padded_layers(grown, grown_core, layers, core.shape))

    def improved(self, control):
        """Whether this round ran and improved the best held-out point."""
        best = control.best.iteration
        return (self.first_epoch is not None and best is not None
                and best >= self.first_epoch)

    def _skipped(self, control):
        if control.best is None:
            return True
        previous = self.previous
        if previous is None:
            return control.monitor.losses[-1] < self.exact_loss
        if previous.first_epoch is None:  # the round before did not run
            return True
        failures, round_ = 0, previous
        while round_ is not None and not round_.improved(control):
            failures, round_ = failures + 1, round_.previous
        return failures >= GROWTH_PATIENCE
