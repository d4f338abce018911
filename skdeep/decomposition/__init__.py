"""Signal decompositions: convolutional dictionary learning."""

from ._cdl import CDLTransformer
from ._events import activations_to_events
from ._pooling import pool_activations

__all__ = ["CDLTransformer", "activations_to_events", "pool_activations"]
