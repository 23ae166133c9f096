"""What a listener hears in one segment: about 120 transposition-free features.

:mod:`.features` describes a piece by one histogram at a time (what Yang & Lerch's OA
compares). Real performances differ from generated ones in what those histograms miss, so
this module adds, for one segment (typically 20 s; times in seconds, pitches MIDI, velocities
MIDI 0-127):

- **repetition**: how often melodic and rhythmic figures recur inside the segment (interval
  n-grams of the top voice, inter-onset-interval n-grams, both together, chords by pitch-class
  set) and how similar the harmony (0.5 s chroma frames) is at lags of 2, 4, 8 and 16 s, with
  the harmonic *return*: for each frame, the best match 2-16 s back;
- **dynamics from note to note**: velocity histogram, the change between successive notes and
  chords, how smooth the loudness curve is (lag-1 autocorrelation of chord velocities), whether
  the top note of a chord is its loudest (melody voicing), the spread of the 2 s loudness curve;
- **micro-timing**: how far apart the notes of one chord start (a pianist spreads them by 5-40 ms;
  a grid does not), the regularity of inter-onset intervals and their ratios;
- **note lengths**: a log-spaced histogram whose last bin holds notes held to about 5 s (the
  decoder's cap), the share held to exactly that cap, legato (length against the next onset);
- **texture and pitch** without absolute pitch: chord sizes, polyphony histogram, pitch range and
  spread, melodic and bass intervals, vertical interval classes, pitch-class statistics sorted by
  rank (so a transposed segment has the same features).

Segments are put on the models' finest grids first (10 ms, 32 velocity bins; see GRID_SECONDS),
so no feature can read a representation's grid instead of the music. Every feature is finite
for any segment with at least two notes (undefined ones are 0), so a
classifier can use all of them. :func:`stability_features` describes a long piece (60 s and more)
by how its key and density hold over windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pianogen.evaluation.features import MAJOR, MINOR
from pianogen.representations.grids import VelocityBins

CHORD_GAP = 0.03  # s: onsets closer than this to the previous one join its chord ...
CHORD_SPAN = 0.08  # s: ... while the chord spans less than this
CAP_SECONDS = 5.0  # the decoder's longest note (sampling.MAX_NOTE_SECONDS)
FRAME = 0.5  # s: chroma frame
LAGS = (2, 4, 8, 16)  # s: chroma self-similarity lags
IOI_EDGES = np.array([0.06, 0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0, 1.5])
DUR_EDGES = np.array([0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, CAP_SECONDS - 0.05])
VEL_EDGES = np.array([32, 48, 56, 64, 72, 80, 96])
# Every segment is first put on the models' finest grids, which no listener hears: onsets and
# releases on 10 ms (performance events and note tuples), velocities on 32 bins of 4. Otherwise a
# classifier tells generated music by its grid (a model cannot play velocity 61 after 62), not
# by its music.
GRID_SECONDS = 0.01
VELOCITY_GRID = VelocityBins(32)
# |velocity change| between successive notes, on that grid: none, one bin, 2-3 bins, 4 or more.
DV_EDGES = np.array([2, 6, 14])
SPREAD_EDGES = np.array([0.005, 0.015, 0.04])  # chord onset spread: <5 ms, 5-15, 15-40, 40+
MEL_EDGES = np.array([0.5, 1.5, 2.5, 4.5, 7.5, 12.5])  # |interval|: 0, 1, 2, 3-4, 5-7, 8-12, 13+
POLY_EDGES = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 6.5, 9.5])  # keys sounding: 0, 1, 2, 3, 4, 5-6, 7-9, 10+
CHORD_SIZE_EDGES = np.array([1.5, 2.5, 3.5, 4.5])  # 1, 2, 3, 4, 5+
# Krumhansl & Kessler's key profiles (major, minor), for key estimates.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _share_hist(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of ``values`` in the bins cut at ``edges`` (len(edges) + 1 bins; zeros if empty)."""
    h = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1).astype(float)
    return h / h.sum() if h.sum() else h


