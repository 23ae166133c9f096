"""Set-level comparison of Yang & Lerch (2018), "On the evaluation of generative models in music".

For each feature: the *intra-set* distances (between every pair of pieces of the generated set)
and the *inter-set* distances (between every generated piece and every reference piece) are
two samples of distances. Each is smoothed with a Gaussian kernel density estimate; the paper
reports the overlapping area (OA, 1 = the generated set is as spread and placed as the
reference) and the KL divergence KL(intra || inter) (0 = same). Distances are Euclidean
(absolute difference for scalars, L2 for histograms).

Of mgeval's two conventions (intra-set distances of the generated set, or of the reference
set, against the inter-set distances) this module uses the *generated* set's: OA(intra_gen,
inter); the real-music ceiling applies the same function with real train segments in the
generated set's place.
"""

from __future__ import annotations

import numpy as np


def _features_matrix(values: list) -> np.ndarray:
    return np.stack([np.atleast_1d(np.asarray(v, dtype=float)) for v in values])


def pairwise(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances: within ``a`` (each unordered pair once) or between ``a`` and ``b``."""
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
        return np.linalg.norm(a[i] - a[j], axis=1)
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1).ravel()


def kde(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian KDE evaluated on ``grid``, normalized to integrate to 1. Bandwidth: Silverman's
    normal-reference rule of thumb, 1.06 * sd * n^(-1/5) (floored so a constant sample still
    has a width)."""
    samples = np.asarray(samples, dtype=float)
    bw = 1.06 * max(samples.std(), 1e-3 * (np.abs(samples).max() + 1e-12), 1e-9) * len(samples) ** (-1 / 5)
    dens = np.exp(-0.5 * ((grid[:, None] - samples[None, :]) / bw) ** 2).sum(1)
    area = np.trapezoid(dens, grid)
    return dens / area if area > 0 else dens


MAX_DISTANCES = 5000  # per distribution; a fixed-seed subsample beyond this


def _cap(d: np.ndarray) -> np.ndarray:
    """At most MAX_DISTANCES distances (fixed seed): a KDE over ~10^6 pairs costs minutes and
    estimates the same 1-D density as 5,000 of them."""
    if len(d) <= MAX_DISTANCES:
        return d
    return np.random.default_rng(0).choice(d, MAX_DISTANCES, replace=False)


def overlap_and_kl(intra: np.ndarray, inter: np.ndarray, points: int = 1000) -> tuple[float, float]:
    """(overlapping area, KL(intra || inter)) of the two distance distributions."""
    intra, inter = _cap(np.asarray(intra, float)), _cap(np.asarray(inter, float))
    lo = min(intra.min(), inter.min())
    hi = max(intra.max(), inter.max())
    pad = 0.25 * (hi - lo) + 1e-6
    grid = np.linspace(max(0.0, lo - pad), hi + pad, points)
    p, q = kde(intra, grid), kde(inter, grid)
    oa = float(np.trapezoid(np.minimum(p, q), grid))
    eps = 1e-12
    kl = float(np.trapezoid(p * np.log((p + eps) / (q + eps)), grid))
    return oa, max(kl, 0.0)


def compare_sets(generated: list[dict], reference: list[dict], names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """{feature: {"oa": ..., "kl": ...}} of a generated set against a reference set."""
    out = {}
    for name in names:
        g = _features_matrix([f[name] for f in generated])
        r = _features_matrix([f[name] for f in reference])
        if len(g) < 2 or len(r) < 1:
            raise ValueError("need at least 2 generated and 1 reference pieces")
        oa, kl = overlap_and_kl(pairwise(g), pairwise(g, r))
        out[name] = {"oa": oa, "kl": kl}
    return out
