"""Sphinx configuration for skdeep; builds offline (links out when online)."""

import os
import sys
import threading
import time
import urllib.request
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "sphinxext"))

import skdeep  # noqa: E402

project = "skdeep"
author = "The skdeep developers"
copyright = "2026, The skdeep developers"
version = release = skdeep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax from the package, copied to _static/mathjax: math renders offline.
    "sphinx-mathjax-offline",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # sphinxext/: each example starts from the same warnings filters; a warning
    # an example prints is a build warning.
    "skdeep_gallery",
]


def _project_url(name, default):
    # The URLs of pyproject.toml's [project.urls] (tomllib: Python >= 3.11).
    try:
        import tomllib

        with open(os.path.join(HERE, "..", "pyproject.toml"), "rb") as f:
            return tomllib.load(f)["project"]["urls"][name]
    except (ImportError, OSError, KeyError):
        return default


repository_url = _project_url("Repository", "https://github.com/skdeep/skdeep")

autosummary_generate = True
# Members that skdeep defines; the methods every scikit-learn estimator inherits
# (get_params, set_output, metadata routing...) are documented by scikit-learn.
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb"]

html_theme = "pydata_sphinx_theme"
html_title = f"skdeep {release}"
html_static_path = ["_static"]
# Long API names wrap in titles and sidebars instead of being clipped.
html_css_files = ["skdeep.css"]
html_js_files = ["skdeep.js"]
html_theme_options = {
    "icon_links": [
        {
            "name": "GitHub",
            "url": repository_url,
            "icon": "fa-brands fa-github",
            "type": "fontawesome",
        }
    ],
}

# Links to the Python, NumPy, SciPy, scikit-learn and matplotlib docs when their
# inventories can be reached; offline, the names stay plain text. A quick check
# (a few seconds at most, all hosts at once) keeps the unreachable ones out, so
# an offline build neither waits nor warns. SKDEEP_DOC_OFFLINE=1 skips it.
_intersphinx_candidates = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
}
intersphinx_timeout = 10


def _reachable(urls, timeout=3.0):
    """Which of ``urls`` answer a HEAD request within ``timeout`` seconds."""
    answered = set()

    def head(url):
        request = urllib.request.Request(url, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                answered.add(url)
        except Exception:  # no network, no DNS, HTTP error: not reachable
            pass

    # Daemon threads and one deadline: a slow DNS lookup cannot stall the build.
    threads = [threading.Thread(target=head, args=(url,), daemon=True) for url in urls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return set(answered)


if os.environ.get("SKDEEP_DOC_OFFLINE"):
    intersphinx_mapping = {}
else:
    _inventories = {
        name: f"{uri}/objects.inv" for name, (uri, _) in _intersphinx_candidates.items()
    }
    _online = _reachable(_inventories.values())
    intersphinx_mapping = {
        name: target
        for name, target in _intersphinx_candidates.items()
        if _inventories[name] in _online
    }

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" on the API pages (the minigallery of the autosummary
    # templates) and links from the examples' code to the API pages.
    "doc_module": ("skdeep",),
    "backreferences_dir": "gen_modules/backreferences",
    # A failing example fails the build (after all examples ran, with a summary).
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    # Before each example: matplotlib's defaults, and the warnings filters of the
    # build (an example's filters do not leak into the next one).
    "reset_modules": ("matplotlib", "skdeep_gallery.reset_warnings"),
    # No execution-times pages: they load their table script from a CDN, and
    # the documentation is read offline too.
    "write_computation_times": False,
}

# Matplotlib's Agg backend without a display.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore", category=UserWarning, message="Matplotlib is currently"
)


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    # scikit-learn generates set_{method}_request on every estimator; they are
    # documented in scikit-learn's metadata-routing guide.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    # sphinx-mathjax-offline only copies its files once the build has finished
    # (in the main process); it does not say so, and a parallel build (-j N)
    # would warn and read serially.
    extension = app.extensions.get("sphinx-mathjax-offline")
    if extension is not None:
        extension.parallel_read_safe = True
        extension.parallel_write_safe = True