def _named(prefix: str, labels, values) -> dict[str, float]:
    return {f"{prefix}_{label}": float(v) for label, v in zip(labels, values)}


def _edge_labels(edges, unit: str = "") -> list[str]:
    e = [f"{x:g}" for x in edges]
    return [f"<{e[0]}{unit}"] + [f"{a}-{b}{unit}" for a, b in zip(e, e[1:])] + [f">={e[-1]}{unit}"]


def chords(start: np.ndarray) -> np.ndarray:
    """Chord index of every onset (``start`` sorted): onsets within ``CHORD_GAP`` of the previous
    one join its chord while the chord spans under ``CHORD_SPAN`` (a rolled chord, not a run)."""
    out = np.zeros(len(start), dtype=np.int64)
    first = start[0] if len(start) else 0.0
    k = 0
    for i in range(1, len(start)):
        if start[i] - start[i - 1] >= CHORD_GAP or start[i] - first >= CHORD_SPAN:
            k += 1
            first = start[i]
        out[i] = k
    return out


def recurrence(seq: list | np.ndarray, n: int) -> float:
    """Share of the ``n``-grams of ``seq`` that occur more than once in it (0 if it has none)."""
    grams = [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]
    if not grams:
        return 0.0
    counts: dict = {}
    for g in grams:
        counts[g] = counts.get(g, 0) + 1
    return sum(1 for g in grams if counts[g] > 1) / len(grams)


