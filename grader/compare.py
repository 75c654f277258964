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


def check_gradient(name: str, analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float,
                   skip: np.ndarray | None = None, source: str = "your code") -> None:
    """Analytic gradient entries equal centred differences within atol + rtol * max(|a|, |d|)."""
    check_shape(name, analytic, numeric.shape)
    excess = np.abs(analytic - numeric) - (atol + rtol * np.maximum(np.abs(analytic), np.abs(numeric)))
    if skip is not None:
        excess[skip] = -np.inf
    if not np.all(excess <= 0):
        worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
        a, d = float(analytic[worst]), float(numeric[worst])
        raise Mismatch(f"{name}{index_text(tuple(int(i) for i in worst))}: {source} gives the gradient {a:.6g}, "
                       f"but centred differences of its own output give {d:.6g}")


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cs231n's relative error |a - b| / max(|a| + |b|, tiny), entry by entry."""
    return np.asarray(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-300))


def centred_differences(plus: np.ndarray, minus: np.ndarray, epsilon: float) -> np.ndarray:
    """(f(x + e) - f(x - e)) / 2e for paired evaluations."""
    return np.asarray((np.asarray(plus) - np.asarray(minus)) / (2.0 * epsilon))


def check_training(losses: np.ndarray, iterations: int, margin: float, what: str) -> str:
    """A training run's loss fell by `margin`: the mean of its first and last windows (up to
    50 iterations each) smooths out the noise. Returns the summary of a pass."""
    done = len(losses)
    window = max(1, min(50, iterations // 10))
    if done < 2 * window:
        raise Mismatch(f"the training loop stopped after {done} of {iterations} iterations")
    bad = np.flatnonzero(~np.isfinite(losses))
    if len(bad):
        raise Mismatch(f"{what} became {losses[bad[0]]} at iteration {bad[0]} of the training loop")
    first, last = float(losses[:window].mean()), float(losses[-window:].mean())
    drop = (first - last) / abs(first) if first else 0.0
    change = f"a fall of {drop:.1%}" if drop >= 0 else f"a rise of {-drop:.1%}"
    summary = (f"{what} went from {first:.4g} (mean of the first {window} iterations) to {last:.4g} "
               f"(mean of the last {window}) over {done} iterations, {change}")
    if drop < margin:
        raise Mismatch(f"{summary}; a fall of at least {margin:.0%} is needed")
    return summary
