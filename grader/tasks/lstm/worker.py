"""Worker operations of task 3: build the student's _charLSTM at chosen sizes, run it, train it."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from grader.tasks.course import sizes
from grader.worker.loader import BadAnswer, Module, NotRunnable, array, scalar, step_function

ATTRIBUTES = ("input_size", "hidden_size", "num_layers", "batch_first", "in_features", "out_features")


def build(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """_charLSTM() built with vocabulary size n and hidden size h: its modules and parameters."""
    _sizes(module, int(request["n"]), int(request["h"]))
    module.define_again("_charLSTM")  # def __init__(self, n=vocab_size) reads the sizes when it is defined
    torch.manual_seed(int(request["seed"]))
    model = module.function("_charLSTM")()
    if not isinstance(model, torch.nn.Module):
        raise BadAnswer(f"_charLSTM() should be a torch.nn.Module, got {type(model).__name__}")
    module.objects.update(model=model, n=int(request["n"]), h=int(request["h"]))
    return _structure(model)


def forward(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """forward(input, hprev, cprev, seq_len) of the last built model, without gradients."""
    model, n, h = module.objects["model"], module.objects["n"], module.objects["h"]
    _sizes(module, n, h)
    x = torch.tensor(request["input"], dtype=torch.float32)
    h0 = torch.tensor(request["h0"], dtype=torch.float32).view(1, 1, h)
    c0 = torch.tensor(request["c0"], dtype=torch.float32).view(1, 1, h)
    with torch.no_grad():
        output, hc = _unpack(model(x, h0, c0, x.shape[0]))
    return {"output": array(_plain(output), "output"), "h": array(_plain(hc[0]), "hc[0]"),
            "c": array(_plain(hc[1]), "hc[1]")}


def gradients(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """In the last built model, as the student built it (float32): forward's values, and
    autograd's gradients of a weighted sum of them with respect to every parameter."""
    model, h = module.objects["model"], module.objects["h"]
    _sizes(module, module.objects["n"], h)
    model.zero_grad(set_to_none=True)
    x = torch.tensor(request["input"], dtype=torch.float32)
    h0 = torch.tensor(request["h0"], dtype=torch.float32).view(1, 1, h)
    c0 = torch.tensor(request["c0"], dtype=torch.float32).view(1, 1, h)
    output, hc = _unpack(model(x, h0, c0, x.shape[0]))
    weights = [torch.tensor(request[k], dtype=output.dtype) for k in ("w_output", "w_h", "w_c")]
    value = sum(((w * t.reshape(w.shape)).sum() for w, t in zip(weights, (output, hc[0], hc[1]), strict=True)),
                torch.zeros((), dtype=output.dtype))
    if value.requires_grad:
        value.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return {"output": array(_plain(output), "output"), "h": array(_plain(hc[0]), "hc[0]"),
            "c": array(_plain(hc[1]), "hc[1]"),
            "gradients": {k: g.detach().double().numpy().copy() for k, g in grads.items() if g is not None}}


