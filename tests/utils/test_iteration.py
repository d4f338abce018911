"""The one stopping rule of skdeep's iterative estimators."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from skdeep.utils._iteration import Curve, IterationMonitor, has_converged


def _reference(values, tol, scale, window):
    # Written out: the decrease of the best value over the last `window`
    # iterations, against tol times the scale (|first value| by default).
    if len(values) <= window:
        return False
    scale = abs(values[0]) if scale is None else scale
    before = min(values[: len(values) - window])
    recent = min(values[len(values) - window :])
    return before - recent <= tol * scale


@pytest.mark.parametrize("window", [1, 3, 10])
@pytest.mark.parametrize("scale", [None, 1.0, 50.0])
def test_rule_matches_its_written_definition(window, scale):
    rng = np.random.RandomState(window)
    # a noisy decreasing curve with plateaus and bumps
    values = list(100 * np.exp(-np.arange(60) / 8) + rng.uniform(0, 0.5, 60))
    for tol in (1e-4, 1e-3, 1e-2):
        curve = Curve()  # the running-minimum path, grown value by value
        for n in range(1, len(values) + 1):
            curve.append(values[n - 1])
            expected = _reference(values[:n], tol, scale, window)
            assert has_converged(values[:n], tol, scale, window) == expected, (tol, n)
            assert has_converged(curve, tol, scale, window) == expected, (tol, n)


def test_tol_is_relative_to_the_first_value_so_units_do_not_matter():
    curve = np.array([10.0, 6.0, 5.0, 4.96, 4.95])
    stops = [has_converged(list(curve[:n]), 5e-3) for n in range(1, 6)]
    for factor in (1e-150, 1e-3, 1e3, 1e150):
        assert [has_converged(list(factor * curve[:n]), 5e-3)
                for n in range(1, 6)] == stops
    assert stops == [False, False, False, True, True]  # 0.04 <= 5e-3 * 10


def test_window_needs_a_sustained_stall():
    # steady small decreases: each step is below tol*scale, the window is not
    values = [1.0] + [1.0 - 0.0004 * k for k in range(1, 30)]
    assert has_converged(values, tol=1e-3, n_iter_no_change=1)
    assert not has_converged(values, tol=1e-3, n_iter_no_change=5)


def test_an_increase_counts_as_no_decrease():
    assert has_converged([3.0, 2.0, 2.5], tol=0.0)
    assert not has_converged([3.0, 2.0, 1.5], tol=0.0)
    assert not has_converged([3.0, 2.0, 2.5], tol=None)


def test_monitor_watches_the_monitored_series_and_warns_at_max_iter():
    monitor = IterationMonitor(KMeans(max_iter=4, tol=1e-2, verbose=0),
                               n_iter_no_change=2)
    assert monitor.n_iter_no_change == 2
    # the training loss keeps falling; the validation loss stalls
    for loss, validation in [(4, 2.0), (3, 1.5), (2, 1.499), (1, 1.498)]:
        monitor.record(loss, monitored=validation)
    assert monitor.converged()
    np.testing.assert_array_equal(monitor.loss_curve(), [4, 3, 2, 1])
    with pytest.warns(ConvergenceWarning, match="max_iter=4"):
        monitor.finish(converged=False)
