"""Test-session settings.

``pytest -n 2`` runs two workers on the two cores the suite is sized for; each
worker's BLAS, OpenMP and torch thread pools would otherwise start one thread per
core and oversubscribe them, which makes the small tensor operations of the tests
many times slower. The variables are read when those libraries load, so they are
set here, before any test module imports them.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
