"""note-transformer: the Transformer decoder over note tuples, one position per note.

A note is (step since the previous onset, pitch, duration, velocity), note-rnn's codec: about
11 tokens per second of piano music against about 57 performance events, so a context of 512
holds some 45 s, long enough for a figure or a harmony to come back (Music Transformer's point,
at a fifth of the cost). As in the Compound Word Transformer (Hsiao et al., AAAI 2021) each
position reads the sum of its four fields' embeddings; the next note is predicted field by field
(step, pitch, duration, velocity; :mod:`.note_heads`), so duration and loudness are the model's
own choice per note. The decoder (rotary positions, fused attention, sliding key/value cache) is
:class:`pianogen.models.transformer.Decoder`. With ``keyboard=True`` the model is also told which
keys are sounding, at every input and at the next note's onset (:mod:`.keyboard`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from pianogen.models.keyboard import Keyboard
from pianogen.models.note_heads import FactorizedNote
from pianogen.models.transformer import Decoder, DecoderConfig, KVCache


@dataclass
class NoteTransformerConfig(DecoderConfig):
    """Decoder sizes (``context`` counts notes) and the note's fields."""

    vocab_sizes: tuple[int, int, int, int] = (125, 128, 124, 32)  # step, pitch, duration, velocity bins
    embed: int = 64  # embedding of each decided field, fed to the later heads
    # Read the sounding keys from the decoded times (:mod:`.keyboard`). Needs the note-tuple
    # codec's default grids (their bin values are the model's clock). False in checkpoints
    # from before it existed.
    keyboard: bool = False


class NoteTransformer(FactorizedNote, Decoder):
    def __init__(self, config: NoteTransformerConfig):
        super().__init__(config)
        c = config
        # Inputs: the previous note's fields, summed; index vocab_size of each field is "start of piece".
        self.inputs = nn.ModuleList(nn.Embedding(v + 1, c.width) for v in c.vocab_sizes)
        self.build_note_heads(c.vocab_sizes, c.width, c.embed)
        self.apply(self._init)
        self.keyboard = self._keyboard(c) if c.keyboard else None  # after _init: its layers start at zero

    @staticmethod
    def _keyboard(c: NoteTransformerConfig) -> Keyboard:
        from pianogen.representations.note_tuples import NoteTupleConfig

        grids = NoteTupleConfig()
        if (grids.step_grid.size, grids.duration_grid.size) != (c.vocab_sizes[0], c.vocab_sizes[2]):
            raise ValueError(f"keyboard needs the note-tuple codec's default grids ({grids.step_grid.size} step and "
                             f"{grids.duration_grid.size} duration bins), not {c.vocab_sizes[0]} and {c.vocab_sizes[2]}")
        return Keyboard(torch.from_numpy(grids.step_grid.values), torch.from_numpy(grids.duration_grid.values), c.width)

    @property
    def bos(self) -> torch.Tensor:
        """The "start of piece" input note, shape (4,)."""
        return torch.tensor(self.config.vocab_sizes)

    def forward(self, prev: torch.Tensor, state: KVCache | None = None, target: torch.Tensor | None = None):
        """prev: (B, T, 4) previous notes. Without ``target``: (hidden (B, T, width), cache); with
        ``target`` (B, T, 4): (the four fields' logits, teacher-forced, cache). As note-rnn."""
        x = sum(emb(prev[..., i]) for i, emb in enumerate(self.inputs))
        keys = None
        if self.keyboard is not None:
            keys = self.keyboard.advance(prev, state.extra if state is not None and state.extra else None)
            x = x + self.keyboard.input(*keys)
        h, new = self.decode(x, state)
        if keys is not None:
            new.extra = tuple(k[:, -1] for k in keys)
        if target is None:
            return h, new
        return self.note_logits(h, target, keys), new

    def later_input(self, h: torch.Tensor, step: torch.Tensor, keys) -> tuple[torch.Tensor, torch.Tensor | None]:
        """With a keyboard: the keys sounding at the next note's onset, read by the later heads
        (``keys``: :meth:`Keyboard.advance`'s state at the last note read, or per position)."""
        if self.keyboard is None:
            return super().later_input(h, step, keys)
        return self.keyboard.next_note(h, step, *keys)

    @torch.no_grad()
    def generate_step(self, h: torch.Tensor, pick, state: KVCache | None = None) -> torch.Tensor:
        """As :meth:`FactorizedNote.generate_step`, reading the keys from ``state`` (the cache
        after the last note)."""
        return super().generate_step(h, pick, state.extra if state is not None else None)

    def step(self, prev: torch.Tensor, state: KVCache | None = None):
        """One previous note per row, (B, 4) -> hidden (B, width), new cache (for sampling)."""
        h, state = self(prev[:, None], state)
        return h[:, 0], state
