"""Unigram and bigram baselines over token sequences (add-k smoothed, k chosen on validation).

For performance events a token is one event. For note tuples each field gets its own
n-gram (step after the previous step, pitch after the previous pitch, ...) and a note's
NLL is the sum over its four fields, so the numbers compare per note with note-rnn.
"""

from __future__ import annotations

import numpy as np

SMOOTHING = (0.001, 0.01, 0.1, 1.0)


def _counts(seqs: list[np.ndarray], vocab: int, order: int) -> np.ndarray:
    """Counts of (context, next) over tokens[1:] given tokens[:-1]; the BOS id is ``vocab``."""
    if order == 1:
        c = np.zeros((1, vocab))
        for s in seqs:
            np.add.at(c[0], s[1:], 1)
    else:
        c = np.zeros((vocab + 1, vocab))
        for s in seqs:
            np.add.at(c, (s[:-1], s[1:]), 1)
    return c


def _nll(counts: np.ndarray, seqs: list[np.ndarray], k: float, order: int) -> float:
    logp = np.log((counts + k) / (counts + k).sum(axis=1, keepdims=True))
    total = 0.0
    for s in seqs:
        total -= logp[0, s[1:]].sum() if order == 1 else logp[s[:-1], s[1:]].sum()
    return float(total)


def ngram_nll(train: list[np.ndarray], val: list[np.ndarray], test: list[np.ndarray], vocab: int, order: int) -> tuple[float, float]:
    """(total test NLL in nats, chosen k) of an add-k n-gram fit on ``train``."""
    counts = _counts(train, vocab, order)
    k = min(SMOOTHING, key=lambda k: _nll(counts, val, k, order))
    return _nll(counts, test, k, order), k


def baseline_report(train: list[np.ndarray], val: list[np.ndarray], test: list[np.ndarray], vocab_sizes, seconds: float) -> dict:
    """Unigram and bigram test NLL per token and per second (nats).

    ``vocab_sizes`` is an int (1-D sequences) or a tuple (one per column of 2-D sequences,
    e.g. note tuples; NLLs add over columns).
    """
    n_tokens = sum(len(s) - 1 for s in test)
    cols = [None] if isinstance(vocab_sizes, int) else list(range(len(vocab_sizes)))
    sizes = [vocab_sizes] if isinstance(vocab_sizes, int) else list(vocab_sizes)
    out = {}
    for order, name in ((1, "unigram"), (2, "bigram")):
        total = 0.0
        for c, v in zip(cols, sizes):
            pick = (lambda s: s) if c is None else (lambda s, c=c: s[:, c])
            nll, _ = ngram_nll([pick(s) for s in train], [pick(s) for s in val], [pick(s) for s in test], v, order)
            total += nll
        out[name] = {"nll_per_token": total / n_tokens, "nll_per_second": total / seconds}
    return out
