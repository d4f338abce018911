"""The tour behind ``python -m skdeep``.

Each entry fits one estimator on its simulator at a small size and reports a score
whose meaning is printed beside it, together with the fit time. ``--quick`` shrinks
the problems further; ``--only NAME`` runs the entries whose estimator name
contains ``NAME`` (case-insensitive).
"""

import argparse
import time
from dataclasses import dataclass

_ENTRIES = []


@dataclass
class TourResult:
    estimator: str
    task: str
    score: float
    meaning: str
    fit_time: float


def tour_entry(estimator, task):
    """Register ``func(quick) -> (score, meaning, fit_seconds)`` as a tour entry."""

    def register(func):
        _ENTRIES.append((estimator, task, func))
        return func

    return register


def _timed_fit(estimator, *args, **kwargs):
    start = time.perf_counter()
    estimator.fit(*args, **kwargs)
    return estimator, time.perf_counter() - start


# -- tour entries: one function per estimator ------------------------------------
# (each takes ``quick`` and returns (score, meaning, fit_seconds))

# -- end of tour entries -----------------------------------------------------------


def run_tour(quick=False, only=None, stream=print):
    """Run the tour entries and return their :class:`TourResult` rows."""
    entries = [
        entry for entry in _ENTRIES if only is None or only.lower() in entry[0].lower()
    ]
    if not entries:
        names = ", ".join(sorted({name for name, _, _ in _ENTRIES}))
        raise ValueError(f"--only {only!r} matches no estimator; known: {names}.")
    results = []
    for estimator, task, func in entries:
        score, meaning, fit_time = func(quick)
        results.append(TourResult(estimator, task, score, meaning, fit_time))
        stream(f"  done: {estimator:<22} {task} ({fit_time:.2f} s)")
    return results


def format_table(results):
    """Render tour results as a plain-text table."""
    header = ("estimator", "task", "score", "meaning", "fit time")
    rows = [
        (r.estimator, r.task, f"{r.score:.4g}", r.meaning, f"{r.fit_time:.2f} s")
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdeep",
        description="A tour of skdeep: every estimator on its simulator.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller problems, a few seconds in all"
    )
    parser.add_argument(
        "--only", metavar="NAME", help="run only the estimators whose name has NAME"
    )
    args = parser.parse_args(argv)
    from . import __version__

    print(f"skdeep {__version__}: a tour on simulated data\n")
    start = time.perf_counter()
    try:
        results = run_tour(quick=args.quick, only=args.only)
    except ValueError as exc:
        parser.error(str(exc))
    print()
    print(format_table(results))
    print(f"\ntotal: {time.perf_counter() - start:.1f} s")
    return 0
