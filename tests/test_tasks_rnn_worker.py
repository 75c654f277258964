"""The task 2 probes in-process: lossFun called on the grader's parameters, whole or nudged."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.tasks.rnn import worker as rnn
from grader.worker import loader
from grader.context import load_request
from grader.tasks import LAB
from grader.worker.loader import BadAnswer, Module, NotRunnable

HEADER = """\
import numpy as np
data = 'hello world'
chars = list(set(data))
vocab_size, hidden_size = len(chars), 7
Wxh = np.random.randn(hidden_size, vocab_size) * 0.01
Whh = np.random.randn(hidden_size, hidden_size) * 0.01
Why = np.random.randn(vocab_size, hidden_size) * 0.01
bh = np.zeros((hidden_size, 1))
by = np.zeros((vocab_size, 1))
"""

LOSS_FUN = HEADER + """\
def lossFun(inputs, targets, hprev):
  xs, hs, ps = {}, {}, {}
  hs[-1] = np.copy(hprev)
  loss = 0
  for t in range(len(inputs)):
    xs[t] = np.zeros((vocab_size, 1))
    xs[t][inputs[t]] = 1
    hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t-1]) + bh)
    ys = np.dot(Why, hs[t]) + by
    ps[t] = np.exp(ys) / np.sum(np.exp(ys))
    loss += -np.log(ps[t][targets[t], 0])
  dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
  dbh, dby = np.zeros_like(bh), np.zeros_like(by)
  dhnext = np.zeros_like(hs[0])
  for t in reversed(range(len(inputs))):
    dy = np.copy(ps[t])
    dy[targets[t]] -= 1
    dWhy += np.dot(dy, hs[t].T)
    dby += dy
    dh = np.dot(Why.T, dy) + dhnext
    dhraw = (1 - hs[t] * hs[t]) * dh
    dbh += dhraw
    dWxh += np.dot(dhraw, xs[t].T)
    dWhh += np.dot(dhraw, hs[t-1].T)
    dhnext = np.dot(Whh.T, dhraw)
  for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
    np.clip(dparam, -5, 5, out=dparam)
  return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs)-1]

hprev = np.zeros((hidden_size, 1))
while True:
  loss, dWxh, dWhh, dWhy, dbh, dby, hprev = lossFun([0, 1], [1, 2], hprev)
"""

SPY = HEADER + """\
def lossFun(inputs, targets, hprev):
  seen = np.concatenate([p.reshape(-1) for p in (Wxh, Whh, Why, bh, by)])
  sizes = (vocab_size, hidden_size, len(chars), len(char_to_ix), len(ix_to_char))
  return seen.sum(), Wxh, Whh, Why, bh, by, np.concatenate([seen, sizes, inputs, targets, hprev.reshape(-1)])
"""

N, H = 3, 4


def load(tmp_path: Path, source: str) -> Module:
    path = tmp_path / "task2.py"
    path.write_text(textwrap.dedent(source))
    module = Module(str(path), "task2.py", {})
    assert loader.load(module, load_request(LAB, LAB.task("task2")))["errors"] == []
    return module


def request(seed: int = 0, n: int = N, h: int = H) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    params = {"Wxh": rng.normal(size=(h, n)), "Whh": rng.normal(size=(h, h)) * 0.5, "Why": rng.normal(size=(n, h)),
              "bh": rng.normal(size=(h, 1)), "by": rng.normal(size=(n, 1))}
    return {"params": params, "inputs": [0, 2, 1, 1], "targets": [2, 1, 1, 0], "hprev": rng.normal(size=(h, 1))}


def expected(req: dict[str, Any]) -> tuple[float, np.ndarray]:
    """The vanilla RNN's loss and last hidden state, written out here."""
    p, h, loss = req["params"], req["hprev"], 0.0
    for i, t in zip(req["inputs"], req["targets"], strict=True):
        h = np.tanh(p["Wxh"][:, [i]] + p["Whh"] @ h + p["bh"])
        y = p["Why"] @ h + p["by"]
        loss -= float(y[t, 0] - np.log(np.exp(y).sum()))
    return loss, h


def test_loss_returns_the_loss_the_gradients_and_the_last_hidden_state(tmp_path: Path) -> None:
    module, req = load(tmp_path, LOSS_FUN), request()
    got = rnn.loss(module, req)
    loss, h = expected(req)
    assert isinstance(got["loss"], float) and got["loss"] == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(got["h"], h, rtol=1e-12)
    assert list(got["grads"]) == ["dWxh", "dWhh", "dWhy", "dbh", "dby"]
    for name, g in got["grads"].items():
        assert g.dtype == np.float64 and g.shape == req["params"][name[1:]].shape


def test_loss_gradients_are_lossfuns_own(tmp_path: Path) -> None:
    module, req = load(tmp_path, LOSS_FUN), request(seed=3)
    got = rnn.loss(module, req)
    i, eps = 5, 1e-6  # Why[1, 1] by centred differences (unclipped: the loss is gentle here)
    up, down = request(seed=3), request(seed=3)
    up["params"]["Why"].reshape(-1)[i] += eps
    down["params"]["Why"].reshape(-1)[i] -= eps
    slope = (expected(up)[0] - expected(down)[0]) / (2 * eps)
    assert got["grads"]["dWhy"].reshape(-1)[i] == pytest.approx(slope, rel=1e-5)


