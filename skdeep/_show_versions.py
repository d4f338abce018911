"""Report the versions of skdeep, Python and the dependencies (for bug reports)."""

import importlib
import platform
import sys

_DEPENDENCIES = (
    "numpy",
    "scipy",
    "sklearn",
    "numba",
    "joblib",
    "torch",
    "pandas",
    "matplotlib",
    "tensorly",
)


def _module_version(name):
    """Version of an installed module, without importing torch needlessly twice."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return getattr(module, "__version__", "unknown")


def _get_versions():
    """Return ``{"skdeep": ..., "python": ..., dependency: version or None}``."""
    from . import __version__

    versions = {
        "skdeep": __version__,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
    }
    for name in _DEPENDENCIES:
        versions[name] = _module_version(name)
    return versions


def show_versions():
    """Print skdeep's, Python's and the dependencies' versions.

    Optional dependencies that are not installed are reported as ``None``. This
    imports torch when it is installed, to report whether CUDA is available.

    Examples
    --------
    >>> import skdeep
    >>> skdeep.show_versions()  # doctest: +SKIP
    """
    versions = _get_versions()
    width = max(len(key) for key in versions)
    print("\nSystem and dependencies:")
    for key, value in versions.items():
        print(f"{key:>{width}}: {value}")
    if versions["torch"] is not None:
        import torch

        print(f"{'cuda':>{width}}: {torch.cuda.is_available()}")
