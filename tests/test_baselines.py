"""The n-gram baselines and the sampler's token picking, on toy inputs worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pianogen.baselines import baseline_report, ngram_nll
from pianogen.sampling import pick


def test_unigram_and_bigram_nll_by_hand():
    # Vocabulary {0, 1}; id 2 is BOS. Train counts: unigram 0:2, 1:2; bigram (BOS,0):1, (0,1):2, (1,0):1.
    train, test = [np.array([2, 0, 1, 0, 1])], [np.array([2, 0, 0])]
    nll, k = ngram_nll(train, test, test, 2, 1)
    assert nll == pytest.approx(2 * math.log(2))  # P(0) = 1/2 whatever k
    # Bigram: P(0|BOS) = (1+k)/(1+2k), P(0|0) = k/(2+2k); k = 1 fits best -> 2/3 and 1/4.
    nll, k = ngram_nll(train, test, test, 2, 2)
    assert k == 1.0 and nll == pytest.approx(math.log(6))
    rep = baseline_report(train, test, test, 2, seconds=4.0)
    assert rep["bigram"]["nll_per_token"] == pytest.approx(math.log(6) / 2)
    assert rep["bigram"]["nll_per_second"] == pytest.approx(math.log(6) / 4)


def _draws(logits, n=20000, **kw):
    gen = torch.Generator().manual_seed(0)
    x = torch.tensor(logits, dtype=torch.float32).log()[None].expand(n, -1)
    return np.bincount(pick(x, gen=gen, **kw).numpy(), minlength=len(logits)) / n


def test_pick_top_k_top_p_and_temperature():
    probs = [0.6, 0.3, 0.1]
    assert _draws(probs, temperature=1.0, top_k=0, top_p=1.0) == pytest.approx(probs, abs=0.015)
    # top-k 2: the third class never comes; the two others renormalize to 2/3, 1/3.
    assert _draws(probs, temperature=1.0, top_k=2, top_p=1.0) == pytest.approx([2 / 3, 1 / 3, 0], abs=0.015)
    # Nucleus: the smallest set whose mass reaches top_p. 0.5 -> {0}; 0.7 -> {0, 1}.
    assert _draws(probs, temperature=1.0, top_k=0, top_p=0.5).tolist() == [1.0, 0.0, 0.0]
    assert _draws(probs, temperature=1.0, top_k=0, top_p=0.7) == pytest.approx([2 / 3, 1 / 3, 0], abs=0.015)
    # Temperature 0.5 squares the probabilities before renormalizing; 0 is greedy.
    sq = np.array(probs) ** 2
    assert _draws(probs, temperature=0.5, top_k=0, top_p=1.0) == pytest.approx(sq / sq.sum(), abs=0.015)
    assert _draws(probs, n=10, temperature=0.0, top_k=0, top_p=1.0).tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("top_p", [1.0, 0.9])
def test_pick_never_draws_a_masked_class_and_each_row_draws_its_own(top_p):
    """Classes at -inf (the sampler's mask) never come, wherever they sit; rows are independent."""
    gen = torch.Generator().manual_seed(1)
    inf = float("-inf")
    x = torch.tensor([[inf, 0.0, inf, 0.0, inf], [2.0, inf, inf, inf, inf]]).repeat(4000, 1)
    drawn = pick(x, 1.0, 0, top_p, gen).view(-1, 2)
    assert set(drawn[:, 0].tolist()) == {1, 3} and set(drawn[:, 1].tolist()) == {0}
    assert (drawn[:, 0] == 1).float().mean() == pytest.approx(0.5, abs=0.03)


def test_draw_gives_the_classes_torch_multinomial_gives_from_the_same_generator():
    """The sampler draws as ``torch.multinomial(p, 1)`` does on a CPU (argmax of p / Exp(1)),
    without its input checks: same seed, same classes, so every recorded sample stays the same."""
    from pianogen.sampling.autoregressive import draw

    probs = torch.softmax(3 * torch.randn(500, 4, 128, generator=torch.Generator().manual_seed(2)), -1)
    probs[:, :, :21] = 0.0  # masked classes, as the piano-range mask leaves them
    a, b = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for p in probs:
        assert torch.equal(draw(p, a), torch.multinomial(p, 1, generator=b)[:, 0])
