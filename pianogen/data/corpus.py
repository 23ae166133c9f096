"""Turn a MAESTRO root, a MAESTRO zip or any folder of MIDI files into note tables.

Outputs in ``out/`` (each written atomically: temp file, then rename):

- ``notes.parquet``: one row per note (see :mod:`pianogen.data.midi`) plus ``piece_id``,
  sorted by (piece_id, start, pitch)
- ``pieces.parquet``: one row per piece: piece_id, path, split, composer, title, year,
  duration (s), n_notes
- ``beats.parquet`` (only where the source has annotation files, e.g. ASAP's
  ``X_annotations.txt`` beside ``X.mid``): one row per annotated beat, ``piece_id`` and the
  columns of :mod:`pianogen.data.beats`
- ``prepare.json``: parameters, counts per split, skipped files with reasons, beat annotations
  read and skipped, seconds taken
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
import pandas as pd

from pianogen.data.beats import BEAT_COLUMNS, BEATS_FILE, BeatAnnotationError, annotation_name, parse_annotations
from pianogen.data.splits import HALVES, hash_split, parse_half, select_half, split_group
from pianogen.data.maestro import METADATA_NAMES, SPLITS, find_metadata, parse_metadata
from pianogen.data.midi import MidiReadError, read_midi_arrays
from pianogen.io import OutputExistsError, atomic_path, write_json

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")
OUTPUT_FILES = ("notes.parquet", "pieces.parquet", "prepare.json", BEATS_FILE)
# Below this much MIDI (bytes), with the default worker count, parsing runs in-process:
# on the 2 MB bundled corpus one process takes 36 ms, two take 49 ms (fork, pickling the
# results back, and two vCPUs that slow each other down ~1.7x on this work).
IN_PROCESS_BYTES = 8 << 20
MISSING = "listed in metadata but missing"
PIECE_COLUMNS = ["piece_id", "path", "split", "composer", "title", "year", "duration", "n_notes"]


class PrepareError(RuntimeError):
    """No file could be read (or another condition that stops the whole run)."""


@dataclass
class PrepareConfig:
    """Parameters of one preparation run (all recorded in ``prepare.json``)."""

    sustain: bool = True
    workers: int = 0  # 0 = all cores
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    backend: str | None = None  # None = symusic if installed, else pretty_midi
    progress: bool = True


@dataclass
class Entry:
    """One MIDI file to read, with what the metadata says about it."""

    path: str  # relative to SOURCE (posix)
    member: str  # where to read it: path under the source root, or zip member name
    piece_id: str
    split: str
    composer: str | None = None
    title: str | None = None
    year: int | None = None


@dataclass
class PrepareResult:
    out: Path
    n_pieces: int
    n_notes: int
    skipped: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def _is_midi(name: str) -> bool:
    return name.lower().endswith(MIDI_SUFFIXES)


def _piece_id(rel: str) -> str:
    return str(PurePosixPath(rel).with_suffix(""))


def _metadata_entries(meta: pd.DataFrame, prefix: str) -> list[Entry]:
    entries = []
    for row in meta.itertuples(index=False):
        rel = f"{prefix}{row.midi_filename}"
        entries.append(
            Entry(
                path=rel,
                member=rel,
                piece_id=_piece_id(row.midi_filename),
                split=row.split,
                composer=row.composer,
                title=row.title,
                year=None if pd.isna(row.year) else int(row.year),
            )
        )
    return entries


def _folder_entries(rels: list[str], cfg: PrepareConfig) -> list[Entry]:
    ids = [_piece_id(r) for r in rels]
    dup = {i for i in ids if ids.count(i) > 1} if len(set(ids)) < len(ids) else set()
    return [
        Entry(path=r, member=r, piece_id=r if i in dup else i, split=hash_split(split_group(r), cfg.val_fraction, cfg.test_fraction))
        for r, i in zip(rels, ids)
    ]


def discover(source: Path, cfg: PrepareConfig) -> tuple[str, list[Entry], list[dict]]:
    """Find what to read in ``source``: returns (kind, entries, missing-file records)."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            names = zf.namelist()
            metas = sorted((n for n in names if PurePosixPath(n).name in METADATA_NAMES), key=lambda n: (n.count("/"), not n.endswith(".csv")))
            if metas:
                meta_name = metas[0]
                prefix = meta_name[: len(meta_name) - len(PurePosixPath(meta_name).name)]
                entries = _metadata_entries(parse_metadata(zf.read(meta_name), meta_name), prefix)
                kind = "maestro-zip"
            else:
                entries = _folder_entries(sorted(n for n in names if _is_midi(n) and not n.endswith("/")), cfg)
                kind = "zip"
            present = set(names)
    elif source.is_dir():
        meta_path = find_metadata(source)
        if meta_path is not None:
            prefix = meta_path.parent.relative_to(source).as_posix()
            prefix = "" if prefix == "." else prefix + "/"
            entries = _metadata_entries(parse_metadata(meta_path.read_bytes(), meta_path.name), prefix)
            kind = "maestro"
        else:
            rels = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file() and _is_midi(p.name))
            entries = _folder_entries(rels, cfg)
            kind = "folder"
        present = None
    elif not source.exists():
        raise PrepareError(f"{source}: no such file or folder")
    else:
        raise PrepareError(f"{source}: not a folder, a MAESTRO root or a zip archive")

    def exists(e: Entry) -> bool:
        return e.member in present if present is not None else (source / e.member).is_file()

    missing = [{"path": e.path, "reason": MISSING} for e in entries if not exists(e)]
    entries = [e for e in entries if exists(e)]
    return kind, entries, missing


