"""Density control: Magenta's note-density signal, the conditioned perf-rnn, and the calibrated tilt."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import MIDI_FILES, ROOT
from pianogen.data import read_midi
from pianogen.representations.codecs import DensityControlCodec, PerformanceCodec, codec_from_dict
from pianogen.representations.controls import DensityConfig, note_density
from pianogen.representations.performance import PerformanceConfig

C = PerformanceConfig()


def on(p):
    return C.note_on + p


def off(p):
    return C.note_off + p


def shift(steps):
    return C.time_shift + steps - 1


def test_note_density_matches_magentas_own_example():
    # magenta/music/performance_controls_test.py: window 1 s, 100 steps per second.
    events = [on(60), on(64), on(67), shift(50), off(60), off(64), shift(25), off(67), on(64), shift(25), off(64)]
    assert note_density(events, C, window_seconds=1.0).tolist() == [4.0, 4.0, 4.0, 4.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 0.0]


def magenta_density(e: np.ndarray, window_steps: int) -> list[float]:
    """Magenta's NoteDensityPerformanceControlSignal.extract, written out as a loop."""
    out, prev_shift, prev = [], True, 0.0
    for i in range(len(e)):
        if not prev_shift:  # time did not move: same density as the previous event
            out.append(prev)
        else:
            steps, count, j = 0, 0, i
            while steps < window_steps and j < len(e):
                if e[j] < C.note_off:
                    count += 1
                elif C.time_shift <= e[j] < C.velocity:
                    steps += e[j] - C.time_shift + 1
                j += 1
            prev = count / (min(steps, window_steps) * C.shift_seconds) if steps else 0.0
            out.append(prev)
        prev_shift = C.time_shift <= e[i] < C.velocity
    return out


def test_note_density_against_magentas_loop_on_a_real_file():
    events = PerformanceCodec().encode(read_midi(MIDI_FILES[0]))[1:1500]
    np.testing.assert_allclose(note_density(events, C, 3.0), magenta_density(np.asarray(events), 300))


def test_density_bins_and_centres():
    d = DensityConfig()
    assert d.n_bins == 12 and d.edges[0] == 1.0 and d.edges[-1] == 32.0
    assert d.bin([0.5, 1.0, 10.0, 40.0]).tolist() == [0, 1, 7, 11]
    for b in range(d.n_bins):  # every bin's centre falls in that bin
        assert d.bin(d.centre(b)) == b


@pytest.mark.parametrize("path", MIDI_FILES[:3], ids=lambda p: p.stem[-12:])
def test_density_codec_round_trip_and_transpose(path):
    notes = read_midi(path)
    plain, codec = PerformanceCodec(), DensityControlCodec()
    tokens = codec.encode(notes)
    assert tokens.shape == (len(plain.encode(notes)), 2)
    np.testing.assert_array_equal(tokens[:, 0], plain.encode(notes))
    assert tokens[:, 1].min() >= 0 and tokens[:, 1].max() < codec.density.n_bins
    np.testing.assert_array_equal(codec.decode(tokens).to_numpy(), plain.decode(plain.encode(notes)).to_numpy())
    up = codec.transpose(tokens, 2)
    np.testing.assert_array_equal(up[:, 1], tokens[:, 1])
    np.testing.assert_array_equal(up[:, 0], plain.transpose(tokens[:, 0], 2))
    again = codec_from_dict(json.loads(json.dumps(codec.to_dict())))
    assert isinstance(again, DensityControlCodec) and again.density == codec.density


