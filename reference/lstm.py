"""Task 3's blanks in PyTorch: the LSTM module, the criterion and the state carry-over."""
import torch
import torch.nn as nn


class CharLSTM(nn.Module):
    """The blanks of _charLSTM.__init__ and forward: one LSTM layer, one linear layer back to n."""

    def __init__(self, n, h):
        super().__init__()
        self.lstm = nn.LSTM(n, h, num_layers=1)  # 4h(n+h+2) weights: two bias vectors
        self.linear = nn.Linear(h, n)  # n(h+1) weights

    def forward(self, input, hprev, cprev, seq_len):
        output, hc = self.lstm(input.view(seq_len, 1, -1), (hprev, cprev))  # (seq_len, 1, h)
        output = self.linear(output.view(seq_len, -1))  # (seq_len, n) scores
        return output, hc  # hc: ((1, 1, h), (1, 1, h))


def criterion():
    """Line 43: the scores are raw, so the loss is the mean cross-entropy."""
    return nn.CrossEntropyLoss()


def carry_over(hcprev):
    """Lines 98-99: the next sequence starts from this one's last (h, c), cut from the graph."""
    return hcprev[0].detach(), hcprev[1].detach()  # (1, 1, h) each
