"""Shared utilities: estimator discovery, validation, matching and the torch backend.

``skdeep.utils.INNA``, the inertial Newton optimiser (a
:class:`torch.optim.Optimizer`), is imported on first access, so that importing
this package never imports torch.
"""

from ._validation import UNLABELED, unlabeled_mask
from .discovery import all_estimators

__all__ = ["UNLABELED", "all_estimators", "unlabeled_mask"]

_LAZY = {"INNA": "._inna"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
