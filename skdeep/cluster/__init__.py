"""Clustering with a label hierarchy: novel class discovery."""

from ._hierarchical_gmm import HierarchicalGMM
from ._novel_class_kmeans import NovelClassKMeans

__all__ = ["HierarchicalGMM", "NovelClassKMeans"]
