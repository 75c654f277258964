"""Task 2's blank: the hidden-state line of the NumPy character RNN, its forward and backward pass."""
import numpy as np

CLIP = 5.0  # the course clips every gradient to [-5, 5]


def hidden_step(x, h_prev, Wxh, Whh, bh, hprev=None):
    """The blank on line 41: hs[t] = tanh(Wxh x + Whh h + bh). (hprev, lossFun's argument, is
    there for mistakes that use it at every step.)"""
    return np.tanh(Wxh @ x + Whh @ h_prev + bh)  # (h, 1)


def forward(inputs, targets, hprev, Wxh, Whh, Why, bh, by, step=hidden_step):
    """lossFun's forward pass: summed cross-entropy over the sequence and the last hidden state."""
    loss, grads, h = loss_and_gradients(inputs, targets, hprev, Wxh, Whh, Why, bh, by, backward=False, step=step)
    return loss, h


def loss_and_gradients(inputs, targets, hprev, Wxh, Whh, Why, bh, by, backward=True, step=hidden_step):
    """lossFun as the course wrote it: the loss, the clipped gradients {"dWxh": ..., ...} and the
    last hidden state. With backward=False the gradients are None.

    `step(x, h_prev, Wxh, Whh, bh, hprev)` stands for the blank line (the course's backward pass
    stays as written): the grader passes its mutants to see which mistake a submission made.
    """
    n = Wxh.shape[1]
    hs, ps, loss = {-1: hprev}, {}, 0.0  # hs[t] (h, 1), ps[t] (n, 1)
    for t, (i, target) in enumerate(zip(inputs, targets)):
        x = np.zeros((n, 1))  # (n, 1) one-hot
        x[i] = 1
        hs[t] = step(x, hs[t - 1], Wxh, Whh, bh, hprev)  # (h, 1)
        y = Why @ hs[t] + by  # (n, 1) scores
        e = np.exp(y - y.max())  # same softmax, no overflow
        ps[t] = e / e.sum()  # (n, 1)
        loss += -np.log(ps[t][target, 0])
    last = hs[len(inputs) - 1]
    if not backward:
        return loss, None, last
    grads = {"dWxh": np.zeros_like(Wxh), "dWhh": np.zeros_like(Whh), "dWhy": np.zeros_like(Why),
             "dbh": np.zeros_like(bh), "dby": np.zeros_like(by)}
    dh_next = np.zeros_like(hprev)  # (h, 1)
    for t in reversed(range(len(inputs))):
        dy = ps[t].copy()  # (n, 1)
        dy[targets[t]] -= 1
        grads["dWhy"] += dy @ hs[t].T
        grads["dby"] += dy
        dh = Why.T @ dy + dh_next  # (h, 1)
        draw = (1 - hs[t] * hs[t]) * dh  # (h, 1) through tanh
        grads["dbh"] += draw
        grads["dWxh"][:, inputs[t]] += draw[:, 0]  # dhraw xs[t].T for a one-hot xs[t]
        grads["dWhh"] += draw @ hs[t - 1].T
        dh_next = Whh.T @ draw
    return loss, {k: np.clip(g, -CLIP, CLIP) for k, g in grads.items()}, last


def weight_count(n, h):
    """Part 1 question 2: a one-layer RNN with n inputs and h units has h(n+h+1) weights."""
    return h * (n + h + 1)
