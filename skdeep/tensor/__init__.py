"""Tensor and matrix completion by deep factorizations."""

from ._completer import TensorCompleter

__all__ = ["TensorCompleter"]
