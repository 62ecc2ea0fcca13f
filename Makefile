# medvlp developer entry points. `make demo` and `make test` are README's two commands.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
DEMO_CONFIG ?= configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py
PYTEST_ARGS ?=

.PHONY: env demo test clean-env

# Create or update the virtualenv (idempotent; see tools/setup_env.sh).
env:
	MEDVLP_VENV=$(VENV) bash tools/setup_env.sh

# MedIM pre-training on the embedded demo chest X-rays and notes (demo/cxr), CPU, a few minutes.
demo: env
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo

# The whole test suite.
test: env
	$(PYTHON) -m pytest tests $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV)
