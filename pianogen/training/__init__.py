"""Training: one loop for every model family (:mod:`.loop`: devices, bf16, torchrun DDP,
time limits, checkpoints, logs) and one task per family, each bringing its models, data and
evaluation to the loop (as audiocraft keeps one solver per family):

- :mod:`.autoregressive`: perf-rnn, note-rnn, the event Transformer and the note Transformer
  (next-token NLL on windows of encoded performances)
- :mod:`.gan`: MuseGAN (WGAN-GP on multi-track pianoroll crops, clock or musical time)

The loop's public names are importable from here; a task from its own module.
"""

from pianogen.training.loop import Task, TrainConfig, Trainer, TrainingDiverged, idle_cores, load_config, process_rank, read_config_file

__all__ = ["Task", "TrainConfig", "Trainer", "TrainingDiverged", "idle_cores", "load_config", "process_rank", "read_config_file"]
