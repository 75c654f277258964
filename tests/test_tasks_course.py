"""The course text through a student's vocabulary: chars must list each character once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from grader.tasks.course import course_text, sequences
from grader.errors import Mismatch


@dataclass
class FakeRubric:
    text: Path


@dataclass
class FakeContext:
    rubric: FakeRubric


def context(tmp_path: Path, text: str) -> FakeContext:
    (tmp_path / "text.txt").write_text(text)
    return FakeContext(FakeRubric(tmp_path / "text.txt"))


def test_the_text_is_read_through_the_students_own_order_of_chars(tmp_path: Path) -> None:
    text = course_text(context(tmp_path, "abca"), ["c", "a", "b"])  # type: ignore[arg-type]
    np.testing.assert_array_equal(text.indices(3), [1, 2, 0])
    assert text.describe(1000) == "the first 4 characters of the course text"


@pytest.mark.parametrize("chars,words", [
    (["a", "b"], "missing ['c']"),
    (["a", "b", "c", "z"], "extra ['z']"),
    (["a", "b", "c", "c"], "it has 4 entries"),
    ("abc", "got a str"),
    (["ab", "c"], "got a list of 2 values"),
])
def test_a_vocabulary_that_is_not_the_texts_characters_fails_saying_how(tmp_path: Path, chars: object,
                                                                         words: str) -> None:
    with pytest.raises(Mismatch, match=words.replace("[", r"\[").replace("]", r"\]")):
        course_text(context(tmp_path, "abca"), chars)  # type: ignore[arg-type]


def test_a_text_is_walked_in_sequences_each_with_the_next_characters_as_targets() -> None:
    got = list(sequences(np.arange(8), 3))
    assert [(list(x), list(y)) for x, y in got] == [([0, 1, 2], [1, 2, 3]), ([3, 4, 5], [4, 5, 6]), ([6], [7])]