# --- parsing (runs in worker processes) ------------------------------------------------

_ZIP_CACHE: dict[str, zipfile.ZipFile] = {}


def _read_member(source: str, member: str) -> bytes:
    if os.path.isdir(source):
        return Path(source, member).read_bytes()
    zf = _ZIP_CACHE.get(source)
    if zf is None:
        zf = _ZIP_CACHE[source] = zipfile.ZipFile(source)
    return zf.read(member)


def _parse(task: tuple[str, str, str, bool, str | None]) -> tuple[str, dict | str]:
    source, member, label, sustain, backend = task
    try:
        notes = read_midi_arrays(_read_member(source, member), sustain=sustain, backend=backend, name=label)
    except MidiReadError as exc:
        return label, str(exc).split(": ", 1)[-1]
    except (OSError, zipfile.BadZipFile) as exc:
        return label, f"cannot read ({exc})"
    if len(notes["pitch"]) == 0:
        return label, "no notes"
    return label, notes


def _read_beats(source: Path, entries: list[Entry]) -> tuple[pd.DataFrame | None, list[dict]]:
    """Every entry's beat annotations, where the source has an annotation file beside its MIDI
    file: (table with piece_id, or None if no entry has one; records of files that could not be
    read, each with the reason). A piece without annotations keeps its notes."""
    frames, bad = [], []
    names = None
    if not source.is_dir():
        with zipfile.ZipFile(source) as zf:
            names = set(zf.namelist())
    for e in entries:
        member = annotation_name(e.member)
        if (member not in names) if names is not None else not (source / member).is_file():
            continue
        label = annotation_name(e.path)
        try:
            text = _read_member(str(source), member).decode("utf-8")
            beats = parse_annotations(text, label)
        except (OSError, UnicodeDecodeError, BeatAnnotationError) as exc:
            reason = str(exc).split(": ", 1)[-1] if isinstance(exc, BeatAnnotationError) else f"cannot read ({exc})"
            log.warning("%s: %s (beats skipped; the notes are kept)", label, reason)
            bad.append({"path": label, "reason": reason})
            continue
        beats.insert(0, "piece_id", e.piece_id)
        frames.append(beats)
    if not frames:
        return None, bad
    return pd.concat(frames, ignore_index=True)[["piece_id", *BEAT_COLUMNS]], bad


def _total_bytes(source: Path, entries: list[Entry]) -> int:
    if source.is_dir():
        return sum((source / e.member).stat().st_size for e in entries)
    with zipfile.ZipFile(source) as zf:
        return sum(zf.getinfo(e.member).file_size for e in entries)


def _parse_chunk(tasks: list[tuple]) -> list[dict | str]:
    return [_parse(t)[1] for t in tasks]


def worker_count(source: Path, entries: list[Entry], cfg: PrepareConfig) -> int:
    """Processes that parse: ``cfg.workers``, or with 0 all cores, except that a small corpus
    is parsed in this process (see IN_PROCESS_BYTES)."""
    workers = min(cfg.workers or os.cpu_count() or 1, max(1, len(entries)))
    if cfg.workers == 0 and _total_bytes(source, entries) < IN_PROCESS_BYTES:
        workers = 1
    return workers


