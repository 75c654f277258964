"""Checks of task 2, the NumPy character RNN: its cases, and forward values, gradients, weights, training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

from grader.compare import centred_differences, check_close, check_fall, check_shape, index_text
from grader.context import Context, reference
from grader.errors import Mismatch
from grader.examples import explained
from grader.registry import Param, check
from grader.tasks.course import course_text, sequences
from grader.tasks.rnn import PARAMETERS, TASK


@dataclass(frozen=True)
class RnnCase:
    """One input to lossFun: sizes, a character sequence, parameters and an initial state."""

    n: int
    h: int
    inputs: tuple[int, ...]
    targets: tuple[int, ...]
    params: dict[str, np.ndarray]
    hprev: np.ndarray

    def describe(self) -> str:
        return (f"vocabulary n={self.n}, hidden size h={self.h}, sequence length {len(self.inputs)}, "
                f"inputs {list(self.inputs)}, targets {list(self.targets)}")

    def request(self) -> dict[str, Any]:
        return {"params": self.params, "inputs": list(self.inputs), "targets": list(self.targets),
                "hprev": self.hprev}


def parameters(rng: np.random.Generator, n: int, h: int, scale: float) -> dict[str, np.ndarray]:
    shapes = {"Wxh": (h, n), "Whh": (h, h), "Why": (n, h), "bh": (h, 1), "by": (n, 1)}
    return {name: rng.normal(0.0, scale, shape) for name, shape in shapes.items()}


@st.composite
def rnn_cases(draw: st.DrawFn, max_n: int = 6, max_h: int = 6, max_steps: int = 5,
              every_character: bool = False) -> RnnCase:
    """Sizes and sequences shrink towards small; values come from a seeded generator."""
    n = draw(st.integers(2, max_n), label="n")
    h = draw(st.integers(1, max_h), label="h")
    if every_character:
        inputs = draw(st.permutations(range(n)), label="inputs")
    else:
        inputs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=max_steps), label="inputs")
    targets = draw(st.lists(st.integers(0, n - 1), min_size=len(inputs), max_size=len(inputs)),
                   label="targets")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="values"))
    params = parameters(rng, n, h, 0.5)
    return RnnCase(n, h, tuple(inputs), tuple(targets), params, rng.normal(0.0, 0.5, (h, 1)))


@check("rnn.forward", task=TASK, calls=("lossFun",),
       params={"examples": Param(40, 1), "rtol": Param(1e-7), "atol": Param(1e-9)})
def forward(ctx: Context) -> str:
    """lossFun's loss and last hidden state equal the lab's RNN on random inputs."""
    worker, ref = ctx.worker(), reference("rnn")
    rtol, atol = ctx.param("rtol"), ctx.param("atol")

    def probe(case: RnnCase) -> None:
        with explained(case.describe()):
            got = worker.call("rnn.loss", **case.request())
            loss, h_last = ref.forward(list(case.inputs), list(case.targets), case.hprev,
                                       *(case.params[p] for p in PARAMETERS))
            check_close(f"the last hidden state hs[{len(case.inputs) - 1}]", got["h"], h_last, rtol, atol)
            check_close("the loss", got["loss"], loss, rtol, atol)

    ctx.search(rnn_cases(), probe)
    return f"loss and last hidden state correct on {ctx.param('examples')} random sequences"


@check("rnn.gradcheck", task=TASK, params={"examples": Param(8, 1), "rtol": Param(1e-6), "atol": Param(1e-8)},
       calls=("lossFun",))
def gradcheck(ctx: Context) -> str:
    """lossFun's gradients equal the lab's RNN's gradients for the same weights and inputs."""
    worker, ref = ctx.worker(), reference("rnn")
    rtol, atol = ctx.param("rtol"), ctx.param("atol")

    def probe(case: RnnCase) -> None:
        with explained(case.describe()):
            got = worker.call("rnn.loss", **case.request())
            _, expected, _ = ref.loss_and_gradients(list(case.inputs), list(case.targets), case.hprev,
                                                    *(case.params[p] for p in PARAMETERS))
            for p in PARAMETERS:
                check_close(f"the gradient d{p}", got["grads"][f"d{p}"], expected[f"d{p}"], rtol, atol)

    ctx.search(rnn_cases(max_n=5, max_h=5, max_steps=4), probe)
    return (f"the gradients lossFun returns equal the lab's RNN's on {ctx.param('examples')} "
            "random sequences")


