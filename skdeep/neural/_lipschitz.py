"""1-Lipschitz networks trained with the hinge-KR loss (Serrurier et al. 2021)."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._optimizers import DEFAULT_LEARNING_RATES
from ..utils._torch import import_torch
from ..utils._torch_base import OPTIMIZER_CONSTRAINTS, BaseTorchEstimator
from ..utils._training import TrainingStep
from ..utils._validation import (
    FLOAT_DTYPES,
    check_layer_sizes,
    check_step_size,
    combined_sample_weight,
    encode_classes,
    max_abs_scale,
    validate_data,
    validation_split,
)

# Range of the temperature of predict_proba.
_LOG_TEMPERATURE_BOUNDS = (np.log(1e-6), np.log(1e6))


class LipschitzClassifier(ClassifierMixin, BaseTorchEstimator):
    """1-Lipschitz network trained with the hinge-KR loss; certified radii.

    The classifier of Serrurier et al. (2021): a dense network each of whose
    layers has a weight of largest singular value at most one, and whose
    activations (GroupSort2 or FullSort) are 1-Lipschitz and keep the l2 norm,
    so the map from an input to its vector of scores is 1-Lipschitz in the l2
    norm: ``||f(x) - f(x')|| <= ||x - x'||``. It is trained with the
    hinge-regularised Kantorovich-Rubinstein loss::

        L(f) = hinge_m(f) - alpha * KR(f)
        hinge_m(f) = E[max(0, m - y f(x))]                 (y in {-1, +1})
        KR(f)      = E[f(x) | y = +1] - E[f(x) | y = -1]

    where ``KR`` is the dual objective of the Wasserstein-1 distance between
    the classes: it pushes the scores apart as far as a 1-Lipschitz function
    allows, while the hinge term asks every sample to lie at least the margin
    ``m`` from the boundary. With ``K > 2`` classes the network has one score
    per class and the loss is applied one-vs-all (see the user guide).

    Because the network is 1-Lipschitz, the prediction cannot change within a
    **certified radius** of an input, in the l2 norm and in the units of
    ``X``: ``|f(x)|`` for two classes; ``(f_top1(x) - f_top2(x)) / sqrt(2)``
    beyond, since ``f_i - f_j = (e_i - e_j)^T f`` is ``sqrt(2)``-Lipschitz
    when the vector ``f`` is 1-Lipschitz.

    The constraint of every layer: the free weight is divided by its largest
    singular value, estimated by one power iteration per training step
    (``constraint="spectral"``), and then orthonormalised by Björck's
    iteration (``constraint="bjorck"``, the default: all singular values 1,
    so the gradient norm is kept through the layers). At the end of ``fit``
    the constrained weights are computed once more in float64 with the exact
    largest singular value, and divided by it where it still exceeds one: the
    exported network used by every prediction method has layers of spectral
    norm at most 1, so the radii hold for it (up to float64 rounding).

    The margin and the certified radius are in the units of ``X``.
    Standardise the features (e.g. with a
    :class:`~sklearn.preprocessing.StandardScaler`) and read the radius in
    those units; a pipeline's radius is in the units after its scaler. Inside,
    the network ``f`` is trained on ``X / s`` with the margin ``margin / s``,
    ``s`` the power of two nearest to the root mean square of ``X`` (1 for
    standardised data), and exported as ``s * f(x / s)``: the same weights
    with the biases times ``s`` (GroupSort is positively homogeneous), still
    1-Lipschitz in the units of ``X``. So ``X`` and ``margin`` multiplied by
    any factor give the same fit up to that factor, without overflow. Data
    spanning less than ``margin`` (in l2 distance) are refused with a
    ``ValueError``: a 1-Lipschitz score cannot separate them by the margin.
    The network trains in the dtype of ``X`` (float64 by default; float32 is
    kept, and is faster); inference and the radii are computed in float64
    whatever the training dtype.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(64, 64)
        Widths of the hidden layers.
    alpha : float, default=0.02
        Weight of the KR term against the hinge term (``L = hinge - alpha *
        KR``). The paper writes ``KR + lambda * hinge``, so ``alpha = 1 /
        lambda`` (the default is ``lambda = 50``); deel-torchlip's
        ``HKRLoss(alpha=a)``, ``a * hinge - (1 - a) * KR``, is ours with
        ``alpha = (1 - a) / a`` (the default is its ``a = 0.98``). Larger
        values push the scores further apart, at some cost in clean accuracy;
        ``alpha=0`` is the hinge loss alone.
    margin : float, default=1.0
        Margin ``m`` of the hinge term, in the units of ``X``: the distance to
        the boundary the hinge term asks of every training sample (the
        reference implementation's ``min_margin`` is ``2 * margin``).
    constraint : {"bjorck", "spectral"}, default="bjorck"
        ``"spectral"``: spectral normalisation of every weight.
        ``"bjorck"``: spectral normalisation, then Björck orthonormalisation.
    activation : {"groupsort2", "fullsort"}, default="groupsort2"
        ``"groupsort2"`` sorts pairs of units, ``"fullsort"`` sorts the whole
        layer; both are 1-Lipschitz and norm-preserving.
    batch_size : int or None, default=128
        Samples per mini-batch; ``None`` trains on the full batch.
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float, default=1e-4
        Stop when the monitored loss (the validation loss with
        ``early_stopping``, else the training loss) has decreased by at most
        ``tol`` times the absolute value of its first value over the last
        ``n_iter_no_change`` epochs (skdeep's one stopping rule).
    n_iter_no_change : int, default=10
        Window of the stopping rule, in epochs.
    optimizer : {"adam", "sgd", "inna"}, default="adam"
        Optimiser: :class:`torch.optim.Adam`, SGD with momentum 0.9, or
        :class:`~skdeep.utils.INNA`, the inertial Newton algorithm (see the
        user guide's page on optimisers).
    optimizer_params : dict or None, default=None
        Other options of the optimiser, e.g. ``{"alpha": 0.5, "beta": 0.1}``
        for INNA.
    learning_rate : float or None, default=None
        Step size; ``None`` is 5e-3 for Adam, 1e-2 for SGD and 0.1 for INNA.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the samples, stop when
        their HKR loss stalls and restore the best weights.
    validation_fraction : float, default=0.1
        Fraction held out with ``early_stopping``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the hinge term, multiplied with
        ``sample_weight`` (the KR term compares weighted class means, which
        class weights do not change).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available; ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the validation split and the mini-batches.
    verbose : int, default=0
        Print the loss after every epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.
    coefs_ : list of ndarray
        Exported weights, ``coefs_[i]`` of shape ``(n_in, n_out)`` as in
        :class:`~sklearn.neural_network.MLPClassifier`; each has largest
        singular value at most 1.
    intercepts_ : list of ndarray
        Exported biases.
    net_ : torch.nn.Module
        The exported float64 network (scores of shape ``(n, 1)`` for two
        classes, ``(n, n_classes)`` beyond).
    temperature_ : float
        Temperature of ``predict_proba``.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : ndarray of shape (`n_iter_`,)
        Training loss of every epoch.
    loss_terms_ : dict of ndarray
        Per-epoch curves of ``"loss.hinge"`` and ``"loss.kr"`` (and
        ``"validation"``).
    validation_loss_curve_ : ndarray of shape (`n_iter_`,)
        Validation loss of every epoch (only with ``early_stopping``).
    best_iteration_ : int
        Epoch whose weights were restored (only with ``early_stopping``).

    See Also
    --------
    skdeep.metrics.certified_accuracy : Accuracy of the predictions certified
        at a radius.
    sklearn.neural_network.MLPClassifier : An unconstrained dense network.

    Notes
    -----
    ``predict_proba`` returns ``softmax(T f(x))`` (``sigmoid(T f(x))`` for two
    classes) with one temperature ``T`` fitted by minimising the weighted
    log-loss on the validation part with ``early_stopping``, else on the
    training samples (then the probabilities are optimistic). The scores of a
    1-Lipschitz network are distances, not log-odds: ``T`` only rescales them;
    ``decision_function`` and ``certified_radius`` do not use it.

    The cost of a training step is that of a dense network plus, per layer,
    one power iteration and a few Björck iterations on the Gram matrix of the
    smaller side of the weight (``min(n_in, n_out)^2 max(n_in, n_out)`` per
    iteration); prediction costs that of a dense network.

    References
    ----------
    .. [1] M. Serrurier, F. Mamalet, A. González-Sanz, T. Boissin, J.-M.
       Loubes and E. del Barrio, "Achieving robustness in classification
       using optimal transport with hinge regularization", CVPR 2021. The
       hinge-KR loss (Sec. 3), the certificate of a 1-Lipschitz classifier
       (Sec. 4) and the multiclass one-vs-all extension.
    .. [2] C. Anil, J. Lucas and R. Grosse, "Sorting out Lipschitz function
       approximation", ICML 2019. GroupSort activations and Björck
       orthonormalisation.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep.neural import LipschitzClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = LipschitzClassifier(max_iter=30, device="cpu", random_state=0)
    >>> clf = clf.fit(X[:400], y[:400])
    >>> bool(clf.score(X[400:], y[400:]) > 0.9)
    True
    >>> radius = clf.certified_radius(X[400:])  # l2 radius, standardised units
    >>> bool((radius >= 0).all())
    True
    """

    # Adam's step of the defaults, tuned with them on breast cancer and digits
    _default_learning_rates = {**DEFAULT_LEARNING_RATES, "adam": 5e-3}

    _parameter_constraints = {
        **BaseTorchEstimator._parameter_constraints,
        **OPTIMIZER_CONSTRAINTS,
        "hidden_layer_sizes": [
            "array-like", Interval(Integral, 1, None, closed="left"),
        ],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "margin": [Interval(Real, 0, None, closed="neither")],
        "constraint": [StrOptions({"bjorck", "spectral"})],
        "activation": [StrOptions({"groupsort2", "fullsort"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(64, 64),
        alpha=0.02,
        margin=1.0,
        constraint="bjorck",
        activation="groupsort2",
        batch_size=128,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        optimizer="adam",
        optimizer_params=None,
        learning_rate=None,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.margin = margin
        self.constraint = constraint
        self.activation = activation
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- fit -------------------------------------------------------------------
    def _check_fit_inputs(self, X, y, sample_weight):
        """Validated ``X``, encoded ``y`` and per-sample weights; sets ``classes_``."""
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, reset=True)
        classes, y_enc = encode_classes(y, type(self).__name__)
        # a 1-Lipschitz score differs between two samples by at most their
        # distance: classes closer than the margin cannot be told apart by it
        top = max_abs_scale(X)
        Xu = X / top  # no overflow in the squares
        diameter = 2 * top * float(
            np.sqrt(((Xu - Xu.mean(axis=0)) ** 2).sum(axis=1)).max())
        if diameter < self.margin:
            raise ValueError(
                f"X spans at most {diameter:.3g} in l2 distance, below "
                f"margin={self.margin!r}: a 1-Lipschitz network cannot separate "
                "classes by more than their distance. Scale X (e.g. with a "
                "StandardScaler; the certified radius is in the units of X) or "
                "lower margin."
            )
        self.classes_ = classes
        weights = combined_sample_weight(
            y_enc, classes, class_weight=self.class_weight, sample_weight=sample_weight
        )
        return X, y_enc, weights

    def _targets(self, torch, y_enc, dtype):
        """``+-1`` labels (two classes) or one-hot rows, as ``dtype``."""
        if self.classes_.size == 2:
            return torch.as_tensor(2.0 * y_enc - 1.0, dtype=dtype)
        one_hot = np.zeros((y_enc.size, self.classes_.size))
        one_hot[np.arange(y_enc.size), y_enc] = 1.0
        return torch.as_tensor(one_hot, dtype=dtype)

    def _loss(self, net, margin, batch):
        """The HKR loss of a batch ``(X, targets, weights)`` and its terms, with
        the margin in the units of the batch."""
        from ._lipschitz_losses import hkr_binary, hkr_multiclass

        x, target, weight = batch
        scores = net(x)
        if self.classes_.size == 2:
            return hkr_binary(scores[:, 0], target, weight, self.alpha, margin)
        return hkr_multiclass(scores, target, weight, self.alpha, margin)

    @staticmethod
    def _unit(X):
        """The power of two nearest to the root mean square of ``X`` (1 for
        standardised data, whose root mean square is 1 up to rounding)."""
        top = max_abs_scale(X)
        rms = top * np.sqrt(np.mean((X / top) ** 2))
        return float(np.ldexp(1.0, int(np.round(np.log2(rms)))))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network and export its exactly constrained copy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (not rescaled: standardise them beforehand).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the samples in both terms of the loss.

        Returns
        -------
        self : LipschitzClassifier
            The fitted estimator.
        """
        from ._lipschitz_modules import ExportedNet, build_lipschitz_net

        X, y_enc, sample_weight = self._check_fit_inputs(X, y, sample_weight)
        hidden = check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        check_step_size(self._learning_rate(), "learning_rate", X.dtype)
        torch, device, rng = self._torch_setup()
        train_idx, val_idx = np.arange(X.shape[0]), None
        if self.early_stopping:
            train_idx, val_idx = validation_split(
                X.shape[0], self.validation_fraction, rng, stratify=y_enc
            )
        if not sample_weight[train_idx].sum() > 0:
            raise ValueError(
                "sample_weight is 0 on every training sample left by the "
                "early_stopping split; lower validation_fraction or give weights."
            )
        n_outputs = 1 if self.classes_.size == 2 else self.classes_.size
        dtype = torch.float64 if X.dtype == np.float64 else torch.float32
        net = self._build_module(
            lambda: build_lipschitz_net(
                X.shape[1], hidden, n_outputs, self.activation, self.constraint
            ).to(dtype),
            rng,
            device,
        )
        # trained in the unit of the data (see the Notes), exported in X's
        unit = self._unit(X)
        margin = self.margin / unit
        inputs = torch.as_tensor(np.asarray(X, dtype=np.float64) / unit, dtype=dtype)
        targets = self._targets(torch, y_enc, dtype)
        weights = torch.as_tensor(sample_weight / sample_weight[train_idx].mean(),
                                  dtype=dtype)
        index = torch.as_tensor(train_idx)
        data = (inputs[index], targets[index], weights[index])
        validation_loss = None
        if val_idx is not None:
            val = torch.as_tensor(val_idx)
            held_out = tuple(t[val].to(device) for t in (inputs, targets, weights))
            validation_loss = lambda: self._loss(net, margin, held_out)[0]  # noqa: E731
        optimizer = self._make_optimizer(net.parameters())
        try:
            self._train(
                [TrainingStep(optimizer, partial(self._loss, net, margin))],
                data,
                [net],
                rng,
                device,
                validation_loss=validation_loss,
            )
        except FloatingPointError as exc:
            raise ValueError(
                f"the training diverged with learning_rate={self._learning_rate()!r} "
                f"({exc}); lower learning_rate."
            ) from exc
        weights64, biases64 = net.export(torch.float64)
        biases64 = [b * unit for b in biases64]  # s * f(x / s)
        self.net_ = ExportedNet(weights64, biases64, self.activation).to(device)
        self.coefs_ = [W.cpu().numpy().T.copy() for W in weights64]
        self.intercepts_ = [b.cpu().numpy().copy() for b in biases64]
        calibration = train_idx if val_idx is None else val_idx
        self.temperature_ = self._fit_temperature(
            self._scores(X[calibration]), y_enc[calibration],
            sample_weight[calibration],
        )
        return self

    def _fit_temperature(self, scores, y_enc, weights):
        """The ``T`` minimising the weighted log-loss of ``softmax(T f)``."""
        if not weights.sum() > 0:
            weights = np.ones_like(weights)
        if scores.shape[1] == 1:
            margin = np.where(y_enc == 1, 1.0, -1.0) * scores[:, 0]

            def nll(log_t):
                return np.average(np.logaddexp(0.0, -np.exp(log_t) * margin),
                                  weights=weights)
        else:
            rows = np.arange(y_enc.size)

            def nll(log_t):
                log_p = log_softmax(np.exp(log_t) * scores, axis=1)
                return -np.average(log_p[rows, y_enc], weights=weights)

        result = minimize_scalar(nll, bounds=_LOG_TEMPERATURE_BOUNDS, method="bounded")
        return float(np.exp(result.x))

    # -- inference -------------------------------------------------------------
    def _scores(self, X):
        """Scores of the exported network on a validated float array."""
        torch = import_torch()
        return self._batched(self.net_, [self.net_], [np.asarray(X, np.float64)],
                             dtype=torch.float64)

    def _checked_scores(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return self._scores(X)

    def decision_function(self, X):
        """Compute the scores of the 1-Lipschitz network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``f(x)`` for two classes (positive for ``classes_[1]``), else one
            score per class. They are 1-Lipschitz in ``x`` (l2 norm).
        """
        scores = self._checked_scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predicted classes: the sign of the score, or the largest score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels among ``classes_``.
        """
        scores = self._checked_scores(X)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities ``softmax(temperature_ * scores)``.

        See the Notes of the class: the temperature is fitted after training;
        the scores themselves are distances, not log-odds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        scores = self._checked_scores(X) * self.temperature_
        if scores.shape[1] == 1:
            positive = expit(scores[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    def certified_radius(self, X):
        """l2 radius around each input within which the prediction cannot change.

        ``|f(x)|`` for two classes; ``(f_top1(x) - f_top2(x)) / sqrt(2)``
        beyond (the difference of two scores is ``sqrt(2)``-Lipschitz because
        the vector of scores is 1-Lipschitz). In the units of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        radius : ndarray of shape (n_samples,)
            Non-negative radii: every ``x'`` with ``||x' - x|| < radius`` gets
            the prediction of ``x``.
        """
        scores = self._checked_scores(X)
        if scores.shape[1] == 1:
            return np.abs(scores[:, 0])
        top_two = np.partition(scores, -2, axis=1)[:, -2:]
        return (top_two[:, 1] - top_two[:, 0]) / np.sqrt(2.0)
