"""Gallery helpers: every example starts from the same warnings filters, and a
Python warning that an example prints is reported as a build warning.

sphinx-gallery runs all examples in one process, so a module-level
``warnings.simplefilter("ignore", ...)`` in one example would hide the warnings of
the examples that run after it, and a warning printed once would not be printed
again. ``reset_warnings`` (in ``sphinx_gallery_conf["reset_modules"]``) restores
the filters that were in place when the gallery started, before each example.
"""

import re
import warnings

# The filters of the Sphinx process when it loads this extension (conf.py's
# filters included: conf.py runs first).
_INITIAL_FILTERS = list(warnings.filters)


def reset_warnings(gallery_conf, fname):
    """Restore the initial warnings filters (and forget the warnings seen)."""
    warnings.resetwarnings()  # empties the filters; the "once" registries expire
    warnings.filters.extend(_INITIAL_FILTERS)


# A warning as Python prints it, in an output block of a generated example page:
# "    path/to/example.py:42: ConvergenceWarning: ..."
_PRINTED_WARNING = re.compile(r"^\s+\S+:\d+: \w*Warning: .*$", re.MULTILINE)


def _report_printed_warnings(app, docname, source):
    from sphinx.util import logging

    gallery_dirs = app.config.sphinx_gallery_conf.get("gallery_dirs", ())
    if isinstance(gallery_dirs, str):
        gallery_dirs = [gallery_dirs]
    if not any(docname.startswith(f"{d.strip('/')}/") for d in gallery_dirs):
        return
    for match in _PRINTED_WARNING.finditer(source[0]):
        logging.getLogger(__name__).warning(
            "example printed a warning: %s", match.group(0).strip(), location=docname
        )


def setup(app):
    app.connect("source-read", _report_printed_warnings)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
