"""Checks of task 2, the NumPy character RNN: forward values, gradients, weights, training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import Param, check
from grader.checks.context import Context, reference
from grader.compare import centred_differences, check_close, check_gradient, check_training
from grader.errors import Mismatch
from grader.examples import explained

PARAMETERS = ("Wxh", "Whh", "Why", "bh", "by")
HIDDEN_PARAMETERS = ("Wxh", "Whh", "bh")
CLIP = 5.0


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


def _parameters(rng: np.random.Generator, n: int, h: int, scale: float) -> dict[str, np.ndarray]:
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
    params = _parameters(rng, n, h, 0.5)
    return RnnCase(n, h, tuple(inputs), tuple(targets), params, rng.normal(0.0, 0.5, (h, 1)))


@check("rnn.forward", task="task2",
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


@check("rnn.gradcheck", task="task2",
       params={"examples": Param(8, 1), "epsilon": Param(1e-5, 1e-12, 1.0),
               "rtol": Param(1e-5), "atol": Param(1e-7)})
def gradcheck(ctx: Context) -> str:
    """lossFun's gradients equal centred finite differences of its own loss (float64)."""
    worker = ctx.worker()
    epsilon, rtol, atol = ctx.param("epsilon"), ctx.param("rtol"), ctx.param("atol")

    def probe(case: RnnCase) -> None:
        with explained(case.describe()):
            got = worker.call("rnn.loss", **case.request())
            nudges = [(p, i, s * epsilon) for p in PARAMETERS for i in range(case.params[p].size)
                      for s in (1, -1)]
            values = worker.call("rnn.perturbed", nudges=nudges, want="loss", **case.request())["values"]
            numeric = centred_differences(values[0::2], values[1::2], epsilon)
            start = 0
            for p in PARAMETERS:
                size = case.params[p].size
                analytic = got["grads"][f"d{p}"]
                clipped = np.abs(analytic) >= CLIP - 1e-12  # the course clips gradients to [-5, 5]
                check_gradient(f"d{p}", analytic, numeric[start:start + size].reshape(case.params[p].shape),
                               rtol, atol, skip=clipped, source="lossFun")
                start += size

    ctx.search(rnn_cases(max_n=5, max_h=5, max_steps=4), probe)
    return (f"gradients agree with finite differences of the loss on {ctx.param('examples')} "
            "random sequences")


@check("rnn.weights", task="task2", params={"examples": Param(12, 1)})
def weights(ctx: Context) -> str:
    """The hidden state depends on exactly the h(n+h+1) weights of Wxh, Whh and bh."""
    worker, ref = ctx.worker(), reference("rnn")

    def probe(case: RnnCase) -> None:
        with explained(case.describe()):
            used = _weights_used(worker, case)
            expected = ref.weight_count(case.n, case.h)
            found = sum(used[p] for p in PARAMETERS)
            right = all(used[p] == case.params[p].size for p in HIDDEN_PARAMETERS)
            if found != expected or not right:
                counts = ", ".join(f"{p} {used[p]}/{case.params[p].size}" for p in PARAMETERS)
                raise Mismatch(f"the hidden state depends on {found} weights, expected "
                               f"h(n+h+1) = {case.h}*({case.n}+{case.h}+1) = {expected}, all of Wxh, "
                               f"Whh and bh and none of Why and by; it depends on {counts}")

    ctx.search(rnn_cases(max_n=5, max_h=5, every_character=True), probe)
    return "the hidden state depends on exactly the h(n+h+1) weights of Wxh, Whh and bh"


def _weights_used(worker: Any, case: RnnCase, points: int = 3, delta: float = 1e-2) -> dict[str, int]:
    """How many entries of each parameter change the last hidden state, at any of a few points."""
    rng = np.random.default_rng(len(case.inputs) * 7919 + case.h)
    used = {p: np.zeros(case.params[p].size, dtype=bool) for p in PARAMETERS}
    for k in range(points):
        params = case.params if k == 0 else _parameters(rng, case.n, case.h, 0.5)
        nudges = [("Wxh", 0, 0.0)] + [(p, i, delta) for p in PARAMETERS for i in range(params[p].size)]
        request = {**case.request(), "params": params}
        states = worker.call("rnn.perturbed", nudges=nudges, want="h", **request)["values"]
        moved = np.abs(states[1:] - states[0]).max(axis=1) > 1e-12 * (1 + np.abs(states[0]).max())
        start = 0
        for p in PARAMETERS:
            used[p] |= moved[start:start + params[p].size]
            start += params[p].size
    return {p: int(u.sum()) for p, u in used.items()}


@check("rnn.loss_decrease", task="task2",
       params={"iterations": Param(300, 20), "margin": Param(0.15, 0.0, 1.0)})
def loss_decrease(ctx: Context) -> str:
    """A bounded run of the student's own training loop lowers the loss by the rubric's margin."""
    iterations, margin = ctx.param("iterations"), ctx.param("margin")
    run = ctx.worker().call("train", iterations=iterations, record=["loss"], calls=["lossFun"])
    return check_training(run["record"]["loss"], iterations, margin, "the loss")
