"""Deep estimators on PyTorch (optional: ``pip install skdeep-research[torch]``).

Importing this package never imports torch; the estimators import it when they
are fitted.
"""

from ._lipschitz import LipschitzClassifier
from ._modis import MODISIntegrator
from ._nystrom import NystromNetClassifier

__all__ = ["LipschitzClassifier", "MODISIntegrator", "NystromNetClassifier"]
