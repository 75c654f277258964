"""The LSTM checks' judgement: forward in every gate order, the reference's gradients, and the
mutants that name a mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from grader.tasks.lstm.cases import LstmCase
from grader.tasks.lstm.diagnosis import CRITERION_MUTANTS, _carried_as, _softmax_after, _unregistered_layer_error
from grader.tasks.lstm.layout import GATE_ORDERS
from grader.tasks.lstm.model import _reference_gradients, _same_as_an_lstm
from grader.context import reference
from grader.tasks.lstm.layout import readings
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


def tensor(value: np.ndarray, graph: bool = False) -> dict[str, object]:
    return {"kind": "Tensor", "value": value.reshape(1, 1, -1), "graph": graph}


@pytest.mark.parametrize("carried,way", [
    (("h", "c"), "right"),
    (("c", "h"), "lstm.state_swapped"),
    (("h", "h"), "lstm.both_h"),
    (("0", "0"), "lstm.state_reset"),
    (("c", "c"), None),
    (("h", "0"), None),
])
def test_the_carried_state_is_matched_with_the_way_that_gives_it(carried: tuple[str, str], way: str | None) -> None:
    rng = np.random.default_rng(0)
    values = {"h": rng.normal(size=3), "c": rng.normal(size=3), "0": np.zeros(3)}
    states = [tensor(values[k]) for k in carried]
    assert _carried_as(states, values["h"], values["c"], 1e-4, 1e-5) == way


def test_the_whole_pair_assigned_to_hprev_is_recognised_and_other_kinds_are_not() -> None:
    h, c = np.arange(3.0), np.arange(3.0) + 5
    pair = {"kind": "tuple", "items": [tensor(h), tensor(c)]}
    assert _carried_as([pair, tensor(c)], h, c, 1e-4, 1e-5) == "lstm.whole_tuple"
    assert _carried_as([{"kind": "NoneType"}, tensor(c)], h, c, 1e-4, 1e-5) is None
    assert _carried_as([{"kind": "tuple", "items": [tensor(c), tensor(h)]}, tensor(c)], h, c, 1e-4, 1e-5) is None


def test_criterion_mutants_differ_from_the_cross_entropy_and_each_other_when_there_are_steps() -> None:
    rng = np.random.default_rng(3)
    scores, targets = rng.normal(0, 2, (4, 4)), rng.integers(0, 4, 4)
    values = {"right": reference("lstm_cell").cross_entropy(scores, targets),
              **{k: f(scores, targets) for k, f in CRITERION_MUTANTS.items()}}
    assert len({round(float(v), 6) for v in values.values()}) == len(values)


def test_a_softmax_after_the_lstm_gives_rows_of_probabilities_and_keeps_the_state() -> None:
    values = {"output": np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), "h": np.ones(2), "c": np.zeros(2)}
    after = _softmax_after(values)
    assert np.allclose(after["output"].sum(axis=1), 1) and np.allclose(after["output"][1], 1 / 3)
    assert after["h"] is values["h"] and after["c"] is values["c"]


def test_the_mutant_without_super_init_raises_what_pytorch_says_of_it() -> None:
    assert "Module.__init__()" in _unregistered_layer_error()


@given(order=st.sampled_from(GATE_ORDERS), seed=st.integers(0, 2**16))
def test_the_text_loss_is_the_reference_lstm_s_cross_entropy_in_any_gate_order(order: str, seed: int) -> None:
    from grader.tasks.lstm.kernel import text_loss

    n, h = 4, 3
    rng = np.random.default_rng(seed)
    Wx, Wh, b = rng.normal(size=(4 * h, n)), rng.normal(size=(4 * h, h)), rng.normal(size=4 * h)
    Wy, by = rng.normal(size=(n, h)), rng.normal(size=n)
    model = stacked_model(Wx, Wh, b, Wy, by, h_first=False)
    (reading, *_) = readings(model, n, h)
    indices = rng.integers(0, n, size=120)
    states, _ = reference("lstm_cell").forward(np.eye(n)[indices[:-1]], np.zeros(h), np.zeros(h), Wx, Wh, b, order)
    expected = reference("lstm_cell").cross_entropy(states @ Wy.T + by, indices[1:])
    assert np.isclose(text_loss(reading, order, model["parameters"], indices), expected, rtol=1e-10)
