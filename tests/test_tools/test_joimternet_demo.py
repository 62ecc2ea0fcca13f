# Copyright (c) medvlp contributors. All rights reserved.
"""A short real JoImTeRNet training on the demo data learns to pair images and reports.

The training is the session's shared ``joimternet_demo_run`` (tests/conftest.py); test.py and
the attention visualisation run in this process (tests/tool_calls.py).
"""
import json
import re

import pytest

from demo_pretrain import JOIMTERNET_DEMO_EPOCHS
from medvlp.utils import load_checkpoint_file
from tool_calls import call_tool

pytestmark = pytest.mark.slow
DEMO = 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py'
CHANCE_R10 = 10.0  # 100 in-sample pairs


def test_training_lowers_loss_and_test_prints_recall(joimternet_demo_run, tmp_path):
    scalars = next(joimternet_demo_run.work_dir.glob('*/vis_data/scalars.json'))
    logs = [json.loads(line) for line in scalars.read_text().splitlines()
            if '"loss_local_ce"' in line]
    assert len(logs) == JOIMTERNET_DEMO_EPOCHS  # one line per epoch of 7 iterations
    first, last = logs[0], logs[-1]
    for term in ('loss_global_ce', 'loss_local_ce', 'loss_mlm'):
        assert last[term] < first[term], term

    ckpt = joimternet_demo_run.checkpoint
    state = load_checkpoint_file(str(ckpt))['state_dict']
    assert 'backbone.patch_embed.projection.weight' in state  # downstream hand-off prefix
    assert any(k.startswith('mlm_head.') for k in state)  # trained with MLM

    proc = call_tool('test.py', DEMO, ckpt, '--work-dir', tmp_path / 'test',
                     '--out', tmp_path / 'metrics.json')
    printed = proc.stdout + proc.stderr
    for name in ('i2t', 't2i'):
        for k in (1, 5, 10):
            assert re.search(rf'retrieval/{name}_R@{k}: \d', printed)
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['retrieval/i2t_R@10'] > 2.5 * CHANCE_R10
    assert metrics['retrieval/t2i_R@10'] > 2.5 * CHANCE_R10

    # the attention visualisation tool draws real demo samples from this checkpoint
    out_dir = tmp_path / 'vis'
    call_tool('visualization/vis_word_attention.py', DEMO, ckpt, '--out-dir', out_dir,
              '--indices', 0, 7, '--max-words', 3)
    pngs = sorted(out_dir.glob('*_attention.png'))
    assert len(pngs) == 2 and all(p.stat().st_size > 10_000 for p in pngs)
    from PIL import Image
    assert Image.open(pngs[0]).size[0] > Image.open(pngs[0]).size[1]  # X-ray + overlays
    bad = call_tool('visualization/vis_word_attention.py', DEMO, ckpt, '--out-dir', out_dir,
                    '--indices', 500, check=False)
    assert bad.returncode == 2 and 'outside the test set of 100 samples' in bad.stderr
