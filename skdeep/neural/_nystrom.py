"""Deep networks with an adaptive Nyström layer (Giffon et al. 2019)."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..utils._torch import import_torch
from ..utils._torch_base import BaseTorchEstimator
from ..utils._training import TrainingStep
from ..utils._validation import (
    FLOAT_DTYPES,
    check_step_size,
    combined_sample_weight,
    max_abs_scale,
    validate_data,
    validation_split,
)
from ._nystrom_setup import (
    KERNELS,
    check_hidden_sizes,
    check_input_shape,
    check_kernels,
    check_sizes,
    draw_landmarks,
    landmark_count,
    scale_inputs,
)

# Added under the square root of the l2 normalisation of the features.
_NORMALIZE_EPS = 1e-12


class NystromNetClassifier(
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    BaseTorchEstimator,
):
    """Network whose top dense layers are an adaptive Nyström kernel layer.

    The "Deepström" network of Giffon et al. (2019): a backbone ``phi`` maps
    an input to features ``z(x) = phi(x) / sqrt(||phi(x)||^2 + eps)``; the
    Nyström layer compares them with ``n_landmarks`` landmarks, training samples
    passed through the *same* backbone (shared weights, so the landmarks move
    with it), and maps the kernel vector with a linear metric::

        k_x = [k(z(x), z(l_1)), ..., k(z(x), z(l_m))]
        h   = W k_x                      # the Nyström features (``transform``)
        p   = softmax(A h + b)           # the classes

    With ``W = K_mm^{-1/2}`` (``K_mm`` the kernel matrix of the landmarks),
    ``h . h'`` is the Nyström approximation of ``k(x, x')``, so without a
    backbone and with ``metric="fixed"`` the features are those of
    :class:`sklearn.kernel_approximation.Nystroem` on the normalised inputs.
    ``metric="adaptive"`` learns ``W`` from that start, with its own learning
    rate and a penalty ``metric_penalty / 2 * ||W - W_0||_F^2`` that keeps it
    near its start ``W_0``, the exact map ``K_mm^{-1/2}`` of the landmark
    features at the start of training. The layer has few parameters (``m^2``
    for the metric, ``m * n_classes`` for the softmax), the point of the
    method: it does well with 5 to 20 training samples per class, in particular
    on top of a pretrained, frozen backbone (``train_backbone=False``).

    Training minimises the (sample- and class-weighted) cross-entropy plus
    ``alpha / 2`` times the squared norm of the trained weights and the metric
    penalty, with Adam on mini-batches, through skdeep's one training loop.
    The network computes in the dtype of ``X`` (float64 by default; float32 is
    kept).

    Inputs are divided by one number, ``input_scale_``: the largest magnitude
    of the training ``X`` (computed without squaring, so it cannot overflow),
    before they are converted to the network's dtype. Relative sizes are kept
    (features against each other and the norms of the samples: no
    per-sample or per-feature normalisation is added), data already in
    ``[-1, 1]`` with an entry of magnitude 1 (pixels scaled to ``[0, 1]``) are
    unchanged, and a fit on ``c * X`` for any ``c`` from ``1e-300`` to
    ``1e300`` gives the predictions of a fit on ``X``. Scale the features
    against each other as you would for any network (e.g. pixels to
    ``[0, 1]`` or a :class:`~sklearn.preprocessing.StandardScaler`). At
    prediction, a scaled row with an entry beyond ``1e6`` is brought back
    into range: without a backbone it is divided by a power of two (the
    features ``z`` only see its direction), with a backbone its entries are
    clipped to ``[-1e6, 1e6]``; predictions are never NaN. A module given as
    ``backbone`` receives the inputs unscaled (``input_scale_ = 1``), in the
    units it was built for.

    Before anything is allocated, ``fit`` estimates the largest tensor the
    parameters make it build (the landmark kernel matrix and the metric,
    ``n_kernels * n_landmarks ** 2`` entries; a batch of kernel vectors; the
    weights and activations of the backbone's layers) and raises a
    ``ValueError`` naming the parameter when one passes 4 GiB. A training
    loss that becomes infinite or NaN raises a ``ValueError`` naming
    ``learning_rate``.

    Parameters
    ----------
    n_landmarks : int or "auto", default="auto"
        Number of landmarks ``m``, drawn stratified by class among the distinct
        training samples of positive weight. ``"auto"`` takes
        ``min(100, number of such samples)``: every training sample in the
        few-shot regime, 100 of them beyond. An int larger than the number of
        such samples is clipped to it, with a warning.
    kernel : {"rbf", "laplacian", "linear", "chi2", "cosine"} or list of those, \
            default="rbf"
        Kernel of the Nyström layer. A list concatenates one Nyström layer per
        kernel (the paper's multiple kernels); ``h`` then has
        ``len(kernel) * m`` columns. ``"chi2"`` needs non-negative features
        (ReLU backbones, or non-negative inputs without a backbone).
    gamma : float, list of float or None, default=None
        Bandwidth of ``rbf`` (``exp(-gamma ||a - b||^2)``), ``laplacian``
        (``exp(-gamma ||a - b||_1)``) and ``chi2``; ``None`` takes ``1 /`` the
        median distance between the initial landmark features (the squared
        Euclidean distance for ``rbf``, the distance of the kernel's formula
        otherwise). A list gives
        one value (or ``None``) per kernel. Ignored by ``linear`` and ``cosine``.
    landmarks : {"sample", "learned"}, default="sample"
        ``"sample"``: the landmarks are the drawn training inputs, fixed in
        input space (their features move with the backbone). ``"learned"``:
        they start there and are free parameters in input space, still passed
        through the backbone.
    metric : {"adaptive", "fixed"}, default="adaptive"
        ``"fixed"``: ``W = K_mm^{-1/2}`` of the current landmark features
        (eigendecomposition with an eigenvalue floor; recomputed, not
        differentiated, at each step when the landmark features move).
        ``"adaptive"``: ``W`` is learned from ``K_mm^{-1/2}``.
    backbone : {"mlp", "cnn"}, torch.nn.Module or None, default=None
        ``phi``. ``None``: the identity on the input features. ``"mlp"``:
        dense ReLU layers of ``hidden_layer_sizes``. ``"cnn"``: two blocks of
        3x3 convolution (32 and 64 channels), ReLU and 2x2 max pooling on rows
        read as images of ``input_shape``. A module is deep-copied at ``fit``
        (the parameter is never modified) and receives the rows reshaped to
        ``input_shape`` when that is given.
    input_shape : tuple of int or None, default=None
        ``(C, H, W)`` or ``(H, W)``: shape each row of ``X`` is read as before
        the backbone (required by ``backbone="cnn"``). Its product must equal
        the number of features.
    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the ``"mlp"`` backbone (checked with any backbone).
    train_backbone : bool, default=True
        False freezes the backbone (kept in eval mode): the transfer setting,
        with a pretrained module as ``backbone``.
    learning_rate : float, default=5e-2
        Adam step size of the backbone, the learned landmarks and the softmax
        layer.
    learning_rate_metric : float, default=1e-3
        Adam step size of the adaptive metric ``W``.
    metric_penalty : float, default=1.0
        Weight of ``||W - W_0||_F^2 / 2`` in the objective, ``W_0`` the
        ``K_mm^{-1/2}`` at the start of training.
    alpha : float, default=1e-4
        Weight of the squared l2 norm (``/ 2``) of the trained backbone and
        softmax weights (biases, landmarks and metric excluded).
    batch_size : int or None, default=256
        Samples per mini-batch (few-shot training sets fit in one batch);
        ``None`` trains on the full batch.
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float, default=1e-4
        Stop when the monitored loss (the validation loss with
        ``early_stopping``, else the training objective) has decreased by at
        most ``tol`` times its first value over the last ``n_iter_no_change``
        epochs (skdeep's one stopping rule, see the user guide's conventions).
    n_iter_no_change : int, default=10
        Window of the stopping rule, in epochs.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training samples,
        stop when its cross-entropy stalls and restore the best weights.
    validation_fraction : float, default=0.1
        Fraction of the samples held out with ``early_stopping``: a stratified
        draw of ``round(validation_fraction * n_samples)`` samples, which
        must leave a place for every class in both parts.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the cross-entropy, multiplied with
        ``sample_weight``.
    warm_start : bool, default=False
        Continue training the fitted network (same landmarks and metric start)
        on the next call to ``fit``.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available; ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"``. The fitted model pickles on the CPU and predicts on
        the device set at prediction time.
    random_state : int, RandomState instance or None, default=None
        Seeds the landmark draw, the initialisation, the validation split and
        the mini-batches; CPU runs are bit-for-bit reproducible.
    verbose : int, default=0
        Print the objective after every epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    input_scale_ : float
        The number the inputs are divided by before the network (the largest
        magnitude of the training ``X``; 1.0 with a module as ``backbone``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.
    landmarks_ : ndarray of shape (`n_landmarks_`, `n_features_in_`)
        The landmarks in input space (after training for ``"learned"``).
    landmark_indices_ : ndarray of shape (`n_landmarks_`,)
        Rows of the ``X`` given to ``fit`` the landmarks were drawn from.
    n_landmarks_ : int
        Number of landmarks used (``n_landmarks`` after clipping).
    gamma_ : list of float or None
        Bandwidth of each kernel (``None`` for ``linear`` and ``cosine``).
    metric_ : ndarray of shape (n_kernels, `n_landmarks_`, `n_landmarks_`)
        The metric ``W`` of each kernel after training.
    backbone_ : torch.nn.Module or None
        The trained (or frozen) backbone; it takes rows divided by
        ``input_scale_`` and reshaped to ``input_shape``, and can be passed as
        ``backbone`` to another model (which gives it its inputs unscaled).
    net_ : torch.nn.Module
        The whole network.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Training objective (cross-entropy plus penalties) of every epoch.
    loss_terms_ : dict of ndarray
        Per-epoch curves of ``"loss.cross_entropy"``, ``"loss.weight_decay"``,
        ``"loss.metric_penalty"`` (and ``"validation"``).
    validation_loss_curve_ : ndarray of shape (`n_iter_`,)
        Validation cross-entropy of every epoch (only with ``early_stopping``).
    best_iteration_ : int
        Epoch whose weights were restored (only with ``early_stopping``).
    best_validation_score_ : float or None
        Validation accuracy of the restored weights with ``early_stopping``,
        else ``None``.

    See Also
    --------
    sklearn.kernel_approximation.Nystroem : Nyström features with a fixed map.
    sklearn.neural_network.MLPClassifier : A dense network.

    Notes
    -----
    ``decision_function`` returns the logits ``A h + b`` (their difference for
    two classes). ``partial_fit`` is not provided: the landmarks and the metric
    start are drawn from the first training set; use ``warm_start``.

    References
    ----------
    .. [1] L. Giffon, S. Ayache, T. Artières and H. Kadri, "Deep Networks with
       Adaptive Nyström Approximation", International Joint Conference on
       Neural Networks (IJCNN), 2019. arXiv:1911.13036. The Nyström layer
       ``W k_x`` with ``W = K_mm^{-1/2}`` (Sec. III-A, the standard Nyström
       map) and the adaptive metric learned from it (Sec. III-B); landmarks
       share the network's representation (Fig. 1).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep.neural import NystromNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16  # scale the pixels to [0, 1]
    >>> clf = NystromNetClassifier(n_landmarks=50, max_iter=400, device="cpu",
    ...                            random_state=0)
    >>> clf = clf.fit(X[:200], y[:200])  # 200 digits, about 20 per class
    >>> clf.transform(X[:3]).shape  # the Nyström features
    (3, 50)
    >>> bool(clf.score(X[200:], y[200:]) > 0.75)  # 1597 digits of other writers
    True
    """

    _parameter_constraints = {
        **BaseTorchEstimator._parameter_constraints,
        "n_landmarks": [Interval(Integral, 1, None, closed="left"),
                        StrOptions({"auto"})],
        "kernel": [StrOptions(set(KERNELS)), list, tuple],
        "gamma": [Interval(Real, 0, None, closed="neither"), list, tuple, None],
        "landmarks": [StrOptions({"sample", "learned"})],
        "metric": [StrOptions({"adaptive", "fixed"})],
        "backbone": [None, StrOptions({"mlp", "cnn"}), HasMethods(["forward"])],
        "input_shape": [tuple, list, None],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "train_backbone": ["boolean"],
        "learning_rate_metric": [Interval(Real, 0, None, closed="neither")],
        "metric_penalty": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_landmarks="auto",
        kernel="rbf",
        gamma=None,
        landmarks="sample",
        metric="adaptive",
        backbone=None,
        input_shape=None,
        hidden_layer_sizes=(128,),
        train_backbone=True,
        learning_rate=5e-2,
        learning_rate_metric=1e-3,
        metric_penalty=1.0,
        alpha=1e-4,
        batch_size=256,
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        warm_start=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_landmarks = n_landmarks
        self.kernel = kernel
        self.gamma = gamma
        self.landmarks = landmarks
        self.metric = metric
        self.backbone = backbone
        self.input_shape = input_shape
        self.hidden_layer_sizes = hidden_layer_sizes
        self.train_backbone = train_backbone
        self.learning_rate = learning_rate
        self.learning_rate_metric = learning_rate_metric
        self.metric_penalty = metric_penalty
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- fit -------------------------------------------------------------------
    def _check_fit_inputs(self, X, y, sample_weight, warm):
        """Validated ``X``, encoded ``y`` and the per-sample loss weights.

        Sets ``classes_`` (and the feature counts through ``validate_data``).
        """
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, reset=True)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                "NystromNetClassifier needs samples of at least 2 classes in y; "
                f"got 1 class ({classes[0]!r})."
            )
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start can only be used where y has the same classes as in "
                f"the previous call to fit: {self.classes_} != {classes}."
            )
        self.classes_ = classes
        weights = combined_sample_weight(
            y_enc, classes, class_weight=self.class_weight, sample_weight=sample_weight
        )
        return X, y_enc, weights

    def _architecture(self, X):
        """The checked architecture parameters, as :func:`build_nystrom_net`
        keywords (without the training-run ones)."""
        kernels, gammas = check_kernels(self.kernel, self.gamma)
        n_features = X.shape[1]
        if "chi2" in kernels and self.backbone is None and (X < 0).any():
            raise ValueError(
                "kernel='chi2' needs non-negative features; X has negative values "
                "and no backbone."
            )
        hidden = check_hidden_sizes(self.hidden_layer_sizes)
        return dict(
            n_features=n_features,
            hidden_layer_sizes=(
                hidden
                if isinstance(self.backbone, str) and self.backbone == "mlp"
                else None
            ),
            input_shape=check_input_shape(self.input_shape, self.backbone, n_features),
            kernels=kernels,
            gammas=gammas,
        )

    def _check_sizes(self, X, architecture):
        """Refuse parameters whose largest tensor would pass the size limit."""
        n_train = X.shape[0]
        if self.early_stopping:
            n_train -= int(round(self.validation_fraction * n_train))
        check_sizes(
            n_landmarks=landmark_count(self.n_landmarks, n_train),
            n_kernels=len(architecture["kernels"]),
            n_features=X.shape[1],
            rows=self.batch_size or n_train,
            backbone=self.backbone,
            hidden_layer_sizes=architecture["hidden_layer_sizes"],
            input_shape=architecture["input_shape"],
            itemsize=X.dtype.itemsize,
        )

    def _scaled(self, X, dtype):
        """``X / input_scale_`` brought into range, as ``dtype``."""
        return scale_inputs(X, self.input_scale_, self.backbone is None, dtype)

    def _new_network(self, X, y_enc, sample_weight, train_idx, architecture, rng,
                     device, dtype):
        """Draw the landmarks among the training rows and build the network."""
        from ._nystrom_modules import build_nystrom_net

        index = train_idx[
            draw_landmarks(
                X[train_idx], y_enc[train_idx], sample_weight[train_idx],
                self.n_landmarks, rng,
            )
        ]
        inputs = self._scaled(X[index], X.dtype)
        net = self._build_module(
            lambda: build_nystrom_net(
                self.backbone,
                inputs,
                **architecture,
                learn_landmarks=self.landmarks == "learned",
                adaptive=self.metric == "adaptive",
                n_classes=self.classes_.size,
                train_backbone=self.train_backbone,
                eps=_NORMALIZE_EPS,
                device=device,
                dtype=dtype,
            ),
            rng,
            device,
        )
        self.landmark_indices_ = index
        self.n_landmarks_ = index.size
        self.gamma_ = list(net.gammas)
        return net

    def _warm_network(self, device, dtype):
        net = self.net_
        if next(net.parameters()).dtype != dtype:
            net.to(dtype)
        return net.to(device)

    def _fit_network(self, net, X, y_enc, sample_weight, train_idx, val_idx, rng,
                     device, dtype):
        """Train ``net`` on the training rows (``X`` already scaled) through the
        one training loop."""
        from ._nystrom_modules import (
            decay_parameters,
            nystrom_objective,
            nystrom_optimizer,
            weighted_cross_entropy,
        )

        torch = import_torch()
        net.set_train_backbone(self.train_backbone)
        optimizer = nystrom_optimizer(net, self.learning_rate,
                                      self.learning_rate_metric)
        # training tensors; weights normalised to mean 1 on the training part
        weights = sample_weight[train_idx]
        data = (
            torch.as_tensor(X[train_idx], dtype=dtype),
            torch.as_tensor(y_enc[train_idx], dtype=torch.long),
            torch.as_tensor(weights / weights.mean(), dtype=dtype),
        )
        objective = partial(nystrom_objective, net, decay_parameters(net),
                            self.alpha, self.metric_penalty)
        validation_loss = None
        if val_idx is not None:
            validation_loss = partial(
                weighted_cross_entropy,
                net,
                torch.as_tensor(X[val_idx], dtype=dtype, device=device),
                torch.as_tensor(y_enc[val_idx], dtype=torch.long, device=device),
                torch.as_tensor(sample_weight[val_idx], dtype=dtype, device=device),
            )
        try:
            self._train(
                [TrainingStep(optimizer, objective)],
                data,
                [net],
                rng,
                device,
                validation_loss=validation_loss,
            )
        except FloatingPointError as exc:
            raise ValueError(
                f"the training diverged with learning_rate={self.learning_rate!r} "
                f"and learning_rate_metric={self.learning_rate_metric!r} ({exc}); "
                "lower learning_rate (or learning_rate_metric)."
            ) from exc
        net.eval()
        if not net.adaptive and net.moving_landmarks:
            net.refresh_metric()

    def _store_network(self, net, X, warm):
        np_dtype = X.dtype
        self.net_ = net
        self.backbone_ = net.backbone
        if warm and self.landmarks == "sample":
            pass  # the landmarks of the first fit
        elif self.landmarks == "sample":
            self.landmarks_ = X[self.landmark_indices_].astype(np_dtype, copy=True)
        else:
            self.landmarks_ = (
                net.landmarks.detach().cpu().numpy() * self.input_scale_
            ).astype(np_dtype, copy=False)
        self.metric_ = net.metric.detach().cpu().numpy().astype(np_dtype, copy=True)
        self._n_features_out = len(net.kernels) * net.landmarks.shape[0]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, flat rows (divided by ``input_scale_`` inside).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the samples in the cross-entropy; samples of weight 0
            are never landmarks.

        Returns
        -------
        self : NystromNetClassifier
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "net_")
        X, y_enc, sample_weight = self._check_fit_inputs(X, y, sample_weight, warm)
        architecture = self._architecture(X)
        check_step_size(self.learning_rate, "learning_rate", X.dtype)
        check_step_size(self.learning_rate_metric, "learning_rate_metric", X.dtype)
        if not warm:
            self._check_sizes(X, architecture)
            # a module given as backbone was built for the units of X
            self.input_scale_ = (
                max_abs_scale(X) if self.backbone is None
                or isinstance(self.backbone, str) else 1.0
            )
        torch, device, rng = self._torch_setup()
        dtype = torch.float64 if X.dtype == np.float64 else torch.float32
        train_idx, val_idx = np.arange(X.shape[0]), None
        if self.early_stopping:
            train_idx, val_idx = validation_split(
                X.shape[0], self.validation_fraction, rng, stratify=y_enc
            )
        if warm:
            net = self._warm_network(device, dtype)
        else:
            net = self._new_network(X, y_enc, sample_weight, train_idx, architecture,
                                    rng, device, dtype)
        Xs = self._scaled(X, X.dtype)
        self._fit_network(net, Xs, y_enc, sample_weight, train_idx, val_idx, rng,
                          device, dtype)
        self._store_network(net, X, warm)
        self.best_validation_score_ = None
        if val_idx is not None:
            pred = self._logits(Xs[val_idx]).argmax(axis=1)
            self.best_validation_score_ = float(
                np.average(pred == y_enc[val_idx], weights=sample_weight[val_idx])
            )
        return self

    # -- inference -------------------------------------------------------------
    def _net_dtype(self):
        return self.net_.metric.dtype

    def _validated(self, X):
        """Validated ``X``, scaled into the network's units and dtype."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        np_dtype = np.float64 if str(self._net_dtype()) == "torch.float64" else (
            np.float32
        )
        return self._scaled(X, np_dtype), np_dtype

    def _logits(self, X):
        net = self.net_
        return self._batched(net, [net], [X], dtype=self._net_dtype())

    def _checked_logits(self, X):
        """Logits of the softmax layer on a validated ``X``."""
        return self._logits(self._validated(X)[0])

    def decision_function(self, X):
        """Compute the logits of the softmax layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Logits; for two classes, the logit of ``classes_[1]`` minus that
            of ``classes_[0]``.
        """
        logits = self._checked_logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        return softmax(self._checked_logits(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities (log-softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        return log_softmax(self._checked_logits(X), axis=1)

    def predict(self, X):
        """Predicted classes: those of largest probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels among ``classes_``.
        """
        logits = self._checked_logits(X)
        return self.classes_[logits.argmax(axis=1)]

    def transform(self, X):
        """Nyström features ``h = W k_x``, the input of the softmax layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        h : ndarray of shape (n_samples, n_kernels * `n_landmarks_`)
            Features (in the dtype of the network), one block per kernel.
        """
        X, np_dtype = self._validated(X)
        net = self.net_
        h = self._batched(net.features, [net], [X], dtype=self._net_dtype())
        return h.astype(np_dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
