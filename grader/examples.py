"""Searching, with Hypothesis, for the smallest input on which student code goes wrong.

Runs are derandomized from the rubric's seed: the same submission meets the same
examples, and so gets the same marks, on every run and machine.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from grader.errors import InvalidCode, Mismatch, SubmissionFault, WorkerDied, WorkerTimeout

T = TypeVar("T")


class _Stop(BaseException):
    """Ends a search at once: Hypothesis propagates BaseException without shrinking."""

    def __init__(self, fault: SubmissionFault) -> None:
        super().__init__(str(fault))
        self.fault = fault


def search(strategy: st.SearchStrategy[T], probe: Callable[[T], None], *, examples: int,
           random_seed: int) -> None:
    """Run `probe` on up to `examples` inputs; raise the fault of the smallest failing one.

    A probe raises a SubmissionFault when student code is wrong. A dead or timed-out
    worker stops the search at once (there is nothing left to shrink with).
    """

    def run(example: T) -> None:
        try:
            probe(example)
        except (WorkerDied, WorkerTimeout) as e:
            raise _Stop(e) from None

    test = given(strategy)(run)
    test = settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    verbosity=Verbosity.quiet, report_multiple_bugs=False, print_blob=False,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck))(test)
    test = seed(random_seed)(test)
    try:
        test()
    except _Stop as stop:
        raise stop.fault from None
    except Flaky as e:
        raise Mismatch("gives different answers for the same input (does it use random numbers "
                       "or keep state between calls?)") from e


@contextmanager
def explained(example: str) -> Iterator[None]:
    """Add the example to any fault raised inside, keeping the fault's kind."""
    try:
        yield
    except InvalidCode:
        raise  # the same for every input: an example would only distract
    except SubmissionFault as e:
        raise type(e)(f"{e}; smallest failing example: {example}", {**e.details, "example": example}) from None
