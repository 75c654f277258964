"""Check results and reports as the pipeline writes them, for the tests of the report and its writers."""

from __future__ import annotations

from typing import Any

from grader.mistakes import CATALOG
from grader.report import CheckResult, Report, Status


def result(check_id: str = "rnn.forward", status: Status = "passed", score: float = 2, max_score: float = 2,
           message: str = "ok", task: str | None = None, **more: Any) -> CheckResult:
    """A check's result; its task is the id's prefix unless named."""
    return CheckResult(check_id, task or check_id.split(".")[0], status, score, max_score, message, **more)


def sample() -> Report:
    """A report with one check of each status, a file and a note."""
    return Report("alice", (
        result("rnn.forward", "passed", 2, 2, "right loss and hidden state"),
        result("rnn.gradcheck", "failed", 0, 2, "dWxh differs", details={"worst": [3, 1], "error": 0.41}),
        result("lstm.init", "error", 0, 1, "NameError: name 'nn' is not defined"),
        result("lstm.forward", "skipped", 0, 2, "no task 3 file"),
    ), files={"task2": "a/task2_min_char_rnn.py"}, notes=("zip member b.py is a link",))


def failed_forward(message_tail: str = "") -> CheckResult:
    """rnn.forward failed as the pipeline writes it: example, mistake and printed line in the message too."""
    example = "vocabulary n=2, hidden size h=1, sequence length 1, inputs [0], targets [0]"
    message = (f"the last hidden state hs[0] differs: max abs error 0.18 at [0, 0]{message_tail}; smallest failing "
               f"example: {example}; most likely: {CATALOG['rnn.missing_bias'].words} [rnn.missing_bias]; "
               "your code printed: data has 25874 characters, 70 unique.")
    return result("rnn.forward", "failed", 0, 2, message, diagnosis="rnn.missing_bias",
                  details={"example": example, "output": ["data has 25874 characters, 70 unique.", "iter 0"]})
