"""note-transformer: the Transformer decoder over note tuples, one position per note.

A note is (step since the previous onset, pitch, duration, velocity), note-rnn's codec: about
11 tokens per second of piano music against about 57 performance events, so a context of 512
holds some 45 s, long enough for a figure or a harmony to come back (Music Transformer's point,
at a fifth of the cost). As in the Compound Word Transformer (Hsiao et al., AAAI 2021) each
position reads the sum of its four fields' embeddings; the next note is predicted field by field
(step, pitch, duration, velocity; :mod:`.note_heads`), so duration and loudness are the model's
own choice per note. The decoder (rotary positions, fused attention, sliding key/value cache) is
:class:`pianogen.models.transformer.Decoder`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from pianogen.models.note_heads import FactorizedNote
from pianogen.models.transformer import Decoder, DecoderConfig, KVCache


@dataclass
class NoteTransformerConfig(DecoderConfig):
    """Decoder sizes (``context`` counts notes) and the note's fields."""

    vocab_sizes: tuple[int, int, int, int] = (125, 128, 124, 32)  # step, pitch, duration, velocity bins
    embed: int = 64  # embedding of each decided field, fed to the later heads


class NoteTransformer(FactorizedNote, Decoder):
    def __init__(self, config: NoteTransformerConfig):
        super().__init__(config)
        c = config
        # Inputs: the previous note's fields, summed; index vocab_size of each field is "start of piece".
        self.inputs = nn.ModuleList(nn.Embedding(v + 1, c.width) for v in c.vocab_sizes)
        self.build_note_heads(c.vocab_sizes, c.width, c.embed)
        self.apply(self._init)

    @property
    def bos(self) -> torch.Tensor:
        """The "start of piece" input note, shape (4,)."""
        return torch.tensor(self.config.vocab_sizes)

    def forward(self, prev: torch.Tensor, state: KVCache | None = None, target: torch.Tensor | None = None):
        """prev: (B, T, 4) previous notes. Without ``target``: (hidden (B, T, width), cache); with
        ``target`` (B, T, 4): (the four fields' logits, teacher-forced, cache). As note-rnn."""
        h, state = self.decode(sum(emb(prev[..., i]) for i, emb in enumerate(self.inputs)), state)
        if target is None:
            return h, state
        return self.note_logits(h, target), state

    def step(self, prev: torch.Tensor, state: KVCache | None = None):
        """One previous note per row, (B, 4) -> hidden (B, width), new cache (for sampling)."""
        h, state = self(prev[:, None], state)
        return h[:, 0], state
