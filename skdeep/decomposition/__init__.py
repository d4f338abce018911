"""Signal decompositions: convolutional dictionary learning."""

from ._cdl import CDLTransformer, pool_activations
from ._events import activations_to_events

__all__ = ["CDLTransformer", "activations_to_events", "pool_activations"]
