# Two commands for a newcomer: `make demo` and `make test`. Everything lives in ./.venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test fuzz lint bench bench-quick clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

demo: install
	mkdir -p out
	$(BIN)/assign plan examples/roster.csv examples/cases.csv \
		--config examples/assign.toml --out out/plan.csv --report out/plan.html --time-limit 10 \
		--robustness

test: install
	$(BIN)/pytest -q

fuzz: install
	FUZZ_BATCHES=10 $(BIN)/pytest -q tests/test_fuzz.py

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

bench-quick: install
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
