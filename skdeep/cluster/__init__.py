"""Clustering with a label hierarchy: novel class discovery."""

__all__ = []
