"""Task 3, the PyTorch character LSTM: _charLSTM's __init__ and forward, the criterion, the state carry-over."""

from __future__ import annotations

import re

from grader.tasks.spec import Mistake, Task

TASK = Task(
    id="task3",
    name="lstm",
    found="define a class _charLSTM",
    missing="no file defining a class _charLSTM was found (looked at: {looked})",
    pattern=re.compile(r"^[ \t]*class[ \t]+_charLSTM\b", re.MULTILINE),
    checks=("grader.tasks.lstm.model", "grader.tasks.lstm.training", "grader.tasks.lstm.diagnosis"),
    parts=("__init__", "forward", "criterion", "loop"),
    worker="grader.tasks.lstm.worker",
    warm_up="grader.tasks.lstm.worker:warm_up",
    training=frozenset({"charLSTM", "optimizer"}),
    prepare="grader.tasks.lstm.kernel:torch_in_grader",
    mistakes=(
        Mistake("lstm.two_layers", "__init__", "two LSTM layers (num_layers=2) where the lab asks for one"),
        Mistake("lstm.no_output_layer", "__init__",
                "no linear layer from the hidden units back to the vocabulary's scores"),
        Mistake("lstm.super_init_missing", "__init__",
                "super().__init__() missing from __init__, so PyTorch cannot register the layers"),
        Mistake("lstm.softmax_in_forward", "forward",
                "a softmax at the end of forward: it should return raw scores (CrossEntropyLoss applies the "
                "softmax)"),
        Mistake("lstm.ignores_state", "forward",
                "the given hprev and cprev not passed to the LSTM, which starts from zeros on every call"),
        Mistake("lstm.nll_on_raw_scores", "criterion",
                "nn.NLLLoss on raw scores (it expects log-probabilities): use nn.CrossEntropyLoss"),
        Mistake("lstm.mse", "criterion", "nn.MSELoss between the scores and the class indices instead of "
                                         "nn.CrossEntropyLoss"),
        Mistake("lstm.summed_loss", "criterion",
                "the cross-entropy summed over the sequence (reduction='sum') instead of averaged"),
        Mistake("lstm.state_swapped", "loop", "hprev and cprev swapped: hprev is hc[0] (h), cprev is hc[1] (c)"),
        Mistake("lstm.state_reset", "loop", "the state reset to zeros every iteration instead of carried over"),
        Mistake("lstm.state_not_detached", "loop",
                "the carried state not detached, so backward reaches into the previous sequence's graph"),
        Mistake("lstm.whole_tuple", "loop", "the whole pair hc assigned to hprev instead of hc[0]"),
        Mistake("lstm.both_h", "loop", "hprev and cprev both set to h: cprev is the cell state hc[1]"),
    ),
)
