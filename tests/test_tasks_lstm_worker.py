"""The task 3 probes in-process: the student's _charLSTM built, run, differentiated and trained."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from grader.tasks.lstm import worker as lstm
from grader.worker import loader
from grader.context import load_request
from grader.tasks import LAB
from grader.worker.loader import BadAnswer, Module

SCRIPT = """\
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.autograd import Variable
import torch.nn.functional as F

data = 'hello world, hello little lstm'
chars = list(set(data))
data_size, vocab_size = len(data), len(chars)
char_to_ix = {ch: i for i, ch in enumerate(chars)}
ix_to_char = {i: ch for i, ch in enumerate(chars)}
hidden_size = 5
seq_length = 6
learning_rate = 1e-1

class _charLSTM(nn.Module):
	def __init__(self, n=vocab_size):
		super(_charLSTM, self).__init__()
		self.lstm = nn.LSTM(n, hidden_size, num_layers=1)
		self.linear = nn.Linear(hidden_size, n)

	def forward(self, input, hprev, cprev, seq_len):
		output, hc = self.lstm(input.view(seq_len, 1, -1), (hprev, cprev))
		output = self.linear(output.view(seq_len, -1))
		return output.view(seq_len, len(chars)), hc

charLSTM = _charLSTM()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(charLSTM.parameters(), lr=learning_rate)

def sample(h, c, seed_ix, n):
  x = torch.zeros(1, vocab_size)
  x[0][seed_ix] = 1
  ixes = []
  for t in range(n):
    output, hc = charLSTM(Variable(x), h, c, 1)
    ix = int(output.argmax())
    x = torch.zeros(1, vocab_size)
    x[0][ix] = 1
    ixes.append(ix)
    h, c = hc
  return ixes

p, n = 0, 0
while True:
  if p+seq_length+1 >= len(data) or n == 0:
    hprev = Variable(torch.zeros(1, 1, hidden_size))
    cprev = Variable(torch.zeros(1, 1, hidden_size))
    p = 0
  inputs = [char_to_ix[ch] for ch in data[p:p+seq_length]]
  targets = Variable(torch.LongTensor([char_to_ix[ch] for ch in data[p+1:p+seq_length+1]]))
  if n % 2 == 0:
    with torch.no_grad():
      sample_ix = sample(hprev, cprev, inputs[0], 3)
  x = torch.zeros(len(inputs), vocab_size)
  for t, ix in enumerate(inputs):
    x[t][ix] = 1
  input = Variable(x)
  charLSTM.zero_grad()
  output, hcprev = charLSTM(input, hprev, cprev, seq_length)
  hprev = hcprev[0]
  cprev = hcprev[1]
  hprev.detach_()
  cprev.detach_()
  err = criterion(output, targets)
  err.backward()
  optimizer.step()
  p += seq_length
  n += 1
"""

VOCAB = len(set("hello world, hello little lstm"))
HIDDEN, SEQ = 5, 6


def load(tmp_path: Path, source: str = SCRIPT, skip: tuple[str, ...] = ()) -> Module:
    path = tmp_path / "task3.py"
    path.write_text(textwrap.dedent(source))
    module = Module(str(path), "task3.py", {})
    answer = loader.load(module, load_request(LAB, LAB.task("task3"), tuple(skip)))
    assert answer["errors"] == [] and answer["loop"] is True
    return module


def case(n: int, h: int, T: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"input": np.eye(n)[rng.integers(0, n, size=T)], "h0": rng.normal(size=h), "c0": rng.normal(size=h)}


def by_hand(module: Module, req: dict[str, Any]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """The built model's own layers applied to the request, written out here."""
    model, h = module.objects["model"], module.objects["h"]
    x = torch.tensor(req["input"], dtype=torch.float32)
    with torch.no_grad():
        out, hc = model.lstm(x.view(len(x), 1, -1), (torch.tensor(req["h0"], dtype=torch.float32).view(1, 1, h),
                                                      torch.tensor(req["c0"], dtype=torch.float32).view(1, 1, h)))
        return model.linear(out.view(len(x), -1)), hc


def test_build_reports_modules_and_parameter_shapes_at_the_requested_sizes(tmp_path: Path) -> None:
    module = load(tmp_path)
    built = lstm.build(module, {"n": 3, "h": 4, "seed": 0})
    assert [(m["name"], m["type"]) for m in built["modules"]] == [("", "_charLSTM"), ("lstm", "LSTM"),
                                                                 ("linear", "Linear")]
    attributes = {m["name"]: m["attributes"] for m in built["modules"]}
    assert attributes["lstm"] == {"input_size": 3, "hidden_size": 4, "num_layers": 1, "batch_first": False}
    assert attributes["linear"] == {"in_features": 4, "out_features": 3}
    assert built["modules"][1]["parameters"] == ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                                 "lstm.bias_hh_l0"]
    assert {k: v.shape for k, v in built["parameters"].items()} == {
        "lstm.weight_ih_l0": (16, 3), "lstm.weight_hh_l0": (16, 4), "lstm.bias_ih_l0": (16,),
        "lstm.bias_hh_l0": (16,), "linear.weight": (3, 4), "linear.bias": (3,)}
    assert all(v.dtype == np.float64 for v in built["parameters"].values())
    assert module.namespace["vocab_size"] == 3 and module.namespace["chars"] == ["a", "b", "c"]


