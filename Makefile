# Two commands set up a fresh machine: `make run` (the main job) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test test-fast test-min-cdk lint bench synth adversarial-report clean

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
	$(BIN)/python -m example.main_job

# pytest exits 5 when it collects no tests; make treats that as the failure it is.
test: install
	$(BIN)/python -m pytest -q

# The edit-test loop: unit and construct-assertion tests, without the tests marked slow.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

# The construct tests against the oldest aws-cdk-lib that pyproject.toml admits, in a virtualenv of their own:
# the pins of requirements.txt but for the CDK family, which pip resolves for that release.
MIN_CDK = $(shell sed -n 's/.*"aws-cdk-lib>=\([0-9.]*\),.*/\1/p' pyproject.toml)
MIN_VENV := .venv-min-cdk
test-min-cdk: install
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	grep -v -i -E '^(aws-cdk-lib|aws-cdk\.[a-z0-9.-]+|jsii|constructs|cdk-nag)==' requirements.txt > $(MIN_VENV)/requirements.txt
	$(MIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(MIN_VENV)/requirements.txt \
		"aws-cdk-lib==$(MIN_CDK)" "cdk-nag>=3,<4"
	$(MIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(MIN_VENV)/bin/python -c "import aws_cdk, importlib.metadata as m; print('aws-cdk-lib', m.version('aws-cdk-lib'))"
	$(MIN_VENV)/bin/python -m pytest -q tests/construct -m "not slow and not pinned_cdk"

# The gates CI runs before the tests: lint and format on everything, mypy --strict on the library packages.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Everything measured, then `layer-share try` at 50 grants (bench/TRY_RESULTS.md).
bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.try_bench

# The adversarial suite alone, writing tests/adversarial/REPORT.md from its measurements if every test passes.
adversarial-report: install
	$(BIN)/python -m tests.adversarial.report

clean:
	rm -rf $(VENV) node_modules cdk.out
