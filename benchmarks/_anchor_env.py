"""Virtualenvs for anchors that cannot be installed beside the current numpy.

Each benchmark that needs one calls :func:`ensure_anchor_env` with its own folder
under ``benchmarks/_envs/`` and requirements; the env is built on first use (this
needs the package index) and reused afterwards.
"""

import os
import subprocess
import venv


def env_python(env_dir):
    """Path of the python executable inside ``env_dir``."""
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_anchor_env(env_dir, requirements, optional=()):
    """Create ``env_dir`` with ``requirements`` once; return its python or None.

    ``optional`` packages are tried after the required ones; their failure to
    install is not an error (the benchmark leaves their column out).
    """
    python = env_python(env_dir)
    if python.exists():
        return python
    print(f"building the anchor virtualenv in {env_dir} (first run only) ...")
    try:
        venv.create(env_dir, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *requirements], check=True
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"could not build the anchor virtualenv: {exc}")
        return None
    for package in optional:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", package], check=False
        )
    return python
