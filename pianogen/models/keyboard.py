"""The keyboard a note model plays on: which keys are sounding, for how long, and how recently
each was struck, read at a note's onset from the note tuples before it.

A note-tuple model sees the keys only as a sequence of past notes; which of them still sound at
the next onset is a sum of steps against durations that it has to learn, and the shipped
note-transformer learned it badly: 15% of its notes started on a key whose earlier note still
sounded (real music: none), and 8% of its chord intervals were semitones (real 1.5%;
docs/results.md, "A key holds one note at a time"). :class:`Keyboard` computes that state
exactly from the decoded times and gives it to the model twice:

- as an input at every position (the keys sounding at the onset of the note just read), so the
  decoder knows the texture it is continuing;
- to the heads of the next note once its step is chosen (the keys sounding where that note will
  start), as a vector added to the hidden state and as a convolution over the keyboard added to
  the pitch logits: a learned, transposition-invariant pattern of intervals (a held C makes C and
  C#, but not E or G, unlikely).

Per key and reading time the state is three numbers: sounding (0/1), its remaining time (s,
capped at 2 s, divided by 2) and how recently it was struck (exp(-age / 0.25 s); 0 if never).
The layers start at zero, so a model given a keyboard starts as the model without one
(fine-tuning from a checkpoint of the same sizes changes nothing at first).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

KEYS = 128
CHANNELS = 3  # sounding, remaining time, recency
MAX_REMAINING = 2.0  # s: remaining time is capped here (a longer hold adds little)
RECENCY = 0.25  # s: time constant of the "struck recently" channel
# s: a key counts as sounding only this long before its end, so a note that ends exactly where the
# next one starts (legato: common on the 10 ms grids) is not read as held through float32 rounding.
SOUNDING_MIN = 1e-3

#: Carried between calls, per row: (onset of the last note (B,) s, each key's last strike (B, 128) s
#: (-inf: never), the end of that strike's note (B, 128) s), all relative to the first note read.
KeyboardState = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class Keyboard(nn.Module):
    """Keyboard state from note tuples (step, pitch, duration, velocity bins) and the layers that
    read it. ``step_seconds`` / ``duration_seconds``: each bin's decoded value (s)."""

    def __init__(self, step_seconds: torch.Tensor, duration_seconds: torch.Tensor, width: int, reach: int = 24):
        super().__init__()
        # Not saved with the weights: they are the codec's grids, rebuilt from its config.
        self.register_buffer("step_seconds", torch.as_tensor(step_seconds, dtype=torch.float32), persistent=False)
        self.register_buffer("duration_seconds", torch.as_tensor(duration_seconds, dtype=torch.float32), persistent=False)
        self.inp = nn.Linear(KEYS * CHANNELS, width)
        self.head = nn.Linear(KEYS * CHANNELS, width)
        # The pitch bias is a convolution over the keyboard (intervals up to ``reach`` semitones),
        # computed as one matrix product with the head's (a banded matrix built from the kernel):
        # a training step (2 x 128, 16 x 512 notes, 2 AVX2 cores, fp32) took 0.72 s this way, 0.91 s with nn.Conv1d.
        self.pitch = nn.Parameter(torch.empty(CHANNELS, 2 * reach + 1))
        key = torch.arange(KEYS)
        interval = key[:, None] - key[None, :] + reach  # [held key, candidate key] -> kernel tap
        self.register_buffer("taps", interval.clamp(0, 2 * reach), persistent=False)
        self.register_buffer("within", (interval >= 0) & (interval <= 2 * reach), persistent=False)
        for p in self.parameters():
            nn.init.zeros_(p)
        self._frozen: tuple | None = None  # (weights' identity, head_and_pitch()) while sampling

    def head_and_pitch(self) -> torch.Tensor:
        """(3 x 128, width + 128): the head's weights and the banded pitch convolution side by side.
        Rebuilding it costs 0.3 ms, a tenth of a sampling step at batch 1, so without gradients it
        is kept until the weights change (in place: their version; moved: their storage)."""
        if torch.is_grad_enabled():
            return torch.cat([self.head.weight.T, self.banded()], 1)
        key = tuple((p.data_ptr(), p._version) for p in (self.head.weight, self.pitch))
        if self._frozen is None or self._frozen[0] != key:
            self._frozen = (key, torch.cat([self.head.weight.T, self.banded()], 1))
        return self._frozen[1]

    def banded(self) -> torch.Tensor:
        """The pitch convolution as a (3 x 128, 128) matrix: row (channel, held key), column candidate key."""
        return (self.pitch[:, self.taps] * self.within).flatten(0, 1)

    def empty(self, batch: int, device: torch.device) -> KeyboardState:
        """No key struck yet, the clock at 0."""
        never = torch.full((batch, KEYS), float("-inf"), device=device)
        return torch.zeros(batch, device=device), never, never.clone()

    def advance(self, prev: torch.Tensor, carried: KeyboardState | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Play the notes ``prev`` (B, T, 4) after ``carried`` (None: an empty keyboard). Returns,
        after each note: its onset (B, T) s, and each key's last strike and that note's end (B, T,
        128) s. A start-of-piece token (step bin past the grid) plays nothing. A key holds one
        note: a new strike replaces the earlier note, however long that was to last."""
        B, T = prev.shape[:2]
        carried = carried if carried is not None else self.empty(B, prev.device)
        n_step = len(self.step_seconds)
        real = prev[..., 0] < n_step
        step = torch.where(real, self.step_seconds[prev[..., 0].clamp(max=n_step - 1)], 0.0)
        onset = carried[0][:, None] + step.cumsum(1)
        end = onset + self.duration_seconds[prev[..., 2].clamp(max=len(self.duration_seconds) - 1)]
        struck = F.one_hot(prev[..., 1].clamp(0, KEYS - 1), KEYS).bool() & real[..., None]
        never = torch.tensor(float("-inf"), device=prev.device)
        starts = torch.cat([carried[1][:, None], torch.where(struck, onset[..., None], never)], 1)
        ends = torch.cat([carried[2][:, None], torch.where(struck, end[..., None], never)], 1)
        last_start, at = starts.cummax(1)  # onsets never decrease: the latest strike is the largest
        return onset, last_start[:, 1:], ends.gather(1, at)[:, 1:]

    @staticmethod
    def read(at: torch.Tensor, last_start: torch.Tensor, last_end: torch.Tensor) -> torch.Tensor:
        """The keyboard at times ``at`` (...,) s: (..., 3, 128) sounding, remaining time, recency."""
        remaining = (last_end - at[..., None]).clamp(min=0.0)
        age = at[..., None] - last_start  # +inf for a key never struck
        return torch.stack([(remaining > SOUNDING_MIN).float(), remaining.clamp(max=MAX_REMAINING) / MAX_REMAINING, torch.exp(-age / RECENCY)], -2)

    def input(self, onset: torch.Tensor, last_start: torch.Tensor, last_end: torch.Tensor) -> torch.Tensor:
        """(B, T, width): what each position adds to its input, the keys sounding at its own onset."""
        return self.inp(self.read(onset, last_start, last_end).flatten(-2))

    def next_note(self, h: torch.Tensor, step: torch.Tensor, onset: torch.Tensor, last_start: torch.Tensor,
                  last_end: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For the next note, whose step bin is ``step`` (...,): the hidden state the pitch,
        duration and velocity heads read (h + the keys sounding at its onset), and a bias
        (..., 128) for its pitch logits."""
        k = self.read(onset + self.step_seconds[step], last_start, last_end).flatten(-2)
        out = k @ self.head_and_pitch()
        return h + self.head.bias + out[..., : h.shape[-1]], out[..., h.shape[-1] :]
