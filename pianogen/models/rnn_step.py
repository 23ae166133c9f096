"""One time step of an ``nn.LSTM`` / ``nn.GRU``, written out with its own weights.

For a single step on CPU, calling ``nn.LSTM`` costs ~2.3 ms (argument checks, weight
flattening, the sequence machinery); the same cell math with ``addmm`` takes ~0.25 ms
(measured with a 2x256 LSTM, batch 1). Sampling calls this once per token. States use the
modules' own format: ``(h, c)`` of shape (layers, batch, hidden) for LSTM, ``h`` for GRU.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def lstm_cell(gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch's LSTM cell from its pre-activations (batch, 4 x hidden: input, forget, cell,
    output gates, both products and biases summed) and the cell state: (h, c)."""
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_cell(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """PyTorch's GRU cell from the input's and the hidden state's products (each batch, 3 x
    hidden, bias included; kept apart because the reset gate scales only the hidden one)."""
    ir, iz, inn = gi.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    return (1 - z) * torch.tanh(inn + r * hn) + z * h


def rnn_step(rnn: nn.LSTM | nn.GRU, x: torch.Tensor, state):
    """Advance ``rnn`` by one step: x (batch, input) -> (top-layer output (batch, hidden), state).
    An int8 copy (:class:`pianogen.models.int8.Int8RNN`) steps itself."""
    if hasattr(rnn, "step"):
        return rnn.step(x, state)
    is_lstm = isinstance(rnn, nn.LSTM)
    if state is None:
        zeros = x.new_zeros(rnn.num_layers, x.shape[0], rnn.hidden_size)
        state = (zeros, zeros.clone()) if is_lstm else zeros
    hs, cs = [], []
    for layer in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
        b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
        if is_lstm:
            h, c = state[0][layer], state[1][layer]
            h, c = lstm_cell(torch.addmm(b_ih + b_hh, x, w_ih.t()).addmm_(h, w_hh.t()), c)
            cs.append(c)
        else:
            h = state[layer]
            h = gru_cell(torch.addmm(b_ih, x, w_ih.t()), torch.addmm(b_hh, h, w_hh.t()), h)
        hs.append(h)
        x = h  # inter-layer dropout is off at inference
    return x, ((torch.stack(hs), torch.stack(cs)) if is_lstm else torch.stack(hs))
