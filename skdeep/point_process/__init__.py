"""Temporal point processes driven by external events."""

__all__ = []
