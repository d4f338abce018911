"""MODIS: semi-supervised diagonal integration of unpaired multi-omics data.

The estimator's parameters and training live here; torch is imported inside the
methods, so importing this module is cheap. The input blocks are read in
:mod:`._modis_inputs`, the set-up before training (labels, size guard,
optimiser steps) is in :mod:`._modis_setup`, the modules in
:mod:`._modis_modules`, the losses in :mod:`._modis_losses`, and what a fitted
network does (transform, predict, translate, decode) in :mod:`._modis_inference`.
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
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._torch_base import OPTIMIZER_CONSTRAINTS, BaseTorchEstimator
from ..utils._training import BalancedBatchSampler
from ..utils._validation import (
    FLOAT_DTYPES,
    check_layer_sizes,
    check_step_size,
    check_y_given,
    class_weight_vector,
    validate_data,
    validation_split,
)
from ._modis_inference import _MODISInference
from ._modis_inputs import (
    Views,
    encoder_widths,
    fit_scaling,
    observed_blocks,
    resolve_blocks,
)
from ._modis_setup import (
    ADAM_BETAS,
    check_network_sizes,
    encode_labels,
    loss_settings,
    training_steps,
)


class MODISIntegrator(
    _MODISInference, ClassifierMixin, TransformerMixin,
    ClassNamePrefixFeaturesOutMixin, BaseTorchEstimator,
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
    optimizer : {"adam", "sgd", "inna"}, default="adam"
        Optimiser of the auto-encoders and of the discriminator:
        :class:`torch.optim.Adam` (``betas=(0.5, 0.999)`` as in the paper's
        code), SGD with momentum 0.9, or :class:`~skdeep.utils.INNA`, the
        inertial Newton algorithm (see the user guide's page on optimisers).
    optimizer_params : dict or None, default=None
        Other options of the optimiser, e.g. ``{"alpha": 0.5, "beta": 0.1}``
        for INNA or ``{"betas": (0.9, 0.999)}`` for Adam.
    learning_rate : float or None, default=None
        Step size; ``None`` is 1e-3 for Adam, 1e-2 for SGD and 0.1 for INNA.
    max_iter : int, default=300
        Maximum number of epochs. The stopping rule ends a typical fit after
        50 to 170 epochs (the reconstruction error keeps creeping down while
        the adversarial terms stay flat), so the default leaves it room.
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
        **OPTIMIZER_CONSTRAINTS,
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
        optimizer="adam",
        optimizer_params=None,
        learning_rate=None,
        max_iter=300,
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
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
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

    # -- fit ---------------------------------------------------------------
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
        self.classes_, codes = encode_labels(y, X.shape[0], type(self).__name__)
        observed = self._fit_blocks(X)
        class_weight = None
        if self.class_weight is not None:
            class_weight = class_weight_vector(
                self.class_weight, self.classes_, codes[codes >= 0]
            )
        # One training row ("view") per observed (sample, modality) pair.
        views = Views(self._standardised(X), ~np.isnan(X), codes,
                       *np.nonzero(observed))
        check_step_size(self._learning_rate(), "learning_rate", np.float32)
        hidden, head = self._architecture()
        check_network_sizes(
            self.modality_blocks_, hidden, head,
            np.bincount(views.modality, minlength=self.n_modalities_),
            batch_size=self.batch_size, n_components=self.n_components,
            adversarial=self.adversarial,
        )
        _, device, rng = self._torch_setup()
        train, val = np.arange(views.n_views), None
        if self.early_stopping:
            train, val = validation_split(
                views.n_views, self.validation_fraction, rng, groups=views.modality
            )
        network = self._build_network(hidden, head, rng, device)
        settings = loss_settings(self, class_weight, device)
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
            training_steps(
                network, settings,
                partial(self._make_optimizer, defaults={"adam": {"betas": ADAM_BETAS}}),
            ),
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

    @property
    def _n_features_out(self):
        # raises NotFittedError (an AttributeError) before fit, so that
        # get_feature_names_out does too
        check_is_fitted(self)
        return self.n_components
