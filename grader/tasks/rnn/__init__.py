"""Task 2, the NumPy character RNN: the hidden-state line of lossFun."""

from __future__ import annotations

import re

from grader.tasks.spec import Mistake, Task

PARAMETERS = ("Wxh", "Whh", "Why", "bh", "by")
GRADIENTS = tuple(f"d{p}" for p in PARAMETERS)
"""lossFun returns (loss, *GRADIENTS, hs[last])."""

TASK = Task(
    id="task2",
    name="rnn",
    found="define a function lossFun",
    missing="no file defining a function lossFun was found (looked at: {looked})",
    pattern=re.compile(r"^[ \t]*def[ \t]+lossFun[ \t]*\(", re.MULTILINE),
    checks=("grader.tasks.rnn.checks", "grader.tasks.rnn.diagnosis"),
    parts=("lossFun",),
    worker="grader.tasks.rnn.worker",
    training=frozenset({"lossFun"}),
    mistakes=(
        Mistake("rnn.sigmoid", "lossFun", "a sigmoid instead of np.tanh in the hidden-state line"),
        Mistake("rnn.relu", "lossFun", "a ReLU (np.maximum(0, ...)) instead of np.tanh in the hidden-state line"),
        Mistake("rnn.no_activation", "lossFun",
                "no activation: the hidden state is Wxh x + Whh h + bh, without np.tanh"),
        Mistake("rnn.double_tanh", "lossFun", "np.tanh applied twice in the hidden-state line"),
        Mistake("rnn.whh_transposed", "lossFun", "Whh.T (or hs[t-1].T @ Whh) instead of Whh @ hs[t-1]"),
        Mistake("rnn.missing_bias", "lossFun", "the hidden bias bh left out of the hidden-state line"),
        Mistake("rnn.no_recurrence", "lossFun", "hprev used at every step instead of the previous step's hs[t-1]"),
        Mistake("rnn.missing_recurrence", "lossFun", "the recurrent term Whh @ hs[t-1] left out"),
        Mistake("rnn.bias_outside_tanh", "lossFun", "bh added after np.tanh instead of inside it"),
        Mistake("rnn.missing_input", "lossFun", "the input term Wxh @ xs[t] left out"),
    ),
)
