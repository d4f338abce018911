"""Convolutional dictionary learning (alphacsc family) as a scikit-learn transformer."""

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._iteration import IterationMonitor
from ._dstep import (
    compute_ztX,
    compute_ztz,
    data_fit,
    flatten_atoms,
    toeplitz_ztz,
    update_D,
    update_uv,
)
from ._lgcd import _lgcd_batch, compute_DtD, compute_DtX, reconstruct

# LGCD stops when no coordinate moves by more than this fraction of std(X_n), as
# in alphacsc; the cap on passes over the segments is never reached in practice.
_TOL_Z = 1e-3
_MAX_PASSES_Z = 100_000


def _rank1_from_chunk(chunk):
    """Best rank-1 approximation ``u v^T`` of a (C, L) chunk, both unit norm."""
    U, s, Vt = np.linalg.svd(chunk, full_matrices=False)
    u, v = U[:, 0], Vt[0]
    # fix the SVD's sign so that the result does not depend on LAPACK
    if v[np.argmax(np.abs(v))] < 0:
        u, v = -u, -v
    return u, v


def _z_step(DtX, DtD, norm_D, reg, z, tol, n_jobs):
    """LGCD on every trial, trials split into ``n_jobs`` chunks run by joblib."""
    n_trials = DtX.shape[0]
    if n_jobs is None or n_jobs == 1 or n_trials == 1:
        _, converged = _lgcd_batch(DtX, DtD, norm_D, reg, z, tol, _MAX_PASSES_Z)
        return z, converged
    n_chunks = min(n_trials, abs(n_jobs) if n_jobs > 0 else n_trials)
    bounds = np.linspace(0, n_trials, n_chunks + 1).astype(int)

    def run(a, b):
        zc = z[a:b].copy()
        _, conv = _lgcd_batch(DtX[a:b], DtD, norm_D, reg, zc, tol[a:b], _MAX_PASSES_Z)
        return zc, conv

    # the kernels release the GIL, so threads run them in parallel
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(run)(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a
    )
    z = np.concatenate([r[0] for r in results])
    converged = np.concatenate([r[1] for r in results])
    return z, converged


class CDLTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Convolutional dictionary learning with rank-1 multivariate atoms.

    Learns ``n_atoms`` short patterns (atoms) and their sparse non-negative
    activations so that each signal is a sum of atoms placed at the activation
    times,

    .. math::

        \\min_{D, z \\geq 0} \\sum_n \\frac12 \\|X_n - \\sum_k z_{nk} * D_k\\|_2^2
        + \\lambda \\sum_{n, k} \\|z_{nk}\\|_1,
        \\quad D_k = u_k v_k^\\top,\\ \\|u_k\\|_2 \\le 1,\\ \\|v_k\\|_2 \\le 1,

    where ``u_k`` is a spatial map over the channels and ``v_k`` a temporal atom
    (the rank-1 multivariate model of Dupré la Tour et al. 2018, section 2; with
    ``rank1=False`` the atoms ``D_k`` are full (n_channels, n_times_atom) matrices in
    the unit ball). The fit alternates

    - a z-step: the convex sparse coding problem in ``z`` solved per trial by locally
      greedy coordinate descent (LGCD, Moreau et al. 2018) in a numba kernel, trials
      in parallel through joblib with ``n_jobs``, warm-started from the previous
      activations;
    - a d-step: projected gradient with an adaptive (backtracking) step on ``u`` then
      on ``v`` (or on ``D``), computed from the sufficient statistics ``z^T z`` and
      ``z^T X`` so its cost does not grow with the length of the signals.

    As in alphacsc's default ``lmbd_max="scaled"``, ``lambda = reg * lambda_max``,
    with ``lambda_max`` the smallest value for which the activations of the initial
    dictionary are all zero; ``lambda`` then stays fixed, so the objective decreases
    at every step. Atoms start from random chunks of the signals (their best rank-1
    approximation), and an atom left with fewer than two activations is replaced by
    the window of the signals worst reconstructed (the only step that may raise the
    objective).

    Parameters
    ----------
    n_atoms : int, default=5
        Number of atoms.
    n_times_atom : int, default=64
        Length of the atoms in samples; at most the length of the signals.
    reg : float, default=0.1
        Sparsity, as a fraction in ``(0, 1]`` of ``lambda_max``.
    rank1 : bool, default=True
        Learn rank-1 atoms ``u_k v_k^T``; ``False`` learns full-rank atoms. The two
        coincide for univariate signals.
    max_iter : int, default=60
        Maximum number of iterations, each a z-step followed by a d-step.
    tol : float, default=1e-3
        Stop when the relative decrease of the objective over one z-step and over one
        d-step both fall below ``tol``.
    pooling : {"max", "mean", "sum"} or None, default="max"
        How :meth:`transform` summarises the activations of each atom over time;
        ``None`` returns the flattened activations.
    n_jobs : int, default=None
        Number of parallel jobs of the z-step (over trials). ``None`` means 1 unless
        in a :obj:`joblib.parallel_backend` context; ``-1`` uses all processors.
    random_state : int, RandomState instance or None, default=None
        Seed of the choice of the initial chunks.
    verbose : int, default=0
        Print the objective after each iteration when positive.

    Attributes
    ----------
    u_hat_ : ndarray of shape (n_atoms, n_channels)
        Spatial maps (the best rank-1 factor of each atom when ``rank1=False``).
    v_hat_ : ndarray of shape (n_atoms, n_times_atom)
        Temporal atoms (likewise).
    D_hat_ : ndarray of shape (n_atoms, n_channels, n_times_atom)
        Full atoms; ``u_hat_[k, :, None] * v_hat_[k]`` when ``rank1=True``.
    lambda_ : float
        Absolute sparsity weight used by the fit and by :meth:`transform`.
    n_channels_ : int
        Number of channels of the signals seen in fit (1 for 2-D input).
    n_times_ : int
        Length of the signals seen in fit.
    n_iter_ : int
        Number of iterations run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Objective after each iteration (after its d-step).
    pobj_ : ndarray of shape (2 * `n_iter_` + 1,)
        Objective at the start, then after each z-step and each d-step
        (``pobj_[2::2]`` is ``loss_curve_``).
    n_features_in_ : int
        ``n_times`` for 2-D input, ``n_channels`` for 3-D input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a 2-D DataFrame input.

    See Also
    --------
    sklearn.decomposition.DictionaryLearning : Dictionary learning without shifts.

    References
    ----------
    .. [1] T. Dupré la Tour, T. Moreau, M. Jas and A. Gramfort, "Multivariate
       convolutional sparse coding for electromagnetic brain signals", NeurIPS 2018.
    .. [2] T. Moreau, L. Oudre and N. Vayatis, "DICOD: Distributed Convolutional
       Coordinate Descent for Convolutional Sparse Coding", ICML 2018 (LGCD).
    .. [3] M. Jas, T. Dupré la Tour, U. Şimşekli and A. Gramfort, "Learning the
       Morphology of Brain Signals Using Alpha-Stable Convolutional Sparse Coding",
       NeurIPS 2017.

    Examples
    --------
    >>> from skdeep.datasets import make_cdl_signals
    >>> from skdeep.decomposition import CDLTransformer
    >>> from skdeep.metrics import dictionary_recovery_score
    >>> X, u, v, z = make_cdl_signals(n_trials=4, n_channels=3, n_times=600,
    ...                               n_atoms=2, n_times_atom=32, noise_level=0.05,
    ...                               random_state=0)
    >>> cdl = CDLTransformer(n_atoms=2, n_times_atom=32, reg=0.2, random_state=0)
    >>> cdl.fit(X).transform(X).shape
    (4, 2)
    >>> D_true = u[:, :, None] * v[:, None, :]
    >>> dictionary_recovery_score(D_true, cdl.D_hat_) > 0.95
    True
    >>> cdl.loss_curve_.shape == (cdl.n_iter_,)
    True
    """

    _parameter_constraints = {
        "n_atoms": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_times_atom": [Interval(numbers.Integral, 1, None, closed="left")],
        "reg": [Interval(numbers.Real, 0, 1, closed="right")],
        "rank1": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "pooling": [StrOptions({"max", "mean", "sum"}), None],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_atoms=5,
        n_times_atom=64,
        reg=0.1,
        rank1=True,
        max_iter=60,
        tol=1e-3,
        pooling="max",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_atoms = n_atoms
        self.n_times_atom = n_times_atom
        self.reg = reg
        self.rank1 = rank1
        self.max_iter = max_iter
        self.tol = tol
        self.pooling = pooling
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _validate_signals(self, X, reset):
        """Return ``X`` as a float64 (n_trials, n_channels, n_times) array."""
        ndim = getattr(X, "ndim", None)
        if ndim is None and not hasattr(X, "iloc"):
            ndim = np.asarray(X, dtype=object).ndim if X is not None else None
        if ndim is not None and ndim > 3:
            raise ValueError(
                "X must be 2-D (n_trials, n_times) or 3-D (n_trials, n_channels, "
                f"n_times), got a {ndim}-D array."
            )
        if not reset:
            # a 2-D input stands for univariate signals, a 3-D one for multichannel
            if self._fit_ndim == 2 and ndim == 3:
                X = np.asarray(X)
                if X.shape[1] != 1:
                    raise ValueError(
                        f"X has {X.shape[1]} channels, but CDLTransformer was "
                        "fitted on univariate (2-D) signals."
                    )
                X, ndim = X[:, 0, :], 2
            elif self._fit_ndim == 3 and ndim == 2:
                if self.n_channels_ != 1:
                    raise ValueError(
                        "X is 2-D (univariate signals), but CDLTransformer was "
                        f"fitted on signals with {self.n_channels_} channels."
                    )
                X, ndim = np.asarray(X)[:, None, :], 3
            elif ndim == 3:
                n_channels = np.asarray(X).shape[1]
                if n_channels != self.n_channels_:
                    raise ValueError(
                        f"X has {n_channels} channels, but CDLTransformer was "
                        f"fitted on signals with {self.n_channels_} channels."
                    )
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float64,
            allow_nd=ndim == 3,
            ensure_min_samples=1,
        )
        if X.ndim == 2:
            X = X[:, None, :]
        if reset:
            self._fit_ndim = ndim
        n_times = X.shape[2]
        if self.n_times_atom > n_times:
            raise ValueError(
                f"n_times_atom={self.n_times_atom} is longer than the signals: X has "
                f"n_times={n_times} samples ({n_times} feature(s) for 2-D input). "
                "Use shorter atoms or longer signals."
            )
        return X

    # --------------------------------------------------------------- helpers
    def _set_atoms(self, u=None, v=None, D=None):
        if self.rank1:
            self.u_hat_, self.v_hat_ = u, v
            self.D_hat_ = u[:, :, None] * v[:, None, :]
        else:
            self.D_hat_ = D
            uv = [_rank1_from_chunk(Dk) if np.any(Dk) else None for Dk in D]
            C, L = D.shape[1:]
            self.u_hat_ = np.array([x[0] if x else np.zeros(C) for x in uv])
            self.v_hat_ = np.array([x[1] if x else np.zeros(L) for x in uv])

    def _encode(self, X, z0=None, lam=None):
        """Z-step with the current atoms; returns activations and DtX."""
        D = self.D_hat_
        if self.rank1:
            DtX = compute_DtX(X, D, self.u_hat_, self.v_hat_)
        else:
            DtX = compute_DtX(X, D)
        DtD = compute_DtD(D)
        norm_D = np.ascontiguousarray(np.diagonal(DtD[:, :, D.shape[2] - 1]))
        if lam is None:
            lam = self.lambda_
        z = np.zeros_like(DtX) if z0 is None else z0
        tol = _TOL_Z * X.reshape(X.shape[0], -1).std(axis=1)
        z, converged = _z_step(DtX, DtD, norm_D, float(lam), z, tol, self.n_jobs)
        return z, DtX

    def _init_atoms(self, X, rng):
        n_trials, n_channels, n_times = X.shape
        L = self.n_times_atom
        D = np.empty((self.n_atoms, n_channels, L))
        for k in range(self.n_atoms):
            n = rng.randint(n_trials)
            t = rng.randint(n_times - L + 1)
            D[k] = X[n, :, t : t + L]
        return self._atoms_from_chunks(D)

    def _atoms_from_chunks(self, D):
        """Project chunks of signal on the constraint set (rank-1 if asked)."""
        D = D.copy()
        if self.rank1:
            u = np.zeros((D.shape[0], D.shape[1]))
            v = np.zeros((D.shape[0], D.shape[2]))
            for k, chunk in enumerate(D):
                if np.any(chunk):
                    u[k], v[k] = _rank1_from_chunk(chunk)
            return u, v, None
        norms = np.sqrt(np.sum(D * D, axis=(1, 2), keepdims=True))
        D = np.divide(D, norms, out=np.zeros_like(D), where=norms > 0)
        return None, None, D

    def _worst_window(self, X, z):
        """The window of length ``n_times_atom`` with the largest residual energy."""
        residual = X - reconstruct(z, self.D_hat_)
        energy = np.sum(residual**2, axis=1)  # (n, T)
        window = np.ones(self.n_times_atom)
        local = np.stack([np.convolve(e, window, mode="valid") for e in energy])
        n, t = np.unravel_index(np.argmax(local), local.shape)
        return residual[n, :, t : t + self.n_times_atom]

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the atoms from signals.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals; a 2-D array holds univariate signals, one per row.
        y : None
            Ignored.

        Returns
        -------
        self : CDLTransformer
            The fitted transformer.
        """
        X = self._validate_signals(X, reset=True)
        n_trials, n_channels, n_times = X.shape
        self.n_channels_, self.n_times_ = n_channels, n_times
        rng = check_random_state(self.random_state)
        L = self.n_times_atom
        u, v, D = self._init_atoms(X, rng)
        self._set_atoms(u, v, D)

        half_sq_norm_X = 0.5 * float(np.sum(X * X))
        z = np.zeros((n_trials, self.n_atoms, n_times - L + 1))
        # lambda_max for the initial atoms: the smallest lambda with z = 0
        DtX = (
            compute_DtX(X, self.D_hat_, u, v) if self.rank1
            else compute_DtX(X, self.D_hat_)
        )
        self.lambda_ = float(self.reg * max(DtX.max(), 0.0))
        pobj = [half_sq_norm_X]
        monitor = IterationMonitor(self)
        converged = False
        while monitor.n_iter < self.max_iter:
            z, _ = self._encode(X, z0=z)
            ztz = compute_ztz(z, L)
            ztX = compute_ztX(z, X, L)
            Q = toeplitz_ztz(ztz)
            B = flatten_atoms(ztX)
            l1 = self.lambda_ * float(z.sum())
            pobj.append(data_fit(flatten_atoms(self.D_hat_), Q, B, half_sq_norm_X) + l1)

            if not np.any(z):
                warnings.warn(
                    f"reg={self.reg} is so large that all activations are zero; no "
                    "atom was learned. Use a smaller reg.",
                    UserWarning,
                )
                pobj.append(pobj[-1])
                monitor.record(pobj[-1])
                converged = True
                break

            if self.rank1:
                u, v = update_uv(self.u_hat_, self.v_hat_, Q, B)
                self._set_atoms(u, v)
            else:
                self._set_atoms(D=update_D(self.D_hat_, Q, B))
            pobj.append(data_fit(flatten_atoms(self.D_hat_), Q, B, half_sq_norm_X) + l1)
            monitor.record(pobj[-1])

            # an unused atom is restarted on the worst reconstructed window
            nnz = np.count_nonzero(z, axis=(0, 2))
            unused = np.flatnonzero(nnz < 2)
            if unused.size and monitor.n_iter < self.max_iter:
                k0 = unused[0]
                u0, v0, D0 = self._atoms_from_chunks(self._worst_window(X, z)[None])
                if self.rank1:
                    u, v = self.u_hat_.copy(), self.v_hat_.copy()
                    u[k0], v[k0] = u0[0], v0[0]
                    self._set_atoms(u, v)
                else:
                    D = self.D_hat_.copy()
                    D[k0] = D0[0]
                    self._set_atoms(D=D)
                z[:, k0] = 0.0
                continue

            scale = max(abs(pobj[-1]), np.finfo(float).tiny)
            dz = (pobj[-3] - pobj[-2]) / scale
            dd = (pobj[-2] - pobj[-1]) / scale
            if dz < self.tol and dd < self.tol:
                converged = True
                break
        monitor.finish(converged)
        self.n_iter_ = monitor.n_iter
        self.loss_curve_ = monitor.loss_curve()
        self.pobj_ = np.asarray(pobj)
        return self

    # ------------------------------------------------------------- transform
    def transform_activations(self, X):
        """Sparse activations of the learned atoms in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals with the channels seen in fit; 3-D signals may have any length
            of at least ``n_times_atom``.

        Returns
        -------
        z : ndarray of shape (n_trials, n_atoms, n_times - n_times_atom + 1)
            Non-negative activations, solved with the dictionary fixed and the
            sparsity weight ``lambda_`` of the fit.
        """
        check_is_fitted(self)
        X = self._validate_signals(X, reset=False)
        z, _ = self._encode(X)
        return z

    def transform(self, X):
        """Per-atom pooled activations (or flattened activations).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Signals.

        Returns
        -------
        features : ndarray of shape (n_trials, n_atoms) or \
                (n_trials, n_atoms * (n_times - n_times_atom + 1))
            Max, mean or sum over time of each atom's activations, or with
            ``pooling=None`` the activations flattened atom by atom.
        """
        z = self.transform_activations(X)
        if self.pooling is None:
            return z.reshape(z.shape[0], -1)
        return {"max": np.max, "mean": np.mean, "sum": np.sum}[self.pooling](z, axis=2)

    def inverse_transform(self, X):
        """Signals rebuilt from activations.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_atoms, n_times_valid) or \
                (n_trials, n_atoms * n_times_valid)
            Activations, as returned by :meth:`transform_activations` or by
            :meth:`transform` with ``pooling=None`` (pooled features cannot be
            inverted).

        Returns
        -------
        X_rec : ndarray of shape (n_trials, n_channels, n_times) or (n_trials, n_times)
            Reconstructed signals, 2-D when the fit saw 2-D input.
        """
        check_is_fitted(self)
        z = np.asarray(X, dtype=np.float64)
        if z.ndim == 2:
            n_valid = self.n_times_ - self.n_times_atom + 1
            if z.shape[1] != self.n_atoms * n_valid:
                raise ValueError(
                    f"inverse_transform expects activations of shape (n_trials, "
                    f"{self.n_atoms}, n_times_valid) or flattened ones with "
                    f"{self.n_atoms * n_valid} columns; got shape {z.shape}. Pooled "
                    "features cannot be inverted."
                )
            z = z.reshape(z.shape[0], self.n_atoms, n_valid)
        if z.ndim != 3 or z.shape[1] != self.n_atoms:
            raise ValueError(
                f"inverse_transform expects activations of shape (n_trials, "
                f"{self.n_atoms}, n_times_valid); got shape {z.shape}."
            )
        if not np.all(np.isfinite(z)):
            raise ValueError("Activations contain NaN or infinity.")
        if self.rank1:
            X_rec = reconstruct(z, self.D_hat_, self.u_hat_, self.v_hat_)
        else:
            X_rec = reconstruct(z, self.D_hat_)
        return X_rec[:, 0, :] if self._fit_ndim == 2 else X_rec

    @property
    def _n_features_out(self):
        if self.pooling is not None:
            return self.n_atoms
        return self.n_atoms * (self.n_times_ - self.n_times_atom + 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
