"""The Transformer over performance events: cache, sliding window, relative attention, training."""

from __future__ import annotations

import pytest
import torch

from conftest import step_through
from pianogen.models.transformer import KVCache, Transformer, TransformerConfig, rope_angles, skew

TINY = {"layers": 2, "width": 32, "heads": 2, "context": 16, "dropout": 0.0}


@pytest.mark.parametrize("position", ["rope", "relative"])
def test_cached_steps_match_the_full_forward(position):
    torch.manual_seed(0)
    m = Transformer(TransformerConfig(**TINY, position=position)).eval()
    x = torch.randint(0, 388, (2, 12))
    with torch.no_grad():
        full, _ = m(x)
        steps, _ = step_through(m, x)
        torch.testing.assert_close(steps, full, rtol=1e-4, atol=1e-5)
        # A prefix, then the rest with its cache: the same as one pass.
        head, state = m(x[:, :5])
        tail, _ = m(x[:, 5:], state)
        torch.testing.assert_close(torch.cat([head, tail], 1), full, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("position", ["rope", "relative"])
def test_sliding_window_past_the_context(position):
    """Beyond ``context`` tokens every layer attends to the last ``context`` positions only:
    stepping with the trimmed cache equals one uncached pass with that window, and only
    distances matter, not absolute positions."""
    torch.manual_seed(1)
    c = TransformerConfig(**TINY, position=position)
    m = Transformer(c).eval()
    x = torch.randint(0, 388, (1, 40))
    with torch.no_grad():
        steps, state = step_through(m, x)
        assert state.length == c.context - 1 and state.pos == 40  # the cache stays bounded
        one_pass, _ = m(x)
        torch.testing.assert_close(steps, one_pass, rtol=1e-4, atol=1e-5)
        shifted, _ = m(x, KVCache(1000, [], []))  # positions 1000..1039
        torch.testing.assert_close(shifted, one_pass, rtol=1e-4, atol=1e-5)
        # With one layer the last step sees exactly the last `context` tokens, nothing older.
        one = Transformer(TransformerConfig(**{**TINY, "layers": 1}, position=position)).eval()
        steps, _ = step_through(one, x)
        fresh, _ = one(x[:, 40 - c.context :])
        torch.testing.assert_close(steps[:, -1], fresh[:, -1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("position", ["rope", "relative"])
@pytest.mark.parametrize("seed_len", [4, 20])
def test_steps_after_a_seed_match_the_full_forward(position, seed_len):
    """A seed scored in one pass, then stepped one event at a time far past the window, for a
    batch (as sampling does): every step's logits equal one uncached pass over the sequence.
    After a seed shorter than the window, the first step moves the cache into tensors of
    context - 1 positions and the steps after it write their position there (the same storage)
    instead of copying the history, until the window is full and the cache slides."""
    torch.manual_seed(3)
    c = TransformerConfig(**TINY, position=position)
    m = Transformer(c).eval()
    x = torch.randint(0, 388, (3, 45))
    with torch.no_grad():
        full, _ = m(x)
        head, state = m(x[:, :seed_len])
        assert isinstance(state, KVCache) and state.length == state.keys[0].shape[2] == min(seed_len, c.context - 1)
        outs, states = [], []
        for t in range(seed_len, 45):
            out, state = m.step(x[:, t], state)
            outs.append(out)
            states.append(state)
        torch.testing.assert_close(torch.stack(outs, 1), full[:, seed_len:], rtol=1e-4, atol=1e-5)
    assert states[-1].pos == 45 and [s.length for s in states] == [min(t + 1, c.context - 1) for t in range(seed_len, 45)]
    assert all(s.keys[0].shape[2] == c.context - 1 for s in states)
    storage = [s.keys[0].data_ptr() for s in states]
    filling = storage[: max(0, c.context - 1 - seed_len)]  # steps that found room: one buffer throughout
    assert len(set(filling)) <= 1 and storage[-1] not in filling  # then the window slides (new tensors)


def test_a_cache_gets_room_once():
    cache = KVCache(3, [torch.zeros(1, 2, 3, 16)], [torch.zeros(1, 2, 3, 16)])
    roomy = cache.with_room(8)
    assert roomy.keys[0].shape[2] == 8 and roomy.length == 3 and roomy.with_room(8) is roomy and cache.keys[0].shape[2] == 3


def test_the_angle_table_gives_exactly_the_computed_angles():
    m = Transformer(TransformerConfig(vocab_size=20, layers=1, width=16, heads=2, context=8))
    for start, length in [(0, 1), (3, 5), (15, 1), (40, 30), (2, 3)]:  # (40, 30) grows the table past 2 x context
        cos, sin, cis = m._angles(start, length, torch.device("cpu"))
        ref = rope_angles(torch.arange(start, start + length), 8)
        assert torch.equal(cos, ref[0]) and torch.equal(sin, ref[1]) and torch.equal(cis, torch.complex(ref[0], ref[1]))
    assert m._angle_table[0].shape[0] >= 70 and "_angle_table" not in m.state_dict()


def test_rotary_positions_as_one_complex_product_equal_the_real_rotation():
    """float32 (sampling) rotates by a complex product, bf16 (training under autocast) by the
    real formula: the same rotation, on the strided q/k views the attention gives it."""
    from pianogen.models.transformer import _rope

    torch.manual_seed(0)
    qkv = torch.randn(2, 5, 3, 2, 8).permute(2, 0, 3, 1, 4)  # (3, B, heads, T, head_dim), as Attention views it
    cos, sin = rope_angles(torch.arange(7, 12), 8)
    rot = (cos, sin, torch.complex(cos, sin))
    x1, x2 = qkv[:2][..., 0::2], qkv[:2][..., 1::2]
    ref = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    assert torch.allclose(_rope(qkv[:2], rot), ref, atol=1e-6)
    assert torch.allclose(_rope(qkv[:2].bfloat16(), rot).float(), ref, atol=0.05)


def test_skewing_equals_gathering_relative_logits():
    torch.manual_seed(2)
    T, d = 6, 4
    q, rel = torch.randn(1, 1, T, d), torch.randn(T, d)  # rel row r: distance T-1-r
    s = skew(q @ rel.T)[0, 0]
    for i in range(T):
        for j in range(i + 1):
            assert float(s[i, j]) == pytest.approx(float(q[0, 0, i] @ rel[T - 1 - (i - j)]), abs=1e-5)


def test_transformer_trains_and_samples(prepared, tmp_path):
    from pianogen.training.autoregressive import AugmentConfig, make_sequence_task
    from pianogen.evaluation.features import piece_features
    from pianogen.sampling import sample
    from pianogen.training import TrainConfig, Trainer

    cfg = TrainConfig(max_steps=200, batch_size=8, seq_len=64, lr=2e-3, eval_every=100, warmup_steps=20, progress=False, threads=2)
    task = make_sequence_task("transformer", str(prepared), cfg, {"layers": 2, "width": 64, "heads": 4, "dropout": 0.0}, AugmentConfig())
    assert task.models["model"].config.context == 64  # defaults to the training window
    report = Trainer(task, cfg, tmp_path / "t", force=True).fit()
    assert report["final"]["test"]["nll_per_token"] < report["final"]["baselines"]["unigram"]["nll_per_token"]
    # Three minutes of music, far past the 64-event context (sliding window).
    notes = sample(tmp_path / "t.pt", seed_notes="C4 E4 G4", seconds=180, seed=0, top_p=0.95)
    cont = notes[~notes["is_seed"]]
    assert cont["end"].max() > 170 and len(cont) > 100
    assert piece_features(cont[cont["start"] > 120])["notes_per_second"] > 0


def test_bad_configs_say_why():
    with pytest.raises(ValueError, match="even size"):
        Transformer(TransformerConfig(width=30, heads=4))
    with pytest.raises(ValueError, match="position"):
        Transformer(TransformerConfig(position="absolute"))


def _tiny_checkpoint(tmp_path, kind: str, config: dict):
    """A randomly initialized checkpoint of ``kind`` (what sampling loads)."""
    from pianogen.checkpoints import save
    from pianogen.models import build_model, config_dict
    from pianogen.representations.codecs import CODEC_FOR_MODEL

    torch.manual_seed(4)
    codec = CODEC_FOR_MODEL[kind]()
    sizes = {"vocab_sizes": codec.config.vocab_sizes} if kind == "note-transformer" else {"vocab_size": codec.config.vocab_size}
    model = build_model(kind, {**config, **sizes})
    for p in model.keyboard.parameters() if getattr(model, "keyboard", None) is not None else ():
        torch.nn.init.normal_(p, std=0.1)  # it starts at zero: random, so what it reads shows
    path = tmp_path / f"{kind}.pt"
    save(path, {"kind": kind, "model_config": config_dict(model), "representation": codec.to_dict(), "state_dict": model.state_dict()})
    return path


@pytest.mark.parametrize("kind,extra", [("transformer", {}), ("note-transformer", {}), ("note-transformer", {"keyboard": True})])
def test_sampling_past_the_context_stays_in_training_windows(tmp_path, kind, extra):
    """Each token the sampler predicts, far past the context, comes from one fresh pass over a
    window of at most ``context`` tokens (as in training), never through a cache that slid:
    the sampler's output after every token equals the last position of a fresh forward over a
    window of between half a context and a whole one that ends at that token."""
    from pianogen.sampling import SequenceSampler

    c = TINY["context"]
    s = SequenceSampler(_tiny_checkpoint(tmp_path, kind, {**TINY, **extra}))
    m = s.model
    shape = (1, 5 * c) + ((4,) if kind == "note-transformer" else ())
    seq = torch.randint(0, 30, shape)  # within every field's vocabulary
    with torch.no_grad():
        out, state = m(s._start(seq[0, :5]))
        starts = []
        for i in range(5, seq.shape[1]):
            out, state = s._advance(seq[:, i], state, lambda: seq[:, : i + 1])
            out = out if out.dim() == 2 else out[:, -1]
            found = [r for r in range(max(0, i + 1 - c), i + 2 - c // 2 if i + 1 >= c else 1)
                     if torch.allclose(m(seq[:, r : i + 1])[0][:, -1], out, rtol=1e-4, atol=1e-5)]
            assert found, f"token {i}: no training window reproduces the sampler's output"
            starts.append(found[-1])
        assert len(set(starts)) > 3  # it re-read its window several times
        # The old sliding cache: the same token seen through slid keys matches no window.
        _, slid = m(seq[:, :c])
        for i in range(c, 3 * c):
            o, slid = m.step(seq[:, i], slid)
        o = o if o.dim() == 2 else o[:, -1]
        assert not any(torch.allclose(m(seq[:, r : 3 * c])[0][:, -1], o, rtol=1e-4, atol=1e-5) for r in range(2 * c, 3 * c))
    # A seed longer than the context is read through its last window only (bounded memory).
    long_seed = seq[0, : 4 * c]
    assert s._start(long_seed.numpy()).shape[1] == c


def test_windowed_scoring_scores_every_token_once():
    import numpy as np

    from pianogen.training.autoregressive import windows

    piece = np.arange(100)
    scored = np.concatenate([w[first:] for w, first in windows(piece, 16)])
    assert scored.tolist() == list(range(1, 100))
    assert all(len(w) <= 17 for w, _ in windows(piece, 16))
    assert all(first - 1 >= 8 for _, first in windows(piece, 16)[1:])  # at least half a context of history


def test_note_transformer_trains_and_samples(prepared, tmp_path):
    from pianogen.training.autoregressive import AugmentConfig, make_sequence_task
    from pianogen.sampling import sample
    from pianogen.training import TrainConfig, Trainer

    cfg = TrainConfig(max_steps=150, batch_size=8, seq_len=64, lr=2e-3, eval_every=75, warmup_steps=20, progress=False, threads=2)
    task = make_sequence_task("note-transformer", str(prepared), cfg, {"layers": 2, "width": 64, "heads": 4, "dropout": 0.0, "embed": 16}, AugmentConfig())
    assert task.models["model"].config.context == 64
    report = Trainer(task, cfg, tmp_path / "n", force=True).fit()
    final = report["final"]
    assert final["test"]["nll_per_token"] < final["baselines"]["unigram"]["nll_per_token"]
    notes = sample(tmp_path / "n.pt", seed_notes="C4 E4 G4", seconds=40, seed=0, top_p=0.95)
    cont = notes[~notes["is_seed"]]
    assert len(cont) > 64 and cont["end"].max() > 30  # past its 64-note context