def test_build_is_seeded(tmp_path: Path) -> None:
    module = load(tmp_path)
    first, again = (lstm.build(module, {"n": 2, "h": 3, "seed": 5})["parameters"] for _ in range(2))
    other = lstm.build(module, {"n": 2, "h": 3, "seed": 6})["parameters"]
    for name, value in first.items():
        np.testing.assert_array_equal(value, again[name])
    assert not np.array_equal(first["linear.weight"], other["linear.weight"])


def test_build_refuses_a_model_that_is_not_a_torch_module(tmp_path: Path) -> None:
    module = load(tmp_path, SCRIPT.replace("class _charLSTM(nn.Module):", "class _charLSTM(object):")
                  .replace("super(_charLSTM, self).__init__()", "pass"), skip=("_charLSTM",))
    with pytest.raises(BadAnswer, match="_charLSTM\\(\\) should be a torch.nn.Module, got _charLSTM"):
        lstm.build(module, {"n": 2, "h": 3, "seed": 0})


def test_forward_gives_scores_and_the_last_state_of_the_built_model(tmp_path: Path) -> None:
    module = load(tmp_path)
    lstm.build(module, {"n": 4, "h": 3, "seed": 1})
    req = case(4, 3, T=5)
    got = lstm.forward(module, req)
    assert got["output"].shape == (5, 4) and got["h"].shape == (1, 1, 3) and got["c"].shape == (1, 1, 3)
    output, (h, c) = by_hand(module, req)
    np.testing.assert_allclose(got["output"], output.double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["h"], h.double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["c"], c.double().numpy(), rtol=1e-6)
    zero_state = lstm.forward(module, {**req, "h0": np.zeros(3), "c0": np.zeros(3)})
    assert not np.allclose(zero_state["output"], got["output"])  # the given state is used


def test_forward_refuses_a_result_that_is_not_output_and_hc(tmp_path: Path) -> None:
    module = load(tmp_path, SCRIPT.replace("return output.view(seq_len, len(chars)), hc",
                                           "return output.view(seq_len, len(chars))"))
    lstm.build(module, {"n": 2, "h": 3, "seed": 0})
    with pytest.raises(BadAnswer, match="forward should return \\(output, hc\\), got Tensor"):
        lstm.forward(module, case(2, 3, T=4))


def test_gradients_cover_every_parameter(tmp_path: Path) -> None:
    module = load(tmp_path)
    built = lstm.build(module, {"n": 3, "h": 2, "seed": 0})
    T = 4
    rng = np.random.default_rng(0)
    got = lstm.gradients(module, {**case(3, 2, T), "w_output": rng.normal(size=(T, 3)),
                                  "w_h": rng.normal(size=2), "w_c": rng.normal(size=2)})
    assert set(got["gradients"]) == set(built["parameters"])
    for name, g in got["gradients"].items():
        assert g.shape == built["parameters"][name].shape and g.dtype == np.float64 and np.any(g != 0)
    assert got["output"].shape == (T, 3) and got["h"].shape == (1, 1, 2)


def test_gradients_are_of_the_weighted_sum_asked_for(tmp_path: Path) -> None:
    module = load(tmp_path)
    lstm.build(module, {"n": 3, "h": 2, "seed": 0})
    T, weights = 4, np.array([1.0, -2.0, 0.5])
    req = {**case(3, 2, T), "w_output": np.tile(weights, (T, 1)), "w_h": np.zeros(2), "w_c": np.zeros(2)}
    got = lstm.gradients(module, req)
    np.testing.assert_allclose(got["gradients"]["linear.bias"], T * weights, rtol=1e-6)  # d/db of sum w·(Wh + b)
    again = lstm.gradients(module, req)  # earlier gradients do not pile up
    np.testing.assert_allclose(again["gradients"]["linear.bias"], T * weights, rtol=1e-6)
    only_h = lstm.gradients(module, {**req, "w_output": np.zeros((T, 3)), "w_h": np.ones(2)})
    np.testing.assert_array_equal(only_h["gradients"]["linear.bias"], np.zeros(3))


def start(module: Module, seed: int = 0) -> dict[str, np.ndarray]:
    shapes = {k: v.shape for k, v in lstm.script_structure(module, {})["parameters"].items()}
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s) * 0.3 for k, s in shapes.items()}


