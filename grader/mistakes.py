"""The catalog of known mistakes: a stable id for each, what the student did in their words, and
the diagnosers that recognise them by running the student's code beside mutants of the reference.

A leaf module, like the registry: the checks modules register a diagnoser for each part of a task
(the student's function a mistake lives in), and the pipeline asks the parts a failed check
reaches, in order, for the first mistake that matches. The ids are a public contract (README,
"Known mistakes").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from grader.registry import EVERYTHING, REGISTRY

if TYPE_CHECKING:
    from grader.checks.context import Context


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its id, the part of the task it lives in, and what the student did."""

    id: str
    part: str
    words: str


PARTS = {"task2": ("lossFun",), "task3": ("__init__", "forward", "criterion", "loop"), "answers": ("q2",)}
"""Each task's parts in the order a failed check asks them: the student's functions, then the
training loop. A check reaches the parts it calls (REGISTRY[id].calls), or all of them. Part 1's
answers have no diagnoser: their check names the slip a wrong count shows (checks.answers)."""

CATALOG = {m.id: m for m in (
    Mistake("rnn.sigmoid", "lossFun", "a sigmoid instead of np.tanh in the hidden-state line"),
    Mistake("rnn.relu", "lossFun", "a ReLU (np.maximum(0, ...)) instead of np.tanh in the hidden-state line"),
    Mistake("rnn.no_activation", "lossFun", "no activation: the hidden state is Wxh x + Whh h + bh, without np.tanh"),
    Mistake("rnn.double_tanh", "lossFun", "np.tanh applied twice in the hidden-state line"),
    Mistake("rnn.whh_transposed", "lossFun", "Whh.T (or hs[t-1].T @ Whh) instead of Whh @ hs[t-1]"),
    Mistake("rnn.missing_bias", "lossFun", "the hidden bias bh left out of the hidden-state line"),
    Mistake("rnn.no_recurrence", "lossFun", "hprev used at every step instead of the previous step's hs[t-1]"),
    Mistake("rnn.missing_recurrence", "lossFun", "the recurrent term Whh @ hs[t-1] left out"),
    Mistake("rnn.bias_outside_tanh", "lossFun", "bh added after np.tanh instead of inside it"),
    Mistake("rnn.missing_input", "lossFun", "the input term Wxh @ xs[t] left out"),
    Mistake("lstm.two_layers", "__init__", "two LSTM layers (num_layers=2) where the lab asks for one"),
    Mistake("lstm.no_output_layer", "__init__",
            "no linear layer from the hidden units back to the vocabulary's scores"),
    Mistake("lstm.super_init_missing", "__init__",
            "super().__init__() missing from __init__, so PyTorch cannot register the layers"),
    Mistake("lstm.softmax_in_forward", "forward",
            "a softmax at the end of forward: it should return raw scores (CrossEntropyLoss applies the softmax)"),
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
    Mistake("answers.no_bias", "q2", "the biases left out of the count: every hidden unit (in an LSTM, every "
                                     "gate's unit) has one"),
    Mistake("answers.output_layer_counted", "q2",
            "an output layer counted: the question's networks have none (the output comes straight from the "
            "RNN or LSTM)"),
    Mistake("answers.missing_factor_4", "q2",
            "the LSTM counted like one gate: each of its four gates (input, forget, cell, output) has that many "
            "weights, so the count needs the factor 4"),
    Mistake("answers.missing_recurrent", "q2",
            "the recurrent weights (h by h, the h² term) left out of the count"),
    Mistake("answers.swapped", "q2", "the RNN's and the LSTM's counts swapped"),
)}

Diagnoser = Callable[["Context"], "str | None"]
"""Runs the student's part beside its mutants; returns the id of the one that matches, or None."""

DIAGNOSERS: dict[tuple[str, str], Diagnoser] = {}


def diagnoser(task: str, part: str) -> Callable[[Diagnoser], Diagnoser]:
    """Register `function` as the diagnoser of one part of a task; a part has one."""

    def register(function: Diagnoser) -> Diagnoser:
        if part not in PARTS[task] or (task, part) in DIAGNOSERS:
            raise ValueError(f"{task} has no part {part!r}, or it already has a diagnoser")
        DIAGNOSERS[(task, part)] = function
        return function

    return register


def parts_reached(check_id: str) -> tuple[str, ...]:
    """The parts of its task a check runs, in the order their mistakes are looked for."""
    spec = REGISTRY[check_id]
    return tuple(p for p in PARTS[spec.task] if EVERYTHING in spec.calls or p in spec.calls)


def describe(mistake_id: str) -> str:
    """The sentence a report adds to a failed check's message."""
    return f"most likely: {CATALOG[mistake_id].words} [{mistake_id}]"
