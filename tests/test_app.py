"""The Gradio app, launched on a free loopback port and driven by gradio_client and Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mido
import pytest

from conftest import MIDI_FILES, ROOT
from pianogen.audio import wav_rms

pytestmark = pytest.mark.slow
SCREENSHOT = ROOT / "docs" / "screenshot-app.png"


APP: dict = {}  # the running app's process, for tests that watch its memory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    APP["proc"] = proc
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited: {proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("app did not start in 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def rnn_label(client, kind: str) -> str:
    info = client.view_api(return_format="dict", print_info=False)
    params = info["named_endpoints"]["/generate_rnn"]["parameters"]
    choices = params[0]["type"]["enum"]
    return next(c for c in choices if f"({kind}," in c)


def check_outputs(out, min_seconds: float):
    audio, image, midi, params, status = out
    assert Path(audio).read_bytes()[:4] == b"RIFF" and wav_rms(audio) > 0.01
    assert Path(image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = mido.MidiFile(midi)
    assert m.length > min_seconds and any(msg.type == "note_on" for t in m.tracks for msg in t)
    assert "notes" in status and params["audio_engine"] == "fluidsynth"
    return params


@pytest.mark.parametrize("kind", ["note-rnn", "perf-rnn", "transformer"])
def test_rnn_from_note_names(client, kind):
    label = rnn_label(client, kind)
    out = client.predict(label, "Note names", "C4 E4 G4 C5", None, None, 5, 1.0, 0.95, 10, 7, api_name="/generate_rnn")
    params = check_outputs(out, 9)
    assert params["seed"] == 7 and params["seconds"] == 10 and params["seconds_taken"] < 10


def test_named_optional_parameters(client):
    """A client names only what it changes; every other input takes the page's default."""
    out = client.predict(checkpoint=rnn_label(client, "note-rnn"), note_names="C4 E4 G4", seconds=6, api_name="/generate_rnn")
    params = check_outputs(out, 5)
    assert params["seed_source"] == "Note names" and params["notes_per_second"] is None


def test_asking_for_notes_per_second(client):
    """The density target reaches the sampler: a sparse request plays fewer notes than a busy one."""
    import pretty_midi

    counts = []
    for rate in (3, 18):
        out = client.predict(checkpoint=rnn_label(client, "perf-rnn"), note_names="C4", seconds=10, seed=5, notes_per_second=rate, api_name="/generate_rnn")
        params = check_outputs(out, 5)  # a sparse piece may fall silent before its 10 s are up
        assert params["notes_per_second"] == rate
        counts.append(len(pretty_midi.PrettyMIDI(out[2]).instruments[0].notes))
    assert counts[0] < counts[1], counts


def test_rnn_from_uploaded_midi(client):
    from gradio_client import handle_file

    out = client.predict(rnn_label(client, "perf-rnn"), "Upload a MIDI file", "", handle_file(str(MIDI_FILES[2])), None, 4, 1.0, 0.95, 8, 1, api_name="/generate_rnn")
    params = check_outputs(out, 10)
    assert params["seed_notes"] == MIDI_FILES[2].name


def test_musegan(client):
    info = client.view_api(return_format="dict", print_info=False)
    label = info["named_endpoints"]["/generate_gan"]["parameters"][0]["type"]["enum"][0]
    out = client.predict(label, 3, 4, 0.5, 4, ["melody", "inner", "bass"], api_name="/generate_gan")
    check_outputs(out, 6)
    tracks = [t.name for t in mido.MidiFile(out[2]).tracks if t.name]
    assert tracks == ["melody", "inner", "bass"]


