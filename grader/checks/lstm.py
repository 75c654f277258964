"""Checks of task 3, the PyTorch character LSTM: init, forward, gradients, criterion, training."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.checks import Param, check
from grader.checks.context import Context, reference
from grader.compare import centred_differences, check_close, check_gradient, check_shape, check_training
from grader.errors import Mismatch, StudentException
from grader.examples import explained

OWN_MODEL = ("_charLSTM",)  # checks that build their own model skip the script's
GATE_ORDERS = ["".join(p) for p in itertools.permutations("ifgo")]


@dataclass(frozen=True)
class LstmCase:
    """Sizes, a one-hot sequence and a non-zero initial state for forward(input, hprev, cprev, T)."""

    n: int
    h: int
    inputs: tuple[int, ...]
    h0: np.ndarray
    c0: np.ndarray
    seed: int

    def describe(self) -> str:
        return f"vocabulary n={self.n}, hidden size h={self.h}, seq_len {len(self.inputs)}, inputs {list(self.inputs)}"

    def onehot(self) -> np.ndarray:
        return np.eye(self.n)[list(self.inputs)]  # (T, n)

    def request(self) -> dict[str, Any]:
        return {"input": self.onehot(), "h0": self.h0, "c0": self.c0}


def _distinct(nh: tuple[int, int]) -> bool:
    """n, h, n+h and 4h all differ, so that every weight's role shows in its shape."""
    n, h = nh
    return len({n, h, n + h, 4 * h}) == 4


sizes = st.tuples(st.integers(2, 7), st.integers(1, 5)).filter(_distinct)


@st.composite
def lstm_cases(draw: st.DrawFn, max_steps: int = 5) -> LstmCase:
    n, h = draw(sizes, label="(n, h)")
    inputs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=max_steps), label="inputs")
    seed = draw(st.integers(0, 2**31 - 1), label="values")
    rng = np.random.default_rng(seed)
    return LstmCase(n, h, tuple(inputs), rng.normal(0, 0.5, h), rng.normal(0, 0.5, h), seed)


@check("lstm.init", task="task3", params={"examples": Param(10, 1)})
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
            if total not in allowed or _output_layer(built, n, h) is None:
                raise Mismatch(_count_problem(shapes, total, n, h))

    ctx.search(sizes, probe)
    return "one LSTM layer (4h(n+h+2) or 4h(n+h+1) weights) and a linear layer of n(h+1) weights"


def _count_problem(shapes: dict[str, tuple[int, ...]], total: int, n: int, h: int) -> str:
    cell = reference("lstm_cell")
    two, one, out = cell.weight_count(n, h, 2), cell.weight_count(n, h, 1), cell.output_count(n, h)
    found = ", ".join(f"{k} {tuple(s)}" for k, s in shapes.items()) or "no parameters"
    if not any(s in ((n, h), (h, n)) for s in shapes.values()):
        why = f"no output layer from the h={h} hidden units back to the n={n} scores"
    elif total in (two + cell.weight_count(h, h, 2) + out, one + cell.weight_count(h, h, 1) + out):
        why = "two LSTM layers"
    else:
        why = "not one LSTM layer and one linear layer"
    return (f"{why}: found {total} weights ({found}); expected 4h(n+h+2) + n(h+1) = {two} + {out} = {two + out} "
            f"(nn.LSTM's two bias vectors) or 4h(n+h+1) + n(h+1) = {one + out} (one bias per gate)")


@check("lstm.forward", task="task3", params={"examples": Param(15, 1), "rtol": Param(1e-4), "atol": Param(1e-5)})
def forward(ctx: Context) -> str:
    """forward returns an LSTM's scores and last (h, c), computed with the student's own weights."""
    worker = ctx.worker(skip=OWN_MODEL)
    rtol, atol = ctx.param("rtol"), ctx.param("atol")

    def probe(case: LstmCase) -> None:
        with explained(case.describe()):
            built = worker.call("lstm.build", n=case.n, h=case.h, seed=case.seed)
            got = worker.call("lstm.forward", **case.request())
            T = len(case.inputs)
            check_shape("forward's output", got["output"], (T, case.n))
            check_shape("forward's hc[0] (h)", got["h"], (1, 1, case.h))
            check_shape("forward's hc[1] (c)", got["c"], (1, 1, case.h))
            _same_as_an_lstm(built, case, got, rtol, atol)

    ctx.search(lstm_cases(), probe)
    return f"output and (h, c) equal an LSTM with your weights on {ctx.param('examples')} random sequences"


