"""The example search is derandomized, shrinks, and stops at once when the worker is gone."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from grader.errors import InvalidCode, Mismatch, StudentException, WorkerTimeout
from grader.examples import explained, search


def failing_probe(seen: list[int]):  # type: ignore[no-untyped-def]
    def probe(x: int) -> None:
        seen.append(x)
        if x >= 10:
            raise Mismatch(f"too big: {x}")
    return probe


def test_the_smallest_failing_example_is_reported() -> None:
    with pytest.raises(Mismatch, match="^too big: 10$"):
        search(st.integers(0, 1000), failing_probe([]), examples=50, random_seed=1)


def test_the_same_seed_tries_the_same_examples() -> None:
    first: list[int] = []
    second: list[int] = []
    for seen in (first, second):
        with pytest.raises(Mismatch):
            search(st.integers(0, 1000), failing_probe(seen), examples=50, random_seed=7)
    assert first == second


def test_a_timeout_stops_the_search_without_shrinking() -> None:
    calls: list[int] = []

    def probe(x: int) -> None:
        calls.append(x)
        raise WorkerTimeout("no answer")

    with pytest.raises(WorkerTimeout):
        search(st.integers(0, 1000), probe, examples=50, random_seed=1)
    assert len(calls) == 1


def test_explained_adds_the_example_but_not_to_invalid_code() -> None:
    with pytest.raises(StudentException, match="IndexError; smallest failing example: n=2"), explained("n=2"):
        raise StudentException("IndexError")
    with pytest.raises(InvalidCode, match="^line 41 is not valid Python$"), explained("n=2"):
        raise InvalidCode("line 41 is not valid Python")
