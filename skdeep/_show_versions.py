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


def _cuda_status():
    """Whether torch sees a GPU, in words (without torch: why not)."""
    try:
        import torch
    except ImportError:
        return (
            "unavailable (PyTorch not installed: "
            "pip install 'skdeep-research[torch]')"
        )
    if not torch.cuda.is_available():
        return f"not available (torch {torch.__version__}, CPU build or no GPU)"
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return f"available, {len(names)} device(s): {', '.join(names)}"


def _threadpools():
    """The BLAS and OpenMP thread pools numpy, scipy and numba run on."""
    from threadpoolctl import threadpool_info

    return [
        {
            "library": pool.get("internal_api", "?"),
            "user_api": pool.get("user_api", "?"),
            "version": pool.get("version"),
            "num_threads": pool.get("num_threads"),
        }
        for pool in threadpool_info()
    ]


def show_versions():
    """Print skdeep's, Python's and the dependencies' versions, CUDA and BLAS.

    Optional dependencies that are not installed are reported as ``None``. The
    ``cuda`` line says whether PyTorch sees a GPU (importing torch when it is
    installed); the thread-pool section lists the BLAS and OpenMP libraries and
    their thread counts, which decide the speed of the numpy and numba kernels.

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
    print(f"{'cuda':>{width}}: {_cuda_status()}")
    print("\nThread pools (BLAS, OpenMP):")
    pools = _threadpools()
    if not pools:
        print("  none found")
    for pool in pools:
        print(
            f"  {pool['user_api']:<7} {pool['library']:<10} "
            f"version {pool['version']}, {pool['num_threads']} thread(s)"
        )