def chroma_frames(pitch: np.ndarray, velocity: np.ndarray, start: np.ndarray, end: np.ndarray, frame: float = FRAME) -> np.ndarray:
    """(frames, 12) chroma: each note adds its sounding time in the frame times velocity/127."""
    n = int(np.ceil(max(end.max(), frame) / frame))
    out = np.zeros((n, 12))
    for p, v, s, e in zip(pitch % 12, velocity / 127.0, start, end):
        a = min(int(s // frame), n - 1)  # a zero-length note at the very end still lands in a frame
        b = int(min(np.ceil(e / frame), n))
        for f in range(a, max(b, a + 1)):
            out[f, p] += v * max(0.0, min(e, (f + 1) * frame) - max(s, f * frame))
    return out


def chroma_similarity(chroma: np.ndarray, frame: float = FRAME) -> dict[str, float]:
    """Cosine similarity of chroma frames at each lag of ``LAGS`` seconds (mean over sounding
    pairs), over all pairs, and the harmonic return: each frame's best match 2-16 s back."""
    norm = np.linalg.norm(chroma, axis=1)
    live = norm > 0
    unit = np.where(live[:, None], chroma / np.where(live, norm, 1)[:, None], 0)
    sim = unit @ unit.T
    both = live[:, None] & live[None, :]
    out = {}
    for lag in LAGS:
        k = int(round(lag / frame))
        d, ok = np.diagonal(sim, k), np.diagonal(both, k)
        out[f"chroma_sim_{lag}s"] = float(d[ok].mean()) if ok.any() else 0.0
    iu = np.triu_indices(len(sim), 1)
    out["chroma_sim_all"] = float(sim[iu][both[iu]].mean()) if both[iu].any() else 0.0
    lo, hi = int(round(2 / frame)), int(round(16 / frame))
    best = [sim[t, max(0, t - hi) : t - lo + 1][both[t, max(0, t - hi) : t - lo + 1]].max()
            for t in range(lo, len(sim)) if live[t] and both[t, max(0, t - hi) : t - lo + 1].any()]
    out["chroma_return"] = float(np.mean(best)) if best else 0.0
    return out


def key_of(pitch: np.ndarray, weight: np.ndarray | None = None) -> tuple[int, str, float]:
    """(tonic pitch class, "major" | "minor", correlation) of the best Krumhansl-Kessler key for
    a pitch-class distribution of ``pitch`` (weighted, e.g. by duration)."""
    pcs = np.bincount(np.asarray(pitch) % 12, weights=weight, minlength=12).astype(float)
    best = (0, "major", -2.0)
    if pcs.std() == 0:
        return best
    for tonic in range(12):
        for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            r = float(np.corrcoef(pcs, np.roll(prof, tonic))[0, 1])
            if r > best[2]:
                best = (tonic, mode, r)
    return best


def segment_features(notes: pd.DataFrame) -> dict[str, float]:
    """Every feature of one segment (see the module doc); needs at least two notes."""
    if len(notes) < 2:
        raise ValueError("need at least two notes to describe a segment")
    df = notes.sort_values(["start", "pitch"], kind="stable")
    pitch = df["pitch"].to_numpy(dtype=np.int64)
    vel = VELOCITY_GRID.value(VELOCITY_GRID.quantize(df["velocity"].to_numpy())).astype(float)
    start = np.round(df["start"].to_numpy(dtype=float) / GRID_SECONDS) * GRID_SECONDS
    end = np.maximum(np.round(df["end"].to_numpy(dtype=float) / GRID_SECONDS) * GRID_SECONDS, start)
    t0 = start.min()
    start, end = start - t0, end - t0
    dur = end - start
    span = max(float(end.max()), 1e-6)
    f: dict[str, float] = {}

    # Chords (onset clusters) and their top / bottom voices.
    cid = chords(start)
    nc = int(cid[-1]) + 1
    size = np.bincount(cid, minlength=nc)
    c_start = np.array([start[cid == k].min() for k in range(nc)])
    c_spread = np.array([np.ptp(start[cid == k]) for k in range(nc)])
    top_idx = np.array([np.flatnonzero(cid == k)[np.argmax(pitch[cid == k])] for k in range(nc)])
    bot_idx = np.array([np.flatnonzero(cid == k)[np.argmin(pitch[cid == k])] for k in range(nc)])
    c_vel = np.array([vel[cid == k].mean() for k in range(nc)])

    # Density and rhythm.
    f["notes_per_second"] = len(pitch) / span
    f["chords_per_second"] = nc / span
    f.update(_named("chord_size", ["1", "2", "3", "4", "5+"], _share_hist(size, CHORD_SIZE_EDGES)))
    ioi = np.diff(c_start)
    f.update(_named("ioi", _edge_labels(IOI_EDGES, "s"), _share_hist(ioi, IOI_EDGES)))
    log_ioi = np.log(np.maximum(ioi, 1e-3))
    f["ioi_log_mean"] = float(log_ioi.mean()) if len(ioi) else 0.0
    f["ioi_log_sd"] = float(log_ioi.std()) if len(ioi) else 0.0
    ratio = np.abs(np.diff(log_ioi)) if len(ioi) > 1 else np.zeros(0)
    f["ioi_ratio_same"] = float((ratio < np.log(1.15)).mean()) if len(ratio) else 0.0
    f["ioi_ratio_double"] = float((np.abs(ratio - np.log(2)) < np.log(1.15)).mean()) if len(ratio) else 0.0
    f["ioi_ratio_triple"] = float((np.abs(ratio - np.log(3)) < np.log(1.15)).mean()) if len(ratio) else 0.0

    # Micro-timing: how far apart the notes of one chord start.
    multi = size > 1
    f.update(_named("chord_spread", ["<5ms", "5-15ms", "15-40ms", ">=40ms"], _share_hist(c_spread[multi], SPREAD_EDGES)))
    f["chord_spread_mean_ms"] = 1000 * float(c_spread[multi].mean()) if multi.any() else 0.0

    # Note lengths.
    f.update(_named("length", _edge_labels(DUR_EDGES, "s"), _share_hist(dur, DUR_EDGES)))
    f["length_at_cap"] = float((np.abs(dur - CAP_SECONDS) < 0.011).mean())
    f["length_log_median"] = float(np.median(np.log(np.maximum(dur, 1e-3))))
    nxt = np.searchsorted(c_start, start, side="right")  # the next chord after each note's onset
    has = nxt < nc
    legato = dur[has] / np.maximum(c_start[nxt[has]] - start[has], 1e-3)
    f["legato_log_median"] = float(np.median(np.log(np.maximum(legato, 1e-3)))) if has.any() else 0.0

    # Polyphony over time.
    times = np.concatenate([start, end])
    delta = np.concatenate([np.ones(len(start)), -np.ones(len(end))])
    order = np.lexsort((delta, times))
    t, d = times[order], delta[order]
    seg, count = np.diff(t), np.cumsum(d)[:-1]
    total = seg.sum()
    poly_hist = np.bincount(np.searchsorted(POLY_EDGES, count, side="right"), weights=seg, minlength=len(POLY_EDGES) + 1)
    f.update(_named("poly", ["0", "1", "2", "3", "4", "5-6", "7-9", "10+"], poly_hist / total if total > 0 else poly_hist))
    sounding = count > 0
    w = seg[sounding]
    f["poly_mean"] = float((w * count[sounding]).sum() / w.sum()) if w.sum() > 0 else 0.0
    f["poly_sd"] = float(np.sqrt((w * (count[sounding] - f["poly_mean"]) ** 2).sum() / w.sum())) if w.sum() > 0 else 0.0
    f["poly_max"] = float(count.max()) if len(count) else 1.0

    # Pitch without absolute pitch.
    f["pitch_range"] = float(pitch.max() - pitch.min())
    f["pitch_sd"] = float(pitch.std())
    f["n_pitches"] = float(len(np.unique(pitch)))
    pcs = np.bincount(pitch % 12, minlength=12).astype(float)
    pch = pcs / pcs.sum()
    nz = pch[pch > 0]
    f["n_pitch_classes"] = float((pcs > 0).sum())
    f["pitch_class_entropy"] = float(-(nz * np.log2(nz)).sum())
    f["scale_consistency"] = float(max(pcs[(s + k) % 12].sum() for k in range(12) for s in (MAJOR, MINOR)) / pcs.sum())
    f.update(_named("pc_rank", range(1, 13), np.sort(pch)[::-1]))
    f["key_clarity"] = key_of(pitch, dur)[2]
    top, bass = pitch[top_idx], pitch[bot_idx]
    mel = np.diff(top)
    f.update(_named("melody_step", ["0", "1", "2", "3-4", "5-7", "8-12", "13+"], _share_hist(np.abs(mel), MEL_EDGES)))
    f["melody_step_mean"] = float(np.abs(mel).mean()) if len(mel) else 0.0
    f["melody_up_share"] = float((mel > 0).sum() / max((mel != 0).sum(), 1))
    f["bass_step_mean"] = float(np.abs(np.diff(bass)).mean()) if nc > 1 else 0.0
    f["chord_width_mean"] = float((top - bass)[multi].mean()) if multi.any() else 0.0
    vertical = np.concatenate([np.abs(pitch[cid == k][:, None] - pitch[cid == k][None, :])[np.triu_indices(s, 1)] % 12
                               for k, s in enumerate(size) if s > 1] or [np.zeros(0, dtype=np.int64)])
    ic = np.minimum(vertical, 12 - vertical)  # interval class 0-6
    f.update(_named("interval_class", range(7), np.bincount(ic, minlength=7) / max(len(ic), 1)))

    # Dynamics.
    f["velocity_mean"] = float(vel.mean())
    f["velocity_sd"] = float(vel.std())
    f.update(_named("velocity", _edge_labels(VEL_EDGES), _share_hist(vel, VEL_EDGES)))
    dv = np.abs(np.diff(vel))
    f.update(_named("velocity_change", ["0", "4", "8-12", "16+"], _share_hist(dv, DV_EDGES)))
    f["velocity_change_mean"] = float(dv.mean())
    dcv = np.abs(np.diff(c_vel))
    f["chord_velocity_change_mean"] = float(dcv.mean()) if len(dcv) else 0.0
    f["chord_velocity_autocorr"] = _autocorr(c_vel)
    f["chord_velocity_sd_mean"] = float(np.mean([vel[cid == k].std() for k in range(nc) if size[k] > 1])) if multi.any() else 0.0
    f["melody_loudest_share"] = float(np.mean([vel[top_idx[k]] >= vel[cid == k].max() for k in range(nc) if size[k] > 1])) if multi.any() else 0.0
    f["velocity_pitch_corr"] = _corr(pitch.astype(float), vel)
    windows = np.floor(start / 2.0).astype(int)
    wmeans = np.array([vel[windows == k].mean() for k in np.unique(windows)])
    f["loudness_curve_sd"] = float(wmeans.std()) if len(wmeans) > 1 else 0.0

    # Repetition inside the segment.
    ioi_class = np.searchsorted(IOI_EDGES, ioi, side="right")
    f["repeat_melody_3"] = recurrence(mel.tolist(), 3)
    f["repeat_melody_5"] = recurrence(mel.tolist(), 5)
    f["repeat_rhythm_4"] = recurrence(ioi_class.tolist(), 4)
    f["repeat_rhythm_8"] = recurrence(ioi_class.tolist(), 8)
    f["repeat_figure_3"] = recurrence(list(zip(mel.tolist(), ioi_class.tolist())), 3)
    sets = [tuple(sorted(set((pitch[cid == k] % 12).tolist()))) for k in range(nc) if size[k] > 1]
    f["repeat_chord"] = recurrence(sets, 1)
    f.update(chroma_similarity(chroma_frames(pitch, vel, start, end)))
    return f


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 1 and a.std() > 0 and b.std() > 0 else 0.0


def _autocorr(x: np.ndarray) -> float:
    return _corr(x[:-1], x[1:]) if len(x) > 2 else 0.0


def feature_matrix(segments: list[pd.DataFrame]) -> tuple[np.ndarray, list[str]]:
    """(n_segments, n_features) float array and the feature names, in one fixed order."""
    rows = [segment_features(s) for s in segments]
    names = list(rows[0])
    return np.array([[r[n] for n in names] for r in rows], dtype=float), names


def stability_features(notes: pd.DataFrame, window: float = 10.0) -> dict[str, float]:
    """How a long piece (60 s and more) holds together, over consecutive ``window``-second
    windows: ``key_agreement`` (share of windows whose estimated key is the whole piece's),
    ``key_changes`` (share of adjacent windows whose keys differ), ``density_cv`` (coefficient of
    variation of notes/s across windows) and ``density_last_first`` (last window's notes/s over
    the first's). Windows with fewer than 8 notes count as silent (0 notes/s, no key)."""
    start = notes["start"].to_numpy(float) - notes["start"].min()
    pitch = notes["pitch"].to_numpy(np.int64)
    dur = (notes["end"] - notes["start"]).to_numpy(float)
    whole = key_of(pitch, dur)[:2]
    n = max(1, int(np.ceil((start.max() + 1e-9) / window)))
    keys, rates = [], []
    for k in range(n):
        m = (start >= k * window) & (start < (k + 1) * window)
        rates.append(m.sum() / window)
        keys.append(key_of(pitch[m], dur[m])[:2] if m.sum() >= 8 else None)
    known = [x for x in keys if x is not None]
    pairs = [(a, b) for a, b in zip(keys, keys[1:]) if a is not None and b is not None]
    rates = np.array(rates)
    return {
        "key_agreement": float(np.mean([x == whole for x in known])) if known else 0.0,
        "key_changes": float(np.mean([a != b for a, b in pairs])) if pairs else 0.0,
        "density_cv": float(rates.std() / rates.mean()) if rates.mean() > 0 else 0.0,
        "density_last_first": float(rates[-1] / rates[0]) if rates[0] > 0 else 0.0,
    }
