# Set-up commands: `make demo` and `make test` (see README "Set up").
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/helm-to-kustomize
DEMO_CASE := fixtures/llm-d-modelservice/v0.4.12/example-pd-disaggregation
DEMO_DIR := build/demo

.PHONY: demo test test-all bench tools install clean

# The main job on an embedded example: migrate a P/D release's values to an
# overlay on the library and verify it against the real Helm render.
demo: tools
	rm -rf $(DEMO_DIR)
	$(CLI) $(DEMO_CASE)/values.yaml -o $(DEMO_DIR)/pd --release pd --namespace default \
		--verify-against $(DEMO_CASE)/manifest.yaml --report $(DEMO_DIR)/migration-report.json
	@echo "overlay: $(DEMO_DIR)/pd/kustomization.yaml; migration report: $(DEMO_DIR)/migration-report.json"

test: tools
	$(PY) -m pytest

# Also every fixture case of every chart release (about 2,300 migrations).
test-all: tools
	$(PY) -m pytest -m ''

bench: tools
	$(PY) bench/bench.py

tools: install
	$(PY) -m migrate.provision

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf build .tools
