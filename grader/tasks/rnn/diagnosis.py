"""The known mistakes of task 2 recognised: lossFun run beside mutants of the lab's hidden-state line."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.context import Context, reference
from grader.mistakes import diagnoser
from grader.tasks.rnn import PARAMETERS, TASK
from grader.tasks.rnn.checks import RnnCase, parameters


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


MUTANTS = {
    "rnn.sigmoid": lambda x, h, Wxh, Whh, bh, h0: _sigmoid(Wxh @ x + Whh @ h + bh),
    "rnn.relu": lambda x, h, Wxh, Whh, bh, h0: np.maximum(0.0, Wxh @ x + Whh @ h + bh),
    "rnn.no_activation": lambda x, h, Wxh, Whh, bh, h0: Wxh @ x + Whh @ h + bh,
    "rnn.double_tanh": lambda x, h, Wxh, Whh, bh, h0: np.tanh(np.tanh(Wxh @ x + Whh @ h + bh)),
    "rnn.whh_transposed": lambda x, h, Wxh, Whh, bh, h0: np.tanh(Wxh @ x + Whh.T @ h + bh),
    "rnn.missing_bias": lambda x, h, Wxh, Whh, bh, h0: np.tanh(Wxh @ x + Whh @ h),
    "rnn.no_recurrence": lambda x, h, Wxh, Whh, bh, h0: np.tanh(Wxh @ x + Whh @ h0 + bh),
    "rnn.missing_recurrence": lambda x, h, Wxh, Whh, bh, h0: np.tanh(Wxh @ x + bh),
    "rnn.bias_outside_tanh": lambda x, h, Wxh, Whh, bh, h0: np.tanh(Wxh @ x + Whh @ h) + bh,
    "rnn.missing_input": lambda x, h, Wxh, Whh, bh, h0: np.tanh(Whh @ h + bh),
}
"""The hidden-state line as the catalog's mistakes write it (reference/rnn.py's hidden_step's
arguments: x, hs[t-1], Wxh, Whh, bh and lossFun's hprev)."""


def diagnostic_cases() -> list[RnnCase]:
    """Two sequences on which every mutant's loss and last state differ from the others'."""
    cases = []
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        n, h = 5, 4
        cases.append(RnnCase(n, h, (0, 3, 1, 4, 2, 1), (3, 1, 4, 2, 1, 0), parameters(rng, n, h, 0.5),
                             rng.normal(0.0, 0.5, (h, 1))))
    return cases


@diagnoser(TASK, "lossFun")
def diagnose(ctx: Context) -> str | None:
    """The mutant of the hidden-state line whose lossFun gives the student's loss and last state."""
    worker, ref = ctx.worker(), reference("rnn")
    cases = diagnostic_cases()
    answers = [worker.call("rnn.loss", **case.request()) for case in cases]

    def gives_the_answers(step: Any) -> bool:
        for case, got in zip(cases, answers, strict=True):
            with np.errstate(all="ignore"):
                loss, h = ref.forward(list(case.inputs), list(case.targets), case.hprev,
                                      *(case.params[p] for p in PARAMETERS), step=step)
            if not (_close(got["loss"], loss, ctx) and _close(got["h"], h, ctx)):
                return False
        return True

    if gives_the_answers(ref.hidden_step):
        return None
    found = [mistake for mistake, step in MUTANTS.items() if gives_the_answers(step)]
    return found[0] if len(found) == 1 else None


def _close(got: Any, expected: Any, ctx: Context) -> bool:
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.size == expected.size and bool(np.allclose(got.reshape(-1), expected.reshape(-1),
                                                          rtol=ctx.param("rtol"), atol=ctx.param("atol")))
