"""Shared utilities: estimator discovery, validation, matching and the torch backend."""

from .discovery import all_estimators

__all__ = ["all_estimators"]
