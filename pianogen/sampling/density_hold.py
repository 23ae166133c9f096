"""Holding a long sample's density: a feedback on the time tilt, one per sample.

An autoregressive model left alone for minutes can drift: the shipped perf-rnn played 9.7, 9.7
and 6.4 notes/s in minutes 1, 2 and 3 (mean of 8 samples), a piece that thins out as it goes.
After ``after`` seconds of new music, :class:`DensityHold` compares each sample's notes/s over
its last ``window`` seconds with its own average so far and tilts time for that sample (the
same exponential tilt as ``SequenceSampler.time_bias``: every choice that moves time forward by
d seconds gets ``-tilt * d`` added to its logit) by ``gain`` times the log of their ratio, at
most ``limit`` per second either way. A sample that keeps its pace is left alone; one that
thins is nudged back toward its own pace, not toward anybody else's. Samples shorter than
``after`` are never touched, so 20-second samples (and every tuning and report made with
them) are what they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

TILT_MAX_SECONDS = 1.0  # the most time one choice counts for under a sparser tilt (the longest TIME_SHIFT)


def tilt_bias(tilt: torch.Tensor, seconds: torch.Tensor) -> torch.Tensor:
    """The logits' bias (..., C) of a time tilt (...,) per second over classes that move time
    forward ``seconds`` (C,): ``-tilt * d`` for a class of d seconds.

    A busier (positive) tilt penalizes a long step in full. A sparser one favors a step only up
    to ``TILT_MAX_SECONDS``: a note's step reaches 8 s, and uncapped, a tilt of -3 would add 24
    to an 8 s step's logit, so that most steps jumped there and the music fell silent (a
    TIME_SHIFT event is at most 1 s, so the event models are unchanged)."""
    t = tilt[..., None]
    return -t * torch.where(t < 0, seconds.clamp(max=TILT_MAX_SECONDS), seconds)


@dataclass(frozen=True)
class HoldConfig:
    after: float = 30.0  # seconds of new music before the hold acts
    window: float = 15.0  # seconds of recent music compared with the sample's average
    gain: float = 1.5  # tilt (per second) per unit of log ratio
    limit: float = 3.0  # largest tilt the hold adds, per second, either way


class DensityHold:
    """Onset counts per sample in 1-second buckets, and the time tilt each sample gets.

    ``steps`` (C,): the seconds each class the bias is added to moves time forward;
    ``seconds``: the longest a sample runs.
    """

    def __init__(self, n: int, steps: torch.Tensor, seconds: float, cfg: HoldConfig = HoldConfig()):
        self.cfg, self.steps = cfg, steps
        self.counts = torch.zeros(n, int(seconds) + 2, device=steps.device)
        self._rows = torch.arange(n, device=steps.device)

    def add(self, onsets: torch.Tensor, at: torch.Tensor) -> None:
        """Count a note onset for each sample where ``onsets`` (n,) is true, at ``at`` (n,) seconds."""
        idx = at.floor().long().clamp(0, self.counts.shape[1] - 1)
        self.counts.index_put_((self._rows, idx), onsets.to(self.counts.dtype), accumulate=True)

    def tilt(self, now: torch.Tensor) -> torch.Tensor:
        """The tilt (n,) per second each sample gets at ``now`` (n,) seconds of its new music."""
        c = self.cfg
        full = now.floor().long().clamp(0, self.counts.shape[1] - 1)  # whole seconds behind each sample
        total = torch.cat([self.counts.new_zeros(len(now), 1), self.counts.cumsum(1)], 1)  # total[:, k]: onsets before second k
        done = total[self._rows, full]
        recent = done - total[self._rows, (full - int(c.window)).clamp(min=0)]
        average = done / full.clamp(min=1)
        # +0.5 notes/s keeps the log finite where a sample fell silent (and damps tiny counts).
        err = torch.log((average + 0.5) / (recent / c.window + 0.5))
        return torch.where(full >= c.after, (c.gain * err).clamp(-c.limit, c.limit), torch.zeros_like(err))

    def bias(self, base: torch.Tensor | None, now: torch.Tensor) -> torch.Tensor:
        """``base`` (C,) or None plus each sample's hold: (n, C)."""
        extra = tilt_bias(self.tilt(now), self.steps)
        return extra if base is None else base[None, :] + extra