def _same_as_an_lstm(built: dict[str, Any], case: LstmCase, got: dict[str, Any], rtol: float, atol: float) -> None:
    """Pass if some reading of the student's weights, in some gate order, gives what forward gave."""
    layouts = _layouts(built, case.n, case.h)
    if not layouts:
        names = ", ".join(f"{k} {v.shape}" for k, v in built["parameters"].items())
        raise Mismatch(f"could not read your weights as one LSTM layer and a linear layer ({names})")
    best: tuple[float, Mismatch] | None = None
    for layout, order in itertools.product(layouts, GATE_ORDERS):
        expected = _run(layout, case, order, case.h0, case.c0)
        try:
            check_close("forward's output", got["output"], expected["output"], rtol, atol)
            check_close("forward's hc[0] (h)", got["h"].reshape(-1), expected["h"], rtol, atol)
            check_close("forward's hc[1] (c)", got["c"].reshape(-1), expected["c"], rtol, atol)
            return
        except Mismatch as e:
            error = float(np.abs(got["output"] - expected["output"]).max())
            if best is None or error < best[0]:
                best = (error, e)
    assert best is not None
    raise Mismatch(f"{best[1]} (compared with an LSTM using your weights, in every gate order)"
                   f"{_diagnosis(layouts, case, got, rtol, atol)}")


def _diagnosis(layouts: list[dict[str, np.ndarray]], case: LstmCase, got: dict[str, Any],
               rtol: float, atol: float) -> str:
    output = got["output"]
    if np.all(output >= 0) and np.allclose(output.sum(axis=1), 1.0, atol=1e-4):
        return ": the output rows are probabilities; forward should return raw scores (no softmax)"
    zeros = np.zeros(case.h)
    for layout, order in itertools.product(layouts, GATE_ORDERS):
        if np.allclose(output, _run(layout, case, order, zeros, zeros)["output"], rtol=rtol, atol=atol):
            return ": it matches an LSTM started from zeros, so the given hprev and cprev are ignored"
    return ""


def _run(layout: dict[str, np.ndarray], case: LstmCase, order: str, h0: np.ndarray,
         c0: np.ndarray) -> dict[str, np.ndarray]:
    states, c = reference("lstm_cell").forward(case.onehot(), h0, c0, layout["Wx"], layout["Wh"], layout["b"], order)
    return {"output": states @ layout["Wy"].T + layout["by"], "h": states[-1], "c": c}


def _output_layer(built: dict[str, Any], n: int, h: int) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """The linear layer from h units to n scores: its parameter names, weight (n, h) and bias (n,)."""
    params = built["parameters"]
    for m in built["modules"]:
        a = m["attributes"]
        if a.get("in_features") == h and a.get("out_features") == n:
            weight = params[m["parameters"][0]]
            bias = params[m["parameters"][1]] if len(m["parameters"]) > 1 else np.zeros(n)
            return list(m["parameters"]), weight, bias
    weights = [k for k, v in params.items() if v.shape in ((n, h), (h, n))]
    biases = [k for k, v in params.items() if v.shape == (n,)]
    if len(weights) == 1 and len(biases) <= 1:
        w = params[weights[0]]
        return weights + biases, (w if w.shape == (n, h) else w.T), (params[biases[0]] if biases else np.zeros(n))
    return None


def _layouts(built: dict[str, Any], n: int, h: int) -> list[dict[str, np.ndarray]]:
    """Readings of the student's parameters as an LSTM: stacked gates Wx (4h, n), Wh (4h, h),
    b (4h,), and the output layer Wy (n, h), by (n,). Gate blocks stack in definition order."""
    found = _output_layer(built, n, h)
    if found is None:
        return []
    used, Wy, by = found
    params = built["parameters"]
    weights: dict[str, list[np.ndarray]] = {"x": [], "h": [], "xh": []}
    biases: dict[str, list[np.ndarray]] = {"x": [], "h": [], "xh": [], "": []}
    for m in built["modules"]:
        own = [p for p in m["parameters"] if p not in used]
        if m["type"] in ("LSTM", "LSTMCell") and own:
            if m["attributes"].get("num_layers", 1) != 1:
                return []
            for name in own:
                role = "x" if "weight_ih" in name else "h" if "weight_hh" in name else ""
                (weights[role] if role else biases[""]).append(params[name])
            continue
        role = ""
        for name in own:  # a bias belongs with the weight defined just before it
            value = params[name]
            if value.ndim == 2 and (filed := _oriented(value, n, h)):
                role = filed[0]
                weights[role].append(filed[1])
            elif value.ndim == 1 and value.shape[0] in (h, 4 * h):
                biases[role].append(value)
    stacked = {k: np.concatenate(v) if v else None for k, v in weights.items()}
    bias = _bias(biases, h)
    readings: list[tuple[np.ndarray, np.ndarray]] = []
    if stacked["xh"] is None and stacked["x"] is not None and stacked["h"] is not None:
        readings.append((stacked["x"], stacked["h"]))
    elif stacked["xh"] is not None and stacked["x"] is None and stacked["h"] is None:
        xh = stacked["xh"]
        readings += [(xh[:, :n], xh[:, n:]), (xh[:, h:], xh[:, :h])]  # cat((x, h)) or cat((h, x))
    return [{"Wx": wx, "Wh": wh, "b": bias, "Wy": Wy, "by": by} for wx, wh in readings
            if bias is not None and wx.shape == (4 * h, n) and wh.shape == (4 * h, h)]


