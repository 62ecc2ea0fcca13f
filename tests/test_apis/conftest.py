# Copyright (c) medvlp contributors. All rights reserved.
"""Fixtures shared by the inference API tests.

They live in this conftest.py (not in a module the tests import) so that each session-scoped
fixture, such as the 12-epoch JoImTeRNet run, is built once for all test modules.
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


#: A short matching-only JoImTeRNet run on the demo set: enough for in-sample retrieval
#: to beat chance clearly (one epoch is not), and used by the retrieval and demo tests.
SHORT_RUN_EPOCHS = 12
SHORT_RUN_OPTIONS = (
    f'train_cfg.max_epochs={SHORT_RUN_EPOCHS}', 'model.mlm_head=None',
    f'param_scheduler.1.T_max={SHORT_RUN_EPOCHS - 2}', f'param_scheduler.1.end={SHORT_RUN_EPOCHS}',
    f'default_hooks.checkpoint.interval={SHORT_RUN_EPOCHS}', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False')


@pytest.fixture(scope='session')
def short_joimternet_run(run_tool, tmp_path_factory):
    """(config, checkpoint) of :data:`SHORT_RUN_OPTIONS` trained through tools/train.py; the
    config is the one the run dumped into its work dir."""
    work = tmp_path_factory.mktemp('short_joimternet')
    run_tool('train.py', CONFIGS['joimternet'], '--work-dir', work, '--no-validate',
             '--cfg-options', *SHORT_RUN_OPTIONS)
    config = work / 'joimternet_vit-tiny-p16_1xb16-30e_demo.py'
    return config, work / f'epoch_{SHORT_RUN_EPOCHS}.pth'
