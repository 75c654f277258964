"""Check results as the pipeline writes them, for the writers' tests."""

from __future__ import annotations

from typing import Any

from grader.mistakes import CATALOG
from grader.report import CheckResult, Status


def result(check_id: str, status: Status, score: float, max_score: float, message: str,
           **more: Any) -> CheckResult:
    return CheckResult(check_id, check_id.split(".")[0], status, score, max_score, message, **more)


def failed_forward(message_tail: str = "") -> CheckResult:
    """rnn.forward failed as the pipeline writes it: example, mistake and printed line in the message too."""
    example = "vocabulary n=2, hidden size h=1, sequence length 1, inputs [0], targets [0]"
    message = (f"the last hidden state hs[0] differs: max abs error 0.18 at [0, 0]{message_tail}; smallest failing "
               f"example: {example}; most likely: {CATALOG['rnn.missing_bias'].words} [rnn.missing_bias]; "
               "your code printed: data has 25874 characters, 70 unique.")
    return result("rnn.forward", "failed", 0, 2, message, diagnosis="rnn.missing_bias",
                  details={"example": example, "output": ["data has 25874 characters, 70 unique.", "iter 0"]})
