"""The ``history_`` of a TensorCompleter fit: the quantities the papers plot."""

import numpy as np

from ._model import chain, effective_ranks

KEYS = ("iteration", "loss", "train_error", "validation_error", "effective_rank")


class TrainingHistory:
    """Errors and effective ranks of the model, sampled along the training.

    Parameters
    ----------
    model : {"tucker", "tt", "cp"}
        The factorization.
    tt_ranks : tuple of int or None
        The TT ranks.
    train, validation : ObservedEntries, ObservedEntries or None
        The training and held-out entries (normalised values).
    track_every : int
        Record every ``track_every`` iterations (0: only at the start and the
        end).
    max_iter : int
        The last possible iteration, always recorded.
    """

    def __init__(self, model, tt_ranks, train, validation, track_every, max_iter):
        self.model = model
        self.tt_ranks = tt_ranks
        self.train = train
        self.validation = validation
        self.track_every = track_every
        self.max_iter = max_iter
        self.records = {key: [] for key in KEYS}
        # relative errors; all-zero observed data fall back to absolute ones
        self._train_norm = np.sqrt(train.values @ train.values) or 1.0
        self._val_norm = (
            None if validation is None
            else np.sqrt(validation.values @ validation.values) or 1.0
        )

    def record(self, iteration, view):
        """Record the model ``view`` (``predict(entries)``, ``snapshot()``)."""
        residual = view.predict(self.train) - self.train.values
        loss = float(residual @ residual) / self.train.size
        val_error = np.nan
        if self.validation is not None:
            val_error = (
                np.linalg.norm(view.predict(self.validation) - self.validation.values)
                / self._val_norm
            )
        layers, core = view.snapshot()
        ranks = effective_ranks(
            self.model, [chain(mode) for mode in layers], core, self.tt_ranks
        )
        self.records["iteration"].append(iteration)
        self.records["loss"].append(loss)
        self.records["train_error"].append(
            np.sqrt(loss * self.train.size) / self._train_norm
        )
        self.records["validation_error"].append(val_error)
        self.records["effective_rank"].append(ranks)

    def after_epoch(self, epoch, view):
        """Record at every ``track_every``-th epoch and at ``max_iter``."""
        if epoch == self.max_iter or (
            self.track_every and epoch % self.track_every == 0
        ):
            self.record(epoch, view)

    def end(self, iteration, view):
        """End the history with the returned model, that of ``iteration``.

        Records after it (the epochs early stopping undid) are dropped.
        """
        if self.records["iteration"][-1] == iteration:
            return
        n_keep = sum(it < iteration for it in self.records["iteration"])
        for values in self.records.values():
            del values[n_keep:]
        self.record(iteration, view)

    def as_arrays(self):
        """``history_``: one array per key."""
        return {key: np.asarray(value) for key, value in self.records.items()}
