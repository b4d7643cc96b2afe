# Set-up commands: `make demo` and `make test` (see README "Set up").
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/helm-to-kustomize
DEMO_CASE := fixtures/llm-d-modelservice/v0.4.12/single-node-nvidia
DEMO_DIR := build/demo

.PHONY: demo test bench tools install clean

demo: tools
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)/overlay
	cp $(DEMO_CASE)/manifest.yaml $(DEMO_DIR)/overlay/manifest.yaml
	printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: llm-d\nresources:\n- manifest.yaml\n' \
		> $(DEMO_DIR)/overlay/kustomization.yaml
	$(CLI) verify $(DEMO_DIR)/overlay --manifest $(DEMO_CASE)/manifest.yaml --namespace llm-d \
		--format markdown --report $(DEMO_DIR)/report.md
	@echo "markdown report: $(DEMO_DIR)/report.md"

test: tools
	$(PY) -m pytest

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
