"""skdeep: scikit-learn compatible research methods from statistical and deep learning.

Every method is a scikit-learn estimator that can be cloned, pickled, put in a
:class:`~sklearn.pipeline.Pipeline` and tuned with
:class:`~sklearn.model_selection.GridSearchCV`. The estimators live in area
sub-packages (:mod:`skdeep.cluster`, :mod:`skdeep.point_process`,
:mod:`skdeep.decomposition`, :mod:`skdeep.tensor`); their simulators in
:mod:`skdeep.datasets` and the figures their papers report in :mod:`skdeep.metrics`.

Importing skdeep never imports torch: the torch backend is loaded on first use.
"""

__version__ = "0.1.0"

from ._show_versions import show_versions  # noqa: E402

__all__ = ["__version__", "show_versions"]
