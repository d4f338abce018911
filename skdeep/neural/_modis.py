"""MODIS: semi-supervised diagonal integration of unpaired multi-omics data.

torch is imported inside the methods (the modules live in
:mod:`skdeep.neural._modis_modules`, the losses in
:mod:`skdeep.neural._modis_losses`), so importing this module is cheap.
"""

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.metrics import accuracy_score
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ..utils._torch import import_torch
from ..utils._torch_base import BaseTorchEstimator
from ..utils._training import BalancedBatchSampler, TrainingStep
from ..utils._validation import (
    FLOAT_DTYPES,
    check_layer_sizes,
    check_semi_supervised_y,
    check_step_size,
    check_tensor_size,
    check_y_given,
    class_weight_vector,
    unlabeled_mask,
    validate_data,
    validation_split,
)
from ._modis_inputs import (
    Views,
    encoder_widths,
    fit_scaling,
    observed_blocks,
    ravel_column_y,
    resolve_blocks,
)

# Adam's betas of the paper's public code (a GAN-style first moment).
_ADAM_BETAS = (0.5, 0.999)
# Standardised inputs and latent coordinates given to the float32 network are
# clipped to this magnitude (training data never come near it), so that huge
# inputs give finite outputs.
_CLIP = 1e6


class MODISIntegrator(
    ClassifierMixin, TransformerMixin, ClassNamePrefixFeaturesOutMixin,
    BaseTorchEstimator,
):
    """Semi-supervised diagonal integration of unpaired multi-omics data (MODIS).

    Samples are measured in one modality each (unpaired: e.g. expression for
    some patients, methylation for others), and few carry a class label. MODIS
    learns one variational auto-encoder per modality into a shared latent
    space, a class classifier on that space and an adversarially trained
    modality classifier that pushes the modalities to overlap; the labels then
    align the classes across modalities, so a class labeled in one modality
    only is recognised in the others. A small target cohort trained beside a
    large reference one turns transfer into learning under class imbalance.

    ``X`` is one 2-D array holding the modalities' column blocks side by side;
    a sample has NaN in the blocks it was not measured in (a sample measured in
    several modalities uses all of them: its latent is the product of the
    Gaussian posteriors of its blocks). Requires PyTorch
    (``pip install skdeep-research[torch]``).

    Parameters
    ----------
    modalities : list or None, default=None
        The column blocks: sizes ``[d1, d2, ...]`` of consecutive blocks that
        sum to ``n_features``, or one list of column indices (or of column
        names when ``X`` is a DataFrame) per modality, which together cover
        every column exactly once. ``None`` is one block of all the columns
        (a single modality: a semi-supervised VAE classifier, no adversary).
    n_components : int, default=32
        Dimension of the shared Gaussian latent space.
    hidden_layer_sizes : array-like of int or None, default=None
        Widths of every encoder's hidden layers (the decoders mirror them).
        ``None`` uses two widths shrinking from each modality's input size
        (``d // 2`` and ``d // 4``, clipped to ``[2 * n_components, 512]``).
    discriminator_hidden_sizes : array-like of int, default=(128, 128)
        Widths of the shared trunk on the latent that carries the class head
        and the modality head.
    beta : float, default=1e-2
        Weight of the KL divergence of each posterior to ``N(0, I)`` beside the
        reconstruction error (mean squared error per standardised feature).
    adversarial : {"rpgan", "ce"} or None, default="rpgan"
        Loss of the modality adversary. ``"rpgan"``: the regularised
        relativistic GAN loss (every latent of modality ``a`` is paired with
        every latent of another modality ``b`` on the modality-``a`` logit;
        zero-centred R1 and R2 gradient penalties of weight ``gamma_gp``).
        ``"ce"``: cross-entropy; the discriminator predicts the modality and
        the encoders are pushed towards the other modalities. ``None``: no
        adversary (the latents are aligned by the class labels only).
    lambda_adversarial : float, default=1.0
        Weight of the adversarial term in the encoders' loss.
    gamma_gp : float, default=1.0
        Weight ``gamma`` of the R1 + R2 penalties (``gamma / 2 * (R1 + R2)``)
        with ``adversarial="rpgan"``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the cross-entropy of the labeled samples;
        ``"balanced"`` weighs them inversely to their labeled frequencies.
    partial_blocks : {"mask", "error"}, default="mask"
        What to do with NaN inside a measured block (a block is measured when
        at least one of its entries is not NaN): ``"mask"`` feeds the encoder
        the feature mean there and leaves the entry out of the reconstruction
        error; ``"error"`` raises a ``ValueError``.
    batch_size : int or None, default=64
        Samples *per modality* in each mini-batch (batches are drawn per
        modality, so a small modality is not swamped: an epoch is one pass over
        the largest modality, and smaller ones are cycled); ``None`` trains on
        all the samples at once.
    learning_rate : float, default=1e-3
        Step size of Adam (``betas=(0.5, 0.999)`` as in the paper's code) for
        the auto-encoders and for the discriminator.
    max_iter : int, default=100
        Maximum number of epochs.
    tol : float, default=1e-4
        Stop when the monitored loss (the validation loss with
        ``early_stopping``, else the encoders' training objective,
        ``loss_curve_``) has decreased by at most ``tol`` times its first value
        over the last ``n_iter_no_change`` epochs (skdeep's one stopping rule,
        see the user guide's conventions).
    n_iter_no_change : int, default=10
        Window of the stopping rule, in epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of every modality's samples, stop when
        their reconstruction, KL and class losses stall, and restore the
        weights of the best epoch.
    validation_fraction : float, default=0.1
        Fraction of every modality's samples held out with ``early_stopping``
        (rounded; each modality keeps at least one training sample).
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the mini-batches, the latent draws and the
        validation split; the same seed gives the same fit on the CPU.
    verbose : int, default=0
        Print one line per epoch with the loss terms.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen among the labeled samples.
    n_modalities_ : int
        Number of modalities.
    modality_blocks_ : list of ndarray of int
        Column indices of each modality's block.
    network_ : torch.nn.Module
        The fitted VAEs (``network_.vaes``) and discriminator
        (``network_.discriminator``).
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        The encoders' total loss per epoch (reconstruction + ``beta`` KL +
        class cross-entropy + ``lambda_adversarial`` adversarial term).
    loss_terms_ : dict of ndarray
        Per-epoch curves of every term: ``"generator.reconstruction"``,
        ``"generator.kl"``, ``"generator.classification"``,
        ``"generator.adversarial"``, ``"discriminator"`` and its parts
        ``"discriminator.adversarial"``, ``"discriminator.penalty"``,
        ``"discriminator.classification"``, and ``"validation"`` with
        ``early_stopping``.
    validation_loss_curve_ : ndarray of shape (`n_iter_`,)
        Validation loss per epoch (with ``early_stopping`` only).
    best_iteration_ : int
        Epoch whose weights were restored (with ``early_stopping`` only).
    n_features_in_ : int
        Number of columns of ``X``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` when it is a DataFrame with string names.

    See Also
    --------
    skdeep.datasets.make_multiomics : Simulator with ground truth.
    skdeep.metrics.modality_mixing_score : How well the modalities overlap.

    Notes
    -----
    Training alternates per mini-batch (through :func:`skdeep` 's one training
    loop) a discriminator step, which updates the trunk, the class head and
    the modality head on the detached latents (class cross-entropy + the
    modality loss + its penalties), and a generator step, which updates the
    auto-encoders on reconstruction + ``beta`` KL + class cross-entropy +
    ``lambda_adversarial`` times the adversarial term through the frozen
    discriminator. Unlike the public code, the relativistic terms are written
    per modality logit, so the discriminator uses the modality index and the
    encoders receive a non-zero adversarial gradient. Features are standardised
    per column on their observed samples; ``translate`` and
    ``inverse_transform`` return the original units.

    The standardisation is computed without overflow or underflow (each column
    is first divided by a power of two near its largest magnitude, an exact
    operation), so data multiplied by any factor from ``1e-300`` to ``1e300``
    give the same fit as the original data; it is the only transformation of
    the inputs and keeps their relative sizes within each column. Standardised
    values (and the latent coordinates given to ``inverse_transform``) are
    clipped to ``[-1e6, 1e6]`` before they enter the float32 network, so that
    inputs far outside the training range give finite outputs.

    Before anything is allocated, ``fit`` estimates the largest tensor the
    parameters make it build (a layer's weights or activations, the matrix of
    modality pairs of the relativistic loss) and raises a ``ValueError``
    naming the parameter when it passes 4 GiB. A training loss that becomes
    infinite or NaN (a diverging run) raises a ``ValueError`` naming
    ``learning_rate``.

    References
    ----------
    .. [1] D. Lepe-Soltero, T. Artières, A. Baudot, P. Villoutreix, "MODIS:
       Multi-Omics Data Integration for Small and unpaired datasets", 2025,
       arXiv:2503.18856 (architecture: coupled VAEs, class classifier and
       adversarial modality classifier; the regularised relativistic loss).
    .. [2] Y. Huang, A. Gokaslan, V. Kuleshov, J. Tompkin, "The GAN is dead;
       long live the GAN! A Modern GAN Baseline", NeurIPS 2024 (the
       relativistic pairing loss, Eq. 2, with the R1 and R2 penalties).

    Examples
    --------
    >>> from skdeep.datasets import make_multiomics
    >>> from skdeep.neural import MODISIntegrator
    >>> X, y, y_true, modality = make_multiomics(
    ...     n_samples=300, n_features=(20, 15), n_classes=3, random_state=0)
    >>> model = MODISIntegrator(modalities=[20, 15], n_components=4,
    ...                         max_iter=5, random_state=0).fit(X, y)
    >>> model.transform(X).shape, model.translate(X, target=1).shape
    ((300, 4), (300, 15))
    >>> model.predict_proba(X).shape
    (300, 3)
    """

    _parameter_constraints = {
        **BaseTorchEstimator._parameter_constraints,
        "modalities": [list, tuple, None],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", None],
        "discriminator_hidden_sizes": ["array-like"],
        "beta": [Interval(Real, 0, None, closed="left")],
        "adversarial": [StrOptions({"rpgan", "ce"}), None],
        "lambda_adversarial": [Interval(Real, 0, None, closed="left")],
        "gamma_gp": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "partial_blocks": [StrOptions({"mask", "error"})],
    }

    def __init__(
        self,
        modalities=None,
        *,
        n_components=32,
        hidden_layer_sizes=None,
        discriminator_hidden_sizes=(128, 128),
        beta=1e-2,
        adversarial="rpgan",
        lambda_adversarial=1.0,
        gamma_gp=1.0,
        class_weight=None,
        partial_blocks="mask",
        batch_size=64,
        learning_rate=1e-3,
        max_iter=100,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.modalities = modalities
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.discriminator_hidden_sizes = discriminator_hidden_sizes
        self.beta = beta
        self.adversarial = adversarial
        self.lambda_adversarial = lambda_adversarial
        self.gamma_gp = gamma_gp
        self.class_weight = class_weight
        self.partial_blocks = partial_blocks
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN blocks are the input format: a sample is NaN in the modalities it
        # was not measured in.
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags

    # -- input handling ------------------------------------------------------
    def _standardised(self, X):
        """Standardised copy of ``X`` with the unobserved entries set to 0,
        clipped to ``[-_CLIP, _CLIP]`` (float32)."""
        with np.errstate(over="ignore", invalid="ignore"):
            Z = np.clip((X - self._mean) / self._scale, -_CLIP, _CLIP)
        return np.nan_to_num(Z, nan=0.0).astype(np.float32)

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan"
        )
        observed = observed_blocks(X, self.modality_blocks_, self.partial_blocks)
        return self._standardised(X), observed

    # -- fit ---------------------------------------------------------------
    def _encode_labels(self, y, n_samples):
        """Class codes of the samples (-1 for unlabeled); sets ``classes_``."""
        y = ravel_column_y(y)
        if y.dtype.kind == "f":
            check_classification_targets(y)
        y, labeled = check_semi_supervised_y(y, n_samples)
        self.classes_, y_code = np.unique(y[labeled], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"only {len(self.classes_)} class labeled in y; "
                f"{type(self).__name__} needs labeled samples of at least two "
                "classes (-1 marks unlabeled samples)."
            )
        codes = np.full(n_samples, -1, dtype=np.int64)
        codes[labeled] = y_code
        return codes

    def _fit_blocks(self, X):
        """Resolve the modalities' blocks and fit the per-column scaling.

        Returns the observed mask ``(n_samples, n_modalities)``; sets
        ``modality_blocks_``, ``n_modalities_`` and the scaling.
        """
        blocks = resolve_blocks(self.modalities, X.shape[1],
                                getattr(self, "feature_names_in_", None))
        observed = observed_blocks(X, blocks, self.partial_blocks)
        counts = observed.sum(axis=0)
        if (counts == 0).any():
            m = int(np.flatnonzero(counts == 0)[0])
            raise ValueError(
                f"modality {m} has no sample in X (its block is NaN in every row)."
            )
        self._mean, self._scale = fit_scaling(X)
        self.modality_blocks_ = blocks
        self.n_modalities_ = len(blocks)
        return observed

    def _architecture(self):
        """Checked encoder widths (per modality) and discriminator widths."""
        hidden = encoder_widths(self.modality_blocks_, self.hidden_layer_sizes,
                                self.n_components)
        head = check_layer_sizes(self.discriminator_hidden_sizes,
                                 "discriminator_hidden_sizes", allow_empty=True)
        return hidden, head

    def _check_sizes(self, hidden, head, n_views):
        """Refuse parameters whose largest tensor would pass the size limit.

        ``n_views`` is the number of training rows of each modality. The
        network is float32 (4 bytes an entry). Every width is tagged with the
        parameter that sets it (``None`` for the data's own sizes); a tensor
        names the parameter of its largest tagged width.
        """
        per_modality = [
            n if self.batch_size is None else min(self.batch_size, n)
            for n in n_views
        ]
        rows = sum(per_modality)
        latent = (self.n_components, "n_components")

        def check_layers(widths, what):
            for (a, tag_a), (b, tag_b) in zip(widths[:-1], widths[1:]):
                tagged = [(w, t) for w, t in ((a, tag_a), (b, tag_b)) if t]
                check_tensor_size(4 * a * b, f"a {a} x {b} weight matrix of {what}",
                                  max(tagged)[1])
            width, tag = max(w for w in widths if w[1])
            check_tensor_size(
                4 * rows * width,
                f"the activations of {rows} rows in a layer of width {width} of "
                f"{what}", tag,
            )

        for cols, widths in zip(self.modality_blocks_, hidden):
            check_layers(
                [(len(cols), None), *((w, "hidden_layer_sizes") for w in widths),
                 latent],
                "an auto-encoder",
            )
        check_layers([latent, *((w, "discriminator_hidden_sizes") for w in head)],
                     "the discriminator")
        if self.adversarial == "rpgan" and len(per_modality) > 1:
            big = sorted(per_modality)[-2:]
            check_tensor_size(
                4 * big[0] * big[1],
                f"the {big[1]} x {big[0]} pairs of the relativistic loss in a "
                "batch", "batch_size",
            )

    def _build_network(self, hidden, head, rng, device):
        from ._modis_modules import MODISNetwork

        blocks = self.modality_blocks_
        return self._build_module(
            lambda: MODISNetwork(
                [len(c) for c in blocks], hidden, self.n_components, head,
                len(self.classes_),
            ),
            rng,
            device,
        )

    def _loss_settings(self, class_weight, device):
        from ._modis_losses import LossSettings

        torch = import_torch()
        return LossSettings(
            columns=[
                torch.as_tensor(c, dtype=torch.long, device=device)
                for c in self.modality_blocks_
            ],
            class_weight=(
                None
                if class_weight is None
                else torch.as_tensor(class_weight, dtype=torch.float32, device=device)
            ),
            adversarial=self.adversarial if self.n_modalities_ > 1 else None,
            beta=self.beta,
            lambda_adversarial=self.lambda_adversarial,
            gamma_gp=self.gamma_gp,
        )

    def _steps(self, network, settings):
        """The discriminator step, then the generator step, of every batch."""
        from . import _modis_losses as losses

        torch = import_torch()

        def adam(params):
            return torch.optim.Adam(params, lr=self.learning_rate, betas=_ADAM_BETAS)

        return [
            TrainingStep(adam(network.discriminator.parameters()),
                         partial(losses.discriminator_loss, network, settings),
                         name="discriminator"),
            TrainingStep(adam(network.vaes.parameters()),
                         partial(losses.generator_loss, network, settings),
                         name="generator"),
        ]

    @staticmethod
    def _validation_loss(network, settings, held_out, device):
        """The loss of early stopping on the held-out views' tensors."""
        from ._modis_losses import validation_loss

        held_out = tuple(t.to(device) for t in held_out)
        return partial(validation_loss, network, settings, held_out)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the VAEs, the class head and the modality adversary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The modalities' blocks side by side; NaN in the blocks a sample was
            not measured in.
        y : array-like of shape (n_samples,)
            Class labels (integers or strings); ``-1`` marks unlabeled samples.

        Returns
        -------
        self : MODISIntegrator
            The fitted estimator.
        """
        check_y_given(self, y)
        X = validate_data(
            self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", copy=False
        )
        codes = self._encode_labels(y, X.shape[0])
        observed = self._fit_blocks(X)
        class_weight = None
        if self.class_weight is not None:
            class_weight = class_weight_vector(
                self.class_weight, self.classes_, codes[codes >= 0]
            )
        # One training row ("view") per observed (sample, modality) pair.
        views = Views(self._standardised(X), ~np.isnan(X), codes,
                       *np.nonzero(observed))
        check_step_size(self.learning_rate, "learning_rate", np.float32)
        hidden, head = self._architecture()
        self._check_sizes(hidden, head,
                          np.bincount(views.modality, minlength=self.n_modalities_))
        _, device, rng = self._torch_setup()
        train, val = np.arange(views.n_views), None
        if self.early_stopping:
            train, val = validation_split(
                views.n_views, self.validation_fraction, rng, groups=views.modality
            )
        network = self._build_network(hidden, head, rng, device)
        settings = self._loss_settings(class_weight, device)
        try:
            self._train_network(network, settings, views, train, val, device, rng)
        except FloatingPointError as exc:
            raise ValueError(
                f"the training diverged with learning_rate={self.learning_rate!r} "
                f"({exc}); lower learning_rate."
            ) from exc
        self.network_ = network
        return self

    def _train_network(self, network, settings, views, train, val, device, rng):
        """Run the one training loop on the training views ``train``."""
        self._train(
            self._steps(network, settings),
            views.tensors(train),
            [network],
            rng,
            device,
            validation_loss=(
                None if val is None
                else self._validation_loss(network, settings, views.tensors(val),
                                           device)
            ),
            objective="generator",
            batch_sampler=BalancedBatchSampler(views.modality[train], self.batch_size),
            rows_per_batch=(
                train.size if self.batch_size is None
                else self.batch_size * self.n_modalities_
            ),
        )

    # -- inference -----------------------------------------------------------
    def _latent(self, X):
        """Posterior means of the observed blocks, fused (numpy, float64)."""
        Xs, observed = self._check_X(X)
        torch = import_torch()
        network = self.network_
        device = self._inference_device([network])
        cols = [torch.as_tensor(c, device=device) for c in self.modality_blocks_]

        def forward(x, obs):
            mu, _ = network.fused_posterior([x[:, c] for c in cols], obs)
            return mu

        return self._batched(forward, [network], [Xs, observed.astype(np.float32)])

    def _decode(self, Z, targets):
        """Decode latents into the ``targets`` modalities, in original units."""
        network = self.network_

        def forward(z):
            return tuple(network.vaes[m].decode(z) for m in targets)

        Z = np.clip(Z, -_CLIP, _CLIP).astype(np.float32)
        out = self._batched(forward, [network], [Z])
        out = out if isinstance(out, tuple) else (out,)
        return [
            out[i] * self._scale[self.modality_blocks_[m]]
            + self._mean[self.modality_blocks_[m]]
            for i, m in enumerate(targets)
        ]

    def transform(self, X):
        """Shared latent coordinates: the posterior means (deterministic).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with NaN in the blocks they were not measured in.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior mean of each sample (the precision-weighted product of its
            observed blocks' posteriors).
        """
        return self._latent(X)

    def predict_proba(self, X):
        """Class probabilities from the class head on the latent means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples measured in any modality (NaN elsewhere).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of ``classes_``.
        """
        Z = np.clip(self._latent(X), -_CLIP, _CLIP)
        torch = import_torch()
        disc = self.network_.discriminator

        def forward(z):
            logits, _ = disc(z)
            return torch.softmax(logits.double(), dim=1)

        return self._batched(forward, [self.network_], [Z.astype(np.float32)])

    def predict(self, X):
        """Predict the class of samples measured in any modality.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with NaN in the blocks they were not measured in.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels among ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labeled samples; those marked ``-1`` are left out.

        :meth:`sklearn.base.ClassifierMixin.score` would count every unlabeled
        sample (``y == -1``, never a predicted class) as an error, so a
        :class:`~sklearn.model_selection.GridSearchCV` on semi-supervised ``y``
        would mostly measure the fraction of labeled samples in each fold. Here
        the samples that :func:`skdeep.utils.unlabeled_mask` marks are dropped
        and the score is the (weighted) fraction of the others whose predicted
        class is their label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples with NaN in the blocks they were not measured in.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled samples (as in :meth:`fit`).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; those of the unlabeled samples are ignored.

        Returns
        -------
        score : float
            Accuracy of :meth:`predict` on the labeled samples of ``X``.

        Raises
        ------
        ValueError
            When no sample of ``y`` is labeled.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.model_selection import GridSearchCV
        >>> from skdeep.datasets import make_multiomics
        >>> from skdeep.neural import MODISIntegrator
        >>> X, y, y_true, modality = make_multiomics(
        ...     n_samples=200, n_features=(10, 8), n_classes=3, labeled_fraction=0.3,
        ...     random_state=0)
        >>> model = MODISIntegrator(modalities=[10, 8], n_components=4,
        ...                         batch_size=None, learning_rate=1e-2,
        ...                         max_iter=5, device="cpu", random_state=0)
        >>> labeled = y != -1
        >>> score = model.fit(X, y).score(X, y)
        >>> bool(score == np.mean(model.predict(X[labeled]) == y[labeled]))
        True

        Tuned on the labeled samples of each held-out fold (30 % of them):

        >>> search = GridSearchCV(model, {"max_iter": [1, 30]}, cv=3).fit(X, y)
        >>> search.best_params_
        {'max_iter': 30}
        """
        check_is_fitted(self)
        y = column_or_1d(ravel_column_y(y))
        check_consistent_length(X, y, sample_weight)
        labeled = ~unlabeled_mask(y)
        if not labeled.any():
            raise ValueError(
                f"{type(self).__name__}.score needs labeled samples, but every "
                "sample of y is marked unlabeled (-1): there is no accuracy to "
                "compute."
            )
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[labeled]
        y_pred = self.predict(_safe_indexing(X, labeled))
        return float(accuracy_score(y[labeled], y_pred, sample_weight=sample_weight))

    def translate(self, X, target):
        """Decode samples into another modality's feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples measured in any modality (NaN elsewhere).
        target : int
            Index of the modality to translate into (its block in
            ``modality_blocks_``).

        Returns
        -------
        X_target : ndarray of shape (n_samples, n_target_features)
            The decoded block of ``target``, in the original units, columns in
            the order of ``modality_blocks_[target]``.
        """
        check_is_fitted(self)
        if (
            not isinstance(target, Integral)
            or isinstance(target, bool)
            or not 0 <= target < self.n_modalities_
        ):
            raise ValueError(
                f"target must be a modality index in [0, {self.n_modalities_}), "
                f"got {target!r}."
            )
        return self._decode(self._latent(X), [int(target)])[0]

    def inverse_transform(self, X):
        """Decode latent coordinates into every modality.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent coordinates (e.g. from :meth:`transform`).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Every block decoded, in the original units and column order.
        """
        check_is_fitted(self)
        Z = np.asarray(X, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_components:
            raise ValueError(
                f"X must have shape (n_samples, {self.n_components}) for "
                f"inverse_transform, got {Z.shape}."
            )
        if Z.shape[0] == 0:
            raise ValueError(
                "X of inverse_transform is empty: found array with 0 sample(s) "
                f"(shape {Z.shape}) while a minimum of 1 is required."
            )
        if not np.all(np.isfinite(Z)):
            raise ValueError("X contains NaN or infinity.")
        out = np.empty((Z.shape[0], self.n_features_in_))
        decoded = self._decode(Z, list(range(self.n_modalities_)))
        for cols, block in zip(self.modality_blocks_, decoded):
            out[:, cols] = block
        return out

    @property
    def _n_features_out(self):
        # raises NotFittedError (an AttributeError) before fit, so that
        # get_feature_names_out does too
        check_is_fitted(self)
        return self.n_components
