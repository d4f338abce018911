"""What the deep estimators share through BaseTorchEstimator."""

import pytest

from skdeep.neural import MODISIntegrator, NystromNetClassifier
from skdeep.utils._iteration import ITERATION_CONSTRAINTS
from skdeep.utils._torch_base import BaseTorchEstimator


@pytest.mark.parametrize("estimator", [NystromNetClassifier, MODISIntegrator])
def test_shared_parameter_constraints_are_inherited(estimator):
    # declared once, on the base (and for the iteration contract in
    # skdeep.utils._iteration), never redeclared by an estimator
    constraints = estimator._parameter_constraints
    for name, constraint in BaseTorchEstimator._parameter_constraints.items():
        assert constraints[name] is constraint, name
    for name, constraint in ITERATION_CONSTRAINTS.items():
        assert constraints[name] is constraint, name
