"""Tensor and matrix completion by deep factorizations."""

from ..utils._tensor_algebra import reconstruct, resolve_ranks
from ._completer import TensorCompleter

__all__ = ["TensorCompleter", "reconstruct", "resolve_ranks"]