@check("rnn.weights", task=TASK, params={"examples": Param(12, 1), "epsilon": Param(1e-5, 1e-9, 1e-2)},
       calls=("lossFun",))
def weights(ctx: Context) -> str:
    """Every one of the h(n+h+1) weights of Wxh, Whh and bh enters the hidden state in its place."""
    worker = ctx.worker()

    def probe(case: RnnCase) -> None:
        with explained(case.describe()):
            dependence = [_dependence(worker, case, c, ctx.param("epsilon"), ctx.rubric.seed)
                          for c in range(case.n)]
            for c, d in enumerate(dependence):
                if _misfit(d, case) is not None:  # only then nudge each weight alone, to name the one misplaced
                    _in_place(_dependence(worker, case, c, ctx.param("epsilon")), case, c)
            _every_unit_moves(dependence, case, lambda: _dependence(worker, case, 0, ctx.param("epsilon")))

    ctx.search(rnn_cases(max_n=5, max_h=5, max_steps=1), probe)
    return "the hidden state depends on exactly the h(n+h+1) weights of Wxh, Whh and bh, each in its place"


@dataclass(frozen=True)
class Dependence:
    """How the hidden state after one character moves when each weight is nudged (centred
    differences of lossFun's answers), beside how the lab's pre-activation moves."""

    nudged: list[tuple[str, int]]
    moved: np.ndarray
    """(weights, h): change of the student's hidden state per unit of each nudge."""
    expected: np.ndarray
    """(weights, h): change of Wxh x + Whh hprev + bh per unit of each nudge (the lab's line)."""


def _dependence(worker: Any, case: RnnCase, char: int, epsilon: float, seed: int | None = None) -> Dependence:
    """How the hidden state after the character `char` moves: along each weight alone, or (given a
    seed) along a few random directions through all the weights at once, which is far cheaper and
    shows any misplaced weight as well, without naming it."""
    nudged = [(p, i) for p in PARAMETERS for i in range(case.params[p].size)]
    request = {**case.request(), "inputs": [char], "targets": [0]}
    if seed is None:
        directions = np.eye(len(nudged))
        nudges = [(p, i, s * epsilon) for p, i in nudged for s in (1, -1)]
        states = worker.call("rnn.perturbed", nudges=nudges, want="h", **request)["values"]
    else:
        directions = np.random.default_rng([seed, char]).normal(size=(case.h + 3, len(nudged)))
        split = [{p: d[k:k + case.params[p].size].reshape(case.params[p].shape)
                  for p, k in _offsets(case).items()} for d in directions]
        states = worker.call("rnn.moved", directions=split, epsilon=epsilon, **request)["values"]
    if states.ndim != 2 or states.shape[1] != case.h:
        raise Mismatch(f"lossFun's last hidden state has {states.shape[-1] if states.ndim else 0} entries, "
                       f"expected h={case.h}")
    moved = centred_differences(states[0::2], states[1::2], epsilon)
    return Dependence(nudged, moved, directions @ _expected(nudged, case, char))


def _offsets(case: RnnCase) -> dict[str, int]:
    """Where each parameter starts in the flat list of every weight."""
    sizes = [case.params[p].size for p in PARAMETERS]
    return dict(zip(PARAMETERS, np.cumsum([0, *sizes[:-1]]).tolist(), strict=True))


def _expected(nudged: list[tuple[str, int]], case: RnnCase, char: int) -> np.ndarray:
    """(weights, h): how Wxh x + Whh hprev + bh (the lab's line) moves per unit of each weight."""
    expected = np.zeros((len(nudged), case.h))
    for k, (p, i) in enumerate(nudged):
        row, col = np.unravel_index(i, case.params[p].shape)
        if p == "Wxh" and col == char or p == "bh":
            expected[k, row] = 1.0
        elif p == "Whh":
            expected[k, row] = case.hprev[col, 0]
    return expected


def _in_place(d: Dependence, case: RnnCase, char: int) -> None:
    misfit = _misfit(d, case)
    if misfit is not None:
        unit, k, slope = misfit
        raise Mismatch(_misplaced(d, k, unit, slope, case, char))


