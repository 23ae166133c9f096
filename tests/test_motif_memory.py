"""Motif memory: the proposals it makes, the mixture it forms, and what it does to real music."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pianogen.representations.note_tuples import NoteTupleConfig
from pianogen.sampling.motif_memory import (BatchMemory, MemoryConfig, MotifMemory, fit_weights, mixture_nll,
                                            proposals, recorded_memory, step_classes)

ROOT = Path(__file__).resolve().parents[1]
STEP_SECONDS = NoteTupleConfig().step_grid.values  # seconds of each step bin
BOS = np.array(NoteTupleConfig().vocab_sizes)


def notes(pitches, step=20, duration=10, velocity=16):
    """Encoded notes (start token first), one per pitch, the other fields fixed."""
    rows = [[step, p, duration, velocity] for p in pitches]
    return np.vstack([BOS, np.array(rows, dtype=np.int64)])


def test_a_repeated_figure_proposes_what_followed_it_moved_to_the_current_pitch():
    figure = [60, 64, 67, 72, 71]  # intervals +4 +3 +5, then -1
    tokens = notes(figure + [40, 45] + [62, 66, 69, 74])  # the figure again, a tone up
    tokens[5] = [33, 71, 44, 9]  # what followed the figure: its own step, duration, loudness
    mem = MotifMemory(MemoryConfig(), STEP_SECONDS)
    for t in tokens[1:]:
        mem.push(t)
    assert mem.length == 3
    assert mem.proposal.tolist() == [33, 73, 44, 9]  # 74 - 1, the rest as they were


def test_the_longest_match_wins():
    # +2 +2 +2 +1 (then +2) long ago; +2 +2 +1 (then -15) more recently; now +2 +2 +2 +1 again
    tokens = notes([68, 70, 72, 74, 75, 77, 30, 49, 50, 52, 54, 55, 40, 57, 59, 61, 63, 64])
    mem = MotifMemory(MemoryConfig(), STEP_SECONDS)
    for t in tokens[1:]:
        mem.push(t)
    assert mem.length == 4 and mem.proposal[1] == 64 + 2


def test_no_proposal_without_a_repeat_and_none_off_the_keyboard():
    mem = MotifMemory(MemoryConfig(), STEP_SECONDS)
    for t in notes([60, 61, 63, 66, 70, 75])[1:]:
        mem.push(t)
    assert mem.proposal is None
    mem = MotifMemory(MemoryConfig(), STEP_SECONDS)
    for t in notes([120, 124, 127, 100, 0, 123, 126, 127, 123])[1:]:  # 123 +3 +1 -4 ... would propose 123 + 4 - ... off the top
        mem.push(t)
    assert mem.proposal is None or 0 <= mem.proposal[1] < 128


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(55, 62), min_size=5, max_size=60), st.integers(1, 50))
def test_proposals_never_read_the_note_they_propose(pitches, cut):
    tokens = notes(pitches)
    prop, length = proposals(tokens, MemoryConfig(), STEP_SECONDS)
    cut = min(cut, len(tokens) - 1)
    changed = tokens.copy()
    changed[cut:, 1] = 100  # the future rewritten
    prop2, length2 = proposals(changed, MemoryConfig(), STEP_SECONDS)
    assert (prop[: cut + 1] == prop2[: cut + 1]).all() and (length[: cut + 1] == length2[: cut + 1]).all()
    mem, incremental = MotifMemory(MemoryConfig(), STEP_SECONDS), []
    for t in tokens[1:-1]:
        mem.push(t)
        incremental.append(-1 if mem.proposal is None else mem.proposal[1])
    assert prop[2:, 1].tolist() == incremental


def test_the_mixture_is_a_distribution_field_by_field():
    rng = np.random.default_rng(0)
    cfg = MemoryConfig(weights=((0.3, 0.5, 0.2, 0.1),) * 6)
    vocab = NoteTupleConfig().vocab_sizes
    proposal = np.array([[30, 64, 20, 12]])
    for field in range(4):
        logp = np.log(rng.dirichlet(np.ones(vocab[field])))
        target = np.repeat(proposal, vocab[field], axis=0)  # earlier fields follow the proposal
        target[:, field] = np.arange(vocab[field])
        lp = np.zeros((vocab[field], 4))
        lp[:, field] = logp[target[:, field]]
        nll = mixture_nll(lp, target, np.repeat(proposal, len(target), 0), np.full(len(target), 5), cfg, STEP_SECONDS)
        assert np.exp(-nll[:, field]).sum() == pytest.approx(1.0)


def test_a_step_in_another_class_ends_the_proposal_for_the_rest_of_the_note():
    cfg = MemoryConfig(weights=((0.5, 0.5, 0.5, 0.5),) * 6)
    proposal = np.array([[30, 64, 20, 12]] * 3)
    target = np.array([[31, 64, 20, 12], [2, 64, 20, 12], [30, 65, 20, 12]])  # same class; a chord; another pitch
    assert step_classes(np.array([30, 31, 2]), STEP_SECONDS).tolist()[:2] == [3, 3]
    lp = np.full((3, 4), np.log(0.1))
    nll = mixture_nll(lp, target, proposal, np.full(3, 3), cfg, STEP_SECONDS)
    mixed, alone = -np.log(0.5 * 0.1 + 0.5), -np.log(0.5 * 0.1)
    assert nll[0].tolist() == pytest.approx([alone, mixed, mixed, mixed])
    assert nll[1].tolist() == pytest.approx([alone, -np.log(0.1), -np.log(0.1), -np.log(0.1)])
    assert nll[2].tolist() == pytest.approx([-np.log(0.5 * 0.1 + 0.5), alone, -np.log(0.1), -np.log(0.1)])


def test_fitted_weights_follow_how_often_proposals_come_true():
    rng = np.random.default_rng(1)
    n = 4000
    proposal = np.tile([30, 64, 20, 12], (n, 1))
    right = rng.random(n) < 0.7
    target = proposal.copy()
    target[~right, 1] = 50  # the pitch proposal is right 70% of the time
    lp = np.full((n, 4), np.log(0.05))
    w = fit_weights(lp, target, proposal, np.full(n, 3), MemoryConfig(), STEP_SECONDS)
    assert 0.6 <= w[1, 1] <= 0.8  # length 3: the second bucket  # about 0.7 minus the model's own share
    target[:, 1] = 50  # never right: no weight
    assert fit_weights(lp, target, proposal, np.full(n, 3), MemoryConfig(), STEP_SECONDS)[1, 1] == 0


def test_config_round_trip_and_bad_weights():
    cfg = MemoryConfig(weights=((0.1, 0.6, 0.1, 0.1),) * 6)
    assert MemoryConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="weights"):
        MemoryConfig(weights=((0.1, 1.0, 0.1, 0.1),) * 6)
    with pytest.raises(ValueError, match="buckets"):
        MemoryConfig(buckets=(4, 6))


def test_batch_memory_takes_the_proposal_by_its_weight():
    cfg = MemoryConfig(weights=((0.0, 0.9, 0.0, 0.0),) * 6)
    primer = notes([60, 64, 67, 72, 71, 40, 62, 66, 69, 74])
    gen = torch.Generator().manual_seed(0)
    mem = BatchMemory(cfg, STEP_SECONDS, 400, primer, gen, "cpu")
    drawn = torch.full((400,), 20)
    step = mem.choose(0, drawn)  # weight 0: the model's own step, in the proposal's class
    pitch = mem.choose(1, torch.full((400,), 61))
    assert (step == 20).all()
    assert 0.85 < (pitch == 73).float().mean() < 0.95 and set(pitch.tolist()) == {61, 73}


def test_shipped_note_models_have_a_memory_that_lowers_held_out_nll(prepared):
    from pianogen.evaluation.likelihood import checkpoint_nll

    for name in ("note-rnn", "note-transformer"):
        ck = ROOT / "checkpoints" / f"{name}.pt"
        assert recorded_memory(ck) is not None
        alone = checkpoint_nll(ck, prepared, "test")
        mixed = checkpoint_nll(ck, prepared, "test", motif_memory=True)
        assert mixed["tokens"] == alone["tokens"] and mixed["motif_memory"]
        assert mixed["nll_per_token"] < alone["nll_per_token"] - 0.05  # fitted on asap, measured on MAESTRO


def test_strength_scales_each_weight_as_repeated_offers():
    cfg = MemoryConfig(weights=((0.0, 0.5, 0.2, 0.9),) * 6)
    assert cfg.scaled(1) == cfg
    assert cfg.scaled(2).weight_table()[0].tolist() == pytest.approx([0.0, 0.75, 0.36, 0.99])
    assert not cfg.scaled(0).weight_table().any()
    with pytest.raises(ValueError, match="strength"):
        cfg.scaled(-1)


def test_sampling_with_the_memory_is_repeatable_and_can_be_switched_off(tmp_path):
    from pianogen.sampling import load_sampler, sample

    ck = ROOT / "checkpoints" / "note-transformer.pt"
    seed = "C4 E4 G4 C5 G4 E4 C4 E4 G4 C5 G4 E4"
    on = sample(ck, seed_notes=seed, seconds=8, seed=2, motif_memory=3)
    assert on.equals(sample(ck, seed_notes=seed, seconds=8, seed=2, motif_memory=3))
    off = sample(ck, seed_notes=seed, seconds=8, seed=2, motif_memory=0)
    assert not on.equals(off)
    recorded = load_sampler(ck).motif_strength  # what None plays
    assert sample(ck, seed_notes=seed, seconds=8, seed=2).equals(sample(ck, seed_notes=seed, seconds=8, seed=2, motif_memory=recorded))
    plain = tmp_path / "plain.pt"
    shutil.copy(ck, plain)  # no report beside it: no memory, whatever the strength asked
    t, p, tilt = load_sampler(ck).defaults
    pitch_t = load_sampler(ck).pitch_temperature_for(t)  # part of the recorded defaults too
    assert off.equals(sample(plain, seed_notes=seed, seconds=8, seed=2, temperature=t, top_p=p, time_tilt=tilt, motif_memory=3,
                             pitch_temperature=pitch_t))


def test_the_model_card_says_whether_the_memory_plays(tmp_path):
    import json

    from pianogen.cards import model_card

    ck = tmp_path / "nt.pt"
    shutil.copy(ROOT / "checkpoints" / "note-transformer.pt", ck)
    report = json.loads((ROOT / "checkpoints" / "note-transformer.json").read_text())
    for strength, says in ((6.0, "strength 6 by default"), (0.0, "off by default")):
        report["motif_memory"]["strength"] = strength
        (tmp_path / "nt.json").write_text(json.dumps(report))
        assert says in model_card(ck)
