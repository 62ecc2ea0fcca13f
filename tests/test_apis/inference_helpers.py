# Copyright (c) medvlp contributors. All rights reserved.
"""Fixtures shared by the inference API tests (import them into a test module)."""
import json

import pytest

from conftest import DEMO_PRETRAIN_CONFIGS as CONFIGS  # noqa: F401


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
