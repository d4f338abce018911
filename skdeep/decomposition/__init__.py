"""Signal decompositions: convolutional dictionary learning."""

__all__ = []
