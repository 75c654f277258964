"""What a check is given: its worker (forked once, or a recorded load fault), the hang's stack, the reference."""

from __future__ import annotations

from typing import Any

import pytest

from grader.context import Context, reference
from grader.errors import WorkerTimeout
from grader.rubric import load_rubric
from grader.sandbox import Sandbox
from grader.source import prepare
from grader.submission import TaskFile

DUMP = '''Current thread 0x00007f (most recent call first):
  File "/usr/lib/python3/site-packages/torch/nn/modules/module.py", line 1532 in _call_impl
  File "lab.py", line 12 in helper
  File "lab.py", line 40 in forward
  File "/grader/worker/lstm.py", line 30 in forward
  File "lab.py", line 97 in __grader_step__
'''


class NoSandbox(Sandbox):
    def worker(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no worker may be forked")


class Dumped:
    def output(self, name: str = "stdout.txt") -> str:
        return DUMP if name == "stderr.txt" else ""

    def kill(self) -> None:
        pass


def context(sandbox: Any = None) -> Context:
    rubric = load_rubric()
    program = prepare(TaskFile("task3", "lab.py", "x = 1\n"))
    return Context(rubric.config("lstm.forward"), program, rubric, sandbox or NoSandbox())


def test_a_hang_is_placed_in_the_students_own_functions_only() -> None:
    ctx = context()
    ctx._worker = Dumped()  # type: ignore[assignment]
    assert ctx.stuck_in() == {"helper", "forward", "__grader_step__"}
    assert context().stuck_in() == frozenset()  # no worker, no hang


def test_a_load_that_hung_once_is_not_tried_again_by_later_checks() -> None:
    ctx = context()
    ctx.load_faults["task3:_charLSTM"] = WorkerTimeout("loading lab.py did not finish")
    with pytest.raises(WorkerTimeout, match="did not finish"):
        ctx.worker(skip=("_charLSTM",))


def test_the_reference_is_loaded_once_into_the_grader() -> None:
    assert reference("rnn") is reference("rnn")
    assert reference("rnn").weight_count(2, 3) == 3 * (2 + 3 + 1)
