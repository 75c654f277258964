"""Checks of task 3, the PyTorch character LSTM: init, forward, gradients, criterion, training."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from grader.mistakes import diagnoser
from grader.registry import Param, check
from grader.checks.context import Context, reference
from grader.checks.lstm_layout import GATE_ORDERS, Reading, Structure, match, output_layer, readings, run
from grader.checks.text import CourseText, course_text
from grader.compare import check_close, check_fall, check_shape
from grader.errors import Mismatch, StudentException, SubmissionFault
from grader.examples import explained
from grader.sandbox import Worker

OWN_MODEL = ("_charLSTM",)  # checks that build their own model skip the script's


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


sizes = st.tuples(st.integers(2, 7), st.integers(2, 5)).filter(_distinct)
"""h >= 2: at h = 1 a (4h, 1) bias looks like a weight, and squeeze() takes the hidden axis away."""


@st.composite
def lstm_cases(draw: st.DrawFn, max_steps: int = 5) -> LstmCase:
    n, h = draw(sizes, label="(n, h)")
    inputs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=max_steps), label="inputs")
    seed = draw(st.integers(0, 2**31 - 1), label="values")
    rng = np.random.default_rng(seed)
    return LstmCase(n, h, tuple(inputs), rng.normal(0, 0.5, h), rng.normal(0, 0.5, h), seed)


@check("lstm.init", task="task3", params={"examples": Param(10, 1)}, calls=("__init__",))
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


@check("lstm.forward", task="task3", params={"examples": Param(15, 1), "rtol": Param(1e-4), "atol": Param(1e-5)},
       calls=("__init__", "forward"))
def forward(ctx: Context) -> str:
    """forward returns an LSTM's scores and last (h, c), computed with the student's own weights."""
    worker = ctx.worker(skip=OWN_MODEL)
    rtol, atol = ctx.param("rtol"), ctx.param("atol")
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


@check("lstm.gradcheck", task="task3", params={"examples": Param(4, 1), "rtol": Param(1e-4), "atol": Param(1e-5)},
       calls=("__init__", "forward"))
def gradcheck(ctx: Context) -> str:
    """Autograd's gradients in the model as built equal the reference LSTM's for every parameter."""
    worker = ctx.worker(skip=OWN_MODEL)
    rtol, atol = ctx.param("rtol"), ctx.param("atol")
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


def torch_in_grader() -> Any:
    """PyTorch in the grader's own process (the reference's autograd and LSTM kernel), on one thread:
    idle OpenMP threads spin, and would take the CPU from the worker the grader is waiting for."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    return torch


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


@check("lstm.criterion", task="task3", params={"examples": Param(20, 1), "rtol": Param(1e-5), "atol": Param(1e-6)},
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


@dataclass(frozen=True)
class Start:
    """The script's model as the training checks start it: read as an LSTM, with the grader's weights."""

    structure: Structure
    found: list[Reading]
    weights: dict[str, np.ndarray]
    text: CourseText
    h: int


def _start(ctx: Context, worker: Worker) -> Start:
    """Read the script's charLSTM, and choose its starting weights (as nn.LSTM would draw them)."""
    structure = worker.call("lstm.describe")
    names = worker.call("names", names=["chars", "hidden_size"])
    text, h = course_text(ctx, names["chars"]), int(names["hidden_size"])
    found = readings(structure, len(text.chars), h)
    if not found:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in structure["parameters"].items())
        raise Mismatch(f"could not read charLSTM's weights as one LSTM layer and a linear layer for "
                       f"n={len(text.chars)} characters and h={h} hidden units (see lstm.init): {shapes}")
    rng, bound = np.random.default_rng(ctx.rubric.seed), 1 / np.sqrt(h)
    weights = {k: rng.uniform(-bound, bound, v.shape).astype(np.float32).astype(np.float64)
               for k, v in structure["parameters"].items()}
    return Start(structure, found, weights, text, h)


