# hookrelay: every target installs what it needs. Only python3 and make are assumed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
APPS := handler provisioner receiver alarm-to-slack sqs-mv
# The apps this checkout has (an app's directory may exist before its app.py does).
PRESENT_APPS := $(foreach app,$(APPS),$(if $(wildcard $(app)/app.py),$(app)))
STAGE ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

.DEFAULT_GOAL := help
.PHONY: help install lint format test browser test-fast config vendor package deploy rollback iam-audit run demo bench bench-isolation bench-scale soak pacing-figures clean

help: ## list every target with one line each
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install the core package (editable) with every dev tool

config: $(STAMP) ## render the shared stage settings (.chalice/config.json) into each app
	$(BIN)/python tools/render_config.py

vendor: $(STAMP) ## place into each app's vendor/ the core modules its app.py imports (what chalice bundles)
	$(BIN)/python tools/vendor_core.py $(PRESENT_APPS)

lint: $(STAMP) ## ruff (lint + format check), import contracts (pyproject.toml), mypy (strict on the core)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/mypy
	$(BIN)/python tools/render_config.py --check

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint browser ## lint, then the whole test suite (unit, functional on moto, end-to-end on loopback)
	$(BIN)/python -m pytest -n 2 -q

browser: ## Debian's chromium + chromium-driver for the console's browser tests (apt-get as root; may fail)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 || true; \
	  fi; \
	  command -v chromedriver >/dev/null || echo "no chromium: the browser tests skip (under CI=true they fail)"; \
	fi

test-fast: $(STAMP) ## the test suite without lint
	$(BIN)/python -m pytest -n 2 -q

package: config ## chalice package every app offline into build/<app>/ (no credentials needed); prints zip sizes
	$(BIN)/python -m hookrelay_local.artifacts --stage $(STAGE) $(PRESENT_APPS)

# Stage-changing targets take the stage only from the command line or the environment, never the default.
EXPLICIT_STAGE = @if [ "$(origin STAGE)" != "command line" ] && [ "$(origin STAGE)" != "environment" ]; then \
	  echo "$@ needs an explicit stage: make $@ STAGE=dev (or prod); make deploy DRY_RUN=1 STAGE=... shows the plan" >&2; \
	  exit 2; \
	fi

deploy: $(STAMP) ## deploy shared resources, apps and handler artifact to AWS: make deploy STAGE=dev|prod [DRY_RUN=1]
	$(EXPLICIT_STAGE)
	$(BIN)/python tools/render_config.py
	$(BIN)/python -m hookrelay_local.deploy --stage $(STAGE) $(if $(DRY_RUN),--dry-run)

rollback: $(STAMP) ## list handler artifacts, or point latest.json at one: make rollback STAGE=prod [KEY=handler/<sha>.zip]
	$(EXPLICIT_STAGE)
	$(BIN)/python -m hookrelay_local.deploy --stage $(STAGE) $(if $(KEY),rollback $(KEY),artifacts)

iam-audit: $(STAMP) ## record the AWS calls apps make in the functional tests; check the IAM scan saw each
	rm -rf build/aws-calls
	HOOKRELAY_AWS_CALL_LOG=build/aws-calls $(BIN)/python -m pytest -p tests.support.aws_call_log -n 2 -q tests/functional
	$(BIN)/python -m tests.support.aws_call_log build/aws-calls

run: $(STAMP) ## the whole platform on 127.0.0.1: moto :5000, provisioner API :8000, sample receiver :8001
	$(BIN)/python -m hookrelay_local.run $(RUN_ARGS)

demo: $(STAMP) ## a scripted scenario on the local stack (healthy, slow, failing partners); ends with a summary
	$(BIN)/python -m hookrelay_local.demo $(DEMO_ARGS)

bench: $(STAMP) ## benchmarks, each printing ratios against a baseline measured in the same run
	$(BIN)/python -m bench

bench-isolation: $(STAMP) ## only the isolation benchmark: a slow partner vs per-partner queues vs one shared queue
	$(BIN)/python -m bench isolation

bench-scale: $(STAMP) ## the local stack at N=10, 100, 1,000 partners (BENCH_SCALE_NS="10,100" for a quick run)
	$(BIN)/python -m bench scale

soak: $(STAMP) ## 5,000 webhooks over 20 partners while 10 % of AWS calls fail (fault proxy); one summary line
	$(BIN)/python -m tests.support.soak

pacing-figures: $(STAMP) ## issue 16's pacing figures in full: 200 webhooks at 5/s over 2 instances; adaptive judged after 30 s
	HOOKRELAY_PACING_FIGURES=full $(BIN)/python -m pytest -q -s -p no:logging tests/e2e/lambda_runtime/test_pacing.py

clean: ## remove build output, vendored copies and caches (keeps .venv)
	rm -rf build $(addsuffix /vendor,$(APPS)) .pytest_cache .mypy_cache .ruff_cache
