"""Tensor and matrix completion by deep factorizations."""

from ._completer import TensorCompleter
from ._model import reconstruct, resolve_ranks

__all__ = ["TensorCompleter", "reconstruct", "resolve_ranks"]
