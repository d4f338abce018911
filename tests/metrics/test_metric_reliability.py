"""Scale invariance and bad labels of the integration and dictionary scores."""

import numpy as np
import pytest

from skdeep.metrics import (
    dictionary_recovery_score,
    modality_mixing_score,
    semi_supervised_scores,
)


def test_modality_mixing_is_scale_invariant_and_identical_latents_mix():
    rng = np.random.RandomState(0)
    Z = rng.standard_normal((200, 2))
    modality = np.repeat([0, 1], 100)
    ref = modality_mixing_score(Z, modality)
    assert ref > 0.8
    for scale in (1e300, 1e-300):
        assert modality_mixing_score(Z * scale, modality) == pytest.approx(ref)
    assert modality_mixing_score(np.zeros((200, 2)), modality) > 0.99
    assert modality_mixing_score(np.full((200, 3), 1e300), modality) > 0.99


def test_dictionary_recovery_at_any_scale():
    rng = np.random.RandomState(0)
    D = rng.standard_normal((3, 2, 8))
    for scale in (1e-300, 1e300):
        assert dictionary_recovery_score(D * scale, D * scale) == pytest.approx(1.0)
        assert dictionary_recovery_score(D * scale, D) == pytest.approx(1.0)


def test_semi_supervised_scores_rejects_nan_labels():
    with pytest.raises(ValueError, match="y holds NaN"):
        semi_supervised_scores([0, 1, 1], [0, 1, 1], [0, np.nan, -1])