def _oriented(value: np.ndarray, n: int, h: int) -> tuple[str, np.ndarray] | None:
    """A gate weight's role (input x, state h, or both) and its value with gate units as rows."""
    roles = {n: "x", h: "h", n + h: "xh"}
    rows, cols = value.shape
    if rows in (h, 4 * h) and cols in roles:
        return roles[cols], value
    if cols in (h, 4 * h) and rows in roles:
        return roles[rows], value.T
    return None


def _bias(biases: dict[str, list[np.ndarray]], h: int) -> np.ndarray | None:
    """All bias vectors summed per gate unit (4h,); per-gate ones stack like their weights."""
    total = np.zeros(4 * h)
    for parts in biases.values():
        whole = [p for p in parts if len(p) == 4 * h]
        gates = [p for p in parts if len(p) == h]
        if len(gates) % 4:
            return None
        total = total + sum(whole, np.zeros(4 * h))
        total = total + sum((np.concatenate(gates[k:k + 4]) for k in range(0, len(gates), 4)), np.zeros(4 * h))
    return total


@check("lstm.gradcheck", task="task3",
       params={"examples": Param(4, 1), "epsilon": Param(1e-6, 1e-12, 1.0), "rtol": Param(1e-5),
               "atol": Param(1e-7), "coordinates": Param(40, 1)})
def gradcheck(ctx: Context) -> str:
    """Autograd's gradients (float64) equal finite differences, and every parameter gets one."""
    worker = ctx.worker(skip=OWN_MODEL)
    epsilon, rtol, atol = ctx.param("epsilon"), ctx.param("rtol"), ctx.param("atol")

    def probe(case: LstmCase) -> None:
        with explained(case.describe()):
            worker.call("lstm.build", n=case.n, h=case.h, seed=case.seed)
            rng = np.random.default_rng(case.seed + 1)
            T = len(case.inputs)
            request = {**case.request(), "w_output": rng.normal(size=(T, case.n)),
                       "w_h": rng.normal(size=case.h), "w_c": rng.normal(size=case.h)}
            got = worker.call("lstm.gradients", **request)
            _every_parameter_learns(got)
            for name, shape in got["shapes"].items():
                size = int(np.prod(shape))
                chosen = np.sort(rng.choice(size, min(size, ctx.param("coordinates")), replace=False))
                nudges = [(name, int(i), s * epsilon) for i in chosen for s in (1, -1)]
                values = worker.call("lstm.nudged", nudges=nudges, **request)["values"]
                numeric = centred_differences(values[0::2], values[1::2], epsilon)
                analytic = got["gradients"][name].reshape(-1)[chosen]
                try:
                    check_gradient(f"the gradient of {name}", analytic, numeric, rtol, atol, source="autograd")
                except Mismatch as e:
                    raise Mismatch(f"{e}: autograd misses part of how the output depends on {name}; "
                                   "is something detached inside forward (.detach(), .data, .numpy())?") from None

    ctx.search(lstm_cases(max_steps=4), probe)
    return (f"gradients agree with finite differences for the input, the initial state and every "
            f"parameter on {ctx.param('examples')} random sequences")


def _every_parameter_learns(got: dict[str, Any]) -> None:
    for name in got["missing"]:
        if name not in ("input", "hprev", "cprev"):
            raise Mismatch(f"parameter {name} gets no gradient: is it unused, or is part of forward "
                           "detached (.detach(), .data, .numpy())?")
    for name, grad in got["gradients"].items():
        if not np.all(np.isfinite(grad)):
            raise Mismatch(f"the gradient of {name} is not finite")
        if name not in ("input", "hprev", "cprev") and not np.any(grad):
            raise Mismatch(f"parameter {name} gets a zero gradient: is it unused, or is part of forward "
                           "detached (.detach(), .data, .numpy())?")


