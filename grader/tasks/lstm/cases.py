"""Task 3's inputs: sizes, one-hot sequences and non-zero states the grader chooses for forward, random
(shrinking with Hypothesis) or fixed for the diagnosers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st


@dataclass(frozen=True)
class LstmCase:
    """Sizes, a one-hot sequence and a non-zero initial state for forward(input, hprev, cprev, T)."""

    n: int
    h: int
    inputs: tuple[int, ...]
    h0: np.ndarray
    c0: np.ndarray
    seed: int

    def describe(self) -> str:
        return f"vocabulary n={self.n}, hidden size h={self.h}, seq_len {len(self.inputs)}, inputs {list(self.inputs)}"

    def onehot(self) -> np.ndarray:
        return np.eye(self.n)[list(self.inputs)]  # (T, n)

    def request(self) -> dict[str, Any]:
        return {"input": self.onehot(), "h0": self.h0, "c0": self.c0}


def _distinct(nh: tuple[int, int]) -> bool:
    """n, h, n+h and 4h all differ, so that every weight's role shows in its shape."""
    n, h = nh
    return len({n, h, n + h, 4 * h}) == 4


sizes = st.tuples(st.integers(2, 7), st.integers(2, 5)).filter(_distinct)
"""h >= 2: at h = 1 a (4h, 1) bias looks like a weight, and squeeze() takes the hidden axis away."""


@st.composite
def lstm_cases(draw: st.DrawFn, max_steps: int = 5) -> LstmCase:
    n, h = draw(sizes, label="(n, h)")
    inputs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=max_steps), label="inputs")
    seed = draw(st.integers(0, 2**31 - 1), label="values")
    rng = np.random.default_rng(seed)
    return LstmCase(n, h, tuple(inputs), rng.normal(0, 0.5, h), rng.normal(0, 0.5, h), seed)


DIAGNOSTIC_SIZES = (5, 3)  # n, h: every weight's role shows in its shape (_distinct)


def diagnostic_case() -> LstmCase:
    n, h = DIAGNOSTIC_SIZES
    rng = np.random.default_rng(7)
    return LstmCase(n, h, (0, 3, 1, 4, 2), rng.normal(0, 0.5, h), rng.normal(0, 0.5, h), 7)


