"""Deep networks with an adaptive Nyström layer (Giffon et al. 2019)."""

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
from sklearn.utils.validation import check_is_fitted

from ..utils._optimizers import DEFAULT_LEARNING_RATES, OPTIMIZERS
from ..utils._torch_base import OPTIMIZER_CONSTRAINTS, BaseTorchEstimator
from ..utils._validation import (
    FLOAT_DTYPES,
    check_step_size,
    validate_data,
    validation_split,
)
from ._nystrom_fit import NystromFitMixin
from ._nystrom_setup import KERNELS


def _method_doc(summary, returns):
    """Docstring of a prediction method taking ``X``: ``summary`` then
    ``returns`` (the numpydoc lines of the Returns section)."""
    return f"""{summary}

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        {returns}
        """


class NystromNetClassifier(
    NystromFitMixin,
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    BaseTorchEstimator,
):
    """Network whose top dense layers are an adaptive Nyström kernel layer.

    The "Deepström" network of Giffon et al. (2019): a backbone ``phi`` maps
    an input to features ``z(x)`` (``phi(x)``, l2-normalised with a backbone,
    see ``normalize``); the Nyström layer compares them with ``n_landmarks``
    landmarks, training samples passed through the *same* backbone (shared
    weights, so the landmarks move with it), and maps the kernel vector with a
    linear metric::

        k_x = [k(z(x), z(l_1)), ..., k(z(x), z(l_m))]
        h   = W k_x                      # the Nyström features (``transform``)
        p   = softmax(A h + b)           # the classes

    With ``W = K_mm^{-1/2}`` (``K_mm`` the kernel matrix of the landmarks),
    ``h . h'`` is the Nyström approximation of ``k(x, x')``, so without a
    backbone and with ``metric="fixed"`` the features are those of
    :class:`sklearn.kernel_approximation.Nystroem` on the scaled inputs.
    ``metric="adaptive"`` learns ``W`` from that start, with its own learning
    rate and a penalty ``metric_penalty / 2 * ||W - W_0||_F^2`` that keeps it
    near its start ``W_0``, the exact map ``K_mm^{-1/2}`` of the landmark
    features at the start of training. The layer has few parameters (``m^2``
    for the metric, ``m * n_classes`` for the softmax), the point of the
    method: it does well with 5 to 20 training samples per class, in particular
    on top of a pretrained, frozen backbone (``train_backbone=False``).

    Training minimises the (sample- and class-weighted) cross-entropy plus
    ``alpha / 2`` times the squared norm of the trained weights and the metric
    penalty, through skdeep's one training loop. Without a backbone (the
    default) the network is a kernel model: the softmax layer starts at the
    exact optimum for the map ``W_0`` and the training is full-batch L-BFGS
    (the Nyström features are an ill-conditioned map, where Adam's equal steps
    do harm); with a backbone it is Adam on mini-batches. The network computes
    in the dtype of ``X`` (float64 by default; float32 is kept).

    The defaults choose from the data what one would otherwise tune by hand:
    the inputs are standardised with the training statistics (``scaling``),
    the landmarks are all the training samples up to 300, the kernel layer
    holds one ``rbf`` block per bandwidth at 1/16, 1/4, 1 and 4 times the
    median heuristic and one arc-cosine block (the kernel of an infinitely
    wide ReLU layer; the paper's multiple kernels, weighed by the softmax
    layer),
    and, without a backbone, the weight decay ``alpha`` is chosen by
    stratified inner cross-validation on the training samples (a convex
    problem per candidate, solved exactly; cheap at few shots).

    Inputs are standardised inside: ``(X - input_mean_) / input_scale_``,
    the mean and standard deviation of every feature over the training rows
    of positive weight (computed without overflow or underflow; a constant
    feature gets a power of two as its scale). Unlike a per-sample
    normalisation, this keeps the norms of the samples, and what they say
    about the class, and puts features of different units on one scale; a fit
    on ``a * X + c`` (``a`` positive per feature) gives the predictions of a
    fit on ``X``. ``scaling="max_abs"`` divides all the features by one
    number instead (the largest magnitude of the training ``X``), keeping
    their relative sizes. At prediction, a scaled row with an entry beyond
    ``1e6`` is brought back into range: when only its direction counts (no
    backbone and ``normalize=True``) it is divided by a power of two, else
    its entries are clipped to ``[-1e6, 1e6]``; predictions are never NaN. A
    module given as ``backbone`` receives the inputs unscaled
    (``input_mean_ = 0``, ``input_scale_ = 1``), in the units it was built
    for.

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
        ``min(300, number of such samples)``: every training sample in the
        few-shot regime, 300 of them beyond. An int larger than the number of
        such samples is clipped to it, with a warning.
    kernel : {"rbf", "laplacian", "linear", "chi2", "cosine", "arccos"} or list \
            of those, default=("rbf", "arccos")
        Kernel of the Nyström layer. A list concatenates one Nyström layer per
        kernel (the paper's multiple kernels); ``h`` then has
        ``len(kernel) * m`` columns. ``"arccos"`` is the arc-cosine kernel of
        degree 1 (Cho and Saul, 2009) of ``[z / sqrt(p), 1]`` (``p`` features):
        the covariance of an infinitely wide ReLU layer, the dense layer the
        Nyström layer replaces; it grows with the norms of the samples. The
        default pairs it with the (local) ``"rbf"`` kernel: on the benchmark
        the pair did better than either alone at 5 to 20 samples per class.
        ``"chi2"`` needs non-negative features (ReLU backbones, or
        non-negative inputs with ``scaling="max_abs"`` without a backbone).
    gamma : "auto", float, list of float or None, default="auto"
        Bandwidth of ``rbf`` (``exp(-gamma ||a - b||^2)``), ``laplacian``
        (``exp(-gamma ||a - b||_1)``) and ``chi2``; ``None`` takes ``1 /`` the
        median distance between the initial landmark features (the squared
        Euclidean distance for ``rbf``, the distance of the kernel's formula
        otherwise). ``"auto"`` makes one Nyström block per bandwidth at 1/16,
        1/4, 1 and 4 times that median heuristic for each kernel that has a
        bandwidth (``h`` then has ``4 * m`` columns per such kernel): the
        softmax layer learns how to weigh the scales, no bandwidth is tuned.
        A list gives one value (or ``None``) per kernel. Ignored by
        ``linear``, ``cosine`` and ``arccos``.
    scaling : {"standard", "max_abs"}, default="standard"
        How the inputs are scaled inside (see above): ``"standard"``
        standardises every feature with the training statistics,
        ``"max_abs"`` divides them all by the largest magnitude of the
        training ``X``. Not applied to a module given as ``backbone``.
    normalize : "auto" or bool, default="auto"
        l2-normalise the features ``z = phi(x)`` before the kernel
        (``z / sqrt(||z||^2 + eps)``). ``"auto"``: with a backbone (whose
        features change scale while it trains, under a bandwidth fixed at the
        start), not without one (the norm of a sample is information).
    landmarks : {"sample", "learned"}, default="sample"
        ``"sample"``: the landmarks are the drawn training inputs, fixed in
        input space (their features move with the backbone). ``"learned"``:
        they start there and are free parameters in input space, still passed
        through the backbone.
    metric : {"fixed", "adaptive"}, default="fixed"
        ``"fixed"``: ``W = K_mm^{-1/2}`` of the current landmark features
        (eigendecomposition with an eigenvalue floor; recomputed, not
        differentiated, at each step when the landmark features move).
        ``"adaptive"``: ``W`` is learned from ``K_mm^{-1/2}``. The default is
        the better of the two on the benchmark of
        ``benchmarks/bench_nystrom_net.py`` (seven real data sets at 5, 10
        and 20 samples per class and on half of the data): the learned metric
        moved the mean accuracy by at most 0.002 either way (-0.0001 on
        average over the 28 cells), at several times the cost (``m^2``
        parameters per block).
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
    optimizer : {"auto", "adam", "sgd", "inna"}, default="auto"
        ``"auto"`` trains without a backbone (and with sampled landmarks) by
        full-batch L-BFGS, and otherwise by Adam on mini-batches. ``"adam"``,
        ``"sgd"`` (momentum 0.9) and ``"inna"`` (:class:`~skdeep.utils.INNA`,
        the inertial Newton algorithm; see the user guide's page on
        optimisers) train on mini-batches in every case.
    optimizer_params : dict or None, default=None
        Other options of the optimiser, e.g. ``{"alpha": 0.5, "beta": 0.1}``
        for INNA.
    learning_rate : float or None, default=None
        Step size of the backbone, the learned landmarks and the softmax layer
        (unused by the L-BFGS training); ``None`` is 1e-2 for SGD, 0.1 for
        INNA, and for Adam 5e-2, or 1e-3 without a backbone and with sampled
        landmarks (the softmax layer then starts at its optimum, which Adam's
        larger first steps, about the step size in every weight, would
        leave).
    learning_rate_metric : float, default=1e-3
        Step size of the adaptive metric ``W`` (with a mini-batch optimiser).
    metric_penalty : float, default=1.0
        Weight of ``||W - W_0||_F^2 / 2`` in the objective, ``W_0`` the
        ``K_mm^{-1/2}`` at the start of training.
    alpha : "auto" or float, default="auto"
        Weight of the squared l2 norm (``/ 2``) of the trained backbone and
        softmax weights (biases, landmarks and metric excluded). ``"auto"``:
        without a backbone, chosen among ``1e-2, 1e-3, 1e-4, 1e-5, 1e-6,
        1e-8`` by the accuracy of the exact-map model on stratified inner
        folds of the training samples (``min(5, smallest class)`` folds, fewer
        on large sets; the middle one of equally accurate values: with few
        inner test rows many tie, and the largest sits at the edge of
        under-fitting); with a backbone, ``1e-4``. Stored in ``alpha_``.
    batch_size : int or None, default=256
        Samples per mini-batch of Adam (few-shot training sets fit in one
        batch); ``None`` trains on the full batch. The L-BFGS training without
        a backbone is always full-batch.
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
    input_mean_ : ndarray of shape (`n_features_in_`,)
        Subtracted from the inputs before the network (0 with
        ``scaling="max_abs"`` or a module as ``backbone``).
    input_scale_ : ndarray of shape (`n_features_in_`,)
        What the centred inputs are divided by (one value repeated with
        ``scaling="max_abs"``; 1.0 with a module as ``backbone``).
    alpha_ : float
        The weight decay used (``alpha``, or its choice with ``"auto"``).
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
        Bandwidth of each kernel block (``None`` for ``linear``, ``cosine``
        and ``arccos``; four blocks per kernel with a bandwidth with
        ``gamma="auto"``).
    metric_ : ndarray of shape (n_kernels, `n_landmarks_`, `n_landmarks_`)
        The metric ``W`` of each kernel after training.
    backbone_ : torch.nn.Module or None
        The trained (or frozen) backbone; it takes rows scaled with
        ``input_mean_`` and ``input_scale_`` and reshaped to ``input_shape``,
        and can be passed as
        ``backbone`` to another model (which gives it its inputs unscaled).
    net_ : torch.nn.Module
        The whole network.
    n_iter_ : int
        Number of epochs run (of Adam, or of up to 20 L-BFGS iterations).
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
    >>> clf = NystromNetClassifier(n_landmarks=50, scaling="max_abs",  # pixels
    ...                            device="cpu", random_state=0)
    >>> clf = clf.fit(X[:200], y[:200])  # 200 digits, about 20 per class
    >>> clf.transform(X[:3]).shape  # Nyström features: (4 rbf + arccos) x 50
    (3, 250)
    >>> bool(clf.score(X[200:], y[200:]) > 0.75)  # 1597 digits of other writers
    True
    >>> clf.alpha_ in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8)  # by inner CV
    True
    """

    # Adam's step of the mini-batch training
    _default_learning_rates = {**DEFAULT_LEARNING_RATES, "adam": 5e-2}

    _parameter_constraints = {
        **BaseTorchEstimator._parameter_constraints,
        **OPTIMIZER_CONSTRAINTS,
        "n_landmarks": [Interval(Integral, 1, None, closed="left"),
                        StrOptions({"auto"})],
        "kernel": [StrOptions(set(KERNELS)), list, tuple],
        "gamma": [Interval(Real, 0, None, closed="neither"), list, tuple, None,
                  StrOptions({"auto"})],
        "scaling": [StrOptions({"standard", "max_abs"})],
        "normalize": [StrOptions({"auto"}), "boolean"],
        "landmarks": [StrOptions({"sample", "learned"})],
        "metric": [StrOptions({"adaptive", "fixed"})],
        "backbone": [None, StrOptions({"mlp", "cnn"}), HasMethods(["forward"])],
        "input_shape": [tuple, list, None],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "train_backbone": ["boolean"],
        "optimizer": [StrOptions({"auto", *OPTIMIZERS})],
        "learning_rate_metric": [Interval(Real, 0, None, closed="neither")],
        "metric_penalty": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_landmarks="auto",
        kernel=("rbf", "arccos"),
        gamma="auto",
        scaling="standard",
        normalize="auto",
        landmarks="sample",
        metric="fixed",
        backbone=None,
        input_shape=None,
        hidden_layer_sizes=(128,),
        train_backbone=True,
        optimizer="auto",
        optimizer_params=None,
        learning_rate=None,
        learning_rate_metric=1e-3,
        metric_penalty=1.0,
        alpha="auto",
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
        self.scaling = scaling
        self.normalize = normalize
        self.landmarks = landmarks
        self.metric = metric
        self.backbone = backbone
        self.input_shape = input_shape
        self.hidden_layer_sizes = hidden_layer_sizes
        self.train_backbone = train_backbone
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
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
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, flat rows (standardised inside, see ``scaling``).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the samples in the cross-entropy; samples of weight 0
            are never landmarks and do not count in the scaling.

        Returns
        -------
        self : NystromNetClassifier
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "net_")
        X, y_enc, sample_weight = self._check_fit_inputs(X, y, sample_weight, warm)
        architecture = self._architecture(X)
        check_step_size(self._learning_rate(), "learning_rate", X.dtype)
        check_step_size(self.learning_rate_metric, "learning_rate_metric", X.dtype)
        if not warm:
            self._check_sizes(X, architecture)
            self._fit_scaling(X, sample_weight)
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
        logits = self._checked_logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    decision_function.__doc__ = _method_doc(
        "Compute the logits of the softmax layer.",
        """scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Logits; for two classes, the logit of ``classes_[1]`` minus that
            of ``classes_[0]``.""",
    )

    def predict_proba(self, X):
        return softmax(self._checked_logits(X), axis=1)

    predict_proba.__doc__ = _method_doc(
        "Class probabilities: the softmax of the logits.",
        """proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.""",
    )

    def predict_log_proba(self, X):
        return log_softmax(self._checked_logits(X), axis=1)

    predict_log_proba.__doc__ = _method_doc(
        "Logarithm of the class probabilities (log-softmax of the logits).",
        """log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.""",
    )

    def predict(self, X):
        best = self._checked_logits(X).argmax(axis=1)
        return self.classes_[best]

    predict.__doc__ = _method_doc(
        "Predicted classes: those of largest probability.",
        """y_pred : ndarray of shape (n_samples,)
            Labels among ``classes_``.""",
    )

    def transform(self, X):
        X, np_dtype = self._validated(X)
        net = self.net_
        h = self._batched(net.features, [net], [X], dtype=self._net_dtype())
        return h.astype(np_dtype, copy=False)

    transform.__doc__ = _method_doc(
        "Nyström features ``h = W k_x``, the input of the softmax layer.",
        """h : ndarray of shape (n_samples, n_kernels * `n_landmarks_`)
            Features (in the dtype of the network), one block per kernel.""",
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
