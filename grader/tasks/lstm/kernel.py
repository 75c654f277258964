"""PyTorch in the grader's own process: the reference's autograd, and its LSTM kernel measuring a trained
model on the course text."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.context import reference
from grader.tasks.lstm.layout import Reading


def torch_in_grader() -> Any:
    """PyTorch in the grader's own process (the reference's autograd and LSTM kernel), on one thread:
    idle OpenMP threads spin, and would take the CPU from the worker the grader is waiting for."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    return torch


def text_loss(reading: Reading, order: str, weights: dict[str, np.ndarray], indices: np.ndarray) -> float:
    """The reference LSTM's cross-entropy per character on a text, read in one pass (carrying (h, c)
    from character to character, as the loop's sequences do), in float64.

    PyTorch's LSTM kernel stands in for reference/lstm_cell.py's step loop here, for speed (1000 steps
    in C++ instead of Python): the gate blocks are reordered to its order, and tests/test_checks_lstm.py
    holds the two equal.
    """
    torch = torch_in_grader()

    w = reading.assemble(weights)
    n, size = w["Wy"].shape
    blocks = [order.index(gate) for gate in reference("lstm_cell").GATES]
    rows = np.concatenate([np.arange(k * size, (k + 1) * size) for k in blocks])
    lstm = torch.nn.LSTM(n, size).double()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w["Wx"][rows]), ("weight_hh_l0", w["Wh"][rows]),
                            ("bias_ih_l0", w["b"][rows]), ("bias_hh_l0", np.zeros(4 * size))):
            getattr(lstm, name).copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float64)))
        states, _ = lstm(torch.from_numpy(np.eye(n)[indices[:-1]]).unsqueeze(1))  # (T, 1, h)
        scores = states[:, 0] @ torch.from_numpy(w["Wy"]).T + torch.from_numpy(w["by"])  # (T, n)
        losses = -torch.log_softmax(scores, dim=1)[torch.arange(len(indices) - 1), torch.from_numpy(indices[1:])]
    return float(losses.mean())


