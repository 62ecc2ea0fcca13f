# medvlp developer entry points. `make demo` and `make test` are README's two commands.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
DEMO_CONFIG ?= configs/demo/mae_vit-tiny-p16_1xb8-10e_demo.py
PYTEST_ARGS ?=

.PHONY: env demo test clean-env

# Create or update the virtualenv (idempotent; see tools/setup_env.sh).
env:
	MEDVLP_VENV=$(VENV) bash tools/setup_env.sh

# Pre-train on the embedded demo chest X-rays (demo/cxr), on CPU in about a minute.
demo: env
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo

# The whole test suite.
test: env
	$(PYTHON) -m pytest tests $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV)
