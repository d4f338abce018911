"""Simulators with ground truth, one per method."""

from ._cdl_signals import make_cdl_signals
from ._driven_events import make_driven_events
from ._hierarchical_blobs import make_hierarchical_blobs
from ._low_rank_tensor import make_low_rank_tensor
from ._multiomics import make_multiomics

__all__ = [
    "make_cdl_signals",
    "make_driven_events",
    "make_hierarchical_blobs",
    "make_low_rank_tensor",
    "make_multiomics",
]
