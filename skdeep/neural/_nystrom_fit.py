"""The steps of ``NystromNetClassifier.fit``.

A mixin of the estimator: input checks, the input scaling, the draw of the
landmarks, the selection of the bandwidth and the weight decay, the network's
construction and its training through skdeep's one training loop.
"""

from functools import partial

import numpy as np

from ..utils._optimizers import DEFAULT_LEARNING_RATES
from ..utils._torch import import_torch
from ..utils._training import TrainingStep
from ..utils._validation import (
    FLOAT_DTYPES,
    combined_sample_weight,
    encode_classes,
    max_abs_scale,
    validate_data,
)
from ._nystrom_select import (
    ALPHA_GRID,
    FINAL_GTOL,
    GAMMA_FACTORS,
    fit_softmax,
    select_alpha,
    standard_scaling,
)
from ._nystrom_setup import (
    KERNELS_WITH_GAMMA,
    check_hidden_sizes,
    check_input_shape,
    check_kernels,
    check_sizes,
    draw_landmarks,
    landmark_count,
    scale_inputs,
)

# Added under the square root of the l2 normalisation of the features.
NORMALIZE_EPS = 1e-12
# alpha="auto" with a backbone (no selection: the features move with training).
BACKBONE_ALPHA = 1e-4


class NystromFitMixin:
    """The fit steps of :class:`~skdeep.neural.NystromNetClassifier`."""

    def _check_fit_inputs(self, X, y, sample_weight, warm):
        """Validated ``X``, encoded ``y`` and the per-sample loss weights.

        Sets ``classes_`` (and the feature counts through ``validate_data``).
        """
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, reset=True)
        classes, y_enc = encode_classes(y, type(self).__name__)
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

    def _normalized(self):
        """Whether the features ``z`` are l2-normalised."""
        if self.normalize == "auto":
            return self.backbone is not None
        return bool(self.normalize)

    def _architecture(self, X):
        """The checked architecture parameters, as :func:`build_nystrom_net`
        keywords (without the training-run ones)."""
        auto = isinstance(self.gamma, str)
        kernels, gammas = check_kernels(self.kernel, None if auto else self.gamma)
        factors = [1.0] * len(kernels)
        if auto:  # one block per multiple of the median heuristic
            kernels, factors = zip(*[
                (k, f) for k in kernels
                for f in (GAMMA_FACTORS if k in KERNELS_WITH_GAMMA else (1.0,))
            ])
            kernels, factors = list(kernels), list(factors)
            gammas = [None] * len(kernels)
        n_features = X.shape[1]
        if "chi2" in kernels and self.backbone is None and self.scaling == "standard":
            raise ValueError(
                "kernel='chi2' needs non-negative features; without a backbone "
                "use scaling='max_abs' on non-negative X."
            )
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
            gamma_factors=factors,
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

    def _fit_scaling(self, X, sample_weight):
        """Set ``input_mean_`` and ``input_scale_`` from the training rows."""
        n_features = X.shape[1]
        if self.backbone is not None and not isinstance(self.backbone, str):
            # a module given as backbone was built for the units of X
            mean, scale = np.zeros(n_features), np.ones(n_features)
        elif self.scaling == "standard":
            rows = sample_weight > 0
            mean, scale = standard_scaling(X[rows], sample_weight[rows])
        else:
            mean = np.zeros(n_features)
            scale = np.full(n_features, max_abs_scale(X[sample_weight > 0]))
        self.input_mean_, self.input_scale_ = mean, scale

    def _scaled(self, X, dtype):
        """``X`` standardised (or scaled) and brought into range, as ``dtype``."""
        return scale_inputs(X, self.input_mean_, self.input_scale_,
                            self.backbone is None and self._normalized(), dtype)

    def _select(self, Xs, y_enc, sample_weight, train_idx, landmarks, architecture,
                rng):
        """The bandwidths and the weight decay of the network.

        ``landmarks`` are positions among the training rows ``train_idx``. A
        ``None`` bandwidth is the median heuristic on the landmark features,
        times the block's factor (``gamma="auto"``). Without a backbone,
        ``alpha="auto"`` is chosen on inner folds of the training rows
        (:func:`select_alpha`); with one it is :data:`BACKBONE_ALPHA`.
        """
        from ._nystrom_modules import initial_gammas, landmark_features

        torch = import_torch()
        kernels = architecture["kernels"]
        auto_alpha = isinstance(self.alpha, str)
        alpha = BACKBONE_ALPHA if auto_alpha else float(self.alpha)
        if self.backbone is not None:
            return architecture["gammas"], alpha, architecture["gamma_factors"]
        normalize = self._normalized()

        def embed(rows):
            return landmark_features(None, torch.as_tensor(rows), None,
                                     NORMALIZE_EPS, normalize).numpy()

        gammas = [
            None if g is None else g * f
            for g, f in zip(
                initial_gammas(kernels, architecture["gammas"],
                               torch.as_tensor(embed(Xs[train_idx[landmarks]]))),
                architecture["gamma_factors"],
            )
        ]
        if auto_alpha:
            features = partial(self._fixed_features, kernels, gammas, embed)
            alpha = select_alpha(
                features, Xs[train_idx], y_enc[train_idx], sample_weight[train_idx],
                landmarks, self.classes_.size, ALPHA_GRID, rng,
            )
            if alpha is None:  # too few samples to select: the middle value
                alpha = float(np.median(ALPHA_GRID))
        return gammas, alpha, [1.0] * len(kernels)

    @staticmethod
    def _fixed_features(kernels, gammas, embed, rows, landmark_rows):
        from ._nystrom_modules import nystrom_features

        return nystrom_features(kernels, gammas, embed(rows), embed(landmark_rows))

    def _new_network(self, X, y_enc, sample_weight, train_idx, architecture, rng,
                     device, dtype):
        """Draw the landmarks, select the bandwidth and the weight decay, build
        the network (its softmax layer at the optimum of the exact map when
        there is no backbone)."""
        from ._nystrom_modules import build_nystrom_net

        drawn = draw_landmarks(X[train_idx], y_enc[train_idx],
                               sample_weight[train_idx], self.n_landmarks, rng)
        index = train_idx[drawn]
        Xs = self._scaled(X, np.float64)
        gammas, self.alpha_, factors = self._select(
            Xs, y_enc, sample_weight, train_idx, drawn, architecture, rng
        )
        inputs = self._scaled(X[index], X.dtype)
        net = self._build_module(
            lambda: build_nystrom_net(
                self.backbone,
                inputs,
                **{**architecture, "gammas": gammas, "gamma_factors": factors},
                learn_landmarks=self.landmarks == "learned",
                adaptive=self.metric == "adaptive",
                n_classes=self.classes_.size,
                train_backbone=self.train_backbone,
                eps=NORMALIZE_EPS,
                normalize=self._normalized(),
                device=device,
                dtype=dtype,
            ),
            rng,
            device,
        )
        if self.backbone is None:
            self._start_softmax(net, Xs, y_enc, sample_weight, train_idx, index)
        self.landmark_indices_ = index
        self.n_landmarks_ = index.size
        self.gamma_ = list(net.gammas)
        return net

    def _start_softmax(self, net, Xs, y_enc, sample_weight, train_idx, index):
        """Set the softmax layer to the optimum on the exact-map features."""
        torch = import_torch()
        with torch.no_grad():
            H = net.features(torch.as_tensor(Xs[train_idx], dtype=net.metric.dtype))
        w = sample_weight[train_idx]
        A, b = fit_softmax(H.cpu().numpy().astype(np.float64), y_enc[train_idx],
                           w / w.mean(), self.classes_.size, self.alpha_)
        layer = net.classifier
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(A.T, dtype=layer.weight.dtype))
            layer.bias.copy_(torch.as_tensor(b, dtype=layer.bias.dtype))

    def _full_batch_solver(self):
        """Whether the network trains with full-batch L-BFGS: with
        ``optimizer="auto"``, without a backbone and with sampled landmarks
        (the network is then a kernel model with a learned metric, on a
        training set that fits in one batch)."""
        return (self.optimizer == "auto" and self.backbone is None
                and self.landmarks == "sample")

    def _learning_rate(self):
        """``learning_rate``, or its default: the optimiser's own (1e-3 for
        Adam) without a backbone and with sampled landmarks, where the
        trained weights start at the optimum of the exact map (Adam's first
        steps move every weight by about the step size whatever its gradient,
        away from that optimum at the larger step); else the estimator's."""
        if (self.learning_rate is None and self.backbone is None
                and self.landmarks == "sample"):
            return DEFAULT_LEARNING_RATES[self._optimizer_name()]
        return super()._learning_rate()

    def _optimizer_name(self):
        """The mini-batch optimiser: Adam for ``optimizer="auto"``."""
        return "adam" if self.optimizer == "auto" else self.optimizer

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
            nystrom_lbfgs,
            nystrom_objective,
            nystrom_param_groups,
            weighted_cross_entropy,
        )

        torch = import_torch()
        net.set_train_backbone(self.train_backbone)
        full_batch = self._full_batch_solver()
        if full_batch:
            # minimises n times the objective; optimal as the start's solve
            # (FINAL_GTOL on the objective): an exact start ends each epoch
            # at its first evaluation
            scale = float(len(train_idx))
            step = TrainingStep(nystrom_lbfgs(net, FINAL_GTOL * scale), None,
                                scale=scale)
        else:
            step = TrainingStep(self._make_optimizer(
                nystrom_param_groups(net, self.learning_rate_metric)), None)
        # training tensors; weights normalised to mean 1 on the training part
        weights = sample_weight[train_idx]
        inputs, forward = torch.as_tensor(X[train_idx], dtype=dtype), None
        if full_batch and not net.adaptive:
            # fixed features: computed once, the softmax layer trains on them
            with torch.no_grad():
                inputs = net.to(device).features(inputs.to(device))
            forward = net.classifier
        data = (
            inputs,
            torch.as_tensor(y_enc[train_idx], dtype=torch.long),
            torch.as_tensor(weights / weights.mean(), dtype=dtype),
        )
        step.loss = partial(nystrom_objective, net, decay_parameters(net),
                            self.alpha_, self.metric_penalty, forward=forward)
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
                [step], data, [net], rng, device, validation_loss=validation_loss,
                batch_sampler=(lambda n, generator: [torch.arange(n)])
                if full_batch else None,
                rows_per_batch=len(train_idx) if full_batch else None,
            )
        except FloatingPointError as exc:
            raise ValueError(
                f"the training diverged with learning_rate={self._learning_rate()!r} "
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
            learned = net.landmarks.detach().cpu().numpy()
            self.landmarks_ = (
                learned * self.input_scale_ + self.input_mean_
            ).astype(np_dtype, copy=False)
        self.metric_ = net.metric.detach().cpu().numpy().astype(np_dtype, copy=True)
        self._n_features_out = len(net.kernels) * net.landmarks.shape[0]
