"""The base of skdeep's torch estimators.

:class:`BaseTorchEstimator` holds what every deep estimator shares: the training
parameters and their constraints, seeded module construction, training through
the one loop of :mod:`skdeep.utils._training`, batched eval-mode inference, and
pickling with the weights on the CPU. torch is imported inside the methods.
"""

import copy
import sys
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._iteration import ITERATION_CONSTRAINTS
from ._optimizers import DEFAULT_LEARNING_RATES, OPTIMIZERS, make_optimizer
from ._torch import import_torch, resolve_device, to_numpy, torch_generator
from ._training import train

# The fewest rows per forward pass at inference: a smaller batch size (the
# estimator's batch_size is a training setting) is raised to it, a larger one is
# kept.
_INFERENCE_BATCH = 4096
# Below this many input entries per forward pass (rows x features), torch's
# intra-op threads cost more than they save: small batches (BatchNorm above all)
# run hundreds of times slower with busy-waiting threads on a loaded machine.
_THREADED_WORK = 2**22


@contextmanager
def small_work_threads(torch, device, work):
    """Run small CPU work on one intra-op thread; restore the setting after."""
    previous = torch.get_num_threads()
    if device.type != "cpu" or work >= _THREADED_WORK or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# The constraints of the estimators that let the user pick the optimiser (merged
# after the base's: ``learning_rate=None`` then means the optimiser's default).
OPTIMIZER_CONSTRAINTS = {
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "optimizer_params": [dict, None],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
}


def _is_torch_object(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, (torch.nn.Module, torch.Tensor))


