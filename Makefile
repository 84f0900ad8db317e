# sfcloud: every task a person or CI runs is a target here (`make help`).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SF     := $(VENV)/bin/sf
PROTOS := $(wildcard proto/sfcloud/v1/*.proto)
STUBS  := $(PROTOS:.proto=_pb2.py)
INSTALLED := $(VENV)/.installed
# checkov pins dependencies that clash with ours: it lives in a venv of its own (tests/infra runs it).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .venv-checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.DEFAULT_GOAL := help
.PHONY: help setup run test test-long bench proto schema lint checkov clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "sfcloud needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(INSTALLED): $(PY) pyproject.toml ext/tscodec/_kernels.pyx $(wildcard ext/tscodec/*.pxi)
	$(PY) -m pip install --quiet "grpcio-tools==1.85.1"
	$(MAKE) --no-print-directory proto
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(INSTALLED) $(STUBS) ## Create .venv, install, build the codec, generate stubs

proto: $(STUBS) ## Generate the Python gRPC stubs from proto/

proto/sfcloud/v1/%_pb2.py: proto/sfcloud/v1/%.proto | $(PY)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto --grpc_python_out=proto $<

schema: setup ## Export the GraphQL schema to gateway/schema.graphql (a test checks it is current)
	$(PY) -c "from gateway.graphql.schema import build_schema; open('gateway/schema.graphql', 'w').write(build_schema().as_str() + '\n')"

run: setup ## Start the whole stack with the demo tenant (Ctrl-C stops it)
	$(SF) up

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov==$(CHECKOV_VERSION)"
	@touch $@

checkov: $(CHECKOV_STAMP) ## Scan infra/terraform and the Dockerfile with checkov (skips: infra/terraform/README.md)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -d infra/terraform --framework terraform
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -f Dockerfile --framework dockerfile

# The tests whose figures are timings (marker timed, tests/conftest.py) run alone after the rest, which runs on
# TEST_WORKERS processes at once, each with its own PostgreSQL, Redis and stack.
TEST_WORKERS ?= 2

test: setup $(CHECKOV_STAMP) ## Run the test suite against real PostgreSQL, Redis, gRPC and a browser (not the long runs)
	$(PY) -m pytest -q -m "not long and not timed" -n $(TEST_WORKERS) --dist loadfile
	$(PY) -m pytest -q -m "not long and timed"

test-long: setup ## Run the long tests (marker long): the codec fuzz, the outage test in real time
	$(PY) -m pytest -m long -q

bench: ## Print the DESIGN.md figures as JSON, each beside its baseline (setup's output goes to stderr)
	@$(MAKE) --no-print-directory setup >&2
	@$(SF) bench --json

lint: setup ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean: ## Remove the venv, generated stubs, build output and local data
	rm -rf $(VENV) $(CHECKOV_VENV) build *.egg-info .sfcloud .pytest_cache .ruff_cache
	rm -f proto/sfcloud/v1/*_pb2*.py proto/sfcloud/v1/*_pb2*.pyi ext/tscodec/*.c ext/tscodec/*.so
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
