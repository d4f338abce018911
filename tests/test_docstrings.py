"""numpydoc validation of the public API: every public class, its public methods
and every public function document each parameter and carry an example."""

import importlib
import inspect

import pytest

from skdeep.utils import all_estimators

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PUBLIC_MODULES = [
    "skdeep.cluster",
    "skdeep.point_process",
    "skdeep.decomposition",
    "skdeep.tensor",
    "skdeep.neural",
    "skdeep.datasets",
    "skdeep.metrics",
    "skdeep.utils",
]

# The checks that hold for the whole public API (numpydoc's codes):
# parameters documented, described and existing; returns described; summary and
# examples present.
CHECKED = {
    "GL08",  # the object has no docstring
    "SS01", "SS03", "SS05",  # a summary, ending with a period, not "Returns"
    "PR01", "PR02", "PR03", "PR07", "PR10",  # parameters: all, existing, in order
    "RT03",  # the return value is described
}
CLASS_AND_FUNCTION_ONLY = {"EX01"}  # an Examples section


def _public_objects():
    seen = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not callable(obj):
                continue  # constants such as UNLABELED
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            seen.setdefault(qualname, obj)
    for _, cls in all_estimators():
        seen.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
    names = []
    for qualname, obj in sorted(seen.items()):
        names.append((qualname, True))
        if not inspect.isclass(obj):
            continue
        for attr, member in inspect.getmembers(obj):
            if attr.startswith("_") or not inspect.isfunction(member):
                continue
            if not member.__module__.startswith("skdeep."):
                continue  # inherited from scikit-learn, documented there
            names.append((f"{member.__module__}.{member.__qualname__}", False))
    return sorted(set(names))


@pytest.mark.parametrize(
    "qualname, top_level", _public_objects(), ids=lambda v: str(v)
)
def test_docstring(qualname, top_level):
    # validate() takes the dotted path; a private module path is fine.
    result = numpydoc_validate.validate(qualname)
    checked = CHECKED | (CLASS_AND_FUNCTION_ONLY if top_level else set())
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code in checked
    ]
    assert not errors, f"{qualname}:\n" + "\n".join(errors)
