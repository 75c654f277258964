"""Worker probes for task 3: build the student's _charLSTM at chosen sizes, run it, train it."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
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
    modules = [{"name": name, "type": type(m).__name__,
                "attributes": {a: getattr(m, a) for a in ATTRIBUTES if isinstance(getattr(m, a, None), (int, bool))},
                "parameters": [f"{name}.{p}" if name else p for p, _ in m.named_parameters(recurse=False)]}
               for name, m in model.named_modules()]
    parameters = {name: p.detach().double().numpy().copy() for name, p in model.named_parameters()}
    return {"modules": modules, "parameters": parameters}


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
    """Gradients of a weighted sum of the outputs, in a float64 copy of the model."""
    model = copy.deepcopy(module.objects["model"]).double()
    module.objects["model64"] = model
    inputs = _inputs(module, request, requires_grad=True)
    value = _projection(module, model, inputs, request)
    value.backward()
    found = {**{k: t.grad for k, t in inputs.items()}, **dict(_grads(model))}
    return {"value": float(value.item()),
            "gradients": {k: g.detach().numpy().copy() for k, g in found.items() if g is not None},
            "missing": [k for k, g in found.items() if g is None],
            "shapes": {k: list(t.shape) for k, t in [*inputs.items(), *model.named_parameters()]}}


def nudged(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The projected value after nudging one entry of an input or a parameter, for each nudge."""
    model = module.objects["model64"]
    inputs = _inputs(module, request, requires_grad=False)
    tensors = {**inputs, **dict(model.named_parameters())}
    values = []
    with torch.no_grad():
        for name, index, delta in request["nudges"]:
            flat = tensors[name].view(-1)
            kept = flat[int(index)].item()
            flat[int(index)] = kept + float(delta)
            values.append(float(_projection(module, model, inputs, request).item()))
            flat[int(index)] = kept
    return {"values": np.asarray(values)}


def criterion(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """criterion(scores, targets) for float scores (T, n) and class indices (T,)."""
    loss = module.function("criterion")
    scores = torch.tensor(request["scores"], dtype=torch.float32)
    targets = torch.tensor(request["targets"], dtype=torch.long)
    return {"value": scalar(_plain(loss(scores, targets)), "criterion(scores, targets)")}


def train(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """Run the student's loop; after each iteration record what the checks ask for.

    "state": the (h, c) the iteration's last forward returned, and the hprev and cprev it
    carried over; "scores": its output and targets.
    """
    model = module.namespace.get("charLSTM")
    if not isinstance(model, torch.nn.Module):
        raise NotRunnable("charLSTM (the model the training loop uses) is not a torch.nn.Module here")
    returned: list[Any] = []
    hook = model.register_forward_hook(lambda m, args, out: returned.append(_snapshot(out)))
    step, records = step_function(module), []
    try:
        for _ in range(int(request["iterations"])):
            returned.clear()
            if not step():
                break
            records.append(_record(module, request["want"], returned[-1] if returned else None))
    finally:
        hook.remove()
    return {"records": records}


def _record(module: Module, want: list[str], returned: Any) -> dict[str, Any]:
    ns = module.namespace
    out: dict[str, Any] = {}
    if "state" in want:
        out["returned"] = returned
        out["carried"] = [_state(ns.get("hprev")), _state(ns.get("cprev"))]
    if "scores" in want:
        out["output"] = array(_plain(ns.get("output")), "output")
        out["targets"] = array(_plain(ns.get("targets")), "targets")
    return out


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


def _inputs(module: Module, request: dict[str, Any], requires_grad: bool) -> dict[str, torch.Tensor]:
    h = module.objects["h"]
    return {"input": torch.tensor(request["input"], dtype=torch.float64, requires_grad=requires_grad),
            "hprev": torch.tensor(request["h0"], dtype=torch.float64).view(1, 1, h).requires_grad_(requires_grad),
            "cprev": torch.tensor(request["c0"], dtype=torch.float64).view(1, 1, h).requires_grad_(requires_grad)}


def _projection(module: Module, model: torch.nn.Module, inputs: dict[str, torch.Tensor],
                request: dict[str, Any]) -> torch.Tensor:
    _sizes(module, module.objects["n"], module.objects["h"])
    x = inputs["input"]
    output, hc = _unpack(model(x, inputs["hprev"], inputs["cprev"], x.shape[0]))
    weights = [torch.tensor(request[k], dtype=torch.float64) for k in ("w_output", "w_h", "w_c")]
    return sum(((w * t.reshape(w.shape)).sum() for w, t in zip(weights, (output, hc[0], hc[1]), strict=True)),
               torch.zeros((), dtype=torch.float64))


def _grads(model: torch.nn.Module) -> list[tuple[str, torch.Tensor | None]]:
    return [(name, p.grad) for name, p in model.named_parameters()]


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
              "lstm.nudged": nudged, "lstm.criterion": criterion, "lstm.train": train}
