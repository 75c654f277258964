"""Worker operations of task 2: call the student's lossFun on parameters the grader chose."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.tasks.course import sizes
from grader.tasks.rnn import GRADIENTS, PARAMETERS
from grader.worker.loader import BadAnswer, Module, array, scalar


def loss(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """lossFun's loss, gradients and last hidden state for the given parameters and inputs."""
    result = _call(module, request["params"], request)
    if not isinstance(result, (tuple, list)) or len(result) != 7:
        raise BadAnswer(f"lossFun should return (loss, {', '.join(GRADIENTS)}, hs[last]), "
                        f"got {_kind(result)}")
    grads = {name: array(g, name) for name, g in zip(GRADIENTS, result[1:6], strict=True)}
    return {"loss": scalar(result[0], "the loss"), "grads": grads, "h": array(result[6], "hs[last]")}


def perturbed(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The loss (or last hidden state) after nudging one parameter entry, for each nudge asked."""
    base = request["params"]
    want_h = request["want"] == "h"
    out = []
    for name, index, delta in request["nudges"]:
        params = {k: v.copy() for k, v in base.items()}
        params[name].reshape(-1)[int(index)] += float(delta)
        result = _call(module, params, request)
        if not isinstance(result, (tuple, list)) or len(result) != 7:
            raise BadAnswer(f"lossFun should return 7 values, got {_kind(result)}")
        out.append(array(result[6], "hs[last]").reshape(-1) if want_h else scalar(result[0], "the loss"))
    return {"values": np.asarray(out, dtype=np.float64)}


def moved(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The last hidden state with the parameters moved by +-epsilon along each direction asked
    (rows: + then - for each direction)."""
    base, epsilon = request["params"], float(request["epsilon"])
    out = []
    for direction in request["directions"]:
        for sign in (1.0, -1.0):
            params = {k: v + sign * epsilon * direction[k] for k, v in base.items()}
            result = _call(module, params, request)
            if not isinstance(result, (tuple, list)) or len(result) != 7:
                raise BadAnswer(f"lossFun should return 7 values, got {_kind(result)}")
            out.append(array(result[6], "hs[last]").reshape(-1))
    return {"values": np.asarray(out, dtype=np.float64)}


def _call(module: Module, params: dict[str, np.ndarray], request: dict[str, Any]) -> Any:
    loss_fun = module.function("lossFun")
    n, h = params["Wxh"].shape[1], params["Wxh"].shape[0]
    module.namespace.update({name: params[name].copy() for name in PARAMETERS})
    module.namespace.update(sizes(n, h))
    inputs = [int(i) for i in request["inputs"]]
    targets = [int(i) for i in request["targets"]]
    return loss_fun(inputs, targets, np.array(request["hprev"], dtype=np.float64))


def _kind(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a {type(value).__name__}"


OPERATIONS = {"rnn.loss": loss, "rnn.perturbed": perturbed, "rnn.moved": moved}
