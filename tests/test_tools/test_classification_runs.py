# Copyright (c) medvlp contributors. All rights reserved.
"""Downstream classification end to end on real X-rays: covid-cxr COVID-19 vs other, fold 1
lists restricted to the images present, a tiny ViT from a medvlp demo pre-training
checkpoint, tools/train.py (fine-tune and linear probe) -> best-val checkpoint ->
tools/test.py printing per-class and mean AUC. The tools run in this process
(tests/tool_calls.py)."""
import json
import re

import pytest
import torch
from PIL import Image

from medvlp.utils import load_checkpoint_file
from tool_calls import call_tool

pytestmark = pytest.mark.slow
CONFIGS = 'configs/benchmarks/classification/covid'
FINETUNE = f'{CONFIGS}/vit-tiny-p16_ft_1xb16-60_covid-demo.py'
PROBE = f'{CONFIGS}/vit-tiny-p16_linear-probe_1xb16-60_covid-demo.py'


@pytest.fixture(scope='module')
def covid_fold1(shared_data, tmp_path_factory):
    """prepare_covid.py's fold-1 lists and the listed images, shrunk to 128 px (speed)."""
    root = tmp_path_factory.mktemp('covid_fold1')
    covid = shared_data / 'covid-cxr'
    proc = call_tool('dataset_converters/prepare_covid.py', covid / 'splits', root / 'lists',
                     '--folds', '1', '--images', covid / 'images', '--metadata',
                     covid / 'metadata.csv')
    missing = {m.group(1): int(m.group(2)) for m in
               re.finditer(r'(\w+): (\d+) image missing', proc.stdout)}
    listed = {s: len((covid / 'splits' / 'covid1' / f'iscovid_{s}.txt').read_text().split(
        '\n')) - 1 for s in ('train', 'val', 'test')}
    images = root / 'images'
    images.mkdir()
    present = {}
    for split in ('train', 'val', 'test'):
        lines = (root / 'lists' / 'covid1' / f'{split}_list.txt').read_text().splitlines()
        present[split] = len(lines)
        for line in lines:
            name = line.split()[0]
            img = Image.open(covid / 'images' / name)
            img.thumbnail((128, 128))
            img.save(images / name)
    # every fold-1 line is either kept or counted as missing
    assert present['train'] + missing['train_100'] == listed['train']
    assert present['val'] + missing['val'] == listed['val']
    assert present['test'] + missing['test'] == listed['test']
    return dict(root=root, lists=root / 'lists' / 'covid1', images=images, present=present)


def data_options(data):
    opts = []
    for loader, split in (('train', 'train'), ('val', 'val'), ('test', 'test')):
        opts += [f'{loader}_dataloader.dataset.data_root={data["root"]}',  # images/ below
                 f'{loader}_dataloader.dataset.ann_file={data["lists"]}/{split}_list.txt']
    return opts


def losses(work_dir):
    lines = next(work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()
    return [json.loads(line)['loss'] for line in lines if '"loss"' in line]


def train_then_test(config, checkpoint, data, work_dir, *extra):
    """train.py then test.py on its best-val checkpoint, both in this process
    (tests/tool_calls.py); returns the checkpoint and test.py's output."""
    call_tool('train.py', config, '--work-dir', work_dir, '--cfg-options',
              f'model.backbone.init_cfg.checkpoint={checkpoint}', *data_options(data),
              'default_hooks.logger.interval=1', 'log_processor.window_size=1', *extra)
    best = sorted(work_dir.glob('best_cls_auc_iter_*.pth'))
    assert len(best) == 1, list(work_dir.iterdir())
    proc = call_tool('test.py', config, best[0], '--work-dir', work_dir / 'test',
                     '--cfg-options', *data_options(data))
    return best[0], proc.stdout + proc.stderr


def check_auc_report(output, num_test):
    # the per-class table and the metrics line
    table = re.search(r'COVID-19\s+(\d+)/(\d+)\s+([\d.]+)\s*\nmean AUC\s+\(1 cls\)\s+([\d.]+)',
                      output)
    assert table, output[-3000:]
    assert int(table.group(2)) == num_test
    assert table.group(3) == table.group(4)
    auc = float(re.search(r'cls/auc: ([\d.]+)', output).group(1))
    assert 0.0 <= auc <= 1.0 and f'{auc:.4f}' == table.group(4)


def test_finetune_best_val_checkpoint_then_test(demo_pretrain_checkpoints, covid_fold1,
                                                tmp_path):
    work = tmp_path / 'ft'
    best, output = train_then_test(FINETUNE, demo_pretrain_checkpoints['mrm'],
                                   covid_fold1, work)
    train_log = next(work.glob('*/*.log')).read_text()
    assert 'Pretrained: loaded 52/54 tensors of VisionTransformer' in train_log
    assert 'missing (left as initialised): ln2 (2)' in train_log
    # the checkpoint kept is the best validation AUC
    aucs = [float(a) for a in re.findall(r'Iter\(val\) \[\d+/\d+\]\s+cls/auc: ([\d.]+)',
                                         train_log)]
    assert len(aucs) == 3
    best_iter = int(re.search(r'iter_(\d+)', best.name).group(1))
    assert aucs[best_iter // 20 - 1] == max(aucs)
    check_auc_report(output, covid_fold1['present']['test'])
    loss = losses(work)
    assert len(loss) == 60
    assert sum(loss[-15:]) / 15 < loss[0] - 0.05, loss


def test_linear_probe_keeps_the_encoder_frozen(demo_pretrain_checkpoints, covid_fold1,
                                               tmp_path):
    work = tmp_path / 'probe'
    best, output = train_then_test(PROBE, demo_pretrain_checkpoints['medim'],
                                   covid_fold1, work, 'train_cfg.max_iters=40')
    check_auc_report(output, covid_fold1['present']['test'])
    pre = load_checkpoint_file(str(demo_pretrain_checkpoints['medim']))['state_dict']
    post = load_checkpoint_file(str(best))['state_dict']
    backbone = [k for k in post if k.startswith('backbone.')]
    assert backbone and all(torch.equal(post[k], pre[k]) for k in backbone)
    assert not torch.equal(post['head.fc.weight'], torch.zeros_like(post['head.fc.weight']))
    loss = losses(work)
    assert sum(loss[-15:]) / 15 < loss[0] - 0.05, loss
