"""Task 2's blank: the hidden-state line of the NumPy character RNN, and its forward pass."""
import numpy as np


def hidden_step(x, h_prev, Wxh, Whh, bh):
    """The blank on line 41: hs[t] = tanh(Wxh x + Whh h + bh)."""
    return np.tanh(Wxh @ x + Whh @ h_prev + bh)  # (h, 1)


def forward(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    """lossFun's forward pass: summed cross-entropy over the sequence and the last hidden state."""
    n = Wxh.shape[1]
    h = hprev  # (h, 1)
    loss = 0.0
    for i, t in zip(inputs, targets):
        x = np.zeros((n, 1))  # (n, 1) one-hot
        x[i] = 1
        h = hidden_step(x, h, Wxh, Whh, bh)  # (h, 1)
        y = Why @ h + by  # (n, 1) scores
        y = y - y.max()  # same softmax, no overflow
        loss += -(y[t, 0] - np.log(np.exp(y).sum()))
    return loss, h


def weight_count(n, h):
    """Part 1 question 2: a one-layer RNN with n inputs and h units has h(n+h+1) weights."""
    return h * (n + h + 1)
