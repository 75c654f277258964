"""The known mistakes of task 3 recognised, part by part on fixed inputs: the student's model, forward,
criterion and loop run beside what the catalog's mutants would give."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from grader.context import Context, reference
from grader.errors import StudentException
from grader.mistakes import diagnoser
from grader.tasks.lstm import TASK
from grader.tasks.lstm.cases import DIAGNOSTIC_SIZES, diagnostic_case
from grader.tasks.lstm.layout import match, readings, run
from grader.tasks.lstm.model import OWN_MODEL
from grader.tasks.lstm.training import given_state, matched_order, start_of


@diagnoser(TASK, "__init__")
def diagnose_init(ctx: Context) -> str | None:
    """Built at fixed sizes, the model has the weight count of a mutant's layers, or raises what a
    module without super().__init__() raises."""
    worker, cell = ctx.worker(skip=OWN_MODEL), reference("lstm_cell")
    n, h = DIAGNOSTIC_SIZES
    try:
        built = worker.call("lstm.build", n=n, h=h, seed=ctx.rubric.seed)
    except StudentException as e:
        return "lstm.super_init_missing" if _unregistered_layer_error() in str(e) else None
    total = sum(int(np.prod(v.shape)) for v in built["parameters"].values())
    out = cell.output_count(n, h)
    mutants = {"lstm.two_layers": {cell.weight_count(n, h, b) + cell.weight_count(h, h, b) + out for b in (1, 2)},
               "lstm.no_output_layer": {cell.weight_count(n, size, b) for size in (n, h) for b in (1, 2)}}
    return next((mistake for mistake, counts in mutants.items() if total in counts), None)


@functools.cache
def _unregistered_layer_error() -> str:
    """What PyTorch raises when __init__ assigns a layer before calling super().__init__()."""
    import torch

    class Unregistered(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:  # the mutant: no super().__init__()
            self.layer = torch.nn.Linear(1, 1)

    try:
        Unregistered()
    except AttributeError as e:
        return str(e)
    raise AssertionError("PyTorch accepted a module without super().__init__()")


@diagnoser(TASK, "forward")
def diagnose_forward(ctx: Context) -> str | None:
    """forward's values are an LSTM's with the student's weights followed by a softmax, or from a
    zero state instead of the given one."""
    worker, case = ctx.worker(skip=OWN_MODEL), diagnostic_case()
    built = worker.call("lstm.build", n=case.n, h=case.h, seed=case.seed)
    got = worker.call("lstm.forward", **case.request())
    found, x, tolerances = readings(built, case.n, case.h), case.onehot(), (ctx.param("rtol"), ctx.param("atol"))
    if not found or match(found, built["parameters"], x, case.h0, case.c0, got, *tolerances):
        return None
    zeros = np.zeros(case.h)
    if match(found, built["parameters"], x, case.h0, case.c0, got, *tolerances, then=_softmax_after):
        return "lstm.softmax_in_forward"
    if match(found, built["parameters"], x, zeros, zeros, got, *tolerances):
        return "lstm.ignores_state"
    return None


def _softmax_after(values: dict[str, Any]) -> dict[str, Any]:
    scores = values["output"]
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return {**values, "output": e / e.sum(axis=1, keepdims=True)}


CRITERION_MUTANTS = {
    "lstm.nll_on_raw_scores": lambda s, t: -s[np.arange(len(t)), t].mean(),
    "lstm.summed_loss": lambda s, t: reference("lstm_cell").cross_entropy(s, t) * len(t),
    "lstm.mse": lambda s, t: np.mean((s - t) ** 2),  # scores (T, n) minus indices (T,): T = n or 1 broadcasts
}


@diagnoser(TASK, "criterion")
def diagnose_criterion(ctx: Context) -> str | None:
    """criterion's values on fixed scores are a mutant's loss instead of the mean cross-entropy."""
    worker, rng = ctx.worker(skip=OWN_MODEL), np.random.default_rng(3)
    cases = [(rng.normal(0, 2, (T, n)).astype(np.float32).astype(np.float64), rng.integers(0, n, T))
             for T, n in ((1, 5), (4, 4), (4, 4))]
    got = [worker.call("lstm.criterion", scores=s, targets=t)["value"] for s, t in cases]

    def gives(loss: Any) -> bool:
        return all(np.isclose(g, loss(s, t), rtol=ctx.param("rtol"), atol=ctx.param("atol"))
                   for g, (s, t) in zip(got, cases, strict=True))

    if gives(reference("lstm_cell").cross_entropy):
        return None
    return next((mistake for mistake, loss in CRITERION_MUTANTS.items() if gives(loss)), None)


@diagnoser(TASK, "loop")
def diagnose_loop(ctx: Context) -> str | None:
    """After the loop's first iterations, hprev and cprev hold what a mutant of the carry-over holds."""
    rtol, atol = ctx.param("rtol"), ctx.param("atol")
    worker = ctx.worker()
    start = start_of(ctx, worker)
    try:
        records = worker.call("lstm.train", iterations=2, want=["state"], parameters=start.weights)["records"]
    except StudentException:  # the iteration that raised is recorded too
        records = worker.call("lstm.trained")["records"]
    if not records:
        return None
    first = given_state(0, records[0], start.h)
    reading, order = matched_order(start, [first], rtol, atol)
    expected = run(reading.assemble(first["parameters"]), first["x"], first["h"], first["c"], order)
    carried = _carried_as(first["carried"], expected["h"], expected["c"], rtol, atol)
    if carried != "right":
        return carried
    if any(state["graph"] for state in first["carried"]):
        return "lstm.state_not_detached"
    following = records[1] if len(records) > 1 else {}
    given = following.get("args") or []
    if len(given) >= 3 and given[1] is not None and given[2] is not None and not np.any(given[1]) \
            and not np.any(given[2]):
        return "lstm.state_reset"
    return None


def _carried_as(carried: list[dict[str, Any]], h: np.ndarray, c: np.ndarray, rtol: float,
                atol: float) -> str | None:
    """How the loop carried the last (h, c): "right", the id of the mutant it matches, or None."""
    def holds(state: dict[str, Any], want: np.ndarray) -> bool:
        value = state.get("value")
        return (state["kind"] == "Tensor" and value is not None and value.size == want.size
                and bool(np.allclose(value.reshape(-1), want, rtol=rtol, atol=atol)))

    hprev, cprev = carried
    if len(hprev.get("items", [])) == 2 and all(map(holds, hprev["items"], (h, c))):
        return "lstm.whole_tuple"
    zeros = np.zeros_like(h)
    ways = {"right": (h, c), "lstm.state_swapped": (c, h), "lstm.both_h": (h, h), "lstm.state_reset": (zeros, zeros)}
    return next((way for way, (a, b) in ways.items() if holds(hprev, a) and holds(cprev, b)), None)
