# Two entry points, each doing its own set-up on a fresh machine (Python 3.10+):
#   make quickstart   train + evaluate + sample a character GRU on text shipped with Python
#   make test         run the test suite (everything, two processes: what CI runs)
#   make check        the fast tier only (unit tests and one CLI smoke test per task), for the edit-test loop
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The exact torch build installed first; pyproject's range then accepts it.
TORCH  ?= torch==2.13.0

.PHONY: quickstart test check install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

install: $(VENV)/.installed

quickstart: install
	$(BIN)/python -m seqlit fit --config configs/quickstart.yaml

# pytest-xdist: one worker per core; worksteal keeps both busy when the long tests come last
PYTEST := HF_DATASETS_OFFLINE=1 WANDB_MODE=offline $(BIN)/python -m pytest -q -n auto --dist worksteal

test: install
	$(PYTEST) --durations=40  # the 40 slowest, so CI's log shows where its time goes

check: install
	$(PYTEST) -m "not slow"
