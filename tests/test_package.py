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
    assert "cuda: " in out
    assert "Thread pools (BLAS, OpenMP):" in out
    assert "blas" in out  # numpy runs on some BLAS, which threadpoolctl names


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


# Run in a fresh interpreter in which ``import torch`` fails, as on a machine where
# only ``pip install .`` was run (PyTorch is an optional dependency).
_WITHOUT_TORCH = """
import runpy, sys

class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, _NoTorch())
"""


def _run_without_torch(code):
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_TORCH + code],
        capture_output=True,
        text=True,
    )


def test_tour_without_torch_skips_the_deep_estimators_and_exits_0():
    out = _run_without_torch(
        "sys.argv = ['skdeep', '--quick', '--only', 'dripp', '--only', 'nystrom', "
        "'--only', 'modis']\n"
        "runpy.run_module('skdeep', run_name='__main__')"
    )
    assert out.returncode == 0, out.stderr
    table = out.stdout.split("-----", 1)[1]
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "skipped" in rows["NystromNetClassifier"]
    assert "skipped" in rows["MODISIntegrator"]
    assert "skipped" not in rows["DriPP"]
    assert "2 deep estimator(s) skipped" in out.stdout
    assert "pip install 'skdeep-research[torch]'" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "make_and_fit",
    [
        "from skdeep.neural import NystromNetClassifier as E\n"
        "E().fit(np.eye(4), [0, 1, 0, 1])",
        "from skdeep.neural import MODISIntegrator as E\n"
        "E([2, 2]).fit(np.eye(4), [0, 1, -1, -1])",
        "from skdeep.tensor import TensorCompleter as E\n"
        "E(backend='torch').fit(np.eye(4))",
    ],
)
def test_deep_estimators_without_torch_give_the_install_command(make_and_fit):
    out = _run_without_torch("import numpy as np\n" + make_and_fit)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError"), out.stderr
    assert "pip install 'skdeep-research[torch]'" in last


def test_show_versions_without_torch_says_how_to_get_cuda():
    out = _run_without_torch("import skdeep; skdeep.show_versions()")
    assert out.returncode == 0, out.stderr
    cuda = [line for line in out.stdout.splitlines() if "cuda:" in line]
    assert len(cuda) == 1 and "PyTorch not installed" in cuda[0]
    assert "skdeep-research[torch]" in cuda[0]
