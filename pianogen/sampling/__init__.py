"""Sample new music from trained checkpoints: ``seeds`` (note names, MIDI files and their
limits), ``autoregressive`` (perf-rnn, note-rnn and both Transformers: :func:`sample`),
``gan`` (MuseGAN: :func:`sample_gan`, latent walks, :func:`interpolate`), ``loading`` (a
checkpoint loaded once per process). The names below are the package's public interface."""

from pianogen.sampling.autoregressive import MAX_NOTE_SECONDS, SequenceSampler, load_sampler, pick, sample, shortfall
from pianogen.sampling.gan import WALK_BARS, WALK_DRIFT, GANResult, GANSampler, interpolate, latent_walk, load_gan, sample_gan
from pianogen.sampling.seeds import MAX_SEED_NOTES, MAX_SEED_TEXT, SeedNotes, note_name_to_pitch, parse_note_names, seed_to_notes

__all__ = ["GANResult", "GANSampler", "MAX_NOTE_SECONDS", "MAX_SEED_NOTES", "MAX_SEED_TEXT", "SeedNotes", "SequenceSampler", "WALK_BARS",
           "WALK_DRIFT", "interpolate", "latent_walk", "load_gan", "load_sampler", "note_name_to_pitch", "parse_note_names", "pick",
           "sample", "sample_gan", "seed_to_notes", "shortfall"]
