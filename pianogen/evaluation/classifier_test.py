"""Can a listener tell? The classifier two-sample test (C2ST; Lopez-Paz & Oquab, ICLR 2017).

A classifier learns to tell generated segments from real ones on features of each segment
(:mod:`.segment_features`); its cross-validated accuracy is the number: 0.5 means it cannot
tell them apart, 1.0 that every segment gives itself away. Unlike an overlapping area of one
histogram at a time, the classifier sees every feature at once, so a model that matches each
histogram but not their combination (or not what the histograms miss) is still caught.

Honest cross-validation needs three things, all done here:

- **groups**: every segment of one composition (all its performances) lies in one fold, else the
  classifier learns the piece (its key, its figures) instead of "real music"; generated samples
  are independent and each is its own group (continuations take their prompt's composition);
- **balance**: each repeat draws as many segments of the larger side as the smaller has, at
  random, so chance is exactly 0.5;
- **spread**: ``repeats`` reshuffles of ``folds``-fold CV; the mean and the standard deviation
  over all folds of all repeats are reported.

Two classifiers from scikit-learn: logistic regression on standardized features (linear, the
headline number) and histogram gradient boosting (non-linear). Which features separate most is
told model-free, one feature at a time, by its ROC AUC (0.5: no difference).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

CLASSIFIERS = ("logistic", "boosting")


@dataclass
class ClassifierTestConfig:
    folds: int = 5  # cross-validation folds (fewer when a side has fewer groups)
    repeats: int = 5  # reshuffled, rebalanced repetitions of the whole cross-validation
    seed: int = 0
    classifiers: tuple[str, ...] = CLASSIFIERS


def _classifier(name: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000, class_weight="balanced"))
    if name == "boosting":
        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=5, class_weight="balanced", random_state=seed)
    raise ValueError(f"unknown classifier {name!r}; choose from {CLASSIFIERS}")


def classifier_test(real: np.ndarray, generated: np.ndarray, real_groups, generated_groups=None,
                    cfg: ClassifierTestConfig | None = None) -> dict:
    """Cross-validated accuracy of telling ``generated`` rows from ``real`` rows.

    ``real_groups`` / ``generated_groups``: a group label per row (composition); rows of one
    group never lie on both sides of a split. ``generated_groups`` None makes every generated
    row its own group. Returns ``{classifier: {"accuracy", "sd", "folds"}, "n": per side, ...}``.
    """
    from sklearn.model_selection import StratifiedGroupKFold
    from threadpoolctl import threadpool_limits

    cfg = cfg or ClassifierTestConfig()
    real, generated = _finite(real), _finite(generated)
    rg = np.array([f"r:{g}" for g in real_groups], dtype=object)
    gg = np.array([f"g:{i}" for i in range(len(generated))] if generated_groups is None else [f"r:{g}" for g in generated_groups], dtype=object)
    n = min(len(real), len(generated))
    if n < 4:
        raise ValueError(f"need at least 4 segments per side, got {len(real)} real and {len(generated)} generated")
    scores: dict[str, list[float]] = {c: [] for c in cfg.classifiers}
    folds_used = cfg.folds
    for r in range(cfg.repeats):
        rng = np.random.default_rng(cfg.seed + r)
        ri = rng.choice(len(real), n, replace=False)
        gi = rng.choice(len(generated), n, replace=False)
        x = np.concatenate([real[ri], generated[gi]])
        y = np.concatenate([np.zeros(n, int), np.ones(n, int)])
        groups = np.concatenate([rg[ri], gg[gi]])
        # Every fold must see both sides: no more folds than either side has groups.
        folds_used = max(2, min(cfg.folds, len(set(rg[ri])), len(set(gg[gi]))))
        cv = StratifiedGroupKFold(n_splits=folds_used, shuffle=True, random_state=cfg.seed + r)
        for train, test in cv.split(x, y, groups):
            if len(set(y[train])) < 2:
                continue
            for c in cfg.classifiers:
                # One thread: small fits, and boosting's OpenMP threads crawl beside a busy core.
                with threadpool_limits(1), _one_sort_per_feature():
                    model = _classifier(c, cfg.seed + r).fit(x[train], y[train])
                scores[c].append(float((model.predict(x[test]) == y[test]).mean()))
    out: dict = {c: {"accuracy": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "folds": len(v)} for c, v in scores.items()}
    out.update({"n": int(n), "folds": int(folds_used), "repeats": cfg.repeats,
                "real_groups": len(set(rg)), "generated_groups": len(set(gg))})
    return out


@contextmanager
def _one_sort_per_feature():
    """scikit-learn 1.9's histogram boosting, fitted with sample weights (``class_weight``),
    finds each feature's 254 bin edges with one ``_weighted_percentile`` call per edge, and each
    call sorts the feature and sums its weights again: about 9 s of a 10 s fit on 400 segments
    x 120 features (``benchmarks/classifier_test.py``). Inside this block the binning's calls
    share one sort and one cumulative sum per feature, and each edge is found with the same
    arithmetic as scikit-learn's (same classes and probabilities: tested). Any other call (and a
    scikit-learn without that function) goes to scikit-learn's own code."""
    try:
        from sklearn.ensemble._hist_gradient_boosting import binning
    except ImportError:  # pragma: no cover - another scikit-learn layout: its own code
        yield
        return
    original = getattr(binning, "_weighted_percentile", None)
    if original is None:  # pragma: no cover
        yield
        return
    held: list = []  # [array, weights, sort order, cumulative weights]: the last feature's

    def weighted_percentile(array, sample_weight, percentile_rank=50, average=False, xp=None):
        if not (average and xp is None and isinstance(array, np.ndarray) and array.ndim == 1 and array.dtype == np.float64
                and isinstance(sample_weight, np.ndarray) and sample_weight.shape == array.shape and np.ndim(percentile_rank) == 0):
            return original(array, sample_weight, percentile_rank, average=average, xp=xp)
        # The arrays are held, so the identity test cannot meet a new array at a freed one's address.
        if not held or held[0] is not array or held[1] is not sample_weight:
            order = np.argsort(array)  # the quicksort scikit-learn's stable=False asks for
            held[:] = [array, sample_weight, order, np.cumsum(sample_weight.astype(np.float64)[order])]
        _, weight, order, cdf = held
        last = len(order) - 1
        rank = np.float64(percentile_rank) / 100 * cdf[-1]
        if rank == 0:
            rank = np.nextafter(rank, rank + 1)
        i = min(int(np.searchsorted(cdf, rank)), last)
        nxt = min(i + 1, last)
        if weight[order[nxt]] == 0:  # the next value carries no weight: the next one that does
            after = int(np.searchsorted(cdf, cdf[i], side="right"))
            nxt = i if after > last else after
        low, high = array[order[i]], array[order[nxt]]
        return np.asarray(low if cdf[i] - rank > np.finfo(np.float64).eps else (low + high) / 2)

    binning._weighted_percentile = weighted_percentile
    try:
        yield
    finally:
        binning._weighted_percentile = original


def separating_features(real: np.ndarray, generated: np.ndarray, names: list[str], top: int = 8) -> list[dict]:
    """The ``top`` features that tell the two sides apart best on their own: each feature's ROC
    AUC for "generated" (0.5 = no difference; 1 = every generated segment higher; 0 = lower),
    ranked by distance from 0.5, with both sides' medians."""
    from sklearn.metrics import roc_auc_score

    real, generated = _finite(real), _finite(generated)
    y = np.concatenate([np.zeros(len(real)), np.ones(len(generated))])
    rows = []
    for j, name in enumerate(names):
        col = np.concatenate([real[:, j], generated[:, j]])
        auc = 0.5 if np.ptp(col) == 0 else float(roc_auc_score(y, col))
        rows.append({"feature": name, "auc": auc, "real_median": float(np.median(real[:, j])), "generated_median": float(np.median(generated[:, j]))})
    rows.sort(key=lambda r: -abs(r["auc"] - 0.5))
    return rows[:top]


def _finite(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
