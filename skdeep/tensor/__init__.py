"""Tensor and matrix completion by deep factorizations."""

__all__ = []
