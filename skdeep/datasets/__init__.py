"""Simulators with ground truth, one per method."""

__all__ = []
