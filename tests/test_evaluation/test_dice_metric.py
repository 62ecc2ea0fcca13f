# Copyright (c) medvlp contributors. All rights reserved.
"""Per-image foreground Dice/IoU against MONAI and a plain numpy formula."""
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from medvlp.evaluation.metrics.dice import format_dice_table

monai_metrics = pytest.importorskip('monai.metrics')


def build(cfg):
    from mmseg.registry import METRICS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return METRICS.build(cfg)


def random_cases(n=48, size=24, seed=0):
    """Masks of random blobs; the first cases are empty/empty, empty/non-empty, ..."""
    rng = np.random.default_rng(seed)
    preds, gts = [], []
    for i in range(n):
        gt = rng.random((size, size)) < rng.uniform(0.05, 0.6)
        pred = gt ^ (rng.random((size, size)) < rng.uniform(0, 0.4))
        if i % 6 == 0:
            gt[:] = pred[:] = False           # both empty
        elif i % 6 == 1:
            gt[:] = False                     # empty ground truth, something predicted
        elif i % 6 == 2:
            pred[:] = False                   # missed everything
        preds.append(pred)
        gts.append(gt)
    return np.stack(preds), np.stack(gts)


def numpy_dice_iou(pred, gt):
    inter, total = (pred & gt).sum(), pred.sum() + gt.sum()
    if gt.sum() == 0:
        return float(pred.sum() == 0), float(pred.sum() == 0)
    return 2 * inter / total, inter / (total - inter)


def samples(preds, gts):
    return [dict(pred_sem_seg=dict(data=torch.from_numpy(p.astype(np.int64))[None]),
                 gt_sem_seg=dict(data=torch.from_numpy(g.astype(np.int64))[None]),
                 img_path=f'img{i}.png') for i, (p, g) in enumerate(zip(preds, gts))]


def test_matches_monai_and_the_formula_on_random_masks():
    preds, gts = random_cases()
    metric = build(dict(type='medvlp.PerImageDiceMetric'))
    for start in range(0, len(preds), 8):
        metric.process({}, samples(preds[start:start + 8], gts[start:start + 8]))
    result = metric.evaluate(len(preds))

    p = torch.from_numpy(preds).float()[:, None]
    g = torch.from_numpy(gts).float()[:, None]
    monai_dice = monai_metrics.compute_dice(p, g, include_background=True, ignore_empty=False)
    monai_iou = monai_metrics.compute_iou(p, g, include_background=True, ignore_empty=False)
    reference = np.array([numpy_dice_iou(a, b) for a, b in zip(preds, gts)])
    assert np.allclose(monai_dice[:, 0].numpy(), reference[:, 0], atol=1e-6)
    assert result['fg_dice'] == pytest.approx(100 * monai_dice.mean().item(), abs=1e-4)
    assert result['fg_iou'] == pytest.approx(100 * monai_iou.mean().item(), abs=1e-4)
    assert result['fg_dice'] == pytest.approx(100 * reference[:, 0].mean(), abs=1e-4)
    positive = gts.reshape(len(gts), -1).any(1)
    assert result['fg_dice_pos'] == pytest.approx(100 * reference[positive, 0].mean(), abs=1e-4)
    assert result['images'] == len(preds)
    assert 0 < result['fg_dice_empty'] < 100


@pytest.mark.parametrize('pred,gt,dice,iou', [
    ([[0, 0]], [[0, 0]], 100.0, 100.0),      # empty GT, empty prediction
    ([[1, 0]], [[0, 0]], 0.0, 0.0),          # empty GT, non-empty prediction
    ([[1, 1]], [[1, 0]], 200 / 3, 50.0),
    ([[1, 0]], [[255, 0]], 100.0, 100.0),    # an ignored pixel does not count
])
def test_single_image_cases(pred, gt, dice, iou):
    metric = build(dict(type='medvlp.PerImageDiceMetric'))
    metric.process({}, samples([np.array(pred)], [np.array(gt)]))
    result = metric.evaluate(1)
    assert result['fg_dice'] == pytest.approx(dice) and result['fg_iou'] == pytest.approx(iou)


def test_differs_from_mmseg_dataset_level_mdice():
    """mmseg's IoUMetric mDice pools pixels over the dataset and averages in background."""
    preds, gts = random_cases(n=12, seed=3)
    ours = build(dict(type='medvlp.PerImageDiceMetric'))
    mmseg_metric = build(dict(type='IoUMetric', iou_metrics=['mDice']))
    mmseg_metric.dataset_meta = dict(classes=('background', 'foreground'))
    batch = samples(preds, gts)
    ours.process({}, batch)
    mmseg_metric.process({}, batch)
    per_image = ours.evaluate(len(preds))['fg_dice']
    dataset_level = mmseg_metric.evaluate(len(preds))['mDice']
    inter = (preds & gts).sum()
    pooled_fg = 2 * inter / (preds.sum() + gts.sum())
    pooled_bg = 2 * (~preds & ~gts).sum() / ((~preds).sum() + (~gts).sum())
    assert dataset_level == pytest.approx(100 * (pooled_fg + pooled_bg) / 2, abs=0.01)
    assert abs(per_image - dataset_level) > 1


def test_table_and_bad_input():
    table = format_dice_table([('all', 3, 50.0, 40.0), ('GT empty', 0, float('nan'),
                                                         float('nan'))])
    assert 'per-image foreground Dice' in table and '50.00' in table
    assert 'nan' not in table and table.splitlines()[-1].split() == ['GT', 'empty', '0', '-',
                                                                     '-']
    metric = build(dict(type='medvlp.PerImageDiceMetric'))
    with pytest.raises(ValueError, match='img0.png differ in size'):
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.zeros(1, 4, 4)),
                                 gt_sem_seg=dict(data=torch.zeros(1, 4, 5)),
                                 img_path='img0.png')])
