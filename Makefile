# Two commands set up a fresh machine: `make run` (the main job) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test test-fast lint bench synth adversarial-report clean

install: $(VENV)/.installed node_modules/.installed

# Re-run only when the pins change, so repeated runs are fast.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: install
	node_modules/.bin/cdk synth --quiet

run: install
	$(BIN)/python -m tools.main_job

# pytest exits 5 when it collects no tests; make treats that as the failure it is.
test: install
	$(BIN)/python -m pytest -q

# The edit-test loop: unit and construct-assertion tests, without the tests marked slow.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

# The gates CI runs before the tests: lint and format on everything, mypy --strict on the library packages.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.run

# The adversarial suite alone, writing tests/adversarial/REPORT.md from its measurements if every test passes.
adversarial-report: install
	$(BIN)/python -m tests.adversarial.report

clean:
	rm -rf $(VENV) node_modules cdk.out