@dataclass(frozen=True)
class Training:
    """One bounded run of the script's own loop from the grader's starting weights, shared by the
    checks that judge training: its first iterations watched, then the rest run."""

    start: Start
    records: list[dict[str, Any]]
    """What each watched iteration's forward was given and returned, and the state it carried."""
    stopped: SubmissionFault | None
    """What ended the watched iterations early (the loop raised), if anything did."""
    reached: dict[str, np.ndarray]
    """The parameters after every iteration run."""
    iterations: int
    failed: SubmissionFault | None
    """What stopped the run after the watched iterations, if anything did."""
    printed: str


WATCHING, TRAINING = "lstm.state_carry", "lstm.loss_decrease"
ORDER = "lstm.training_order"
"""Shared: the reading and gate order of the model in the watched run's first forward call."""


def _training(ctx: Context) -> Training:
    """The run of the loop this submission's training checks judge (the first to ask runs it)."""
    training = ctx.share(TRAINING, lambda: _train(ctx))
    ctx.printed_elsewhere = training.printed
    return training


def _train(ctx: Context) -> Training:
    """The watched iterations (lstm.state_carry's), then on to lstm.loss_decrease's, in one worker;
    each part within its own check's time limit."""
    checks = {c.id: c for c in ctx.rubric.checks if c.id in (WATCHING, TRAINING)}
    watch = int(checks[WATCHING].params["iterations"]) if WATCHING in checks else 0
    total = max(watch, int(checks[TRAINING].params["iterations"]) if TRAINING in checks else 0)
    worker = ctx.worker(timeout=sum(c.timeout for c in checks.values()) + ctx.load_timeout)
    start = _start(ctx, worker)
    records: list[dict[str, Any]] = []
    stopped: StudentException | None = None
    failed: SubmissionFault | None = None
    done = 0
    if watch:
        try:
            ran = worker.call("lstm.train", timeout=checks[WATCHING].timeout, iterations=watch, want=["state"],
                              parameters=start.weights)
            records, done = ran["records"], ran["iterations"]
        except StudentException as e:
            stopped = failed = e
    reached = dict(start.weights)
    if failed is None:
        try:
            ran = worker.call("lstm.train", timeout=checks[TRAINING].timeout if TRAINING in checks else None,
                              iterations=total - done, want=["final"], parameters={} if watch else start.weights)
            reached, done = ran["final"], done + ran["iterations"]
        except SubmissionFault as e:
            failed = e
    return Training(start, records, stopped, reached, done, failed, worker.output())


@check("lstm.state_carry", task="task3", params={"iterations": Param(5, 2), "rtol": Param(1e-4),
                                                 "atol": Param(1e-5)})
def state_carry(ctx: Context) -> str:
    """The loop carries the last (h, c) of each forward into the next, cut from the graph."""
    iterations, rtol, atol = ctx.param("iterations"), ctx.param("rtol"), ctx.param("atol")
    training = _training(ctx)
    if training.stopped is not None:
        if "backward through the graph a second time" in str(training.stopped):
            raise Mismatch(f"the training loop failed: {training.stopped}; hprev and cprev must be cut from the "
                           "graph (.detach()) before the next iteration") from None
        raise training.stopped
    start = training.start
    records = [_given_state(k, r, start.h) for k, r in enumerate(training.records)]
    if records and not all(np.array_equal(records[0]["parameters"][k], v) for k, v in start.weights.items()):
        raise Mismatch("the first forward call of the training loop did not use the model's weights: "
                       "does the loop build a new model?")
    reading, order = ctx.share(ORDER, lambda: _order(start, records, rtol, atol))
    for k, record in enumerate(records):
        expected = run(reading.assemble(record["parameters"]), record["x"], record["h"], record["c"], order)
        _carried_right(k, record, expected, rtol, atol)
        if k + 1 < len(records):
            _started_from_carried(k, record, records[k + 1])
    if len(records) < iterations:
        raise Mismatch(f"the training loop stopped after {len(records)} of {iterations} iterations")
    return (f"hprev and cprev carry the last (h, c) of an LSTM with your weights, detached, over "
            f"{len(records)} iterations")


