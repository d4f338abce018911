"""Shared utilities: estimator discovery, validation, matching and the torch backend."""

from ._validation import UNLABELED, unlabeled_mask
from .discovery import all_estimators

__all__ = ["UNLABELED", "all_estimators", "unlabeled_mask"]
