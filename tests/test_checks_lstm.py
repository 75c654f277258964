"""Reading a student's weights as an LSTM: every layout and gate order the lab allows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from grader.checks.lstm import GATE_ORDERS, LstmCase, _layouts, _same_as_an_lstm
from grader.checks.context import reference
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


def test_per_gate_linears_stack_in_definition_order_with_their_biases() -> None:
    n, h = 3, 2
    rng = np.random.default_rng(1)
    gates = {g: (rng.normal(size=(h, n + h)), rng.normal(size=h)) for g in "ogif"}
    modules, params = [module("", "_charLSTM", [])], {}
    for g, (w, bias) in gates.items():
        modules.append(module(f"W_{g}", "Linear", [f"W_{g}.weight", f"W_{g}.bias"], in_features=n + h, out_features=h))
        params.update({f"W_{g}.weight": w, f"W_{g}.bias": bias})
    modules.append(module("fc", "Linear", ["fc.weight", "fc.bias"], in_features=h, out_features=n))
    params.update({"fc.weight": rng.normal(size=(n, h)), "fc.bias": rng.normal(size=n)})
    layouts = _layouts({"modules": modules, "parameters": params}, n, h)
    assert len(layouts) == 2  # cat((x, h)) and cat((h, x))
    np.testing.assert_array_equal(layouts[0]["b"], np.concatenate([gates[g][1] for g in "ogif"]))
    np.testing.assert_array_equal(layouts[0]["Wx"], np.vstack([gates[g][0][:, :n] for g in "ogif"]))


def test_two_layers_are_not_read_as_one() -> None:
    built = {"modules": [module("lstm", "LSTM", ["lstm.weight_ih_l0"], num_layers=2)],
             "parameters": {"lstm.weight_ih_l0": np.zeros((8, 3))}}
    assert _layouts(built, 3, 2) == []