def _given_state(k: int, record: dict[str, Any], h: int) -> dict[str, Any]:
    """One iteration's forward call as the grader checks it: x (T, n), h and c (h,), and the rest."""
    args = record.get("args") or []
    if len(args) < 3 or any(a is None for a in args[:3]) or record.get("returned") is None:
        raise Mismatch(f"iteration {k}: the model's forward was not called with (input, hprev, cprev, "
                       "seq_len), or did not return (output, (h, c))")
    x, h0, c0 = args[:3]
    if h0.size != h or c0.size != h or x.ndim < 2:
        raise Mismatch(f"iteration {k}: forward was given input {x.shape}, hprev {h0.shape} and cprev "
                       f"{c0.shape}; expected (seq_length, vocab_size) and (1, 1, {h}) twice")
    return {**record, "x": x.reshape(-1, x.shape[-1]), "h": h0.reshape(-1), "c": c0.reshape(-1)}


def _order(start: Start, records: list[dict[str, Any]], rtol: float, atol: float) -> tuple[Reading, str]:
    """The reading and gate order in which the reference reproduces the first forward call."""
    if not records:
        raise Mismatch("the training loop ran no iteration")
    first = records[0]
    returned = {"h": first["returned"][0], "c": first["returned"][1]}
    matched = match(start.found, first["parameters"], first["x"], first["h"], first["c"], returned, rtol, atol)
    if matched is None:
        raise Mismatch("the (h, c) that forward returned in the training loop is not an LSTM's with your "
                       "weights (lstm.forward says where it differs), so the carried state cannot be one")
    return matched


def _carried_right(k: int, record: dict[str, Any], expected: dict[str, np.ndarray], rtol: float,
                   atol: float) -> None:
    """hprev and cprev after iteration k are the reference LSTM's last (h, c), without a graph."""
    h, c = expected["h"], expected["c"]
    where = f"after iteration {k}"
    for index, (name, state, want, other) in enumerate((("hprev", record["carried"][0], h, c),
                                                         ("cprev", record["carried"][1], c, h))):
        part, other_part = ("h", "c") if name == "hprev" else ("c", "h")
        if state["kind"] != "Tensor":
            raise Mismatch(f"{where}, {name} is a {state['kind']}, expected the tensor {part} of shape (1, 1, "
                           f"{want.size}) (hcprev[{index}])")
        value = state["value"]
        if value.size == want.size and np.allclose(value.reshape(-1), want, rtol=rtol, atol=atol):
            if state["graph"]:
                raise Mismatch(f"{where}, {name} still carries the autograd graph of the last sequence: "
                               "detach it")
            continue
        if value.size == other.size and np.allclose(value.reshape(-1), other, rtol=rtol, atol=atol):
            raise Mismatch(f"{where}, {name} holds the {other_part} of the last step, not its {part}")
        if not np.any(value):
            raise Mismatch(f"{where}, {name} is all zeros instead of the {part} of the last step")
        raise Mismatch(f"{where}, {name} is not the {part} of the last step of an LSTM with your weights "
                       f"(shape {value.shape}, expected (1, 1, {want.size}))")


def _started_from_carried(k: int, record: dict[str, Any], following: dict[str, Any]) -> None:
    carried = [record["carried"][0]["value"].reshape(-1), record["carried"][1]["value"].reshape(-1)]
    for name, given, kept in (("hprev", following["h"], carried[0]), ("cprev", following["c"], carried[1])):
        if not np.array_equal(given, kept):
            zeros = " (all zeros: is the state reset every iteration?)" if not np.any(given) else ""
            raise Mismatch(f"iteration {k + 1}'s forward was given a {name} that is not the one carried after "
                           f"iteration {k}{zeros}")


@check("lstm.loss_decrease", task="task3",
       params={"iterations": Param(200, 20), "margin": Param(0.10, 0.0, 1.0), "characters": Param(1000, 50)})
def loss_decrease(ctx: Context) -> str:
    """The weights the student's loop reaches predict the course text better than the starting ones."""
    iterations, characters = ctx.param("iterations"), ctx.param("characters")
    training = _training(ctx)
    if training.failed is not None:
        raise training.failed
    start, reached = training.start, training.reached
    for name, value in start.weights.items():
        check_shape(f"{name} after training", reached.get(name, np.zeros(0)), value.shape)
    indices = start.text.indices(characters)

    def loss(reading_order: tuple[Reading, str], weights: dict[str, np.ndarray], upto: int = len(indices)) -> float:
        return _text_loss(*reading_order, weights, indices[:upto])

    best = _watched_order(ctx, training) or min(itertools.product(start.found, GATE_ORDERS),
                                           key=lambda ro: _finite(loss(ro, reached, 101)))
    return check_fall(loss(best, start.weights), loss(best, reached), ctx.param("margin"), training.iterations,
                      iterations, start.text.describe(characters))


