"""Temporal point processes driven by external events."""

from ._dripp import DriPP
from ._events import events_to_realisations

__all__ = ["DriPP", "events_to_realisations"]
