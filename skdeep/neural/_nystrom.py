"""Deep networks with an adaptive Nyström layer (Giffon et al. 2019)."""

import copy
from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..utils._torch_base import BaseTorchEstimator
from ..utils._validation import FLOAT_DTYPES, validate_data
from ..utils._warnings import warn

_KERNELS = ("rbf", "laplacian", "linear", "chi2", "cosine")
_KERNELS_WITH_GAMMA = ("rbf", "laplacian", "chi2")
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
    Inputs are not scaled: scale them first (e.g. pixels to ``[0, 1]`` or a
    :class:`~sklearn.preprocessing.StandardScaler` in a pipeline). The network
    computes in the dtype of ``X`` (float64 by default; float32 is kept).

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
        Widths of the ``"mlp"`` backbone.
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
        Fraction held out with ``early_stopping``.
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
        The trained (or frozen) backbone; it takes rows reshaped to
        ``input_shape`` and can be passed as ``backbone`` to another model.
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
        "kernel": [StrOptions(set(_KERNELS)), list, tuple],
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

    # -- parameter checks done at fit ------------------------------------------
    def _kernels_and_gammas(self):
        kernels = [self.kernel] if isinstance(self.kernel, str) else list(self.kernel)
        if not kernels:
            raise ValueError("kernel must name at least one kernel, got an empty list.")
        for k in kernels:
            if k not in _KERNELS:
                raise ValueError(
                    f"kernel must be one of {list(_KERNELS)} or a list of them, "
                    f"got {k!r}."
                )
        if self.gamma is None or isinstance(self.gamma, Real):
            gammas = [self.gamma] * len(kernels)
        else:
            gammas = list(self.gamma)
            if len(gammas) != len(kernels):
                raise ValueError(
                    f"gamma must be a float, None or one value per kernel; got "
                    f"{len(gammas)} values for {len(kernels)} kernels."
                )
            for g in gammas:
                if g is not None and (
                    not isinstance(g, Real) or isinstance(g, bool) or not g > 0
                ):
                    raise ValueError(
                        f"gamma values must be positive floats or None, got {g!r}."
                    )
        return kernels, gammas

    def _check_input_shape(self, n_features):
        if self.input_shape is None:
            if self.backbone == "cnn":
                raise ValueError(
                    "backbone='cnn' needs input_shape=(C, H, W) or (H, W) to read "
                    "the rows of X as images."
                )
            return None
        shape = tuple(self.input_shape)
        if len(shape) not in (2, 3) or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0
            for s in shape
        ):
            raise ValueError(
                "input_shape must be a tuple of 2 or 3 positive ints ((H, W) or "
                f"(C, H, W)), got {self.input_shape!r}."
            )
        if int(np.prod(shape)) != n_features:
            raise ValueError(
                f"input_shape={shape} holds {int(np.prod(shape))} values but X has "
                f"{n_features} features."
            )
        return (1, *shape) if len(shape) == 2 else shape

    def _hidden_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu" or (
            sizes <= 0
        ).any():
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of positive ints, "
                f"got {self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    # -- fit -------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (scaled by the user), flat rows.
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
        from ._nystrom_modules import (
            NystromNet,
            decay_parameters,
            l2_normalize,
            median_gamma,
        )

        warm = self.warm_start and hasattr(self, "net_")
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
        n_samples, n_features = X.shape
        try:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        except (TypeError, ValueError) as exc:
            if "sample_weight" in str(exc).lower():
                raise
            raise ValueError(
                f"sample_weight must be an array of non-negative numbers: {exc}"
            ) from exc
        if not sample_weight.sum() > 0:
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        if self.class_weight is not None:
            per_class = compute_class_weight(
                self.class_weight, classes=classes, y=y
            )
            sample_weight = sample_weight * per_class[y_enc]
        kernels, gammas = self._kernels_and_gammas()
        input_shape = self._check_input_shape(n_features)
        hidden = self._hidden_sizes() if self.backbone == "mlp" else None
        if "chi2" in kernels and self.backbone is None and (X < 0).any():
            raise ValueError(
                "kernel='chi2' needs non-negative features; X has negative values "
                "and no backbone."
            )
        torch, device, rng = self._torch_setup()
        dtype = torch.float64 if X.dtype == np.float64 else torch.float32
        np_dtype = X.dtype

        # validation split, stratified (as MLPClassifier's early stopping)
        train_idx = np.arange(n_samples)
        val_idx = None
        if self.early_stopping:
            try:
                train_idx, val_idx = train_test_split(
                    train_idx,
                    test_size=self.validation_fraction,
                    stratify=y_enc,
                    random_state=self._seed(rng),
                )
            except ValueError as exc:
                raise ValueError(
                    f"early_stopping with validation_fraction="
                    f"{self.validation_fraction} cannot hold out a stratified "
                    f"validation set: {exc}"
                ) from exc
            train_idx, val_idx = np.sort(train_idx), np.sort(val_idx)

        if warm:
            net = self.net_
            if next(net.parameters()).dtype != dtype:
                net.to(dtype)
            net.to(device)
        else:
            index = _draw_landmarks(
                X[train_idx], y_enc[train_idx], sample_weight[train_idx],
                self.n_landmarks, rng,
            )
            index = train_idx[index]
            landmark_inputs = X[index]
            learn = self.landmarks == "learned"
            adaptive = self.metric == "adaptive"
            n_classes = classes.size

            def factory():
                if self.backbone is None:
                    backbone = None
                elif self.backbone == "mlp":
                    from ._nystrom_modules import MLPBackbone

                    backbone = MLPBackbone(n_features, hidden)
                elif self.backbone == "cnn":
                    from ._nystrom_modules import CNNBackbone

                    backbone = CNNBackbone(input_shape[0])
                else:
                    if not isinstance(self.backbone, torch.nn.Module):
                        raise TypeError(
                            "backbone must be None, 'mlp', 'cnn' or a "
                            f"torch.nn.Module, got {type(self.backbone).__name__}."
                        )
                    backbone = copy.deepcopy(self.backbone)
                if backbone is not None:
                    backbone = backbone.to(device=device, dtype=dtype)
                    backbone.eval()
                L = torch.as_tensor(landmark_inputs, dtype=dtype, device=device)
                with torch.no_grad():
                    if backbone is None:
                        z = L
                    else:
                        x = L if input_shape is None else L.reshape(-1, *input_shape)
                        try:
                            z = backbone(x).flatten(1)
                        except RuntimeError as exc:
                            raise ValueError(
                                f"backbone failed on inputs of shape "
                                f"{tuple(x.shape)} (set input_shape to the shape "
                                f"it expects): {exc}"
                            ) from exc
                    z = l2_normalize(z, _NORMALIZE_EPS)
                if "chi2" in kernels and bool((z < 0).any()):
                    raise ValueError(
                        "kernel='chi2' needs non-negative features; the backbone "
                        "outputs negative values."
                    )
                fitted_gammas = [
                    (float(g) if g is not None else median_gamma(k, z))
                    if k in _KERNELS_WITH_GAMMA
                    else None
                    for k, g in zip(kernels, gammas)
                ]
                return NystromNet(
                    backbone,
                    input_shape,
                    L,
                    learn,
                    kernels,
                    fitted_gammas,
                    adaptive,
                    n_classes,
                    self.train_backbone,
                    _NORMALIZE_EPS,
                )

            net = self._build_module(factory, rng, device)
            self.landmark_indices_ = index
            self.n_landmarks_ = index.size
            self.gamma_ = list(net.gammas)

        net.train_backbone = self.train_backbone
        if net.backbone is not None:
            for p in net.backbone.parameters():
                p.requires_grad_(self.train_backbone)

        # training tensors; weights normalised to mean 1 on the training part
        weights = sample_weight[train_idx]
        weights = weights / weights.mean()
        data = (
            torch.as_tensor(X[train_idx], dtype=dtype),
            torch.as_tensor(y_enc[train_idx], dtype=torch.long),
            torch.as_tensor(weights, dtype=dtype),
        )
        metric_param = net.metric if net.adaptive else None
        main = [
            p for p in net.parameters()
            if p.requires_grad and p is not metric_param
        ]
        groups = [{"params": main, "lr": self.learning_rate}]
        if metric_param is not None:
            groups.append({"params": [metric_param], "lr": self.learning_rate_metric})
        optimizer = torch.optim.Adam(groups)
        decayed = decay_parameters(net)
        alpha, penalty = self.alpha, self.metric_penalty
        cross_entropy = torch.nn.functional.cross_entropy

        def loss(batch):
            xb, yb, wb = batch
            ce = (cross_entropy(net(xb), yb, reduction="none") * wb).mean()
            decay = 0.5 * alpha * sum((p * p).sum() for p in decayed)
            terms = {"cross_entropy": ce, "weight_decay": decay}
            total = ce + decay
            if net.adaptive:
                deviation = 0.5 * penalty * net.metric_deviation()
                terms["metric_penalty"] = deviation
                total = total + deviation
            return total, terms

        from ..utils._training import TrainingStep

        validation_loss = None
        if val_idx is not None:
            X_val = torch.as_tensor(X[val_idx], dtype=dtype, device=device)
            y_val = torch.as_tensor(y_enc[val_idx], dtype=torch.long, device=device)
            w_val = torch.as_tensor(sample_weight[val_idx], dtype=dtype, device=device)

            def validation_loss():
                ce = cross_entropy(net(X_val), y_val, reduction="none")
                return float((ce * w_val).sum() / w_val.sum().clamp_min(1e-300))

        self._train(
            [TrainingStep(optimizer, loss)],
            data,
            [net],
            rng,
            device,
            validation_loss=validation_loss,
            convergence_hint="increase max_iter or adjust learning_rate",
        )
        net.eval()
        if not net.adaptive and net.moving_landmarks:
            net.refresh_metric()
        self.net_ = net
        self.backbone_ = net.backbone
        self.landmarks_ = net.landmarks.detach().cpu().numpy().astype(
            np_dtype, copy=True
        )
        self.metric_ = net.metric.detach().cpu().numpy().astype(np_dtype, copy=True)
        self._n_features_out = len(net.kernels) * net.landmarks.shape[0]
        self.best_validation_score_ = None
        if val_idx is not None:
            pred = self._logits(X[val_idx]).argmax(axis=1)
            w = sample_weight[val_idx]
            self.best_validation_score_ = float(
                np.sum(w * (pred == y_enc[val_idx])) / np.sum(w)
            )
        return self

    # -- inference -------------------------------------------------------------
    def _net_dtype(self):
        return self.net_.metric.dtype

    def _validated(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        np_dtype = np.float64 if str(self._net_dtype()) == "torch.float64" else (
            np.float32
        )
        return X.astype(np_dtype, copy=False), np_dtype

    def _logits(self, X):
        net = self.net_
        return self._batched(net, [net], [X], dtype=self._net_dtype())

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
        X, _ = self._validated(X)
        logits = self._logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the logits, columns in the order of ``classes_``.
        """
        X, _ = self._validated(X)
        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-softmax of the logits.
        """
        X, _ = self._validated(X)
        return log_softmax(self._logits(X), axis=1)

    def predict(self, X):
        """Predicted classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class of largest probability.
        """
        X, _ = self._validated(X)
        return self.classes_[self._logits(X).argmax(axis=1)]

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


# n_landmarks="auto": all the training samples up to this many.
_AUTO_LANDMARKS = 100


def _draw_landmarks(X, y, sample_weight, n_landmarks, rng):
    """Indices of ``n_landmarks`` distinct rows of positive weight, by class.

    Candidates are the distinct rows of positive weight, in lexicographic order
    (so the draw depends on the set of rows, not on their order or
    repetitions). Each class gets its share of the landmarks in proportion to
    its number of candidates (largest remainders), and at least one when there
    are landmarks for every class; rows are drawn without replacement.
    """
    eligible = np.flatnonzero(sample_weight > 0)
    _, first = np.unique(X[eligible], axis=0, return_index=True)
    candidates = eligible[first]
    if n_landmarks == "auto":
        n_landmarks = min(_AUTO_LANDMARKS, candidates.size)
    elif n_landmarks > candidates.size:
        warn(
            f"n_landmarks={n_landmarks} is larger than the {candidates.size} "
            "distinct training samples of positive weight; using "
            f"{candidates.size} landmarks.",
            UserWarning,
        )
        n_landmarks = candidates.size
    labels = y[candidates]
    present = np.unique(labels)
    counts = np.array([np.sum(labels == c) for c in present])
    quota = np.zeros(present.size, dtype=int)
    if n_landmarks >= present.size:
        quota[:] = 1
    target = n_landmarks * counts / counts.sum()
    while quota.sum() < n_landmarks:
        room = np.where(quota < counts, target - quota, -np.inf)
        quota[int(np.argmax(room))] += 1
    chosen = [
        rng.choice(candidates[labels == c], size=q, replace=False)
        for c, q in zip(present, quota)
        if q > 0
    ]
    return np.concatenate(chosen)
