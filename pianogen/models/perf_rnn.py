"""perf-rnn: Performance RNN (Oore et al. 2018), an LSTM over performance events.

Default size as in Magenta's Performance RNN: 3 layers of 512 units. With ``density_bins``
> 0 it is Magenta's density-conditioned variant: the input at each step also carries the
note-density bin of the event being predicted (an embedding added to the event's), so at
sampling time a target density can be asked for.
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
    density_bins: int = 0  # 0: unconditioned; else the number of note-density bins


class PerfRNN(nn.Module):
    def __init__(self, config: PerfRNNConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size + 1, c.embed)  # id vocab_size = start of piece
        self.rnn = nn.LSTM(c.embed, c.hidden, c.layers, batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.vocab_size)
        if c.density_bins:
            # Zero at first: a model fine-tuned from an unconditioned checkpoint starts out
            # exactly as that model and learns what each bin means.
            self.density = nn.Embedding(c.density_bins, c.embed)
            nn.init.zeros_(self.density.weight)

    def _inputs(self, events: torch.Tensor, density: torch.Tensor | None) -> torch.Tensor:
        x = self.embed(events)
        if self.config.density_bins:
            if density is None:
                raise ValueError("this perf-rnn is density-conditioned: pass density (bin per step)")
            x = x + self.density(density)
        return x

    @property
    def bos(self) -> torch.Tensor:
        return torch.tensor(self.config.vocab_size)

    def forward(self, events: torch.Tensor, state=None, density: torch.Tensor | None = None):
        """events: (B, T) previous events -> logits (B, T, vocab) of the next ones, new state.
        ``density`` (B, T): the density bin of each *next* event (density-conditioned only)."""
        h, state = self.rnn(self._inputs(events, density), state)
        return self.head(self.drop(h)), state

    def step(self, events: torch.Tensor, state=None, density: torch.Tensor | None = None):
        """One event per row, (B,) -> next-event logits (B, vocab), new state (for sampling)."""
        h, state = rnn_step(self.rnn, self._inputs(events, density), state)
        return self.head(h), state
