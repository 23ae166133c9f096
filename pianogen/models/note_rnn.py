"""note-rnn: an LSTM/GRU over note tuples with a jointly modelled note.

Each time step reads the previous note and predicts the next one field by field (step, then
pitch, duration, velocity; :mod:`.note_heads`), all conditioned on the RNN state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from pianogen.models.note_heads import FactorizedNote
from pianogen.models.rnn_step import rnn_step


@dataclass
class NoteRNNConfig:
    vocab_sizes: tuple[int, int, int, int] = (125, 128, 124, 32)  # step, pitch, duration, velocity bins
    cell: str = "lstm"  # "lstm" or "gru"
    layers: int = 2
    hidden: int = 256
    embed: int = 64  # per field
    dropout: float = 0.1


class NoteRNN(FactorizedNote, nn.Module):
    def __init__(self, config: NoteRNNConfig):
        super().__init__()
        self.config = c = config
        # Inputs: previous note's fields; index vocab_size of each field is "start of piece".
        self.inputs = nn.ModuleList(nn.Embedding(v + 1, c.embed) for v in c.vocab_sizes)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[c.cell]
        self.rnn = rnn(4 * c.embed, c.hidden, c.layers, batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.build_note_heads(c.vocab_sizes, c.hidden, c.embed)

    @property
    def bos(self) -> torch.Tensor:
        """The "start of piece" input note, shape (4,)."""
        return torch.tensor(self.config.vocab_sizes)

    def forward(self, prev: torch.Tensor, state=None, target: torch.Tensor | None = None):
        """prev: (B, T, 4) previous notes.

        Without ``target``: returns (hidden (B, T, H), state) for step-by-step sampling.
        With ``target`` (B, T, 4), the notes to predict: returns (list of 4 logits tensors,
        teacher-forced in field order, state); everything runs inside forward so DDP syncs
        every parameter's gradient.
        """
        x = torch.cat([emb(prev[..., i]) for i, emb in enumerate(self.inputs)], dim=-1)
        h, state = self.rnn(x, state)
        h = self.drop(h)
        if target is None:
            return h, state
        return self.note_logits(h, target), state

    def step(self, prev: torch.Tensor, state=None):
        """One previous note per row, (B, 4) -> hidden (B, H), new state (for sampling)."""
        x = torch.cat([emb(prev[:, i]) for i, emb in enumerate(self.inputs)], dim=-1)
        return rnn_step(self.rnn, x, state)
