"""Data layer: download MAESTRO, MIDI <-> note dataframes, preparation and splits.

Nothing here imports torch or gradio, so preparing data stays fast.
"""

from pianogen.data.download import DownloadError, download_maestro
from pianogen.data.maestro import SPLITS, load_metadata
from pianogen.data.midi import MidiReadError, read_midi, to_pretty_midi, tracks_to_pretty_midi, write_midi
from pianogen.data.corpus import PrepareConfig, PrepareError, load_notes, load_pieces, prepare

__all__ = [
    "SPLITS",
    "DownloadError",
    "MidiReadError",
    "PrepareConfig",
    "PrepareError",
    "download_maestro",
    "load_metadata",
    "load_notes",
    "load_pieces",
    "prepare",
    "read_midi",
    "to_pretty_midi",
    "tracks_to_pretty_midi",
    "write_midi",
]
