"""scripts/compare.py on the shipped checkpoints, and its report opened in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def report(prepared, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    cks = [str(ROOT / "checkpoints" / f"{n}.pt") for n in ("perf-rnn", "note-rnn", "musegan")]
    cmd = [sys.executable, "scripts/compare.py", *cks, "--data", str(prepared), "--out", str(out), "--n", "4", "--groups", "2", "--seconds", "8", "--audio", "1", "--force",
           "--listener-n", "12", "--continuations", "4", "--long-n", "2", "--long-seconds", "20", "--c2st-repeats", "1"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_metrics_files(report):
    table = pd.read_csv(report / "metrics.csv")
    assert table["model"].tolist() == ["real (train split)", "perf-rnn", "note-rnn", "musegan", "real (test split) vs asap-performances"]
    # The copy check: each model against its own training corpus, real unseen music as reference.
    assert table["copy-check corpus"].tolist()[1:] == ["asap-performances"] * 4  # the shipped MuseGAN learned from 75 h too
    # One reference row per corpus: real unseen segments, drawn across pieces, against that corpus.
    assert table.loc[4, "model"].endswith("vs asap-performances") and table.loc[4, "kind"] == "data"
    assert table.loc[1:, "shared passage notes (max)"].apply(float.is_integer).all()
    assert table.loc[1:2, "NLL nats/s"].notna().all() and pd.isna(table.loc[3, "NLL nats/s"])
    scored = table.iloc[:4]  # the copy-check row has no features
    assert (scored["mean OA"].between(0, 1)).all() and (scored["mean OA sd"] >= 0).all() and (scored["mean OA sd"] > 0).any()
    # The ceiling (real music scored like a model) beats the weakest model.
    assert scored.loc[0, "mean OA"] > scored.loc[1:, "mean OA"].min()
    res = json.loads((report / "metrics.json").read_text())
    assert set(res["models"]["musegan"]["musegan_metrics"]) >= {"EB/melody", "UPC/bass", "QN/inner", "TD/melody-bass"}
    assert res["models"]["perf-rnn"]["config"]["train"]["max_steps"] > 0  # training cost from NAME.json
    # Can a listener tell? Every model and the real floor get a classifier accuracy with a spread.
    assert scored["C2ST"].between(0, 1).all() and scored["C2ST sd"].notna().all()
    assert table.loc[1:2, "continuation C2ST"].notna().all() and pd.isna(table.loc[3, "continuation C2ST"])  # MuseGAN cannot continue
    assert table.loc[1:2, "continuation NLL nats/s"].gt(0).all()
    lst = res["listener"]
    assert lst["floor"]["c2st"]["n"] == 12 and len(lst["real"]["features"]) == len(res["models"]["musegan"]["listener"]["features"])
    assert res["models"]["musegan"]["listener"]["separating"][0]["auc"] != 0.5
    assert {"notes/s", "polyphony", "sparse share", "outside real 5-95%"} <= set(res["models"]["perf-rnn"]["listener"]["spread"])
    assert res["models"]["note-rnn"]["listener"]["stability"]["density_cv"] > 0
    from pianogen.evaluation.compare import listener_tables

    tables = listener_tables(res)
    assert len(tables["tell"]) == 4 and len(tables["separating"]) == 9 and len(tables["stability"]) == 4


def test_report_opens_from_disk_in_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((report / "index.html").as_uri(), wait_until="load")
        page.wait_for_function("Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1)", timeout=20_000)
        assert page.locator("#summary tbody tr").count() == 5
        assert page.locator("#listener tbody tr").count() == 4  # the real floor and three models
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.locator("audio").count() == 4 and page.locator("img").count() >= 7 + 4  # real music + 3 models
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert not errors, errors
    if os.environ.get("PIANOGEN_UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / "screenshot-report.png").write_bytes(shot.read_bytes())


def test_rewrite_renders_the_same_report_from_metrics(report):
    """--rewrite writes index.html again from metrics.json (no sampling): the same tables."""
    import re

    before = (report / "index.html").read_text()
    proc = subprocess.run([sys.executable, "scripts/compare.py", "--rewrite", "--out", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = (report / "index.html").read_text()
    tables = lambda page: re.findall(r"<table.*?</table>", page, re.S)  # noqa: E731
    assert tables(after) == tables(before) and len(tables(after)) >= 5
