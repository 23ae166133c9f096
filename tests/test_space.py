"""The Hugging Face Space as a visitor gets it: a fresh venv from requirements.txt alone, the
Debian packages of packages.txt, `python app.py` with the environment a Space sets, and audio
back through gradio_client. Prints cold start and installed size (docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def test_space_installs_lean_and_serves_audio(tmp_path):
    for pkg in (ROOT / "packages.txt").read_text().split():
        assert subprocess.run(["dpkg", "-s", pkg], capture_output=True).returncode == 0, f"Debian package {pkg} (packages.txt) is missing"
    venv = tmp_path / "space"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    t = time.time()
    for args in (["torch==2.13.0"], ["-r", str(ROOT / "requirements.txt")]):  # torch first, as the Makefile does
        proc = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args], capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-2000:]
    install_s = time.time() - t
    for dev_only in ("pytest", "playwright", "muspy"):
        assert subprocess.run([py, "-c", f"import {dev_only}"], capture_output=True).returncode != 0, f"{dev_only} is test-only"

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"})
    t0 = time.time()
    proc = subprocess.Popen([py, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        from gradio_client import Client

        client = None
        while time.time() - t0 < 180:
            if proc.poll() is not None:
                pytest.fail(f"app exited: {proc.stdout.read()[-2000:]}")
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # not listening yet
                time.sleep(0.5)
        assert client is not None, "the app did not answer in 180 s"
        out = client.predict(note_names="C4 E4 G4 C5", seconds=8, api_name="/generate_rnn")
        cold = time.time() - t0
        assert Path(out[0]).read_bytes()[:4] == b"RIFF"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps({"space_venv_mb": round(_size_mb(venv)), "install_seconds": round(install_s), "cold_start_to_first_audio_s": round(cold, 1)}))
