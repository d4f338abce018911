"""Metrics the papers report: matched cluster accuracy, recovery scores, errors."""

from ._cluster import cluster_accuracy

__all__ = [
    "cluster_accuracy",
]
