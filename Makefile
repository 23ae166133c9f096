# Two commands for a fresh machine:
#   make run   - venv, install, launch the Gradio app on the shipped checkpoints (http://127.0.0.1:7860)
#   make test  - venv, install, every test (the slow end-to-end ones included)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CORPUS := data/maestro-mini
PREPARED := data/prepared/maestro-mini
# Debian packages: FluidSynth and a General MIDI soundfont (audio), ffmpeg (Gradio encodes streamed audio with it), Chromium (browser test).
RUN_PKGS  := fluidsynth fluid-soundfont-gm ffmpeg
TEST_PKGS := $(RUN_PKGS) chromium

.PHONY: run test test-fast install install-dev prepare stats bench system-deps-run system-deps-test clean

DEV_STAMP := $(VENV)/.installed-dev

# Runtime packages only (what a Space installs): enough for `make run`.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: a looser requirement would pull gigabytes of CUDA wheels.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	# pianogen itself, editable: `import pianogen` works from any folder (no copy to keep in sync).
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Test and development packages on top (gradio_client, playwright, muspy, pytest).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# Installs the Debian packages that are missing (needs root and apt-get; else says what to install).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	  else echo "warning: please install the Debian packages:$$missing (audio falls back to a built-in synthesizer)"; fi; \
	fi
endef

system-deps-run:
	$(call apt_install,$(RUN_PKGS))

system-deps-test:
	$(call apt_install,$(TEST_PKGS))

run: $(STAMP) system-deps-run
	$(PY) app.py

prepare: $(STAMP)
	$(PY) scripts/prepare_data.py $(CORPUS) --out $(PREPARED) --force

stats: prepare
	$(PY) scripts/data_stats.py $(PREPARED)

# pytest exits 5 when it collected no tests: treat that as a failure.
test: $(DEV_STAMP) system-deps-test
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "error: no tests were collected"; exit 1; fi; exit $$rc

test-fast: $(DEV_STAMP)
	$(PY) -m pytest -m "not slow"

bench: $(DEV_STAMP) prepare
	$(PY) benchmarks/prepare.py
	$(PY) benchmarks/sample.py
	$(PY) benchmarks/train.py
	$(PY) benchmarks/musegan.py
	$(PY) benchmarks/app_latency.py

clean:
	rm -rf $(VENV) data/prepared .pytest_cache
