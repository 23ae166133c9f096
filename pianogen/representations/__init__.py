"""Pure encode/decode functions between notes dataframes and model inputs.

- :mod:`.note_tuples`: one token per note, (step, pitch, duration, velocity) bins
- :mod:`.performance`: Performance RNN events (NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY)
- :mod:`.pianoroll`: multi-track pianorolls for MuseGAN
- :mod:`.keys`: key signatures as twelve scale classes (a MuseGAN condition)
- :mod:`.textures`: a passage's rhythm, density and loudness classes (a MuseGAN condition)

Each module has an ``encode``/``decode`` pair and a config dataclass that is saved in
checkpoints (``asdict``) and restored with ``Config(**d)``.
"""

from pianogen.representations.grids import TimeGrid, VelocityBins

__all__ = ["TimeGrid", "VelocityBins"]
