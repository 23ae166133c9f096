# Two commands for a fresh machine:
#   make run   - venv, install, prepare the bundled corpus and print its statistics
#   make test  - venv, install, all tests (the slow end-to-end ones included)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CORPUS := data/maestro-mini
PREPARED := data/prepared/maestro-mini

.PHONY: run test test-fast install prepare bench clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: a looser requirement would pull gigabytes of CUDA wheels.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

prepare: $(STAMP)
	$(PY) scripts/prepare_data.py $(CORPUS) --out $(PREPARED) --force

run: prepare
	$(PY) scripts/data_stats.py $(PREPARED)

# pytest exits 5 when it collected no tests: treat that as a failure.
test: $(STAMP)
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "error: no tests were collected"; exit 1; fi; exit $$rc

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/prepare.py

clean:
	rm -rf $(VENV) data/prepared .pytest_cache
