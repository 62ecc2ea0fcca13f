# Copyright (c) medvlp contributors. All rights reserved.
"""A real CPU run: a demo pre-training checkpoint fine-tuned on the covid-cxr lung masks.

tools/train.py fine-tunes the tiny UPerNet-ViT from the MedIM demo checkpoint on the
patient-disjoint train split; tools/test.py scores the held-out patients' images with the
per-image foreground Dice, which must beat predicting "lung everywhere" on the same images
by a wide margin, and writes overlay PNGs. Both tools run in this process (tests/tool_calls.py).
"""
import importlib.util
import json
import sys

import numpy as np
import pytest
from PIL import Image

from medvlp.datasets.segmentation import LungMaskDataset
from tool_calls import call_tool

pytestmark = pytest.mark.slow

CONFIG = 'configs/benchmarks/segmentation/upernet_vit-tiny-p16_1xb8-120it_covid-lung-96px.py'
TRAIN_ITERS = 60
SHOW_NUM = 5


def all_foreground_dice(dataset) -> float:
    """Mean per-image Dice (%) of predicting every pixel as lung, on the dataset's images."""
    scores = []
    for info in dataset.load_data_list():
        gt = np.asarray(Image.open(info['seg_map_path'])) > 127
        scores.append(2 * gt.sum() / (gt.sum() + gt.size))
    return 100 * float(np.mean(scores))


def test_finetune_on_lung_masks_beats_all_foreground(shared_data, tmp_path,
                                                     demo_pretrain_checkpoints):
    covid = shared_data / 'covid-cxr'
    data = [f'{loader}.dataset.data_root={covid}/' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    workers = [f'{loader}.{key}' for loader in ('train_dataloader', 'test_dataloader')
               for key in ('num_workers=0', 'persistent_workers=False')]
    work = tmp_path / 'work'
    train = call_tool('train.py', CONFIG, '--work-dir', work, '--no-validate', '--cfg-options',
                      f'model.backbone.init_cfg.checkpoint={demo_pretrain_checkpoints["medim"]}',
                      f'train_cfg.max_iters={TRAIN_ITERS}', *data, *workers)
    assert 'Pretrained: loaded 52/52 tensors of VisionTransformer' in train.stdout
    checkpoint = work / f'iter_{TRAIN_ITERS}.pth'
    assert checkpoint.is_file()

    show, metrics_file = tmp_path / 'show', tmp_path / 'metrics.json'
    test = call_tool('test.py', CONFIG, checkpoint, '--work-dir', tmp_path / 'test',
                     '--show-dir', show, '--show-num', SHOW_NUM, '--out', metrics_file,
                     '--cfg-options', *data, *workers)
    assert 'per-image foreground Dice / IoU (%)' in test.stdout
    metrics = json.loads(metrics_file.read_text())

    held_out = LungMaskDataset(data_root=str(covid), split='val', lazy_init=True)
    baseline = all_foreground_dice(held_out)
    assert metrics['images'] == len(held_out.load_data_list()) > 20
    assert metrics['fg_dice'] > baseline + 15, (
        f'per-image foreground Dice {metrics["fg_dice"]:.2f} on {metrics["images"]:.0f} '
        f'held-out images vs {baseline:.2f} for all-foreground predictions')
    assert 0 < metrics['fg_iou'] < metrics['fg_dice']
    assert 'mDice' in metrics and 'mIoU' in metrics  # mmseg's IoUMetric alongside

    pngs = sorted(show.glob('*.png'))
    assert len(pngs) == SHOW_NUM
    for png in pngs:
        overlay = np.asarray(Image.open(png).convert('RGB'))
        original = Image.open(covid / 'images' / png.name)
        assert overlay.shape[:2] == (original.height, original.width)
        red = np.all(overlay == (255, 64, 64), axis=2).sum()
        green = np.all(overlay == (64, 255, 64), axis=2).sum()
        assert red > 50 and green > 50, png.name


def test_show_dir_needs_a_segmentation_config(demo_pretrain_checkpoints, repo_root, capsys):
    spec = importlib.util.spec_from_file_location('medvlp_test_tool', repo_root / 'tools/test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as info:
        tool.main([str(repo_root / 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py'),
                   str(demo_pretrain_checkpoints['joimternet']), '--show-dir', 'x'])
    assert info.value.code == 2
    assert '--show-dir draws segmentation overlays' in capsys.readouterr().err
    sys.modules.pop('medvlp_test_tool', None)
