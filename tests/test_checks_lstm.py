"""The LSTM checks' judgement: forward in every gate order, and the reference's gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from grader.checks.lstm import GATE_ORDERS, LstmCase, _reference_gradients, _same_as_an_lstm
from grader.checks.context import reference
from grader.checks.lstm_layout import readings
from grader.errors import Mismatch


def module(name: str, kind: str, params: list[str], **attributes: int) -> dict[str, object]:
    return {"name": name, "type": kind, "attributes": attributes, "parameters": params}


def stacked_model(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, Wy: np.ndarray, by: np.ndarray,
                  h_first: bool) -> dict[str, object]:
    """Like nn.Linear(n + h, 4h) over cat((x, h)) (or cat((h, x))) and nn.Linear(h, n)."""
    weight = np.hstack([Wh, Wx] if h_first else [Wx, Wh])
    n, h = Wy.shape
    return {"modules": [module("", "_charLSTM", []),
                        module("gates", "Linear", ["gates.weight", "gates.bias"],
                               in_features=n + h, out_features=4 * h),
                        module("out", "Linear", ["out.weight", "out.bias"], in_features=h, out_features=n)],
            "parameters": {"gates.weight": weight, "gates.bias": b, "out.weight": Wy, "out.bias": by}}


def answer(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, Wy: np.ndarray, by: np.ndarray, case: LstmCase,
           order: str) -> dict[str, np.ndarray]:
    states, c = reference("lstm_cell").forward(case.onehot(), case.h0, case.c0, Wx, Wh, b, order)
    return {"output": states @ Wy.T + by, "h": states[-1].reshape(1, 1, -1), "c": c.reshape(1, 1, -1)}


@given(order=st.sampled_from(GATE_ORDERS), h_first=st.booleans(), seed=st.integers(0, 2**16))
def test_a_stacked_hand_written_lstm_passes_in_any_gate_order(order: str, h_first: bool, seed: int) -> None:
    n, h = 3, 2
    rng = np.random.default_rng(seed)
    Wx, Wh, b = rng.normal(size=(4 * h, n)), rng.normal(size=(4 * h, h)), rng.normal(size=4 * h)
    Wy, by = rng.normal(size=(n, h)), rng.normal(size=n)
    case = LstmCase(n, h, (0, 2, 1), rng.normal(size=h), rng.normal(size=h), seed)
    built = stacked_model(Wx, Wh, b, Wy, by, h_first)
    _same_as_an_lstm(built, case, answer(Wx, Wh, b, Wy, by, case, order), rtol=1e-9, atol=1e-12)


def test_a_wrong_gate_function_matches_no_gate_order() -> None:
    n, h = 3, 2
    rng = np.random.default_rng(0)
    Wx, Wh, b = rng.normal(size=(4 * h, n)), rng.normal(size=(4 * h, h)), rng.normal(size=4 * h)
    Wy, by = rng.normal(size=(n, h)), rng.normal(size=n)
    case = LstmCase(n, h, (0, 1), rng.normal(size=h), rng.normal(size=h), 0)
    got = answer(Wx, Wh, b, Wy, by, case, "ifgo")
    got["output"] = got["output"] + 0.01
    with pytest.raises(Mismatch, match="in every gate order"):
        _same_as_an_lstm(stacked_model(Wx, Wh, b, Wy, by, False), case, got, rtol=1e-6, atol=1e-9)


@given(seed=st.integers(0, 2**16), steps=st.integers(1, 4))
def test_reference_gradients_are_torch_lstms_for_each_student_parameter(seed: int, steps: int) -> None:
    """The grader's gradients, mapped back to nn.LSTM's own parameters, equal autograd through nn.LSTM."""
    n, h = 3, 2
    torch.manual_seed(seed)
    model = reference("lstm").CharLSTM(n, h).double()
    built = {"modules": [module("", "CharLSTM", []), module("lstm", "LSTM", [k for k, _ in model.lstm.named_parameters(
        prefix="lstm")], num_layers=1), module("linear", "Linear", ["linear.weight", "linear.bias"], in_features=h,
                                                out_features=n)],
             "parameters": {k: v.detach().numpy().copy() for k, v in model.named_parameters()}}
    rng = np.random.default_rng(seed)
    case = LstmCase(n, h, tuple(rng.integers(0, n, steps).tolist()), rng.normal(size=h), rng.normal(size=h), seed)
    weights = {"w_output": rng.normal(size=(steps, n)), "w_h": rng.normal(size=h), "w_c": rng.normal(size=h)}
    reading = readings(built, n, h)[0]
    ours = _reference_gradients(reading, "ifgo", built["parameters"], case, weights)
    output, (h_last, c_last) = model(torch.tensor(case.onehot()), torch.tensor(case.h0).view(1, 1, h),
                                     torch.tensor(case.c0).view(1, 1, h), steps)
    value = ((torch.tensor(weights["w_output"]) * output).sum() + (torch.tensor(weights["w_h"]) * h_last.view(-1)).sum()
             + (torch.tensor(weights["w_c"]) * c_last.view(-1)).sum())
    value.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None
        np.testing.assert_allclose(ours[name], p.grad.numpy(), rtol=1e-10, atol=1e-12)
