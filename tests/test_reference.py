"""The reference answers agree with an independent implementation: PyTorch's own RNN."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, strategies as st

from grader.checks.context import reference


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
