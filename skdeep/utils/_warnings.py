"""Warnings that point at the user's line, not at skdeep's or scikit-learn's.

A warning raised deep inside a fit (the iteration monitor, a data check) would,
with a fixed ``stacklevel``, be attributed to whichever frame happens to sit that
many levels up: often ``sklearn/base.py`` (the ``_fit_context`` wrapper) or a
module of skdeep. :func:`warn` walks up the stack past every frame of skdeep,
scikit-learn and joblib and attributes the warning to the first frame outside
them: the line of the user's script, test or notebook that called the estimator.
"""

import os
import sys
import warnings

import joblib
import sklearn

_LIBRARY_DIRS = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sklearn, joblib)
) + (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,)


def _is_library_frame(frame):
    return os.path.abspath(frame.f_code.co_filename).startswith(_LIBRARY_DIRS)


def warn(message, category=UserWarning):
    """Issue ``warnings.warn(message, category)`` attributed to the caller's code.

    Parameters
    ----------
    message : str
        The warning text.
    category : type of Warning, default=UserWarning
        The warning class.

    Examples
    --------
    >>> import warnings
    >>> from skdeep.utils._warnings import warn
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("something to know")
    >>> caught[0].message.args[0]
    'something to know'
    """
    # stacklevel=1 is this function; 2 its caller, and so on up the stack.
    frame, stacklevel = sys._getframe(1), 2
    while frame is not None and _is_library_frame(frame):
        frame, stacklevel = frame.f_back, stacklevel + 1
    warnings.warn(message, category, stacklevel=stacklevel)