@check("lstm.criterion", task="task3", params={"examples": Param(20, 1), "rtol": Param(1e-5), "atol": Param(1e-6)})
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
            try:
                check_close("criterion(scores, targets)", got, expected, rtol, atol)
            except Mismatch as e:
                raise Mismatch(f"{e}, the mean cross-entropy{_what_instead(got, scores, targets)}") from None

    ctx.search(cases(), probe)
    return "criterion is the mean cross-entropy of raw scores"


def _what_instead(got: float, scores: np.ndarray, targets: np.ndarray) -> str:
    cell = reference("lstm_cell")
    T = len(targets)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    known = {"NLLLoss on raw scores (NLLLoss expects log-probabilities)": -scores[np.arange(T), targets].mean(),
             "the cross-entropy summed instead of averaged": cell.cross_entropy(scores, targets) * T,
             "the cross-entropy of softmax(scores): a softmax too many": cell.cross_entropy(probs, targets)}
    if targets.shape[0] in (1, scores.shape[1]):  # the shapes MSELoss broadcasts
        known["MSELoss between the scores and the class indices"] = np.mean((scores - targets) ** 2)
    for name, value in known.items():
        if np.isclose(got, value, rtol=1e-4, atol=1e-5):
            return f"; what it computed is {name}"
    return ""


@check("lstm.state_carry", task="task3", params={"iterations": Param(5, 2)})
def state_carry(ctx: Context) -> str:
    """The loop carries the last (h, c) of each forward into the next, cut from the graph."""
    iterations = ctx.param("iterations")
    try:
        run = ctx.worker().call("lstm.train", iterations=iterations, want=["state"])
    except StudentException as e:
        if "backward through the graph a second time" in str(e):
            raise Mismatch(f"the training loop failed: {e}; hprev and cprev must be cut from the graph "
                           "(.detach()) before the next iteration") from None
        raise
    for k, record in enumerate(run["records"]):
        _carried_right(k, record)
    done = len(run["records"])
    if done < iterations:
        raise Mismatch(f"the training loop stopped after {done} of {iterations} iterations")
    return f"hprev and cprev carry the last (h, c), detached, over {done} iterations"


def _carried_right(k: int, record: dict[str, Any]) -> None:
    if record["returned"] is None:
        raise Mismatch(f"iteration {k}: the model's forward was not called, or did not return (output, (h, c))")
    h, c = record["returned"]
    where = f"after iteration {k}"
    for name, state, want, other in (("hprev", record["carried"][0], h, c), ("cprev", record["carried"][1], c, h)):
        part = "h" if name == "hprev" else "c"
        if state["kind"] != "Tensor":
            raise Mismatch(f"{where}, {name} is a {state['kind']}, expected the tensor {part} of shape "
                           f"{tuple(want.shape)} (hcprev[{0 if part == 'h' else 1}])")
        value = state["value"]
        if value.shape == want.shape and np.array_equal(value, want):
            if state["graph"]:
                raise Mismatch(f"{where}, {name} still carries the autograd graph of the last sequence: "
                               "detach it")
            continue
        if value.shape == other.shape and np.array_equal(value, other):
            other_part = "c" if part == "h" else "h"
            raise Mismatch(f"{where}, {name} holds the {other_part} that forward returned, not its {part}")
        if not np.any(value):
            raise Mismatch(f"{where}, {name} is all zeros instead of the last {part} forward returned")
        raise Mismatch(f"{where}, {name} is not the last {part} forward returned (shape {value.shape}, "
                       f"expected {tuple(want.shape)})")


@check("lstm.loss_decrease", task="task3",
       params={"iterations": Param(300, 20), "margin": Param(0.10, 0.0, 1.0)})
def loss_decrease(ctx: Context) -> str:
    """The true cross-entropy of the model's predictions falls over a bounded run of the loop."""
    iterations, margin = ctx.param("iterations"), ctx.param("margin")
    cell = reference("lstm_cell")
    run = ctx.worker().call("lstm.train", iterations=iterations, want=["scores"])
    losses = []
    for k, r in enumerate(run["records"]):
        scores, targets = r["output"], r["targets"].astype(int)
        if scores.ndim != 2 or targets.shape != (scores.shape[0],) or targets.max(initial=0) >= scores.shape[1]:
            raise Mismatch(f"iteration {k}: output has shape {scores.shape} for targets of shape {targets.shape}; "
                           "expected (seq_length, vocab_size) scores")
        losses.append(cell.cross_entropy(scores, targets))
    return check_training(np.asarray(losses), iterations, margin,
                          "the cross-entropy of your model's predictions (computed by the grader)")
