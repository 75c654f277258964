"""Comparing student answers with expected ones: shapes first, then values, with explicit tolerances.

Every failure is a Mismatch naming the object, what was got and what was expected, and
the worst entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.errors import Mismatch


def index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def check_shape(name: str, got: np.ndarray, expected: tuple[int, ...]) -> None:
    if tuple(got.shape) != tuple(expected):
        raise Mismatch(f"{name} has shape {tuple(got.shape)}, expected {tuple(expected)}")


def check_finite(name: str, got: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(got))
    if len(bad):
        where = index_text(tuple(int(i) for i in bad[0]))
        raise Mismatch(f"{name} is not finite: {got[tuple(bad[0])]} at {where}")


def check_close(name: str, got: Any, expected: Any, rtol: float, atol: float) -> None:
    """`got` equals `expected` within |got - expected| <= atol + rtol * |expected|, entry by entry."""
    got_a, expected_a = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    check_shape(name, got_a, expected_a.shape)
    check_finite(name, got_a)
    error = np.abs(got_a - expected_a)
    excess = error - (atol + rtol * np.abs(expected_a))
    if np.all(excess <= 0):
        return
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
    where = f" at {index_text(tuple(int(i) for i in worst))}" if worst else ""
    raise Mismatch(f"{name} differs: max abs error {float(error[worst]):.3g}{where} "
                   f"(got {float(got_a[worst]):.6g}, expected {float(expected_a[worst]):.6g})")


def centred_differences(plus: np.ndarray, minus: np.ndarray, epsilon: float) -> np.ndarray:
    """(f(x + e) - f(x - e)) / 2e for paired evaluations."""
    return np.asarray((np.asarray(plus) - np.asarray(minus)) / (2.0 * epsilon))


def check_fall(before: float, after: float, margin: float, done: int, iterations: int, where: str) -> str:
    """The grader's loss per character fell from `before` (starting weights) to `after` (the weights
    a training run reached) by `margin`. Returns the summary of a pass."""
    if done < iterations:
        raise Mismatch(f"the training loop stopped after {done} of {iterations} iterations")
    if not np.isfinite(after):
        raise Mismatch(f"after {done} iterations the weights give a loss of {after} on {where}")
    drop = (before - after) / before
    change = f"a fall of {drop:.1%}" if drop >= 0 else f"a rise of {-drop:.1%}"
    summary = (f"after {done} iterations of your training loop, the weights it reached give a cross-entropy "
               f"of {after:.4g} per character on {where} (computed by the grader), against {before:.4g} "
               f"with the starting weights: {change}")
    if drop < margin:
        raise Mismatch(f"{summary}; a fall of at least {margin:.0%} is needed")
    return summary
