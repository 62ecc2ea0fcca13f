# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM end to end: the MIMIC entry config on a MIMIC-layout fixture, and the demo.

The tools run in this process (tests/tool_calls.py); test_train.py runs train.py as a
process of its own.
"""
import json

import pytest

from medvlp.utils import load_checkpoint_file
from tool_calls import call_tool

pytestmark = pytest.mark.slow
DEMO = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'
LOADER = ['num_workers=0', 'persistent_workers=False']


def _shrunk_vit_b(ann_file, images):
    """--cfg-options turning configs/medim_vit-b_mimic.py into a CPU-sized run."""
    # the MIMIC loader prefetches from its workers: none here, so no prefetch_factor
    options = [f'train_dataloader.{o}' for o in LOADER + ['batch_size=2', 'prefetch_factor=None']]
    options += [
        f'train_dataloader.dataset.ann_file={ann_file}',
        f'train_dataloader.dataset.data_prefix.img_path={images}',
        'model.backbone.arch=deit-tiny', 'model.backbone.drop_path_rate=0.0',
        'model.img_neck.in_channels=192', 'model.decoder.in_channels=192',
        'model.decoder.channels=16', 'model.text_encoder.hidden_size=96',
        'model.text_encoder.num_layers=1', 'model.text_encoder.num_heads=3',
        'model.text_neck.in_channels=96', 'train_cfg.max_epochs=2',
    ]
    return options


def test_mimic_entry_config_on_mimic_layout(mimic_layout, tmp_path):
    ann = tmp_path / 'mimic_cxr.json'
    call_tool('dataset_converters/prepare_mimic_cxr.py', mimic_layout['jpg_root'], ann,
              '--reports-root', mimic_layout['reports_root'])
    train = [r for r in json.loads(ann.read_text())['data_list'] if r['split'] == 'train']
    assert len(train) >= 2
    work = tmp_path / 'work'
    call_tool('train.py', 'configs/medim_vit-b_mimic.py', '--work-dir', work, '--no-validate',
              '--cfg-options', *_shrunk_vit_b(ann, mimic_layout['jpg_root']))
    ckpt = load_checkpoint_file(str(work / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['state_dict']['backbone.patch_embed.projection.weight'].shape == \
        (192, 3, 16, 16)


#: Epochs of the demo run, a checkpoint every DEMO_EPOCHS // 2. Every logged term falls from
#: epoch 1 already by epoch 2 on seeds 0/1/2 (total loss -2.18/-2.09/-1.73, by epoch 3
#: -3.89/-3.14/-2.78; ``randomness.seed=S``, one thread).
DEMO_EPOCHS = 4


def test_demo_trains_with_falling_loss_and_resumes(tmp_path):
    half = DEMO_EPOCHS // 2
    call_tool('train.py', DEMO, '--work-dir', tmp_path, '--no-validate', '--cfg-options',
              f'train_cfg.max_epochs={DEMO_EPOCHS}', f'default_hooks.checkpoint.interval={half}',
              'default_hooks.checkpoint.max_keep_ckpts=2',
              *[f'train_dataloader.{o}' for o in LOADER])
    logs = [json.loads(line) for line in
            next(tmp_path.glob('*/vis_data/scalars.json')).read_text().splitlines()
            if '"loss_kwm"' in line]
    assert len(logs) == DEMO_EPOCHS  # one line per epoch of 7 iterations
    for term in ('loss', 'loss_kwm', 'loss_sdm', 'loss_local_ce'):
        assert logs[-1][term] < logs[0][term], term

    proc = call_tool('train.py', DEMO, '--work-dir', tmp_path / 'resumed', '--no-validate',
                     '--resume', tmp_path / f'epoch_{half}.pth', '--cfg-options',
                     f'train_cfg.max_epochs={half + 1}',
                     *[f'train_dataloader.{o}' for o in LOADER])
    assert f'resumed epoch: {half}, iter: {7 * half}' in proc.stdout + proc.stderr
    resumed = load_checkpoint_file(str(tmp_path / 'resumed' / f'epoch_{half + 1}.pth'))
    assert resumed['meta']['iter'] == 7 * (half + 1)

    # the mask visualisation tool draws real demo samples from the checkpoint
    out_dir = tmp_path / 'vis'
    proc = call_tool('visualization/vis_report_masks.py', DEMO,
                     tmp_path / f'epoch_{DEMO_EPOCHS}.pth',
                     '--out-dir', out_dir, '--indices', 0, 11)
    pngs = sorted(out_dir.glob('*_masks.png'))
    assert len(pngs) == 2 and all(p.stat().st_size > 20_000 for p in pngs)


def test_benchmark_prints_step_times_and_mask_share():
    proc = call_tool('analysis_tools/benchmark_medim.py', '--config', DEMO, '--batch-size', 4,
                     '--iters', 1, '--words', 20)
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('model '))
    assert lines[0].startswith('machine: ')
    rows = {line[:28].strip(): line[28:].split() for line in lines[header + 1:]}
    assert set(rows) == {'MedIM features', 'MedIM inputs', 'mmpretrain MAE (mask 0.5)'}
    for name in ('MedIM features', 'MedIM inputs'):
        step_ms, mask_ms, share = rows[name]
        assert float(step_ms) > float(mask_ms) > 0 and share.endswith('%')
