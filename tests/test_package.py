"""Package-level behaviour: import cost, versions, the tour."""

import subprocess
import sys

import numpy as np
import pytest

import skdeep
from skdeep._tour import _ENTRIES, format_table, main, run_tour
from skdeep.utils import all_estimators


def test_import_does_not_import_torch():
    # A fresh interpreter: importing every public area must not pull torch in.
    code = (
        "import sys, skdeep, skdeep.cluster, skdeep.point_process, "
        "skdeep.decomposition, skdeep.tensor, skdeep.datasets, skdeep.metrics, "
        "skdeep.neural; from skdeep.utils import all_estimators; all_estimators(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_version_and_show_versions(capsys):
    assert skdeep.__version__.count(".") == 2
    skdeep.show_versions()
    out = capsys.readouterr().out
    for name in ("skdeep", "numpy", "sklearn", "numba", "joblib"):
        assert f"{name}:" in out
    assert skdeep.__version__ in out


def test_all_estimators_type_filter():
    everything = all_estimators()
    transformers = all_estimators(type_filter="transformer")
    assert set(transformers) <= set(everything)
    assert all(hasattr(cls, "transform") for _, cls in transformers)
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators(type_filter="nonsense")


def test_tour_covers_every_estimator():
    toured = {name for name, _, _ in _ENTRIES}
    assert toured == {name for name, _ in all_estimators()}


def test_tour_quick_runs_and_prints_a_table(capsys):
    results = run_tour(quick=True, stream=lambda line: None)
    assert len(results) == len(_ENTRIES)
    assert [row.estimator for row in results] == [name for name, _, _ in _ENTRIES]
    for row in results:
        assert np.isfinite(row.score), f"{row.estimator} returned a non-finite score"
    table = format_table(results)
    assert table.splitlines()[0].split()[:3] == ["estimator", "task", "score"]
    assert len(table.splitlines()) == len(results) + 2


def test_tour_only_filters_and_rejects_unknown(capsys):
    name = _ENTRIES[0][0]
    assert main(["--quick", "--only", name.lower()]) == 0
    out = capsys.readouterr().out
    assert name in out
    assert _ENTRIES[1][0] not in out
    # --only is repeatable: both entries run
    picked = run_tour(quick=True, only=["dripp", "tensor"], stream=lambda line: None)
    assert [row.estimator for row in picked] == ["TensorCompleter", "DriPP"]
    with pytest.raises(SystemExit):
        main(["--only", "no-such-estimator"])
