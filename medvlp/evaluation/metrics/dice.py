# Copyright (c) medvlp contributors. All rights reserved.
"""Per-image foreground Dice and IoU, as the SIIM-ACR pneumothorax papers report them."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from medvlp.registry import METRICS


def _monai_metrics():
    try:
        from monai.metrics import compute_dice, compute_iou
    except ImportError as e:  # pinned in requirements/optional.txt
        raise ImportError('PerImageDiceMetric needs MONAI: pip install "monai==1.6.1"') from e
    return compute_dice, compute_iou


def per_image_dice_iou(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Foreground Dice and IoU of each image, with MONAI's ``ignore_empty=False`` rule.

    ``Dice = 2|P ∩ G| / (|P| + |G|)``, ``IoU = |P ∩ G| / |P ∪ G|``; an image with an empty
    ground truth scores 1 when the prediction is empty too and 0 otherwise.

    Args:
        pred (torch.Tensor): ``[N, H, W]`` binary predictions.
        gt (torch.Tensor): ``[N, H, W]`` binary ground truth.

    Returns:
        torch.Tensor: ``[N, 2]`` float, columns Dice and IoU.
    """
    compute_dice, compute_iou = _monai_metrics()
    p = pred.bool().float().unsqueeze(1)
    g = gt.bool().float().unsqueeze(1)
    dice = compute_dice(p, g, include_background=True, ignore_empty=False)
    iou = compute_iou(p, g, include_background=True, ignore_empty=False)
    return torch.cat([dice, iou], dim=1)


@METRICS.register_module()
class PerImageDiceMetric(BaseMetric):
    """Mean over images of the per-image foreground Dice and IoU (in %).

    This is the SIIM-ACR pneumothorax measure (MRM, MedIM, MGCA): each image gets
    ``2|P ∩ G| / (|P| + |G|)`` for the foreground class, 1 if both prediction and ground
    truth are empty and 0 if only the ground truth is, and the scores are averaged over
    images. It is not mmseg's ``IoUMetric`` ``mDice``, which sums pixels over the whole
    dataset and averages the background class in. Pixels labelled ``ignore_index`` in the
    ground truth count for neither. Use it from an mmseg config as
    ``dict(type='medvlp.PerImageDiceMetric')``; it logs a table of all images, images with
    foreground and images without.

    Metrics: ``fg_dice``, ``fg_iou`` (all images), ``fg_dice_pos`` (images whose ground
    truth has foreground), ``fg_dice_empty`` (images without: the share predicted empty),
    ``images``; the two subgroup scores are left out when the group has no image.

    Args:
        foreground_index (int): The class scored. Defaults to 1.
        ignore_index (int): Ground-truth value that is not scored. Defaults to 255.
        collect_device (str): Device for collecting results across ranks.
            Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 foreground_index: int = 1,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.foreground_index = foreground_index
        self.ignore_index = ignore_index

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu()
            gt = sample['gt_sem_seg']['data'].squeeze(0).cpu()
            if pred.shape != gt.shape:
                raise ValueError(f'prediction {tuple(pred.shape)} and ground truth '
                                 f'{tuple(gt.shape)} of {sample.get("img_path")} differ in '
                                 'size')
            valid = gt != self.ignore_index
            pred_fg = (pred == self.foreground_index) & valid
            gt_fg = (gt == self.foreground_index) & valid
            dice, iou = per_image_dice_iou(pred_fg[None], gt_fg[None])[0].tolist()
            self.results.append(
                dict(dice=dice, iou=iou, positive=bool(gt_fg.any()),
                     img_path=sample.get('img_path')))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('PerImageDiceMetric got no images')
        groups = {
            'all': results,
            'GT foreground': [r for r in results if r['positive']],
            'GT empty': [r for r in results if not r['positive']],
        }
        rows = [(name, len(group), _mean([r['dice'] for r in group]),
                 _mean([r['iou'] for r in group])) for name, group in groups.items()]
        print_log('\n' + format_dice_table(rows), logger=MMLogger.get_current_instance())
        metrics = dict(fg_dice=rows[0][2], fg_iou=rows[0][3], images=float(len(results)))
        for key, (_, count, dice, _) in zip(('fg_dice_pos', 'fg_dice_empty'), rows[1:]):
            if count:
                metrics[key] = dice
        return metrics


def _mean(values: List[float]) -> float:
    """Mean in %, NaN for no values."""
    return 100.0 * sum(values) / len(values) if values else float('nan')


def format_dice_table(rows) -> str:
    """A table of ``(group, images, dice %, iou %)`` rows."""
    lines = ['per-image foreground Dice / IoU (%)',
             f'{"images":<15}{"n":>7}{"Dice":>9}{"IoU":>9}']
    for name, count, dice, iou in rows:
        scores = f'{dice:>9.2f}{iou:>9.2f}' if count else f'{"-":>9}{"-":>9}'
        lines.append(f'{name:<15}{count:>7}{scores}')
    return '\n'.join(lines)