def test_conditioned_model_starts_as_its_unconditioned_parent(tmp_path):
    from pianogen.checkpoints import load_weights, save
    from pianogen.models import build_model, config_dict

    torch.manual_seed(0)
    parent = build_model("perf-rnn", {"layers": 2, "hidden": 32, "embed": 16})
    save(tmp_path / "p.pt", {"kind": "perf-rnn", "model_config": config_dict(parent), "state_dict": parent.state_dict()})
    child = build_model("perf-rnn", {"layers": 2, "hidden": 32, "embed": 16, "density_bins": 12})
    assert load_weights(child, tmp_path / "p.pt") == ["density.weight"]
    parent.eval(), child.eval()
    x = torch.randint(0, 388, (3, 20))
    bins = torch.randint(0, 12, (3, 20))
    torch.testing.assert_close(child(x, density=bins)[0], parent(x)[0])
    with pytest.raises(ValueError, match="density-conditioned"):
        child(x)
    # Once the control has weights, it changes the prediction, and one step equals the full pass.
    torch.nn.init.normal_(child.density.weight)
    full, _ = child(x, density=bins)
    assert not torch.allclose(full, parent(x)[0])
    state, steps = None, []
    for t in range(x.shape[1]):
        out, state = child.step(x[:, t], state, density=bins[:, t])
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def conditioned(prepared, tmp_path_factory):
    """A tiny perf-rnn, and a density-conditioned one fine-tuned from it through the script."""
    out = tmp_path_factory.mktemp("density")
    common = ["--data", str(prepared), "--layers", "1", "--hidden", "48", "--embed", "24", "--dropout", "0", "--batch-size", "8",
              "--seq-len", "64", "--eval-every", "20", "--progress", "false", "--threads", "2"]
    script = [sys.executable, str(ROOT / "scripts" / "train_autoregressive.py"), "--model", "perf-rnn"]
    subprocess.run([*script, *common, "--out", str(out / "plain"), "--max-steps", "40"], check=True, capture_output=True, cwd=ROOT)
    proc = subprocess.run([*script, "--data", str(prepared), "--out", str(out / "dense"), "--init", str(out / "plain.pt"), "--density-control",
                           "--max-steps", "40", "--batch-size", "8", "--seq-len", "64", "--eval-every", "20", "--progress", "false", "--threads", "2"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_fine_tuned_conditioned_checkpoint(conditioned, prepared):
    from pianogen.checkpoints import load, read_report
    from pianogen.data import load_notes, load_pieces

    ck = load(conditioned / "dense.pt")
    assert ck["model_config"]["density_bins"] == 12 and ck["model_config"]["hidden"] == 48  # sizes came from --init
    assert ck["representation"]["name"] == "performance+density"
    pieces, notes = load_pieces(prepared), load_notes(prepared)
    train = pieces[pieces["split"] == "train"]
    mean_rate = notes["piece_id"].isin(train["piece_id"]).sum() / train["duration"].sum()
    assert ck["density_default"] == pytest.approx(mean_rate, rel=1e-3)
    report = read_report(conditioned / "dense.pt")
    assert report["config"]["init"]["new_parameters"] == ["density.weight"]
    # It went on from its parent's weights: after 20 steps it is ahead of the parent after 20.
    parent = read_report(conditioned / "plain.pt")
    assert report["evals"][0]["step"] == parent["evals"][0]["step"] == 20
    assert report["evals"][0]["val_loss"] < parent["evals"][0]["val_loss"]


def test_sampling_a_conditioned_model_uses_the_target(conditioned):
    from pianogen.sampling import load_sampler, sample

    s = load_sampler(conditioned / "dense.pt")
    assert s.density_conditioned
    assert s.density_controls(0.0, 3.0)[1] == DensityConfig().bin(3.0)
    assert s.density_controls(0.0, None)[1] == DensityConfig().bin(s.ckpt["density_default"])
    # Every step, the seed's included, is told the asked-for bin.
    seen, step, forward = [], s.model.step, s.model.forward
    s.model.step = lambda *a, **k: (seen.append(k["density"]), step(*a, **k))[1]
    s.model.forward = lambda *a, **k: (seen.append(k["density"]), forward(*a, **k))[1]
    try:
        busy = sample(s, seconds=6, seed=3, n=2, notes_per_second=25.0, seed_notes="C4 E4 G4")
    finally:
        del s.model.step, s.model.forward
    assert len(seen) > 20 and all(bool((d == DensityConfig().bin(25.0)).all()) for d in seen)
    assert seen[0].shape[1] > 1  # the seed's events, all at once
    assert len(busy) and busy["end"].max() <= busy.loc[busy["is_seed"], "end"].max() + 6.0 + 1e-9
    with pytest.raises(ValueError, match="positive"):
        sample(s, seconds=2, notes_per_second=0.0)


def test_unconditioned_model_asks_its_calibration(conditioned, tmp_path):
    from pianogen.checkpoints import update_report
    from pianogen.sampling import SequenceSampler

    ck = tmp_path / "plain.pt"
    shutil.copy(conditioned / "plain.pt", ck)
    s = SequenceSampler(ck)
    assert not s.density_conditioned and s.density_controls(0.0, None) == (None, None)
    with pytest.raises(ValueError, match="no density calibration"):
        s.tilt_for(8.0)
    update_report(ck, density_calibration={"table": [{"tilt": -2.0, "notes_per_second": 4.0}, {"tilt": 0.0, "notes_per_second": 8.0},
                                                      {"tilt": 2.0, "notes_per_second": 16.0}]})
    assert s.tilt_for(8.0) == pytest.approx(0.0)
    assert s.tilt_for(np.sqrt(8.0 * 16.0)) == pytest.approx(1.0)  # halfway in log notes/s
    assert s.tilt_for(100.0) == pytest.approx(2.0)  # the end of the measured range
    bias, control = s.density_controls(0.0, 16.0)
    assert control is None and torch.allclose(bias, s.time_bias(2.0))


def test_calibration_script_records_a_monotone_table(tmp_path):
    """The shipped perf-rnn: notes/s rises with the tilt, and --record stores the table."""
    ck = tmp_path / "perf-rnn.pt"
    shutil.copy(ROOT / "checkpoints" / "perf-rnn.pt", ck)
    shutil.copy(ROOT / "checkpoints" / "perf-rnn.json", tmp_path / "perf-rnn.json")
    proc = subprocess.run([sys.executable, "scripts/tune_sampling.py", str(ck), "--density", "--tilts", "-3", "0", "3", "--n", "4",
                           "--seconds", "8", "--record"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = json.loads((tmp_path / "perf-rnn.json").read_text())["density_calibration"]["table"]
    assert [r["tilt"] for r in table] == [-3.0, 0.0, 3.0]
    rates = [r["notes_per_second"] for r in table]
    assert rates[0] < rates[1] < rates[2]


def test_density_input_at_each_step_is_the_bin_of_the_event_it_predicts():
    """The input at step t carries the density of event t + 1 (the one predicted there): the
    model learns "at this density, what comes next", and sampling feeds the target the same way."""
    import torch

    from pianogen.training.autoregressive import run_model

    seen = {}

    class Spy(torch.nn.Module):
        def forward(self, events, state=None, density=None):
            seen["events"], seen["density"] = events, density
            return events, state

    tokens = torch.tensor([[[10, 0], [11, 1], [12, 2], [13, 3]]])  # (event, density bin) per step
    run_model(Spy(), "perf-rnn", tokens)
    assert seen["events"].tolist() == [[10, 11, 12]] and seen["density"].tolist() == [[1, 2, 3]]


def test_density_hold_tilts_each_sample_back_to_its_own_pace():
    """Three samples, 40 s each: one steady at 8 notes/s, one that fell to 2 notes/s after 25 s,
    one that rose to 20. The hold leaves the first alone, makes the second busier (positive
    tilt) and the third sparser, within its limit; nothing before ``after`` seconds."""
    from pianogen.sampling.density_hold import DensityHold, HoldConfig

    cfg = HoldConfig(after=30.0, window=10.0, gain=1.5, limit=3.0)
    steps = torch.tensor([0.0, 0.01, 0.1, 1.0])  # 4 classes: no time, 10 ms, 100 ms, 1 s
    hold = DensityHold(3, steps, 41.0, cfg)
    rates = lambda t: torch.tensor([8.0, 8.0 if t < 25 else 2.0, 8.0 if t < 25 else 20.0])  # noqa: E731
    for k in range(2000):  # 40 s in 20 ms ticks; a note wherever the pace says one is due
        t = k / 50
        due = torch.floor(rates(t) * (t + 0.02)) > torch.floor(rates(t) * t)
        hold.add(due, torch.full((3,), t))
    assert torch.equal(hold.tilt(torch.full((3,), 29.5)), torch.zeros(3))  # not yet 30 s
    tilt = hold.tilt(torch.full((3,), 40.0))
    assert abs(tilt[0]) < 0.05 and tilt[1] > 0.5 and tilt[2] < -0.5 and tilt.abs().max() <= 3.0
    bias = hold.bias(None, torch.full((3,), 40.0))
    assert bias.shape == (3, 4) and torch.all(bias[:, 0] == 0) and bias[1, 3] < 0 < bias[2, 3]  # busier: time shifts less likely


def test_hold_leaves_short_samples_alone():
    """The hold acts only past 30 s of new music: a 20 s sample is the same with and without it."""
    from pianogen.sampling import sample

    ck = ROOT / "checkpoints" / "perf-rnn.pt"
    a = sample(ck, seconds=20, seed=4, n=2)
    assert a.equals(sample(ck, seconds=20, seed=4, n=2, hold=False))
    b = sample(ck, seconds=34, seed=4, n=2)
    assert len(b) and b["start"].max() < 34 + 1e-9


def test_a_sparser_tilt_counts_at_most_one_second_per_choice():
    """A note's step reaches 8 s; favored like a 1 s TIME_SHIFT at most, a sparser tilt makes
    longer gaps likelier without making silences of several seconds the rule (uncapped, a tilt
    of -3 added 24 to the 8 s step's logit and most steps jumped there). A busier tilt still
    penalizes a long step in full, and the hold's per-sample tilts follow the same rule."""
    from pianogen.sampling import SequenceSampler, sample
    from pianogen.sampling.density_hold import tilt_bias

    s = SequenceSampler(ROOT / "checkpoints" / "note-rnn.pt")
    secs = s.step_seconds.cpu()
    assert secs.max() > 5.0
    sparser, busier = s.time_bias(-3.0).cpu(), s.time_bias(2.0).cpu()
    assert torch.allclose(sparser, 3.0 * secs.clamp(max=1.0)) and torch.allclose(busier, -2.0 * secs)
    rows = tilt_bias(torch.tensor([-3.0, 2.0]), secs)
    assert torch.allclose(rows[0], sparser) and torch.allclose(rows[1], busier)
    perf = SequenceSampler(ROOT / "checkpoints" / "perf-rnn.pt").time_bias(-3.0).cpu()
    assert perf.max() == pytest.approx(3.0)  # the longest TIME_SHIFT, 1 s, as before
    notes = sample(s, seconds=20, seed=1, n=4, time_tilt=-3.0)
    gaps = notes.sort_values(["sample", "start"]).groupby("sample")["start"].diff().dropna()
    assert (gaps > 2.0).mean() < 0.1
    assert len(notes) < len(sample(s, seconds=20, seed=1, n=4, time_tilt=0.0))  # still sparser than untilted
