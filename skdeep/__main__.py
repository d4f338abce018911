"""``python -m skdeep``: a short tour of every estimator on its simulator."""

import sys

from ._tour import main

if __name__ == "__main__":
    sys.exit(main())