def _misfit(d: Dependence, case: RnnCase, tolerance: float = 1e-4) -> tuple[int, int, float] | None:
    """The first unit whose change is not one slope (its activation's) times the lab's pre-activation
    change: (unit, the row that differs most, slope); None when every unit's is."""
    for unit in range(case.h):
        a, m = d.expected[:, unit], d.moved[:, unit]
        slope = float(a @ m / (a @ a)) if a @ a else 0.0
        error = np.abs(m - slope * a)
        if error.max() > tolerance * (np.abs(m).max() + np.abs(slope * a).max() + 1e-12):
            return unit, int(np.argmax(error)), slope
    return None


def _misplaced(d: Dependence, k: int, unit: int, slope: float, case: RnnCase, char: int) -> str:
    p, i = d.nudged[k]
    where = f"{p}{index_text(tuple(int(j) for j in np.unravel_index(i, case.params[p].shape)))}"
    if d.expected[k, unit] == 0:
        what = (f"the hidden state's unit {unit} depends on {where}, which the lab's line does not use "
                f"for unit {unit} after the character {char}")
    elif d.moved[k, unit] == 0:
        what = f"the hidden state does not depend on {where}, which the lab's line uses"
    else:
        what = f"{where} enters the hidden state's unit {unit} with a different weight from the lab's line"
    return f"{what}; {_counts(d, case)}"


def _counts(d: Dependence, case: RnnCase) -> str:
    used = {p: 0 for p in PARAMETERS}
    for (p, _), row in zip(d.nudged, d.moved, strict=True):
        used[p] += bool(np.any(np.abs(row) > 1e-9))
    counts = ", ".join(f"{p} {used[p]}/{case.params[p].size}" for p in PARAMETERS)
    return (f"after one character it depends on {counts} weights (the lab's line: h(n+h+1) = "
            f"{case.h}*({case.n}+{case.h}+1) = {reference('rnn').weight_count(case.n, case.h)} weights, "
            "all of Wxh, Whh and bh over the characters, none of Why and by)")


def _every_unit_moves(dependence: list[Dependence], case: RnnCase, each_weight: Callable[[], Dependence]) -> None:
    for unit in range(case.h):
        if all(np.allclose(d.moved[:, unit], 0.0, atol=1e-12) for d in dependence):
            raise Mismatch(f"the hidden state's unit {unit} depends on no weight at all; "
                           f"{_counts(each_weight(), case)}")


@check("rnn.loss_decrease", task=TASK,
       params={"iterations": Param(150, 20), "margin": Param(0.10, 0.0, 1.0), "characters": Param(1000, 50)})
def loss_decrease(ctx: Context) -> str:
    """The weights the student's training loop reaches predict the course text better than its start."""
    worker, ref = ctx.worker(), reference("rnn")
    found = worker.call("names", names=["chars", "hidden_size"])
    text = course_text(ctx, found["chars"])
    h = int(found["hidden_size"])
    if not 1 <= h <= 4096:
        raise Mismatch(f"hidden_size is {h}; expected a number of hidden units from 1 to 4096")
    n = len(found["chars"])
    start = parameters(np.random.default_rng(ctx.rubric.seed), n, h, 0.01)
    run = worker.call("train", iterations=ctx.param("iterations"), set=start, final=list(PARAMETERS),
                      calls=["lossFun"])
    reached = run["final"]
    for p in PARAMETERS:
        check_shape(f"{p} after training", reached[p], start[p].shape)

    def loss(params: dict[str, np.ndarray]) -> float:
        return _text_loss(ref, text.indices(ctx.param("characters")), params)

    return check_fall(loss(start), loss(reached), ctx.param("margin"), run["iterations"],
                      ctx.param("iterations"), text.describe(ctx.param("characters")))


def _text_loss(ref: Any, indices: np.ndarray, params: dict[str, np.ndarray], seq_length: int = 25) -> float:
    """The lab's RNN's cross-entropy per character on a text, in sequences, carrying the state."""
    h = np.zeros((params["Whh"].shape[0], 1))
    total = 0.0
    for inputs, targets in sequences(indices, seq_length):
        loss, h = ref.forward(inputs.tolist(), targets.tolist(), h, *(params[k] for k in PARAMETERS))
        total += loss
    return total / (len(indices) - 1)
