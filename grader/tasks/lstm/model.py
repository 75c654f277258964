"""Checks of task 3's model, the PyTorch character LSTM: __init__'s layers, forward's values, autograd's
gradients, and the criterion."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.compare import check_close, check_shape
from grader.context import Context, reference
from grader.errors import Mismatch
from grader.examples import explained
from grader.registry import Param, check
from grader.tasks.lstm import TASK
from grader.tasks.lstm.cases import LstmCase, lstm_cases, sizes
from grader.tasks.lstm.kernel import torch_in_grader
from grader.tasks.lstm.layout import GATE_ORDERS, Reading, Structure, match, output_layer, readings, run

OWN_MODEL = ("_charLSTM",)  # checks that build their own model skip the script's


@check("lstm.init", task=TASK, params={"examples": Param(10, 1)}, calls=("__init__",))
def init(ctx: Context) -> str:
    """_charLSTM() builds one LSTM layer and a linear layer back to the vocabulary."""
    worker, cell = ctx.worker(skip=OWN_MODEL), reference("lstm_cell")

    def probe(nh: tuple[int, int]) -> None:
        n, h = nh
        with explained(f"vocabulary n={n}, hidden size h={h}"):
            built = worker.call("lstm.build", n=n, h=h, seed=ctx.rubric.seed)
            shapes = {k: v.shape for k, v in built["parameters"].items()}
            total = sum(int(np.prod(s)) for s in shapes.values())
            output = cell.output_count(n, h)
            allowed = {cell.weight_count(n, h, 2) + output, cell.weight_count(n, h, 1) + output}
            if total not in allowed or output_layer(built, n, h) is None:
                raise Mismatch(_count_problem(shapes, total, n, h))

    ctx.search(sizes, probe)
    return "one LSTM layer (4h(n+h+2) or 4h(n+h+1) weights) and a linear layer of n(h+1) weights"


def _count_problem(shapes: dict[str, tuple[int, ...]], total: int, n: int, h: int) -> str:
    cell = reference("lstm_cell")
    two, one, out = cell.weight_count(n, h, 2), cell.weight_count(n, h, 1), cell.output_count(n, h)
    found = ", ".join(f"{k} {tuple(s)}" for k, s in shapes.items()) or "no parameters"
    return (f"not one LSTM layer and one linear layer: found {total} weights ({found}); expected "
            f"4h(n+h+2) + n(h+1) = {two} + {out} = {two + out} (nn.LSTM's two bias vectors) or "
            f"4h(n+h+1) + n(h+1) = {one + out} (one bias per gate)")


@check("lstm.forward", task=TASK, params={"examples": Param(15, 1), "rtol": Param(1e-4), "atol": Param(1e-5)},
       calls=("__init__", "forward"))
def forward(ctx: Context) -> str:
    """forward returns an LSTM's scores and last (h, c), computed with the student's own weights."""
    worker, (rtol, atol) = ctx.worker(skip=OWN_MODEL), ctx.tolerances()
    last: list[tuple[int, str]] = []  # the reading and order that matched the last input: tried first

    def probe(case: LstmCase) -> None:
        with explained(case.describe()):
            built = worker.call("lstm.build", n=case.n, h=case.h, seed=case.seed)
            got = worker.call("lstm.forward", **case.request())
            T = len(case.inputs)
            check_shape("forward's output", got["output"], (T, case.n))
            for key, name in (("h", "forward's hc[0] (h)"), ("c", "forward's hc[1] (c)")):
                if got[key].size != case.h:  # (1, 1, h) as nn.LSTM gives it; (1, h) or (h,) work as well
                    check_shape(name, got[key], (1, 1, case.h))
            last[:] = [_same_as_an_lstm(built, case, got, rtol, atol, last[0] if last else None)]

    ctx.search(lstm_cases(), probe)
    return f"output and (h, c) equal an LSTM with your weights on {ctx.param('examples')} random sequences"


def _same_as_an_lstm(built: Structure, case: LstmCase, got: dict[str, Any], rtol: float, atol: float,
                     prefer: tuple[int, str] | None = None) -> tuple[int, str]:
    """The index of the reading of the student's weights and the gate order in which the reference
    LSTM gives what forward gave; a Mismatch naming the closest one when there is none."""
    found = readings(built, case.n, case.h)
    if not found:
        names = ", ".join(f"{k} {v.shape}" for k, v in built["parameters"].items())
        raise Mismatch(f"could not read your weights as one LSTM layer and a linear layer ({names})")
    matched = match(found, built["parameters"], case.onehot(), case.h0, case.c0, got, rtol, atol, prefer=prefer)
    if matched is not None:
        return found.index(matched[0]), matched[1]

    def expected(reading_order: tuple[Reading, str]) -> dict[str, np.ndarray]:
        reading, order = reading_order
        return run(reading.assemble(built["parameters"]), case.onehot(), case.h0, case.c0, order)

    closest = expected(min(itertools.product(found, GATE_ORDERS),
                           key=lambda ro: float(np.abs(got["output"] - expected(ro)["output"]).max())))
    try:
        check_close("forward's output", got["output"], closest["output"], rtol, atol)
        check_close("forward's hc[0] (h)", got["h"].reshape(-1), closest["h"], rtol, atol)
        check_close("forward's hc[1] (c)", got["c"].reshape(-1), closest["c"], rtol, atol)
    except Mismatch as e:
        raise Mismatch(f"{e} (compared with an LSTM using your weights, in every gate order)") from None
    raise Mismatch("forward's values differ from an LSTM's with your weights")


@check("lstm.gradcheck", task=TASK, params={"examples": Param(4, 1), "rtol": Param(1e-4), "atol": Param(1e-5)},
       calls=("__init__", "forward"))
def gradcheck(ctx: Context) -> str:
    """Autograd's gradients in the model as built equal the reference LSTM's for every parameter."""
    worker, (rtol, atol) = ctx.worker(skip=OWN_MODEL), ctx.tolerances()
    last: list[tuple[int, str]] = []  # the reading and order that matched the last input: tried first

    def probe(case: LstmCase) -> None:
        with explained(case.describe()):
            built = worker.call("lstm.build", n=case.n, h=case.h, seed=case.seed)
            rng = np.random.default_rng(case.seed + 1)
            weights: dict[str, Any] = {"w_output": rng.normal(size=(len(case.inputs), case.n)),
                                       "w_h": rng.normal(size=case.h), "w_c": rng.normal(size=case.h)}
            got = worker.call("lstm.gradients", **case.request(), **weights)
            found = readings(built, case.n, case.h)
            matched = match(found, built["parameters"], case.onehot(), case.h0, case.c0, got, rtol, atol,
                            prefer=last[0] if last else None)
            if matched is None:
                raise Mismatch("forward does not compute an LSTM of your weights (lstm.forward says where it "
                               "differs), so its gradients cannot be an LSTM's")
            last[:] = [(found.index(matched[0]), matched[1])]
            expected = _reference_gradients(*matched, built["parameters"], case, weights)
            for name, value in built["parameters"].items():
                _same_gradient(name, got["gradients"].get(name), expected.get(name, np.zeros_like(value)),
                               rtol, atol)

    ctx.search(lstm_cases(max_steps=4), probe)
    return (f"autograd's gradients equal an LSTM's for every parameter on {ctx.param('examples')} "
            "random sequences")


def _reference_gradients(reading: Reading, order: str, parameters: dict[str, np.ndarray], case: LstmCase,
                         weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradients of the weighted sum of the reference LSTM's values, for each student parameter."""
    torch = torch_in_grader()

    leaves = {k: torch.tensor(parameters[k], dtype=torch.float64, requires_grad=True) for k in reading.names}
    ours = run(reading.assemble(leaves, cat=torch.cat), torch.tensor(case.onehot()), torch.tensor(case.h0),
               torch.tensor(case.c0), order, lib=torch)
    value = sum((torch.tensor(weights[w]) * ours[k]).sum()
                for w, k in (("w_output", "output"), ("w_h", "h"), ("w_c", "c")))
    value.backward()
    return {k: t.grad.numpy() for k, t in leaves.items() if t.grad is not None}