class BaseTorchEstimator(BaseEstimator):
    """Shared parameters and machinery of the torch estimators.

    Subclasses list the shared parameters in their own ``__init__`` (scikit-learn
    reads the signature) and merge :attr:`_parameter_constraints`. Fitted torch
    modules and tensors are ordinary attributes ending in ``_``; they stay on the
    training device after ``fit``, are pickled on the CPU, and are moved to
    ``device`` when the estimator predicts.
    """

    _parameter_constraints = {
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        **ITERATION_CONSTRAINTS,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "device": [str, object],
        "random_state": ["random_state"],
    }

    # -- set-up --------------------------------------------------------------
    def _torch_setup(self):
        """``(torch, device, rng)`` for a fit: torch, the resolved device and a
        ``RandomState`` from ``random_state`` that seeds every draw of the fit."""
        torch = import_torch()
        return torch, resolve_device(self.device), check_random_state(self.random_state)

    @staticmethod
    def _seed(rng):
        return int(rng.randint(np.iinfo(np.int32).max))

    def _build_module(self, factory, rng, device):
        """Call ``factory()`` with torch's global generator seeded from ``rng``.

        The global state is restored afterwards, so building a model neither
        depends on nor disturbs the user's torch seed.
        """
        torch = import_torch()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed(rng))
            module = factory()
        return module.to(device)

    def _as_tensor(self, X, device, dtype=None):
        torch = import_torch()
        dtype = torch.float32 if dtype is None else dtype
        return torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=device)

    # -- optimisers ----------------------------------------------------------
    # The step size ``learning_rate=None`` stands for, per optimiser; a subclass
    # overrides the entries its training was tuned with.
    _default_learning_rates = DEFAULT_LEARNING_RATES

    def _optimizer_name(self):
        """The optimiser a fit uses: ``optimizer`` (a subclass resolves its own
        choices, such as ``"auto"``, here)."""
        return self.optimizer

    def _learning_rate(self):
        """``learning_rate``, or the default of the optimiser when it is None."""
        if self.learning_rate is not None:
            return self.learning_rate
        return self._default_learning_rates[self._optimizer_name()]

    def _make_optimizer(self, params, defaults=None):
        """The optimiser of ``params`` (tensors or param groups).

        ``defaults`` maps an optimiser name to the options the estimator's
        training uses with it (e.g. Adam's betas); ``optimizer_params``
        overrides them. Built by the one factory,
        :func:`skdeep.utils._optimizers.make_optimizer`.
        """
        name = self._optimizer_name()
        options = {**(defaults or {}).get(name, {}), **(self.optimizer_params or {})}
        return make_optimizer(name, params, self._learning_rate(), options)

    # -- training ------------------------------------------------------------
    def _train(self, steps, data, modules, rng, device, *, validation_loss=None,
               objective=None, callback=None, convergence_hint=None,
               batch_sampler=None, rows_per_batch=None):
        """Run the one training loop and store its curves on the estimator.

        Sets ``n_iter_``, ``loss_curve_`` (the objective, one value per epoch),
        ``loss_terms_`` (per-term curves), and with a validation loss
        ``validation_loss_curve_`` and ``best_iteration_`` (the epoch whose
        weights were restored). Dropout and other draws of the training use a
        torch generator seeded from ``rng``. ``batch_sampler`` replaces the
        shuffled ``batch_size`` batches (``rows_per_batch`` then says how many
        rows its batches hold, to size the thread pool).
        """
        torch = import_torch()
        fork_devices = [device] if device.type == "cuda" else []
        if rows_per_batch is None:
            rows_per_batch = self.batch_size or len(data[0])
        work = rows_per_batch * int(data[0][0].numel())
        with torch.random.fork_rng(devices=fork_devices), small_work_threads(
            torch, device, work
        ):
            torch.manual_seed(self._seed(rng))
            result = train(
                steps,
                data,
                estimator=self,
                modules=modules,
                max_iter=self.max_iter,
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change,
                batch_size=self.batch_size,
                generator=torch_generator(rng),
                device=device,
                validation_loss=validation_loss,
                objective=objective,
                callback=callback,
                convergence_hint=convergence_hint
                or "increase max_iter or adjust learning_rate",
                batch_sampler=batch_sampler,
            )
        self.n_iter_ = result.n_iter
        self.loss_curve_ = result.loss_curve
        self.loss_terms_ = result.term_curves
        if result.validation_curve is not None:
            self.validation_loss_curve_ = result.validation_curve
            self.best_iteration_ = result.best_iteration
        return result

    # -- inference -----------------------------------------------------------
    def _inference_device(self, modules):
        """Move ``modules`` to the estimator's device and return the device."""
        device = resolve_device(self.device)
        for module in modules:
            module.to(device)
        return device

    def _batched(self, forward, modules, arrays, batch_size=None, dtype=None):
        """Evaluate ``forward(*tensors)`` in eval mode by batches; numpy output.

        ``forward`` returns a tensor or a tuple of tensors; each is concatenated
        over the batches and returned as a numpy array (float64 for floats).
        Float inputs are sent as ``dtype`` tensors (float32 when ``None``).
        A batch holds ``max(batch_size or self.batch_size, _INFERENCE_BATCH)``
        rows.
        """
        torch = import_torch()
        device = self._inference_device(modules)
        for module in modules:
            module.eval()
        n_samples = len(arrays[0])
        size = max(batch_size or self.batch_size or 0, _INFERENCE_BATCH)
        outputs = []
        work = min(size, n_samples) * int(np.prod(arrays[0].shape[1:]))
        with torch.no_grad(), small_work_threads(torch, device, work):
            for start in range(0, n_samples, size):
                batch = [
                    self._as_tensor(a[start : start + size], device, dtype)
                    if a.dtype.kind == "f"
                    else torch.as_tensor(a[start : start + size], device=device)
                    for a in arrays
                ]
                out = forward(*batch)
                outputs.append(out if isinstance(out, tuple) else (out,))
        results = []
        for parts in zip(*outputs):
            array = np.concatenate([to_numpy(p) for p in parts])
            if array.dtype.kind == "f":
                array = array.astype(np.float64)
            results.append(array)
        return results[0] if len(results) == 1 else tuple(results)

    # -- pickling ------------------------------------------------------------
    def __getstate__(self):
        state = super().__getstate__()
        for key, value in state.items():
            if _is_torch_object(value) and getattr(value, "device", None) != "cpu":
                state[key] = copy.deepcopy(value).to("cpu")
        return state
