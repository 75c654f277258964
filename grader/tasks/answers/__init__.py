"""Part 1's written answers: a YAML file (submissions_template/answers.yaml), read as data, never run."""

from __future__ import annotations

import re

from grader.tasks.spec import Mistake, Task

WEIGHT_KEYS = {"rnn": "q2_rnn_weights", "lstm": "q2_lstm_weights"}
"""Question 2's answers, by the network they count: formulas in n and h."""
FREE_TEXT_KEYS = ("q1", "q3", "q4")
"""The questions answered in words: shown to the tutor beside the marks, not scored."""
KEY = re.compile(r"^[ \t]*(?:-[ \t]+)?[\"']?(q2_(?:rnn|lstm)_weights|q[134])[\"']?[ \t]*:",
                 re.MULTILINE | re.IGNORECASE)
"""What makes a YAML file the answers file, a question's key (found by content, never by file name)."""


def every_key(text: str) -> bool:
    """An answers file with every question's key (the more finished of two)."""
    return len({key.lower() for key in KEY.findall(text)}) == len(WEIGHT_KEYS) + len(FREE_TEXT_KEYS)


TASK = Task(
    id="answers",
    name="answers",
    found="hold Part 1's answers",
    missing="no answers file was found: hand in answers.yaml from the starter files with q2_rnn_weights and "
            "q2_lstm_weights filled in",
    pattern=KEY,
    checks=("grader.tasks.answers.checks",),
    parts=("q2",),
    suffixes=(".yaml", ".yml"),
    worker=None,
    complete=every_key,
    mistakes=(
        Mistake("answers.no_bias", "q2", "the biases left out of the count: every hidden unit (in an LSTM, every "
                                         "gate's unit) has one"),
        Mistake("answers.output_layer_counted", "q2",
                "an output layer counted: the question's networks have none (the output comes straight from the "
                "RNN or LSTM)"),
        Mistake("answers.missing_factor_4", "q2",
                "the LSTM counted like one gate: each of its four gates (input, forget, cell, output) has that "
                "many weights, so the count needs the factor 4"),
        Mistake("answers.missing_recurrent", "q2",
                "the recurrent weights (h by h, the h² term) left out of the count"),
        Mistake("answers.swapped", "q2", "the RNN's and the LSTM's counts swapped"),
    ),
)
