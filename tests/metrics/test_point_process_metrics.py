"""Tests of intensity_error, the sup-norm error of driven intensities."""

import numpy as np
import pytest

from skdeep.metrics import intensity_error
from skdeep.utils._truncnorm import truncnorm_pdf


def test_intensity_error_metric():
    truth = dict(baseline=0.8, alpha=[0.8, 0.5], kernel_mean=[0.4, 0.4],
                 kernel_std=[0.2, 0.05], lower=0.03, upper=0.8)
    assert intensity_error(truth, truth) == 0.0
    shifted = dict(truth, baseline=0.7)
    peaks = 0.8 + np.array([0.8, 0.5]) * truncnorm_pdf(
        0.4, np.array([0.4, 0.4]), np.array([0.2, 0.05]), 0.03, 0.8
    )
    np.testing.assert_allclose(
        intensity_error(truth, shifted, multioutput="raw_values"), 0.1 / peaks
    )
    with pytest.raises(ValueError, match="multioutput"):
        intensity_error(truth, truth, multioutput="mean")
    with pytest.raises(TypeError, match="params_pred"):
        intensity_error(truth, [0.8])