def _watched_order(ctx: Context, training: Training) -> tuple[Reading, str] | None:
    """The reading and gate order of the model, from the first watched forward call, if it is an LSTM's
    (within lstm.state_carry's tolerances)."""
    try:
        params = ctx.rubric.config(WATCHING).params
        first = _given_state(0, training.records[0], training.start.h)
        return ctx.share(ORDER, lambda: _order(training.start, [first], params["rtol"], params["atol"]))
    except (KeyError, IndexError, Mismatch):
        return None


def _text_loss(reading: Reading, order: str, weights: dict[str, np.ndarray], indices: np.ndarray) -> float:
    """The reference LSTM's cross-entropy per character on a text, read in one pass (carrying (h, c)
    from character to character, as the loop's sequences do), in float64.

    PyTorch's LSTM kernel stands in for reference/lstm_cell.py's step loop here, for speed (1000 steps
    in C++ instead of Python): the gate blocks are reordered to its order, and tests/test_checks_lstm.py
    holds the two equal.
    """
    torch = torch_in_grader()

    w = reading.assemble(weights)
    n, size = w["Wy"].shape
    blocks = [order.index(gate) for gate in reference("lstm_cell").GATES]
    rows = np.concatenate([np.arange(k * size, (k + 1) * size) for k in blocks])
    lstm = torch.nn.LSTM(n, size).double()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w["Wx"][rows]), ("weight_hh_l0", w["Wh"][rows]),
                            ("bias_ih_l0", w["b"][rows]), ("bias_hh_l0", np.zeros(4 * size))):
            getattr(lstm, name).copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float64)))
        states, _ = lstm(torch.from_numpy(np.eye(n)[indices[:-1]]).unsqueeze(1))  # (T, 1, h)
        scores = states[:, 0] @ torch.from_numpy(w["Wy"]).T + torch.from_numpy(w["by"])  # (T, n)
        losses = -torch.log_softmax(scores, dim=1)[torch.arange(len(indices) - 1), torch.from_numpy(indices[1:])]
    return float(losses.mean())


def _finite(x: float) -> float:
    return x if np.isfinite(x) else np.inf


# The catalog's mistakes of task 3 (grader.mistakes), recognised part by part on fixed inputs.

DIAGNOSTIC_SIZES = (5, 3)  # n, h: every weight's role shows in its shape (_distinct)


def _diagnostic_case() -> LstmCase:
    n, h = DIAGNOSTIC_SIZES
    rng = np.random.default_rng(7)
    return LstmCase(n, h, (0, 3, 1, 4, 2), rng.normal(0, 0.5, h), rng.normal(0, 0.5, h), 7)


@diagnoser("task3", "__init__")
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


@diagnoser("task3", "forward")
def diagnose_forward(ctx: Context) -> str | None:
    """forward's values are an LSTM's with the student's weights followed by a softmax, or from a
    zero state instead of the given one."""
    worker, case = ctx.worker(skip=OWN_MODEL), _diagnostic_case()
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


@diagnoser("task3", "criterion")
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


@diagnoser("task3", "loop")
def diagnose_loop(ctx: Context) -> str | None:
    """After the loop's first iterations, hprev and cprev hold what a mutant of the carry-over holds."""
    rtol, atol = ctx.param("rtol"), ctx.param("atol")
    worker = ctx.worker()
    start = _start(ctx, worker)
    try:
        records = worker.call("lstm.train", iterations=2, want=["state"], parameters=start.weights)["records"]
    except StudentException:  # the iteration that raised is recorded too
        records = worker.call("lstm.trained")["records"]
    if not records:
        return None
    first = _given_state(0, records[0], start.h)
    reading, order = _order(start, [first], rtol, atol)
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
