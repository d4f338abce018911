"""Discovery of the public estimators, after :func:`sklearn.utils.all_estimators`."""

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter
from pathlib import Path

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    RegressorMixin,
    TransformerMixin,
)

_TYPE_FILTERS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
    "cluster": ClusterMixin,
}


def all_estimators(type_filter=None):
    """List every public estimator of skdeep.

    The search walks the public sub-packages and keeps the classes that derive from
    :class:`~sklearn.base.BaseEstimator`, are not abstract and whose names do not
    start with an underscore. Importing them never imports torch.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"} or list of \
            those, default=None
        Keep only the estimators of these kinds; ``None`` keeps all.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name.

    Examples
    --------
    >>> from skdeep.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    """
    root = Path(__file__).resolve().parent.parent
    found = {}
    for _, module_name, _ in pkgutil.walk_packages([str(root)], prefix="skdeep."):
        parts = module_name.split(".")
        if any(part.startswith("_") for part in parts[1:]) or parts[1] in (
            "utils",
            "tests",
        ):
            continue
        module = import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and not name.startswith("_")
                and cls.__module__.startswith("skdeep.")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls

    estimators = sorted(found.items(), key=itemgetter(0))
    if type_filter is None:
        return estimators
    filters = [type_filter] if isinstance(type_filter, str) else list(type_filter)
    unknown = set(filters) - set(_TYPE_FILTERS)
    if unknown:
        raise ValueError(
            f"type_filter must be None or among {sorted(_TYPE_FILTERS)}, "
            f"got {sorted(unknown)}."
        )
    return [
        (name, cls)
        for name, cls in estimators
        if any(issubclass(cls, _TYPE_FILTERS[kind]) for kind in filters)
    ]