def _iter_parsed(source: Path, entries: list[Entry], cfg: PrepareConfig) -> Iterator[dict | str]:
    """Parse every entry, yielding results in entry order (arrays dict, or a skip reason)."""
    from tqdm import tqdm

    tasks = [(str(source), e.member, e.path, cfg.sustain, cfg.backend) for e in entries]
    workers = worker_count(source, entries, cfg)
    # The bar moves before each result is handed on: the caller may stop pulling after the
    # last one, and the bar must read 100% then.
    with tqdm(total=len(tasks), unit="file", desc="prepare", disable=not cfg.progress, file=sys.stderr) as bar:
        if workers <= 1:
            for t in tasks:
                result = _parse(t)[1]
                bar.update()
                yield result
            return
        # Children parse contiguous chunks; the parent meanwhile writes Parquet batches.
        # fork: children inherit the imported modules, so they start in milliseconds.
        size = max(1, min(64, len(tasks) // (workers * 4)))
        chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for part in pool.map(_parse_chunk, chunks):
                bar.update(len(part))
                yield from part


# --- assembling and writing ------------------------------------------------------------


class _NotesWriter:
    """Streams note batches to Parquet from a background thread (Arrow releases the GIL
    while encoding, so writing overlaps parsing). Rows arrive in piece_id order."""

    BATCH_ROWS = 1 << 16

    def __init__(self, path: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq
        from concurrent.futures import ThreadPoolExecutor

        self.pa = pa
        self.schema = pa.schema(
            [("piece_id", pa.string()), ("pitch", pa.int16()), ("velocity", pa.int16())]
            + [(c, pa.float64()) for c in ("start", "end", "duration", "step")]
        )
        # Dictionary-encode only piece_id: dictionary attempts on float columns cost time.
        self.writer = pq.ParquetWriter(path, self.schema, use_dictionary=["piece_id"])
        self.pool = ThreadPoolExecutor(1)
        self.futures: list = []
        self.pending: list[tuple[str, dict]] = []
        self.rows = self.total = 0

    def add(self, piece_id: str, arrays: dict) -> None:
        self.pending.append((piece_id, arrays))
        self.rows += len(arrays["pitch"])
        if self.rows >= self.BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pa = self.pa
        ids = [pid for pid, _ in self.pending]
        counts = np.array([len(a["pitch"]) for _, a in self.pending])
        # piece_id as dictionary codes decoded in C++: no Python string per note.
        codes = pa.array(np.repeat(np.arange(len(ids), dtype=np.int32), counts))
        cols = [pa.DictionaryArray.from_arrays(codes, pa.array(ids, pa.string())).cast(pa.string())]
        cols += [pa.array(np.concatenate([a[f.name] for _, a in self.pending]), f.type) for f in list(self.schema)[1:]]
        batch = pa.RecordBatch.from_arrays(cols, schema=self.schema)
        self.futures.append(self.pool.submit(self.writer.write_batch, batch))
        self.total += self.rows
        self.pending, self.rows = [], 0

    def close(self) -> int:
        """Finish writing; return the number of rows written."""
        self.flush()
        try:
            for f in self.futures:
                f.result()
        finally:
            self.pool.shutdown()
            self.writer.close()
        return self.total


def _write_table(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def _pieces_frame(entries: list[Entry], sizes: list[tuple[float, int]]) -> pd.DataFrame:
    """The pieces table; ``sizes`` holds (duration in seconds, note count) per entry."""
    return pd.DataFrame(
        {
            "piece_id": pd.array([e.piece_id for e in entries], dtype="string"),
            "path": pd.array([e.path for e in entries], dtype="string"),
            "split": pd.array([e.split for e in entries], dtype="string"),
            "composer": pd.array([e.composer for e in entries], dtype="string"),
            "title": pd.array([e.title for e in entries], dtype="string"),
            "year": pd.array([e.year for e in entries], dtype="Int64"),
            "duration": [d for d, _ in sizes],
            "n_notes": np.array([n for _, n in sizes], dtype=np.int64),
        }
    )


def split_summary(pieces: pd.DataFrame) -> dict:
    """Pieces, notes and hours per split (and in total)."""
    out = {}
    for split in [*SPLITS, *sorted(set(pieces["split"]) - set(SPLITS))]:
        sel = pieces[pieces["split"] == split]
        out[split] = {"pieces": int(len(sel)), "notes": int(sel["n_notes"].sum()), "hours": round(float(sel["duration"].sum()) / 3600, 4)}
    out["all"] = {"pieces": int(len(pieces)), "notes": int(pieces["n_notes"].sum()), "hours": round(float(pieces["duration"].sum()) / 3600, 4)}
    return out


def prepare(source: str | os.PathLike, out: str | os.PathLike, config: PrepareConfig | None = None, force: bool = False) -> PrepareResult:
    """Read every MIDI file of ``source`` in parallel and write the note tables to ``out``.

    Unreadable or missing files are skipped with a one-line warning and listed in
    ``prepare.json``. Raises :class:`PrepareError` when no file could be read and
    :class:`~pianogen.io.OutputExistsError` when ``out`` holds outputs and not ``force``.
    """
    t0 = time.perf_counter()
    cfg = config or PrepareConfig()
    source, out = Path(source), Path(out)
    existing = [out / n for n in OUTPUT_FILES if (out / n).exists()]
    if existing and not force:
        raise OutputExistsError(f"{existing[0]}: already exists (pass --force to overwrite)")

    kind, entries, skipped = discover(source, cfg)
    entries.sort(key=lambda e: e.piece_id)  # notes.parquet is sorted by piece_id
    for s in skipped:
        log.warning("%s: %s", s["path"], s["reason"])
    good_entries, good = [], []
    out.mkdir(parents=True, exist_ok=True)
    # Both tables are renamed into place only once both are fully written.
    with atomic_path(out / "notes.parquet") as notes_tmp, atomic_path(out / "pieces.parquet") as pieces_tmp:
        writer = _NotesWriter(notes_tmp)
        try:
            for e, r in zip(entries, _iter_parsed(source, entries, cfg)):
                if isinstance(r, str):
                    log.warning("%s: %s (skipped)", e.path, r)
                    skipped.append({"path": e.path, "reason": r})
                    continue
                writer.add(e.piece_id, r)
                good_entries.append(e)
                good.append((float(r["end"].max()), len(r["pitch"])))  # (duration s, n_notes)
        finally:
            n_notes = writer.close()
        if not good:
            if not skipped:
                raise PrepareError(f"{source}: no .mid/.midi files found")
            n_missing = sum(s["reason"] == MISSING for s in skipped)
            raise PrepareError(
                f"{source}: no MIDI file could be read: {len(skipped)} skipped, {n_missing} of them listed in "
                f"metadata but missing (first: {skipped[0]['path']}: {skipped[0]['reason']})"
            )
        pieces = _pieces_frame(good_entries, good)
        _write_table(pieces, pieces_tmp)
    beats, beats_skipped = _read_beats(source, good_entries)
    if beats is not None:
        with atomic_path(out / BEATS_FILE) as tmp:
            _write_table(beats, tmp)
    elif (out / BEATS_FILE).exists():  # --force over a folder prepared from an annotated source
        (out / BEATS_FILE).unlink()
    summary = {
        "source": str(source),
        "source_kind": kind,
        "out": str(out),
        "parameters": asdict(cfg) | {"backend": cfg.backend or _backend_name(), "workers_used": worker_count(source, entries, cfg)},
        "counts": split_summary(pieces),
        "files": {"read": len(good), "skipped": len(skipped)},
        "skipped": skipped,
        "beats": {"pieces": 0 if beats is None else int(beats["piece_id"].nunique()), "beats": 0 if beats is None else len(beats), "skipped": beats_skipped},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    write_json(out / "prepare.json", summary)
    return PrepareResult(out=out, n_pieces=len(pieces), n_notes=n_notes, skipped=skipped, summary=summary)


def _backend_name() -> str:
    from pianogen.data.midi import default_backend

    return default_backend()


# --- loading -----------------------------------------------------------------------------


def load_pieces(data_dir: str | os.PathLike, split: str | None = None) -> pd.DataFrame:
    """The ``pieces.parquet`` table of a prepared folder, optionally one split only."""
    path = Path(data_dir) / "pieces.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run scripts/prepare_data.py first)")
    pieces = pd.read_parquet(path)
    if split is not None:
        _check_split(split, pieces)
        if parse_half(split):  # validation-tuning, validation-reporting, ...: see pianogen.data.splits
            return select_half(pieces, split)
        pieces = pieces[pieces["split"] == split].reset_index(drop=True)
    return pieces


def load_notes(data_dir: str | os.PathLike, split: str | None = None) -> pd.DataFrame:
    """The ``notes.parquet`` table of a prepared folder, optionally one split only."""
    path = Path(data_dir) / "notes.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run scripts/prepare_data.py first)")
    if split is None:
        return pd.read_parquet(path)
    ids = load_pieces(data_dir, split)["piece_id"].tolist()
    if not ids:
        return pd.read_parquet(path).iloc[:0]
    return pd.read_parquet(path, filters=[("piece_id", "in", ids)]).reset_index(drop=True)


def _check_split(split: str, pieces: pd.DataFrame) -> None:
    known = set(SPLITS) | set(pieces["split"])
    half = parse_half(split)
    if split not in known and not (half and half[0] in known):
        halves = [f"{s}-{h}" for s in sorted(known) for h in HALVES]
        raise ValueError(f"unknown split {split!r}; choose from {sorted(known)} or a half by composition: {', '.join(halves)}")


def corpus_name(data_dir) -> str:
    """What a prepared folder was made from (prepare.json's source), for checkpoints' JSON."""
    import json
    from pathlib import Path

    meta = Path(data_dir) / "prepare.json"
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return str(data_dir)
    return str(info.get("source") or info.get("input") or data_dir)
