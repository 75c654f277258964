"""The reference answers agree with an independent implementation: PyTorch's own RNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from grader.context import reference


@given(n=st.integers(1, 6), h=st.integers(1, 6), steps=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_rnn_forward_equals_torch_rnn(n: int, h: int, steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Wxh, Whh, Why = rng.normal(size=(h, n)), rng.normal(size=(h, h)), rng.normal(size=(n, h))
    bh, by, hprev = rng.normal(size=(h, 1)), rng.normal(size=(n, 1)), rng.normal(size=(h, 1))
    inputs, targets = rng.integers(0, n, steps).tolist(), rng.integers(0, n, steps).tolist()
    loss, h_last = reference("rnn").forward(inputs, targets, hprev, Wxh, Whh, Why, bh, by)

    rnn = torch.nn.RNN(n, h, nonlinearity="tanh").double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wxh))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Whh))
        rnn.bias_ih_l0.copy_(torch.from_numpy(bh[:, 0]))
        rnn.bias_hh_l0.zero_()
        x = torch.nn.functional.one_hot(torch.tensor(inputs), n).double().unsqueeze(1)
        states, last = rnn(x, torch.from_numpy(hprev.T).unsqueeze(0))
        scores = states[:, 0, :] @ torch.from_numpy(Why.T) + torch.from_numpy(by.T)
        expected = torch.nn.functional.cross_entropy(scores, torch.tensor(targets), reduction="sum")
    np.testing.assert_allclose(h_last[:, 0], last[0, 0].numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-10)


@given(n=st.integers(1, 50), h=st.integers(1, 50))
def test_rnn_weight_count_is_what_torch_counts_with_one_bias(n: int, h: int) -> None:
    rnn = torch.nn.RNN(n, h)
    counted = sum(p.numel() for p in rnn.parameters()) - rnn.bias_hh_l0.numel()
    assert reference("rnn").weight_count(n, h) == counted == h * (n + h + 1)


@given(n=st.integers(1, 6), h=st.integers(1, 5), steps=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_lstm_cell_equals_torch_lstm_and_the_reference_module(n: int, h: int, steps: int, seed: int) -> None:
    torch.manual_seed(seed)
    model = reference("lstm").CharLSTM(n, h).double()
    x = torch.nn.functional.one_hot(torch.randint(0, n, (steps,)), n).double()
    h0, c0 = torch.randn(1, 1, h, dtype=torch.float64), torch.randn(1, 1, h, dtype=torch.float64)
    with torch.no_grad():
        output, (h_last, c_last) = model(x, h0, c0, steps)
    lstm = model.lstm
    Wx, Wh = lstm.weight_ih_l0.detach().numpy(), lstm.weight_hh_l0.detach().numpy()
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    states, c = reference("lstm_cell").forward(x.numpy(), h0[0, 0].numpy(), c0[0, 0].numpy(), Wx, Wh, b)
    scores = states @ model.linear.weight.detach().numpy().T + model.linear.bias.detach().numpy()
    np.testing.assert_allclose(scores, output.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(states[-1], h_last[0, 0].numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c, c_last[0, 0].numpy(), rtol=1e-10, atol=1e-12)


@given(n=st.integers(1, 30), h=st.integers(1, 30))
def test_lstm_weight_counts_are_what_torch_counts(n: int, h: int) -> None:
    cell = reference("lstm_cell")
    model = reference("lstm").CharLSTM(n, h)
    assert sum(p.numel() for p in model.lstm.parameters()) == cell.weight_count(n, h) == 4 * h * (n + h + 2)
    assert cell.weight_count(n, h, biases=1) == 4 * h * (n + h + 1)
    assert sum(p.numel() for p in model.linear.parameters()) == cell.output_count(n, h)


@given(t=st.integers(1, 6), n=st.integers(2, 8), seed=st.integers(0, 2**16))
def test_cross_entropy_and_the_reference_criterion_agree_with_torch(t: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores, targets = rng.normal(0, 3, (t, n)), rng.integers(0, n, t)
    expected = reference("lstm").criterion()(torch.from_numpy(scores), torch.from_numpy(targets)).item()
    assert reference("lstm_cell").cross_entropy(scores, targets) == pytest.approx(expected, rel=1e-12)


def test_carry_over_keeps_values_and_drops_the_graph() -> None:
    h = torch.randn(1, 1, 3, requires_grad=True) * 2
    c = torch.randn(1, 1, 3, requires_grad=True) * 2
    hprev, cprev = reference("lstm").carry_over((h, c))
    assert torch.equal(hprev, h) and torch.equal(cprev, c)
    assert hprev.grad_fn is None and not hprev.requires_grad and not cprev.requires_grad


@given(n=st.integers(2, 6), h=st.integers(1, 6), steps=st.integers(1, 5), seed=st.integers(0, 2**16),
       scale=st.sampled_from([0.5, 3.0]))
def test_rnn_gradients_are_torch_autograds_clipped_to_five(n: int, h: int, steps: int, seed: int,
                                                           scale: float) -> None:
    rng = np.random.default_rng(seed)
    shapes = {"Wxh": (h, n), "Whh": (h, h), "Why": (n, h), "bh": (h, 1), "by": (n, 1)}
    params = {k: rng.normal(0, scale, s) for k, s in shapes.items()}
    inputs, targets = rng.integers(0, n, steps).tolist(), rng.integers(0, n, steps).tolist()
    hprev = rng.normal(size=(h, 1))
    loss, grads, _ = reference("rnn").loss_and_gradients(inputs, targets, hprev, *params.values())
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    state, total = torch.tensor(hprev), torch.zeros((), dtype=torch.float64)
    for i, t in zip(inputs, targets, strict=True):
        state = torch.tanh(leaves["Wxh"][:, i:i + 1] + leaves["Whh"] @ state + leaves["bh"])
        scores = (leaves["Why"] @ state + leaves["by"])[:, 0]
        total = total - torch.log_softmax(scores, 0)[t]
    total.backward()
    assert loss == pytest.approx(total.item(), rel=1e-10)
    for k, leaf in leaves.items():
        assert leaf.grad is not None
        np.testing.assert_allclose(grads[f"d{k}"], leaf.grad.clamp(-5, 5).numpy(), rtol=1e-9, atol=1e-12)


def test_the_lstm_recurrence_runs_the_same_in_torch() -> None:
    rng = np.random.default_rng(3)
    n, h = 3, 2
    arrays = [rng.normal(size=(4, n)), rng.normal(size=h), rng.normal(size=h), rng.normal(size=(4 * h, n)),
              rng.normal(size=(4 * h, h)), rng.normal(size=4 * h)]
    states, c = reference("lstm_cell").forward(*arrays, order="fogi")
    t_states, t_c = reference("lstm_cell").forward(*map(torch.tensor, arrays), order="fogi", lib=torch)
    np.testing.assert_allclose(states, t_states.numpy(), rtol=1e-12)
    np.testing.assert_allclose(c, t_c.numpy(), rtol=1e-12)