def test_musegan_in_a_key(client):
    """The key-conditioned MuseGAN plays the key asked for and its MIDI file states it; a model
    without keys refuses one in a clear line."""
    import pretty_midi
    from gradio_client.exceptions import AppError

    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/generate_gan"]["parameters"]
    labels, keys = params[0]["type"]["enum"], params[7]["type"]["enum"]
    keyed = [lb for lb in labels if lb.startswith("musegan-keys ")]
    assert keyed and keys[3] == "D major / B minor (2 sharps)"
    out = client.predict(keyed[0], 3, 4, 0.0, 4, ["melody", "inner", "bass"], 120, keys[3], api_name="/generate_gan")
    assert check_outputs(out, 6)["key"] == keys[3]
    assert [k.key_number for k in pretty_midi.PrettyMIDI(out[2]).key_signature_changes] == [2]
    plain = [lb for lb in labels if lb.startswith("musegan-bars ")][0]
    with pytest.raises(AppError, match="no key condition"):
        client.predict(plain, 3, 4, 0.0, 4, ["melody"], 120, keys[3], api_name="/generate_gan")
    # The texture controls are in the API (hidden for a model without the condition), and such a model refuses one.
    assert [p["type"]["enum"][:2] for p in params[8:11]] == [["any", "sixteenths"], ["any", "sparse"], ["any", "soft"]]
    with pytest.raises(AppError, match="no texture condition: leave rhythm, density and loudness at 'any'"):
        client.predict(plain, 3, 4, 0.0, 4, ["melody"], 120, keys[0], "triplets", "any", "any", api_name="/generate_gan")