def test_lossfun_changing_its_globals_in_place_changes_neither_the_request_nor_the_next_call(tmp_path: Path) -> None:
    source = LOSS_FUN.replace("  return loss, dWxh", "  Wxh[...] += 100; bh[...] = 7\n  return loss, dWxh")
    module, req = load(tmp_path, source), request()
    before = {k: v.copy() for k, v in req["params"].items()}
    first, second = rnn.loss(module, req), rnn.loss(module, req)
    assert first["loss"] == second["loss"] == pytest.approx(expected(req)[0], rel=1e-12)
    for k, v in before.items():
        np.testing.assert_array_equal(req["params"][k], v)


def test_lossfun_sees_the_graders_parameters_sizes_and_inputs(tmp_path: Path) -> None:
    module, req = load(tmp_path, SPY), request(n=5, h=2)
    seen = rnn.loss(module, req)["h"].reshape(-1)
    params = np.concatenate([req["params"][k].reshape(-1) for k in rnn.PARAMETERS])
    np.testing.assert_array_equal(seen[:params.size], params)
    np.testing.assert_array_equal(seen[params.size:], [5, 2, 5, 5, 5, *req["inputs"], *req["targets"],
                                                       *req["hprev"].reshape(-1)])


@pytest.mark.parametrize("returned,kind", [
    ("loss, dWxh, dWhh, dWhy, dbh, dby", "a tuple of 6 values"),
    ("[loss, dWxh, dWhh, dWhy, dbh, dby, hs[0], hs[0]]", "a list of 8 values"),
    ("loss", "a float64"),
])
def test_loss_refuses_the_wrong_number_of_values(tmp_path: Path, returned: str, kind: str) -> None:
    source = LOSS_FUN.replace("return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs)-1]", f"return {returned}")
    module = load(tmp_path, source)
    with pytest.raises(BadAnswer, match=f"lossFun should return \\(loss, dWxh, dWhh, dWhy, dbh, dby, "
                                        f"hs\\[last\\]\\), got {kind}$"):
        rnn.loss(module, request())
    with pytest.raises(BadAnswer, match=f"lossFun should return 7 values, got {kind}$"):
        rnn.perturbed(module, {**request(), "want": "loss", "nudges": [("bh", 0, 0.1)]})


def test_loss_refuses_a_loss_that_is_not_a_number(tmp_path: Path) -> None:
    source = LOSS_FUN.replace("return loss,", "return 'small',")
    with pytest.raises(BadAnswer, match="the loss should be a number, got str"):
        rnn.loss(load(tmp_path, source), request())


def test_a_file_without_lossfun_is_not_runnable(tmp_path: Path) -> None:
    with pytest.raises(NotRunnable, match="lossFun is not defined by task2.py"):
        rnn.loss(load(tmp_path, HEADER), request())


def test_perturbed_nudges_exactly_one_entry_per_call(tmp_path: Path) -> None:
    module, req = load(tmp_path, SPY), request()
    nudges = [("Wxh", 5, 0.25), ("bh", 3, -1.0), ("by", 0, 2.0)]
    got = rnn.perturbed(module, {**req, "want": "h", "nudges": nudges})["values"]
    base = np.concatenate([req["params"][k].reshape(-1) for k in rnn.PARAMETERS])
    sizes = [req["params"][k].size for k in rnn.PARAMETERS]
    offsets = dict(zip(rnn.PARAMETERS, np.cumsum([0, *sizes])[:-1], strict=True))
    assert got.shape[0] == 3 and got.dtype == np.float64
    for row, (name, index, delta) in zip(got, nudges, strict=True):
        want = base.copy()
        want[offsets[name] + index] += delta
        np.testing.assert_array_equal(row[:base.size], want)
    np.testing.assert_array_equal(req["params"]["Wxh"], request()["params"]["Wxh"])  # the request is untouched


def test_perturbed_losses_are_lossfuns_loss_at_the_nudged_parameters(tmp_path: Path) -> None:
    module, req = load(tmp_path, LOSS_FUN), request(seed=1)
    got = rnn.perturbed(module, {**req, "want": "loss", "nudges": [("Whh", 7, 1e-3), ("Whh", 7, -1e-3)]})["values"]
    assert got.shape == (2,)
    for value, delta in zip(got, (1e-3, -1e-3), strict=True):
        nudged = request(seed=1)
        nudged["params"]["Whh"].reshape(-1)[7] += delta
        assert value == pytest.approx(expected(nudged)[0], rel=1e-12)
    assert got[0] != got[1]


def test_perturbed_hidden_states_come_flat_one_row_per_nudge(tmp_path: Path) -> None:
    module, req = load(tmp_path, LOSS_FUN), request(seed=2)
    got = rnn.perturbed(module, {**req, "want": "h", "nudges": [("bh", 1, 0.5), ("Why", 0, 0.5)]})["values"]
    assert got.shape == (2, H)
    nudged = request(seed=2)
    nudged["params"]["bh"][1, 0] += 0.5
    np.testing.assert_allclose(got[0], expected(nudged)[1].reshape(-1), rtol=1e-12)
    np.testing.assert_allclose(got[1], expected(request(seed=2))[1].reshape(-1), rtol=1e-12)  # Why: no effect on h
