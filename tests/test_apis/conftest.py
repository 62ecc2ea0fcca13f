# Copyright (c) medvlp contributors. All rights reserved.
"""Fixtures shared by the inference API tests.

They live in this conftest.py (not in a module the tests import) so that each session-scoped
fixture is built once for all test modules; the trained runs behind them are shared with the
rest of the suite (tests/conftest.py, tests/demo_pretrain.py).
"""
import json

import pytest

from demo_pretrain import DEMO_PRETRAIN_CONFIGS as CONFIGS  # noqa: F401


@pytest.fixture(scope='session')
def demo_records(repo_root):
    """The 100 records of the embedded demo set, image paths made absolute."""
    lines = (repo_root / 'demo/cxr/annotations.jsonl').read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for r in records:
        r['img_path'] = str(repo_root / 'demo/cxr' / r['img_path'])
    return records


@pytest.fixture(scope='session')
def medim_model(demo_pretrain_checkpoints, repo_root):
    from medvlp.apis import init_model
    return init_model(str(repo_root / CONFIGS['medim']), str(demo_pretrain_checkpoints['medim']))


@pytest.fixture(scope='session')
def short_joimternet_run(joimternet_demo_run):
    """(config, checkpoint) of the shared JoImTeRNet demo run (tests/conftest.py): enough
    training for in-sample retrieval to beat chance clearly (one epoch is not); the config
    is the one the run dumped into its work dir, next to its ``last_checkpoint``."""
    return joimternet_demo_run.config, joimternet_demo_run.checkpoint
