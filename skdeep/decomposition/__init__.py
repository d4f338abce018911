"""Signal decompositions: convolutional dictionary learning."""

from ._cdl import CDLTransformer

__all__ = ["CDLTransformer"]
