"""What the deep estimators share through BaseTorchEstimator."""

import pytest
from sklearn.utils._param_validation import validate_parameter_constraints

from skdeep.utils import all_estimators
from skdeep.utils._iteration import ITERATION_CONSTRAINTS
from skdeep.utils._optimizers import OPTIMIZERS
from skdeep.utils._torch_base import OPTIMIZER_CONSTRAINTS, BaseTorchEstimator

# The deep estimators (TensorCompleter also trains through the base, but its
# full-batch parameters are its own).
TORCH_ESTIMATORS = [cls for _, cls in all_estimators()
                    if issubclass(cls, BaseTorchEstimator)
                    and cls.__module__.startswith("skdeep.neural")]


@pytest.mark.parametrize("estimator", TORCH_ESTIMATORS,
                         ids=[cls.__name__ for cls in TORCH_ESTIMATORS])
def test_shared_parameter_constraints_are_inherited(estimator):
    # declared once, on the base (the choice of optimiser in
    # OPTIMIZER_CONSTRAINTS, the iteration contract in skdeep.utils._iteration),
    # never redeclared by an estimator
    constraints = estimator._parameter_constraints
    shared = dict(BaseTorchEstimator._parameter_constraints)
    shared.update(OPTIMIZER_CONSTRAINTS)
    # an estimator may offer more optimisers ("auto") than the shared ones
    del shared["optimizer"]
    for name, constraint in shared.items():
        assert constraints[name] is constraint, name
    for name in OPTIMIZERS:
        validate_parameter_constraints(
            {"optimizer": constraints["optimizer"]},
            {"optimizer": name}, estimator.__name__,
        )
    for name, constraint in ITERATION_CONSTRAINTS.items():
        assert constraints[name] is constraint, name
