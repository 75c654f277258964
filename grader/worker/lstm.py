"""Worker probes for task 3: build the student's _charLSTM at chosen sizes, run it, train it."""

from __future__ import annotations

import copy
import inspect
from typing import Any

import torch

from grader.worker.loader import BadAnswer, Module, NotRunnable, array, scalar, step_function

ATTRIBUTES = ("input_size", "hidden_size", "num_layers", "batch_first", "in_features", "out_features")


def build(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """_charLSTM() built with vocabulary size n and hidden size h: its modules and parameters."""
    _sizes(module, int(request["n"]), int(request["h"]))
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
    """In a float64 copy of the model: forward's values, and autograd's gradients of a weighted
    sum of them with respect to every parameter."""
    model = copy.deepcopy(module.objects["model"]).double()
    _sizes(module, module.objects["n"], module.objects["h"])
    h = module.objects["h"]
    x = torch.tensor(request["input"], dtype=torch.float64)
    h0 = torch.tensor(request["h0"], dtype=torch.float64).view(1, 1, h)
    c0 = torch.tensor(request["c0"], dtype=torch.float64).view(1, 1, h)
    output, hc = _unpack(model(x, h0, c0, x.shape[0]))
    weights = [torch.tensor(request[k], dtype=torch.float64) for k in ("w_output", "w_h", "w_c")]
    value = sum(((w * t.reshape(w.shape)).sum() for w, t in zip(weights, (output, hc[0], hc[1]), strict=True)),
                torch.zeros((), dtype=torch.float64))
    if value.requires_grad:
        value.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return {"output": array(_plain(output), "output"), "h": array(_plain(hc[0]), "hc[0]"),
            "c": array(_plain(hc[1]), "hc[1]"),
            "gradients": {k: g.detach().numpy().copy() for k, g in grads.items() if g is not None}}


def criterion(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """criterion(scores, targets) for float scores (T, n) and class indices (T,)."""
    loss = module.function("criterion")
    scores = torch.tensor(request["scores"], dtype=torch.float32)
    targets = torch.tensor(request["targets"], dtype=torch.long)
    return {"value": scalar(_plain(loss(scores, targets)), "criterion(scores, targets)")}


def describe(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The script's own model charLSTM: its modules and parameters."""
    return _structure(_script_model(module))


def train(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """Give charLSTM the grader's starting parameters, run the student's loop, and report raw values.

    want "state": for each iteration, what its last forward call was given (its tensor
    arguments and the parameters at that moment), what it returned, and the hprev and cprev
    carried over. want "final": the parameters after the last iteration.
    """
    model = _script_model(module)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in request["parameters"]:
                p.copy_(torch.as_tensor(request["parameters"][name], dtype=p.dtype).reshape(p.shape))
    watch = "state" in request["want"]
    calls: list[dict[str, Any]] = []
    hooks = [model.register_forward_pre_hook(lambda m, args, kwargs: calls.append(_given(m, args, kwargs)),
                                             with_kwargs=True),
             model.register_forward_hook(lambda m, args, out: calls[-1].update(returned=_snapshot(out)))
             ] if watch else []
    step, records, done = step_function(module), [], 0
    try:
        for _ in range(int(request["iterations"])):
            calls.clear()
            if not step():
                break
            done += 1
            if watch:
                ns = module.namespace
                records.append({**(calls[-1] if calls else {}),
                                "carried": [_state(ns.get("hprev")), _state(ns.get("cprev"))]})
    finally:
        for hook in hooks:
            hook.remove()
    final = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}
    return {"iterations": done, "records": records, "final": final if "final" in request["want"] else {}}


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


def _given(model: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """What one forward call was given: its arguments in forward's order (tensors; None for the
    rest), and the parameters at that moment."""
    try:
        args = tuple(inspect.signature(model.forward).bind(*args, **kwargs).arguments.values())
    except (TypeError, ValueError):  # a signature Python cannot read, or a call that does not fit it
        args = (*args, *kwargs.values())
    tensors = [array(_plain(a), "an argument of forward") if isinstance(a, torch.Tensor) else None for a in args]
    return {"args": tensors,
            "parameters": {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}}


def _state(value: Any) -> dict[str, Any]:
    """A carried state as the grader needs it: its kind, its values, whether it holds a graph."""
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
    chars = [chr(0x61 + i) for i in range(n)]
    module.namespace.update(vocab_size=n, hidden_size=h, chars=chars,
                            char_to_ix={c: i for i, c in enumerate(chars)}, ix_to_char=dict(enumerate(chars)))


OPERATIONS = {"lstm.build": build, "lstm.forward": forward, "lstm.gradients": gradients,
              "lstm.criterion": criterion, "lstm.describe": describe, "lstm.train": train}
