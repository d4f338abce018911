"""Metrics the papers report: matched cluster accuracy, recovery scores, errors."""

from ._cluster import cluster_accuracy
from ._completion import missing_entry_error
from ._dictionary import dictionary_recovery_score
from ._effective_rank import effective_rank
from ._integration import (
    cross_modal_transfer_accuracy,
    modality_mixing_score,
    modality_prediction_score,
    semi_supervised_scores,
)
from ._labels import direct_label_accuracy, hierarchical_naming_scores
from ._point_process import intensity_error
from ._robustness import certified_accuracy

__all__ = [
    "certified_accuracy",
    "cluster_accuracy",
    "cross_modal_transfer_accuracy",
    "dictionary_recovery_score",
    "direct_label_accuracy",
    "effective_rank",
    "hierarchical_naming_scores",
    "intensity_error",
    "missing_entry_error",
    "modality_mixing_score",
    "modality_prediction_score",
    "semi_supervised_scores",
]
