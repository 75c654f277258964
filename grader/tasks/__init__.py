"""The lab's tasks, one package each, and the lab they make up: the engine knows them only through
their specs (grader.tasks.spec), as pytest knows its plugins through hooks.

Adding a task is one package (its spec in __init__.py: TASK; its checks, diagnosers, worker operations)
and one name in LAB's tuple.
"""

from __future__ import annotations

from grader.tasks import answers, lstm, rnn
from grader.tasks.spec import Lab

LAB = Lab(title="Lab 5", subject="RNN and LSTM", slug="lab5", text="textData.txt",
          tasks=(rnn.TASK, lstm.TASK, answers.TASK))
"""The lab this grader marks: Part 2's two scripts, and Part 1's question 2."""