def criterion(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """criterion(scores, targets) for float scores (T, n) and class indices (T,)."""
    loss = module.function("criterion")
    scores = torch.tensor(request["scores"], dtype=torch.float32)
    targets = torch.tensor(request["targets"], dtype=torch.long)
    return {"value": scalar(_plain(loss(scores, targets)), "criterion(scores, targets)")}


def script_structure(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The script's own model charLSTM: its modules and parameters."""
    return _structure(_script_model(module))


def train(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """Give charLSTM the grader's starting parameters, run the student's loop, and report raw values.

    want "state": for each iteration, what its training forward call (the longest; sample()
    feeds one character at a time) was given (its arguments and the parameters at that
    moment), what it returned, and the hprev and cprev carried over. want "final": the
    parameters after the last iteration.
    """
    model = _script_model(module)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in request["parameters"]:
                p.copy_(torch.as_tensor(request["parameters"][name], dtype=p.dtype).reshape(p.shape))
    watch = _Watch(model) if "state" in request["want"] else None
    step, done = step_function(module), 0
    records: list[dict[str, Any]] = []
    module.objects["records"] = records  # what the loop did before it raised: lstm.trained asks
    try:
        for _ in range(int(request["iterations"])):
            if watch is not None:
                watch.clear()
            try:
                if not step():
                    break
            finally:
                if watch is not None:
                    ns = module.namespace
                    records.append({**watch.training_call(), "carried": [_state(ns.get("hprev")),
                                                                          _state(ns.get("cprev"))]})
            done += 1
    finally:
        if watch is not None:
            watch.stop()
    if watch is not None and len(records) > done:
        records.pop()  # the step that ended the loop
    final = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}
    return {"iterations": done, "records": records, "final": final if "final" in request["want"] else {}}


def trained(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The records of the last lstm.train, including the iteration that raised (if one did)."""
    return {"records": module.objects.get("records", [])}


class _Watch:
    """Watch the model's forward calls, made as model(...) or as model.forward(...): an instance
    attribute stands in front of the class's forward for both. An iteration's training call is its
    longest (the last of the longest): a call at least as long as every one before it replaces the
    one kept so far, whole (arguments, parameters, what it returned); sample()'s one-character
    calls cost a length and a copy of the parameters each, in their own dtype."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.longest = -1
        self.kept: dict[str, Any] = {}
        original = model.forward
        try:
            signature: inspect.Signature | None = inspect.signature(original)
        except (TypeError, ValueError):  # a signature Python cannot read
            signature = None

        def forward(*args: Any, **kwargs: Any) -> Any:
            length = _input_length(signature, args, kwargs)
            call: dict[str, Any] = {}
            if length >= self.longest:
                self.longest, self.kept = length, call
                call.update(_given(signature, args, kwargs))
                call["parameters"] = {name: p.detach().clone() for name, p in model.named_parameters()}
            result = original(*args, **kwargs)
            if call:
                call["returned"] = _snapshot(result)
            return result

        setattr(model, "forward", forward)  # noqa: B010  (mypy refuses assigning to a method)

    def clear(self) -> None:
        """A new iteration: no call yet."""
        self.longest, self.kept = -1, {}

    def training_call(self) -> dict[str, Any]:
        """What the iteration's training call was given and returned; parameters as float64 arrays."""
        kept = dict(self.kept)
        if "parameters" in kept:
            kept["parameters"] = {k: t.double().numpy() for k, t in kept["parameters"].items()}
        return kept

    def stop(self) -> None:
        delattr(self.model, "forward")


def _input_length(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    first = _arguments(signature, args, kwargs)[:1]
    return int(first[0].shape[0]) if first and isinstance(first[0], torch.Tensor) and first[0].ndim else 0


def _arguments(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """A call's arguments in forward's order."""
    try:
        if signature is not None:
            return tuple(signature.bind(*args, **kwargs).arguments.values())
    except TypeError:  # a call that does not fit the signature
        pass
    return (*args, *kwargs.values())


def _script_model(module: Module) -> torch.nn.Module:
    model = module.namespace.get("charLSTM")
    if not isinstance(model, torch.nn.Module):
        raise NotRunnable("charLSTM (the model the training loop uses) is not a torch.nn.Module here")
    return model


def _structure(model: torch.nn.Module) -> dict[str, Any]:
    """A model's modules (type, sizes, own parameter names) and its parameters as float64 arrays."""
    modules = [{"name": name, "type": type(m).__name__,
                "attributes": {a: getattr(m, a) for a in ATTRIBUTES if isinstance(getattr(m, a, None), (int, bool))},
                "parameters": [f"{name}.{p}" if name else p for p, _ in m.named_parameters(recurse=False)]}
               for name, m in model.named_modules()]
    parameters = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}
    return {"modules": modules, "parameters": parameters}


def _given(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """What one forward call was given: its arguments in forward's order (tensors; None for the rest)."""
    return {"args": [array(_plain(a), "an argument of forward") if isinstance(a, torch.Tensor) else None
                     for a in _arguments(signature, args, kwargs)]}


def _state(value: Any, depth: int = 0) -> dict[str, Any]:
    """A carried state as the grader needs it: its kind, its values, whether it holds a graph (and
    for a pair, its items)."""
    if isinstance(value, (tuple, list)) and depth == 0 and len(value) <= 4:
        return {"kind": type(value).__name__, "items": [_state(v, 1) for v in value]}
    if not isinstance(value, torch.Tensor):
        return {"kind": type(value).__name__}
    return {"kind": "Tensor", "value": value.detach().double().numpy().copy(),
            "graph": bool(value.requires_grad or value.grad_fn is not None)}


def _snapshot(out: Any) -> Any:
    try:
        _, hc = _unpack(out)
        return [hc[0].detach().double().numpy().copy(), hc[1].detach().double().numpy().copy()]
    except (BadAnswer, AttributeError, TypeError):
        return None


def _unpack(result: Any) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise BadAnswer(f"forward should return (output, hc), got {type(result).__name__}")
    output, hc = result
    if not (isinstance(hc, (tuple, list)) and len(hc) == 2 and all(isinstance(t, torch.Tensor) for t in hc)):
        raise BadAnswer(f"forward's hc should be the pair (h, c) of tensors, got {type(hc).__name__}")
    if not isinstance(output, torch.Tensor):
        raise BadAnswer(f"forward's output should be a tensor, got {type(output).__name__}")
    return output, (hc[0], hc[1])


def _plain(value: Any) -> Any:
    return value.detach().double().numpy() if isinstance(value, torch.Tensor) else value


def _sizes(module: Module, n: int, h: int) -> None:
    module.namespace.update(sizes(n, h))


def warm_up(server: bool = True) -> None:
    """What every task 3 worker would otherwise pay for when its code first runs: an LSTM's first call
    sets itself up (0.5 s), and an optimizer's first construction imports some 800 modules (torch._dynamo:
    1.6 s here), which only workers that train need: a `server` forking every worker pays it now, once."""

    torch.set_num_threads(1)  # a child forked from a multi-threaded torch hangs in libgomp
    torch.set_num_interop_threads(1)
    for dtype in (torch.float32, torch.float64):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2)).to(dtype)
        lstm_layer, cell = torch.nn.LSTM(2, 2).to(dtype), torch.nn.LSTMCell(2, 2).to(dtype)
        parameters = [*model.parameters(), *lstm_layer.parameters(), *cell.parameters()]
        output, _ = lstm_layer(torch.zeros(3, 1, 2, dtype=dtype))
        scores = model(output[:, 0]) + cell(torch.zeros(3, 2, dtype=dtype))[0]
        torch.nn.functional.cross_entropy(scores, torch.zeros(3, dtype=torch.long)).backward()
        if server:
            torch.optim.SGD(parameters, lr=0.1).step()
    torch.manual_seed(0)  # nothing of this warming shows in a worker, which seeds its own generators


OPERATIONS = {"lstm.build": build, "lstm.forward": forward, "lstm.gradients": gradients,
              "lstm.criterion": criterion, "lstm.describe": script_structure, "lstm.train": train,
              "lstm.trained": trained}
