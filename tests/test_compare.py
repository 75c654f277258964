"""Comparisons name the object, the worst entry, and what was got and expected."""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.compare import centred_differences, check_close, check_fall, check_shape
from grader.errors import Mismatch


def test_close_values_pass_within_tolerance() -> None:
    check_close("h", np.array([1.0, 2.0]), np.array([1.0 + 1e-9, 2.0]), rtol=1e-7, atol=0.0)


def test_the_message_names_the_worst_entry() -> None:
    got = np.array([[0.1, 0.2], [0.3, 0.9]])
    with pytest.raises(Mismatch) as caught:
        check_close("hs[3]", got, np.array([[0.1, 0.2], [0.3, 0.4]]), rtol=1e-7, atol=1e-9)
    assert str(caught.value) == "hs[3] differs: max abs error 0.5 at [1, 1] (got 0.9, expected 0.4)"


def test_shapes_are_compared_before_values() -> None:
    with pytest.raises(Mismatch, match=r"h has shape \(3,\), expected \(3, 1\)"):
        check_shape("h", np.zeros(3), (3, 1))
    with pytest.raises(Mismatch, match="shape"):
        check_close("h", np.zeros(3), np.zeros((3, 1)), 1e-7, 0)


def test_nan_never_passes() -> None:
    with pytest.raises(Mismatch, match="not finite: nan at \\[0\\]"):
        check_close("loss", np.array([np.nan]), np.array([np.nan]), 1.0, 1.0)


def test_centred_differences() -> None:
    f = lambda x: x**3  # noqa: E731
    assert centred_differences(f(2 + 1e-5), f(2 - 1e-5), 1e-5) == pytest.approx(12.0, rel=1e-8)


def test_a_training_run_passes_when_the_graders_loss_falls_by_the_margin() -> None:
    summary = check_fall(4.0, 3.0, 0.10, 300, 300, "the text")
    assert "a cross-entropy of 3 per character on the text" in summary and "a fall of 25.0%" in summary


@pytest.mark.parametrize("after,done,words", [
    (4.0, 300, "a fall of 0.0%; a fall of at least 10% is needed"),
    (4.5, 300, "a rise of 12.5%"),
    (np.nan, 300, "the weights give a loss of nan on the text"),
    (np.inf, 300, "the weights give a loss of inf on the text"),
    (1.0, 15, "the training loop stopped after 15 of 300 iterations"),
])
def test_a_training_run_that_does_not_learn_fails_saying_how(after: float, done: int, words: str) -> None:
    with pytest.raises(Mismatch, match=re.escape(words)):
        check_fall(4.0, after, 0.10, done, 300, "the text")