@pytest.mark.parametrize("args, message", [
    (("Note names", "C4 H4", None, None), "unknown note name 'H4'"),
    (("Note names", "   ", None, None), "empty seed"),
])
def test_bad_input_is_a_message_and_the_app_stays_up(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(rnn_label(client, "perf-rnn"), *args, 5, 1.0, 0.95, 5, 0, api_name="/generate_rnn")
    out = client.predict(rnn_label(client, "perf-rnn"), "Note names", "A3 C4", None, None, 5, 1.0, 0.95, 3, 0, api_name="/generate_rnn")
    check_outputs(out, 2)


def test_corrupt_midi_upload(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    bad = tmp_path / "broken.mid"
    bad.write_bytes(MIDI_FILES[0].read_bytes()[:200])
    with pytest.raises(AppError, match="broken.mid: corrupt MIDI"):
        client.predict(rnn_label(client, "perf-rnn"), "Upload a MIDI file", "", handle_file(str(bad)), None, 5, 1.0, 0.95, 5, 0, api_name="/generate_rnn")


def test_browser_click_generate(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    flags = [*FLAGS, "--autoplay-policy=no-user-gesture-required"]
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url, wait_until="networkidle")
        page.evaluate("document.addEventListener('playing', () => { window.played = performance.now(); }, true)")
        clicked = page.evaluate("performance.now()")
        page.click("#generate-rnn")
        page.wait_for_selector("#rnn-audio audio", timeout=60_000, state="attached")
        if shutil.which("ffmpeg"):  # the audio streams: it plays while the rest is sampled, before the pianoroll comes
            page.wait_for_function("window.played !== undefined", timeout=60_000)
            assert page.locator("#rnn-audio audio").evaluate("a => !a.paused && a.currentTime >= 0")
            assert page.evaluate("window.played") > clicked
        page.wait_for_selector("text=s of music", timeout=60_000)  # the status line comes last
        page.wait_for_timeout(1000)
        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=True)
        page.get_by_role("tab", name="Compare").click()
        page.wait_for_selector("#compare-table", timeout=20_000)
        assert page.locator("#compare-table").inner_text().count("perf-rnn") >= 1
        assert "real music of other compositions" in page.locator("#listener-table").inner_text()  # the classifier test
        assert page.locator("audio").count() >= 1 + 5  # the generated sample, then real music and each shipped model
        browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert not errors, errors
    if os.environ.get("PIANOGEN_UPDATE_SCREENSHOTS") == "1":  # refresh the README's picture
        SCREENSHOT.write_bytes(shot.read_bytes())


def test_result_folders_stay_bounded(tmp_path):
    """Old or excess per-click folders go; the newest few always stay."""
    import os
    import time

    from pianogen.io import prune_folders

    now = time.time()
    for i in range(12):
        d = tmp_path / f"click{i:02d}"
        d.mkdir()
        (d / "sample.wav").write_bytes(b"x" * 1000)
        os.utime(d, (now - 100 * (12 - i), now - 100 * (12 - i)))  # click11 is the newest
    (tmp_path / "stray.txt").write_text("not a result folder")
    removed = prune_folders(tmp_path, max_age_seconds=450, max_bytes=10**9, keep=2)
    assert sorted(d.name for d in removed) == [f"click{i:02d}" for i in range(0, 8)]  # older than 450 s
    removed = prune_folders(tmp_path, max_age_seconds=10**9, max_bytes=2500, keep=1)
    assert sorted(d.name for d in removed) == ["click08", "click09"]  # over 2,500 bytes: oldest first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["click10", "click11", "stray.txt"]


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
PHONE_SCREENSHOT = ROOT / "docs" / "screenshot-app-phone.png"


def test_phone_width_presets_cards_and_seed_inputs(app_url, tmp_path):
    """At 390 px: no sideways scroll, a model card, only the chosen seed source's inputs,
    one-click examples that produce audio, and the Compare tab's players."""
    from playwright.sync_api import sync_playwright

    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url, wait_until="networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        assert "Learned from" in page.locator("#rnn-card").inner_text()
        assert page.get_by_label("MIDI file (.mid / .midi)").count() == 0  # the upload box shows only for MIDI seeds
        page.get_by_text("Upload a MIDI file", exact=True).click()
        page.wait_for_timeout(500)
        assert page.get_by_text("Seed length (first N seconds of the MIDI)").count() >= 1
        page.get_by_text("Note names", exact=True).click()
        page.get_by_text("A C major arpeggio").click()  # an example fills the inputs and runs
        page.wait_for_selector("#rnn-audio audio", timeout=60_000, state="attached")
        page.wait_for_timeout(1000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        shot = tmp_path / "phone.png"
        page.screenshot(path=str(shot), full_page=False)
        page.get_by_role("tab", name="Compare").click()
        page.wait_for_selector("#compare-table", timeout=20_000)
        assert page.locator("audio").count() >= 4  # real music and each model, side by side
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        browser.close()
    assert not errors, errors
    if os.environ.get("PIANOGEN_UPDATE_SCREENSHOTS") == "1":
        PHONE_SCREENSHOT.write_bytes(shot.read_bytes())


def test_four_users_at_once_all_get_their_music(client):
    from concurrent.futures import ThreadPoolExecutor

    label = rnn_label(client, "perf-rnn")

    def one(seed):
        return client.predict(checkpoint=label, note_names="C4 E4 G4", seconds=6, seed=seed, api_name="/generate_rnn")

    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(one, range(4)))
    params = [check_outputs(o, 5) for o in outs]
    assert sorted(p["seed"] for p in params) == [0, 1, 2, 3]
    assert len({Path(o[2]).read_bytes() for o in outs}) == 4  # four different pieces, none mixed up


def test_huge_seed_midi_is_cut_quickly(client, tmp_path):
    """A seed file of 100,000 notes (about 1 MB) is cut to its first seconds fast."""
    import numpy as np
    import pandas as pd
    from gradio_client import handle_file

    from pianogen.data import write_midi

    rng = np.random.default_rng(0)
    start = np.sort(rng.uniform(0, 600, 100_000))
    big = write_midi(pd.DataFrame({"pitch": rng.integers(40, 90, 100_000), "velocity": 70, "start": start, "end": start + 0.1}), tmp_path / "big.mid")
    assert big.stat().st_size < 5e6  # under the upload limit
    t = time.perf_counter()
    out = client.predict(checkpoint=rnn_label(client, "note-rnn"), source="Upload a MIDI file", midi_file=handle_file(str(big)), seed_seconds=3, seconds=4,
                         api_name="/generate_rnn")
    took = time.perf_counter() - t
    params = check_outputs(out, 6)
    assert params["seconds_taken"] < 5 and took < 10, (params["seconds_taken"], took)
    print(f"100,000-note seed: {params['seconds_taken']:.2f} s server-side, {took:.2f} s round trip")


def test_not_midi_upload_gets_one_line_and_the_app_stays_up(client, tmp_path):
    from gradio_client import handle_file

    junk = tmp_path / "notes.mid"
    junk.write_bytes(b"%PDF-1.4 this is not a MIDI file" * 10)
    with pytest.raises(Exception) as exc:
        client.predict(checkpoint=rnn_label(client, "note-rnn"), source="Upload a MIDI file", midi_file=handle_file(str(junk)), api_name="/generate_rnn")
    assert "notes.mid" in str(exc.value) and "\n" not in str(exc.value).strip()
    check_outputs(client.predict(note_names="C4", seconds=3, api_name="/generate_rnn"), 2)


def test_musegan_card_says_where_its_dynamics_come_from(tmp_path):
    """The MuseGAN card explains flat dynamics only for a binary MuseGAN; one that paints a
    velocity roll says its loudness is learned."""
    import json
    import shutil

    sys.path.insert(0, str(ROOT))
    import app

    shipped = ROOT / "checkpoints" / "musegan.pt"
    report = json.loads(shipped.with_suffix(".json").read_text())
    for velocity in (False, True):
        report["config"]["model_config"]["velocity"] = velocity
        ck = tmp_path / f"v{velocity}.pt"
        shutil.copy(shipped, ck)
        ck.with_suffix(".json").write_text(json.dumps(report))
        card = app.model_card(ck)
        assert ("velocity roll" in card) == velocity and ("flat dynamics" in card) == (not velocity)


def test_note_names_are_never_opened_as_files(client, tmp_path):
    """Text in the note-names box is note names: a server path there reads nothing."""
    from gradio_client.exceptions import AppError

    from pianogen.data import write_midi
    import pandas as pd

    secret = write_midi(pd.DataFrame({"pitch": [60, 64], "velocity": 80, "start": [0.0, 1.0], "end": [0.5, 1.5]}), tmp_path / "x.mid")
    with pytest.raises(AppError, match="looks like a file name"):
        client.predict(checkpoint=rnn_label(client, "perf-rnn"), note_names=str(secret), seconds=3, api_name="/generate_rnn")


def test_api_defaults_are_each_models_own(client):
    """A client that names a checkpoint but no temperature / top-p gets that model's measured
    defaults (not the sliders' start values, which are the first model's)."""
    import json

    for kind in ("note-rnn", "perf-rnn"):
        label = rnn_label(client, kind)
        stem = label.split(" (")[0]
        d = json.loads((ROOT / "checkpoints" / f"{stem}.json").read_text())["sampling_defaults"]
        params = check_outputs(client.predict(checkpoint=label, note_names="C4 E4", seconds=4, api_name="/generate_rnn"), 3)
        assert (params["temperature"], params["top_p"]) == (d["temperature"], d["top_p"]) and params["measured_defaults"]
    # Naming them (and leaving the measured defaults) plays what was named.
    params = check_outputs(client.predict(checkpoint=label, note_names="C4 E4", seconds=4, temperature=0.7, top_p=0.9, measured_defaults=False,
                                          api_name="/generate_rnn"), 3)
    assert (params["temperature"], params["top_p"]) == (0.7, 0.9)


def test_pitch_temperature_belongs_to_the_measured_defaults(client):
    """A note model at its measured defaults draws its pitches at the recorded pitch temperature
    (where one was measured); the sliders alone play every field at the one temperature."""
    import json

    label = rnn_label(client, "note-transformer")
    d = json.loads((ROOT / "checkpoints" / f"{label.split(' (')[0]}.json").read_text())["sampling_defaults"]
    params = check_outputs(client.predict(checkpoint=label, note_names="C4 E4", seconds=3, api_name="/generate_rnn"), 3)
    assert params["pitch_temperature"] == pytest.approx(d.get("pitch_temperature", d["temperature"]))
    params = check_outputs(client.predict(checkpoint=label, note_names="C4 E4", seconds=3, temperature=0.9, top_p=0.95, measured_defaults=False,
                                          api_name="/generate_rnn"), 3)
    assert params["temperature"] == params["pitch_temperature"] == 0.9


def test_motif_memory_is_a_note_models_knob(client):
    """At its measured defaults a note model plays its recorded motif-memory strength (whatever
    the slider says); without them 0 turns it off; an event model has none, whatever is asked."""
    import json

    label = rnn_label(client, "note-transformer")
    recorded = json.loads((ROOT / "checkpoints" / f"{label.split(' (')[0]}.json").read_text())["motif_memory"]["strength"]
    assert recorded > 0
    for asked in ({}, {"motif_memory": 0}):
        params = check_outputs(client.predict(checkpoint=label, note_names="C4 E4 G4 C5", seconds=4, api_name="/generate_rnn", **asked), 3)
        assert params["motif_memory"] == recorded
    params = check_outputs(client.predict(checkpoint=label, note_names="C4 E4 G4 C5", seconds=4, motif_memory=0, measured_defaults=False,
                                          api_name="/generate_rnn"), 3)
    assert params["motif_memory"] == 0
    params = check_outputs(client.predict(checkpoint=rnn_label(client, "perf-rnn"), note_names="C4 E4", seconds=4, motif_memory=5,
                                          measured_defaults=False, api_name="/generate_rnn"), 3)
    assert params["motif_memory"] == 0


@pytest.mark.parametrize("inputs, message", [
    ({"seconds": 10_000}, "greater than maximum value 60"),  # Gradio's slider bound, before the handler's own
    ({"note_names": " ".join(["C4"] * 3001)}, "at most 3,000 are read"),
    ({"note_names": "C4 " * 8000}, "characters long"),
    ({"source": "Upload a MIDI file", "seed_seconds": 1e9}, "greater than maximum value 30"),
    ({"source": "Something else"}, "is not in the list of choices"),
    ({"seed": -1}, "seed must be between"),
])
def test_requests_beyond_the_limits_are_refused_clearly(client, inputs, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(**{"checkpoint": rnn_label(client, "perf-rnn"), "note_names": "C4", "seconds": 3, **inputs}, api_name="/generate_rnn")


def test_density_below_the_lowest_bin_is_refused(client):
    from gradio_client.exceptions import AppError

    label = next(c for c in client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/generate_rnn"]["parameters"][0]["type"]["enum"]
                 if "density control" in c)
    with pytest.raises(AppError, match="takes densities from 1 notes per second"):
        client.predict(checkpoint=label, note_names="C4", seconds=3, notes_per_second=0.5, api_name="/generate_rnn")


def _folder_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def test_many_clicks_leave_app_and_gradio_folders_bounded(tmp_path):
    """With a 1 MB bound, 12 clicks (about 1 MB each with audio) leave both the app's result
    folders and Gradio's copies of them near the bound, not growing with every click."""
    from gradio_client import Client

    port = free_port()
    out, cache = tmp_path / "tmp", tmp_path / "gradio"
    out.mkdir()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TMPDIR": str(out), "GRADIO_TEMP_DIR": str(cache),
           "PIANOGEN_OUT_MAX_MB": "1", "PIANOGEN_GRADIO_KEEP": "8"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        c = Client(url, verbose=False)
        label = rnn_label(c, "note-rnn")
        sizes = []
        for i in range(12):
            c.predict(checkpoint=label, note_names="C4 E4 G4", seconds=6, seed=i, api_name="/generate_rnn")
            sizes.append((_folder_bytes(out / "pianogen-app"), _folder_bytes(cache)))
    finally:
        proc.terminate()
        proc.wait(10)
    app_bytes, gradio_bytes = zip(*sizes)
    click = max(app_bytes[0], 1)  # one click's files
    # Each folder holds at most the bound plus the newest clicks that always stay.
    assert max(app_bytes) < 1e6 + 9 * click and max(gradio_bytes) < 1e6 + 9 * click, sizes
    assert gradio_bytes[-1] < 0.75 * 12 * click, sizes  # without pruning it would hold all 12 clicks


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


MEMORY_BOUND_MB = 3000  # the app with every model loaded runs at about 1 GB


def test_hostile_requests_get_music_or_a_clear_error(client):
    """Property test (Hypothesis): random and hostile values for every input of both endpoints.
    Each answer is audio or a one-line error; the server stays up and within MEMORY_BOUND_MB."""
    from gradio_client.exceptions import AppError
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    rnn_labels = info["/generate_rnn"]["parameters"][0]["type"]["enum"]
    gan_labels = info["/generate_gan"]["parameters"][0]["type"]["enum"]
    key_choices = info["/generate_gan"]["parameters"][7]["type"]["enum"]
    pieces = info["/generate_rnn"]["parameters"][4]["type"]["enum"]
    hostile_text = st.sampled_from(["C4 E4", "/etc/passwd", "../../checkpoints/perf-rnn.pt", "x.mid", "C4+" * 60, "Cb-1", "B#9", "_ _ _", "\x00", "C4 " * 400])
    huge = st.floats(-1e9, 1e9, allow_nan=False)

    def answered(call, args):
        try:
            out = call()
        except AppError as exc:
            msg = str(exc).strip()
            # A clear message of ours or of Gradio's input checks, never an unhandled exception.
            assert msg and "\n" not in msg and "Traceback" not in msg and "has raised an exception" not in msg, (args, msg)
            return
        assert Path(out[0]).read_bytes()[:4] == b"RIFF", args

    # No shrinking: a failure is reported as found (each example is a request of a second or more).
    cfg = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                   phases=[Phase.explicit, Phase.generate])

    @cfg
    @given(st.sampled_from(rnn_labels + ["", "no such model"]), st.sampled_from(["Note names", "Upload a MIDI file", "A bundled MAESTRO piece"]),
           st.one_of(hostile_text, st.text(max_size=60)), st.sampled_from(pieces[:3]), st.one_of(st.floats(-5, 40), huge),
           st.one_of(st.floats(-1, 3), huge), st.one_of(st.floats(-1, 2), huge), st.one_of(st.floats(-5, 30), huge),
           st.integers(-2**40, 2**40), st.one_of(st.floats(-5, 40), huge), st.booleans())
    def rnn(ck, source, names, piece, seed_seconds, temperature, top_p, seconds, seed, nps, measured):
        args = (ck, source, names, piece, seed_seconds, temperature, top_p, seconds, seed, nps, measured)
        answered(lambda: client.predict(ck, source, names, None, piece, seed_seconds, temperature, top_p, seconds, seed, nps, measured,
                                        api_name="/generate_rnn"), args)

    @cfg
    @given(st.sampled_from(gan_labels + ["x"]), st.integers(-2**40, 2**40), st.integers(-2**40, 2**40), st.one_of(st.floats(-1, 2), huge),
           st.one_of(st.integers(-5, 20), huge), st.lists(st.sampled_from(["melody", "inner", "bass", "drums"]), max_size=4),
           st.one_of(st.floats(-100, 500), huge), st.sampled_from(key_choices + ["H major", "", "../x"]),
           *[st.sampled_from(["any", "sixteenths", "dense", "loud", "", "x"])] * 3)
    def gan(ck, a, b, alpha, bars, voices, tempo, key, rhythm, density, loudness):
        args = (ck, a, b, alpha, bars, voices, tempo, key, rhythm, density, loudness)
        answered(lambda: client.predict(*args, api_name="/generate_gan"), args)

    rnn()
    gan()
    check_outputs(client.predict(checkpoint=rnn_label(client, "perf-rnn"), note_names="C4 E4", seconds=3, api_name="/generate_rnn"), 2)
    assert _rss_mb(APP["proc"].pid) < MEMORY_BOUND_MB
