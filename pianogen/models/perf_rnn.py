"""perf-rnn: Performance RNN (Oore et al. 2018), an LSTM over performance events.

Default size as in Magenta's Performance RNN: 3 layers of 512 units.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from pianogen.models.rnn_step import rnn_step


@dataclass
class PerfRNNConfig:
    vocab_size: int = 388
    layers: int = 3
    hidden: int = 512
    embed: int = 256
    dropout: float = 0.1


class PerfRNN(nn.Module):
    def __init__(self, config: PerfRNNConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size + 1, c.embed)  # id vocab_size = start of piece
        self.rnn = nn.LSTM(c.embed, c.hidden, c.layers, batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.vocab_size)

    @property
    def bos(self) -> torch.Tensor:
        return torch.tensor(self.config.vocab_size)

    def forward(self, events: torch.Tensor, state=None):
        """events: (B, T) previous events -> logits (B, T, vocab) of the next ones, new state."""
        h, state = self.rnn(self.embed(events), state)
        return self.head(self.drop(h)), state

    def step(self, events: torch.Tensor, state=None):
        """One event per row, (B,) -> next-event logits (B, vocab), new state (for sampling)."""
        h, state = rnn_step(self.rnn, self.embed(events), state)
        return self.head(h), state