def test_train_records_each_iterations_training_call_and_carried_state(tmp_path: Path) -> None:
    module = load(tmp_path)
    parameters = start(module)
    ran = lstm.train(module, {"parameters": parameters, "iterations": 3, "want": ["state"]})
    assert ran["iterations"] == 3 and len(ran["records"]) == 3 and ran["final"] == {}
    first = ran["records"][0]
    for name, value in parameters.items():  # the grader's starting weights, as the first call saw them
        np.testing.assert_allclose(first["parameters"][name], value, rtol=1e-6)
    for record in ran["records"]:
        x, h0, c0, seq_len = record["args"]
        assert x.shape == (SEQ, VOCAB) and h0.shape == c0.shape == (1, 1, HIDDEN) and seq_len is None
        assert [s["kind"] for s in record["carried"]] == ["Tensor", "Tensor"]
        assert not record["carried"][0]["graph"] and not record["carried"][1]["graph"]
        np.testing.assert_array_equal(record["carried"][0]["value"], record["returned"][0])
        np.testing.assert_array_equal(record["carried"][1]["value"], record["returned"][1])
    np.testing.assert_array_equal(first["args"][1], np.zeros((1, 1, HIDDEN)))
    for before, after in zip(ran["records"], ran["records"][1:], strict=False):
        np.testing.assert_array_equal(after["args"][1], before["carried"][0]["value"])
        np.testing.assert_array_equal(after["args"][2], before["carried"][1]["value"])
        assert not np.array_equal(after["parameters"]["linear.bias"], before["parameters"]["linear.bias"])
    assert "forward" not in vars(module.namespace["charLSTM"])


def test_train_watches_a_loop_that_calls_forward_directly(tmp_path: Path) -> None:
    direct = SCRIPT.replace("output, hcprev = charLSTM(input,", "output, hcprev = charLSTM.forward(input,")
    assert direct != SCRIPT
    module = load(tmp_path, direct)
    ran = lstm.train(module, {"parameters": start(module), "iterations": 2, "want": ["state"]})
    assert len(ran["records"]) == 2
    for record in ran["records"]:
        assert record["args"][0].shape == (SEQ, VOCAB)
        np.testing.assert_array_equal(record["carried"][0]["value"], record["returned"][0])
    np.testing.assert_array_equal(ran["records"][1]["args"][1], ran["records"][0]["carried"][0]["value"])
    assert "forward" not in vars(module.namespace["charLSTM"])


def test_train_reports_a_carried_state_that_keeps_its_graph(tmp_path: Path) -> None:
    module = load(tmp_path, SCRIPT.replace("  hprev.detach_()\n", "").replace("  cprev.detach_()\n", "")
                  .replace("err.backward()", "err.backward(retain_graph=True)"))
    ran = lstm.train(module, {"parameters": start(module), "iterations": 1, "want": ["state"]})
    assert ran["records"][0]["carried"][0]["graph"] is True


def test_train_restores_forward_even_when_the_loop_raises(tmp_path: Path) -> None:
    module = load(tmp_path, SCRIPT.replace("  p += seq_length\n", "  p += seq_length\n  raise ValueError('x')\n"))
    with pytest.raises(ValueError):
        lstm.train(module, {"parameters": start(module), "iterations": 2, "want": ["state"]})
    model = module.namespace["charLSTM"]
    assert "forward" not in vars(model) and type(model).forward is module.namespace["_charLSTM"].forward


def test_train_final_gives_the_parameters_the_loop_reached(tmp_path: Path) -> None:
    module = load(tmp_path)
    parameters = start(module)
    ran = lstm.train(module, {"parameters": parameters, "iterations": 2, "want": ["final"]})
    assert ran["records"] == [] and set(ran["final"]) == set(parameters)
    assert not np.allclose(ran["final"]["linear.weight"], parameters["linear.weight"])
    assert "forward" not in vars(module.namespace["charLSTM"])


def test_criterion_is_the_students_loss_on_the_graders_scores(tmp_path: Path) -> None:
    module = load(tmp_path)
    scores, targets = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]]), np.array([0, 2])
    got = lstm.criterion(module, {"scores": scores, "targets": targets})["value"]
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    assert got == pytest.approx(-log_p[[0, 1], targets].mean(), rel=1e-6)


def test_trained_keeps_the_iteration_that_raised_with_what_it_carried(tmp_path: Path) -> None:
    whole = SCRIPT.replace("  hprev = hcprev[0]\n", "  hprev = hcprev\n")
    assert whole != SCRIPT
    module = load(tmp_path, whole)
    with pytest.raises(AttributeError, match="detach_"):
        lstm.train(module, {"parameters": start(module), "iterations": 2, "want": ["state"]})
    records = lstm.trained(module, {})["records"]
    assert len(records) == 1
    hprev, cprev = records[0]["carried"]
    assert hprev["kind"] == "tuple" and [s["kind"] for s in hprev["items"]] == ["Tensor", "Tensor"]
    np.testing.assert_array_equal(hprev["items"][0]["value"], records[0]["returned"][0])
    np.testing.assert_array_equal(cprev["value"], records[0]["returned"][1])


def test_a_loop_that_ends_keeps_no_record_of_the_step_that_ended_it(tmp_path: Path) -> None:
    ending = SCRIPT.replace("while True:", "while n < 2:")
    module = load(tmp_path, ending)
    ran = lstm.train(module, {"parameters": start(module), "iterations": 5, "want": ["state"]})
    assert ran["iterations"] == 2 and len(ran["records"]) == 2
    assert lstm.trained(module, {})["records"] == ran["records"]
