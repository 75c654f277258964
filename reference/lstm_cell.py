"""The LSTM recurrence in NumPy (or PyTorch), in any gate order: what the grader compares students with."""
import numpy as np

GATES = "ifgo"  # PyTorch's order of the four gate blocks


def sigmoid(a, lib=np):
    return 1.0 / (1.0 + lib.exp(-a))


def forward(x, h, c, Wx, Wh, b, order=GATES, lib=np):
    """Run an LSTM over x (T, n) from (h, c) (h,); Wx (4h, n), Wh (4h, h), b (4h,) hold the
    gate blocks in `order`. Returns the hidden states (T, h) and the last c (h,).
    `lib` is numpy, or torch to differentiate through it."""
    size = h.shape[0]
    states = []
    for x_t in x:
        a = Wx @ x_t + Wh @ h + b  # (4h,)
        block = {gate: a[k * size:(k + 1) * size] for k, gate in enumerate(order)}
        i, f, o = sigmoid(block["i"], lib), sigmoid(block["f"], lib), sigmoid(block["o"], lib)  # (h,) each
        g = lib.tanh(block["g"])  # (h,)
        c = f * c + i * g  # (h,)
        h = o * lib.tanh(c)  # (h,)
        states.append(h)
    return lib.stack(states), c


def weight_count(n, h, biases=2):
    """Part 1 question 2: 4h(n+h+2) as PyTorch counts (two biases), 4h(n+h+1) with one."""
    return 4 * h * (n + h + biases)


def output_count(n, h):
    """The linear layer from h hidden units back to n scores: n(h+1)."""
    return n * (h + 1)


def cross_entropy(scores, targets):
    """Mean cross-entropy of raw scores (T, n) against class indices (T,)."""
    shifted = scores - scores.max(axis=1, keepdims=True)  # (T, n)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (T, n)
    return -log_probs[np.arange(len(targets)), targets].mean()
