"""Deep estimators on the torch backend (nothing here imports torch at import time)."""

__all__ = []
