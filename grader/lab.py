"""What the grader knows about the lab's files: which name defines which task, the globals a check sets.

Both sides read it: the grader (finding task files, naming what is missing) and the worker
(loading a task file, setting sizes before calling student code). Plain values only.
"""

from __future__ import annotations

import re
from typing import Any

from grader.sandbox.contract import Kind

TASKS = {
    "task2": re.compile(r"^[ \t]*def[ \t]+lossFun[ \t]*\(", re.MULTILINE),
    "task3": re.compile(r"^[ \t]*class[ \t]+_charLSTM\b", re.MULTILINE),
}
"""Each task, and what a file must define to be it (found by content, never by file name)."""
DEFINES = {"task2": "a function lossFun", "task3": "a class _charLSTM"}
KINDS = {"task2": Kind(("grader.worker.rnn",)), "task3": Kind(("grader.worker.lstm",), "grader.worker:warm_up")}
"""Each task's kind of worker: the operations it serves, and (task 3's torch) how they are warmed up.
(Task 2 is NumPy's: a worker that need not import torch starts fast.)"""
ANSWERS = "answers"
"""Part 1's written answers: a YAML file (submissions_template/answers.yaml), read as data, never run."""
WEIGHT_KEYS = {"rnn": "q2_rnn_weights", "lstm": "q2_lstm_weights"}
"""Question 2's answers, by the network they count: formulas in n and h."""
FREE_TEXT_KEYS = ("q1", "q3", "q4")
"""The questions answered in words: shown to the tutor beside the marks, not scored."""
ANSWERS_FILE = re.compile(r"^[ \t]*(?:-[ \t]+)?[\"']?(q2_(?:rnn|lstm)_weights|q[134])[\"']?[ \t]*:",
                          re.MULTILINE | re.IGNORECASE)
"""What makes a YAML file the answers file, a question's key (found by content, never by file name)."""
TRAINING_CALLS = {"task2": {"lossFun"}, "task3": {"charLSTM", "optimizer"}}
"""A task's training loop is the top-level loop that uses one of these names."""
TEXT = "textData.txt"
"""The training text every script opens, whatever path it names."""
RNN_PARAMETERS = ("Wxh", "Whh", "Why", "bh", "by")
RNN_GRADIENTS = tuple(f"d{p}" for p in RNN_PARAMETERS)
"""lossFun returns (loss, *RNN_GRADIENTS, hs[last])."""


def sizes(n: int, h: int) -> dict[str, Any]:
    """The globals a script derives from its text and hyperparameters, for n characters and h units."""
    chars = [chr(0x61 + i) for i in range(n)]
    return {"vocab_size": n, "hidden_size": h, "chars": chars, "char_to_ix": {c: i for i, c in enumerate(chars)},
            "ix_to_char": dict(enumerate(chars))}
