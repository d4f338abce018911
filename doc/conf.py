"""Sphinx configuration for skdeep; builds offline."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))

import skdeep  # noqa: E402

project = "skdeep"
author = "The skdeep developers"
copyright = "2026, The skdeep developers"
version = release = skdeep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
# Members that skdeep defines; the methods every scikit-learn estimator inherits
# (get_params, set_output, metadata routing...) are documented by scikit-learn.
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "sg_execution_times.rst"]

html_theme = "pydata_sphinx_theme"
html_title = f"skdeep {release}"
html_static_path = ["_static"]

# Offline: no intersphinx inventories are fetched unless asked for.
intersphinx_mapping = {}
if os.environ.get("SKDEEP_DOC_ONLINE"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "reference_url": {"skdeep": None},
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
