"""Checks of task 3's training loop: one bounded run of the student's own loop from the grader's starting
weights, watched for the state it carries over, then measured for the loss it reached."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.compare import check_fall, check_shape
from grader.context import Context
from grader.errors import Mismatch, StudentException, SubmissionFault
from grader.registry import Param, check
from grader.sandbox import Worker
from grader.tasks.course import CourseText, course_text
from grader.tasks.lstm import TASK
from grader.tasks.lstm.kernel import text_loss
from grader.tasks.lstm.layout import GATE_ORDERS, Reading, Structure, match, readings, run


@dataclass(frozen=True)
class Start:
    """The script's model as the training checks start it: read as an LSTM, with the grader's weights."""

    structure: Structure
    found: list[Reading]
    weights: dict[str, np.ndarray]
    text: CourseText
    h: int


def start_of(ctx: Context, worker: Worker) -> Start:
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
RUN = "lstm.training"
"""Shared by WATCHING and TRAINING: the one run of the loop they judge (Training)."""
ORDER = "lstm.training_order"
"""Shared: the reading and gate order of the model in the watched run's first forward call."""


def _training(ctx: Context) -> Training:
    """The run of the loop this submission's training checks judge (the first to ask runs it)."""
    training = ctx.share(RUN, lambda: _train(ctx))
    ctx.printed_elsewhere = training.printed
    return training


def _train(ctx: Context) -> Training:
    """The watched iterations (lstm.state_carry's), then on to lstm.loss_decrease's, in one worker;
    each part within its own check's time limit."""
    checks = ctx.sharing(RUN)
    watch = int(checks[WATCHING].params["iterations"]) if WATCHING in checks else 0
    total = max(watch, int(checks[TRAINING].params["iterations"]) if TRAINING in checks else 0)
    worker = ctx.worker(timeout=sum(c.timeout for c in checks.values()) + ctx.load_timeout)
    start = start_of(ctx, worker)
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


@check("lstm.state_carry", task=TASK, shares=RUN, params={"iterations": Param(5, 2), "rtol": Param(1e-4),
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
    records = [given_state(k, r, start.h) for k, r in enumerate(training.records)]
    if records and not all(np.array_equal(records[0]["parameters"][k], v) for k, v in start.weights.items()):
        raise Mismatch("the first forward call of the training loop did not use the model's weights: "
                       "does the loop build a new model?")
    reading, order = ctx.share(ORDER, lambda: matched_order(start, records, rtol, atol))
    for k, record in enumerate(records):
        expected = run(reading.assemble(record["parameters"]), record["x"], record["h"], record["c"], order)
        _carried_right(k, record, expected, rtol, atol)
        if k + 1 < len(records):
            _started_from_carried(k, record, records[k + 1])
    if len(records) < iterations:
        raise Mismatch(f"the training loop stopped after {len(records)} of {iterations} iterations")
    return (f"hprev and cprev carry the last (h, c) of an LSTM with your weights, detached, over "
            f"{len(records)} iterations")


def given_state(k: int, record: dict[str, Any], h: int) -> dict[str, Any]:
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


def matched_order(start: Start, records: list[dict[str, Any]], rtol: float, atol: float) -> tuple[Reading, str]:
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


@check("lstm.loss_decrease", task=TASK, shares=RUN,
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
        return text_loss(*reading_order, weights, indices[:upto])

    best = _watched_order(ctx, training) or min(itertools.product(start.found, GATE_ORDERS),
                                           key=lambda ro: _finite(loss(ro, reached, 101)))
    return check_fall(loss(best, start.weights), loss(best, reached), ctx.param("margin"), training.iterations,
                      iterations, start.text.describe(characters))


def _watched_order(ctx: Context, training: Training) -> tuple[Reading, str] | None:
    """The reading and gate order of the model, from the first watched forward call, if it is an LSTM's
    (within lstm.state_carry's tolerances)."""
    try:
        params = ctx.sharing(RUN)[WATCHING].params
        first = given_state(0, training.records[0], training.start.h)
        return ctx.share(ORDER, lambda: matched_order(training.start, [first], params["rtol"], params["atol"]))
    except (KeyError, IndexError, Mismatch):
        return None


def _finite(x: float) -> float:
    return x if np.isfinite(x) else np.inf


