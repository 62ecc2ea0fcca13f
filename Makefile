# medvlp developer entry points. `make demo` and `make test` are README's two commands.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
DEMO_CONFIG ?= configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py
DEMO_WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: env demo demo-vis test clean-env

# Create or update the virtualenv (idempotent; see tools/setup_env.sh).
env:
	MEDVLP_VENV=$(VENV) bash tools/setup_env.sh

# MedIM pre-training on the embedded demo chest X-rays and notes (demo/cxr), CPU, a few minutes,
# then the pictures: KWM/SDM masks, word attention and top-3 retrieved notes in $(DEMO_WORK_DIR)/vis.
demo: env
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)
	$(MAKE) --no-print-directory demo-vis PYTHON=$(PYTHON)

# The demo's pictures from the latest checkpoint in $(DEMO_WORK_DIR).
demo-vis:
	$(PYTHON) tools/visualization/vis_demo.py $(DEMO_CONFIG) "$$(cat $(DEMO_WORK_DIR)/last_checkpoint)" \
		--out-dir $(DEMO_WORK_DIR)/vis

# The whole test suite, or what PYTEST_ARGS names: make test PYTEST_ARGS="tests/test_utils -x"
# (without a path, pytest runs setup.cfg's testpaths, i.e. tests/).
test: env
	$(PYTHON) -m pytest $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV)