def _same_gradient(name: str, got: np.ndarray | None, expected: np.ndarray, rtol: float, atol: float) -> None:
    detached = (f"parameter {name} gets {{}} gradient where an LSTM's is not zero: is it unused, or is part "
                "of forward detached (.detach(), .data, .numpy())?")
    if got is None or not np.any(got):
        if np.any(expected):
            raise Mismatch(detached.format("no" if got is None else "a zero"))
        return
    check_close(f"the gradient of {name}", got, expected, rtol, atol)


@check("lstm.criterion", task=TASK, params={"examples": Param(20, 1), "rtol": Param(1e-5), "atol": Param(1e-6)},
       calls=("criterion",))
def criterion(ctx: Context) -> str:
    """criterion(scores, targets) is the mean cross-entropy of raw scores."""
    worker, cell = ctx.worker(skip=OWN_MODEL), reference("lstm_cell")
    rtol, atol = ctx.param("rtol"), ctx.param("atol")

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
        n, T = draw(st.integers(2, 8), label="n"), draw(st.integers(1, 6), label="seq_len")
        targets = np.array(draw(st.lists(st.integers(0, n - 1), min_size=T, max_size=T), label="targets"))
        scores = np.random.default_rng(draw(st.integers(0, 2**31 - 1), label="values")).normal(0, 2, (T, n))
        return scores.astype(np.float32).astype(np.float64), targets

    def probe(case: tuple[np.ndarray, np.ndarray]) -> None:
        scores, targets = case
        with explained(f"scores of shape {scores.shape}, targets {targets.tolist()}"):
            got = worker.call("lstm.criterion", scores=scores, targets=targets)["value"]
            expected = cell.cross_entropy(scores, targets)
            check_close("criterion(scores, targets), the mean cross-entropy of raw scores,", got, expected, rtol, atol)

    ctx.search(cases(), probe)
    return "criterion is the mean cross-entropy of raw scores"


