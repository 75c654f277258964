"""
Minimal character-level LSTM model in PyTorch, after Andrej Karpathy's
min-char-rnn. COMP4660/8420 Lab 5, task 3.

Fill in _charLSTM.__init__ and _charLSTM.forward (a one-layer LSTM and an
output layer back to the vocabulary), the criterion on line 43, and the new
hprev and cprev on lines 98-99.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.autograd import Variable
import torch.nn.functional as F

# data I/O
data = open('textData.txt', 'r').read()  # should be a simple plain text file
chars = list(set(data))
data_size, vocab_size = len(data), len(chars)
print('data has %d characters, %d unique.' % (data_size, vocab_size))
char_to_ix = {ch: i for i, ch in enumerate(chars)}
ix_to_char = {i: ch for i, ch in enumerate(chars)}

# hyperparameters
hidden_size = 100  # size of hidden layer of neurons
seq_length = 50  # number of steps to unroll the LSTM for
learning_rate = 1e-1

class _charLSTM(nn.Module):
	def __init__(self):
		super(_charLSTM, self).__init__()
		self.lstm = nn.LSTM(vocab_size, hidden_size, num_layers=1)
		self.linear = nn.Linear(hidden_size, vocab_size)

	def forward(self, input, hprev, cprev, seq_len):
		output, hc = self.lstm(input.view(seq_len, 1, -1), (hprev, cprev))
		output = self.linear(output.view(seq_len, -1))

		return output.view(seq_len, len(chars)), hc

charLSTM = _charLSTM()

criterion = nn.CrossEntropyLoss()

optimizer = optim.SGD(charLSTM.parameters(), lr=learning_rate)


def sample(h, c, seed_ix, n):
  """
  sample a sequence of integers from the model
  h, c are the memory state, seed_ix is seed letter for first time step
  """
  x = torch.zeros(1, vocab_size)
  x[0][seed_ix] = 1
  ixes = []
  for t in range(n):
    letter = Variable(x)
    output, hc = charLSTM(letter, h, c, 1)
    p = F.softmax(output, dim=1).data.numpy().ravel()
    ix = np.random.choice(range(vocab_size), p=p / p.sum())
    x = torch.zeros(1, vocab_size)
    x[0][ix] = 1
    ixes.append(ix)
    h = hc[0]
    c = hc[1]
  return ixes


p, n = 0, 0
smooth_loss = -np.log(1.0/vocab_size)  # loss at iteration 0 (CrossEntropyLoss averages over steps)
while True:
  # prepare inputs (we're sweeping from left to right in steps seq_length long)
  if p+seq_length+1 >= len(data) or n == 0:
    hprev = Variable(torch.zeros(1, 1, hidden_size))  # reset LSTM memory
    cprev = Variable(torch.zeros(1, 1, hidden_size))
    p = 0  # go from start of data
  inputs = [char_to_ix[ch] for ch in data[p:p+seq_length]]
  targets = Variable(torch.LongTensor([char_to_ix[ch] for ch in data[p+1:p+seq_length+1]]))

  # sample from the model now and then
  if n % 1000 == 0:
    with torch.no_grad():
      sample_ix = sample(hprev, cprev, inputs[0], 200)
    txt = ''.join(ix_to_char[ix] for ix in sample_ix)
    print('----\n %s \n----' % (txt, ))

  # one-hot encode the inputs: (seq_length, vocab_size)
  x = torch.zeros(len(inputs), vocab_size)
  for t, ix in enumerate(inputs):
    x[t][ix] = 1
  input = Variable(x)


  # forward seq_length characters through the net and fetch the loss
  charLSTM.zero_grad()
  output, hcprev = charLSTM(input, hprev, cprev, seq_length)
  # keep the last hidden and cell state for the next sequence
  hprev = hcprev[0]
  cprev = hcprev[1]
  hprev.detach_()
  cprev.detach_()
  err = criterion(output, targets)
  err.backward()
  optimizer.step()

  smooth_loss = smooth_loss * 0.999 + err.item() * 0.001
  if n % 1000 == 0: print('iter %d, loss: %f' % (n, smooth_loss))  # print progress

  p += seq_length  # move data pointer
  n += 1  # iteration counter
