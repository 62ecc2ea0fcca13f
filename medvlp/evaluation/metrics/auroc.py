# Copyright (c) medvlp contributors. All rights reserved.
"""Area under the ROC curve for multi-label and binary chest X-ray classification.

The papers (MRM, MedIM, MGCA, ...) report the AUC of every class and their unweighted mean.
The curves are computed by scikit-learn (``roc_auc_score``), not by hand.
"""
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from sklearn.metrics import f1_score, roc_auc_score

from medvlp.registry import METRICS


class SingleValuedClassWarning(UserWarning):
    """A class whose targets are all 0 or all 1: its AUC is undefined (NaN)."""


def per_class_auroc(scores: np.ndarray,
                    targets: np.ndarray,
                    classes: Optional[Sequence[str]] = None) -> np.ndarray:
    """AUROC of every column; NaN (with a warning naming them) for single-valued classes.

    Args:
        scores (np.ndarray): ``(N, C)`` predicted scores (any monotone scale).
        targets (np.ndarray): ``(N, C)`` 0/1 targets.
        classes (Sequence[str], optional): Class names for the warning.

    Returns:
        np.ndarray: ``(C, )`` float64 AUCs.
    """
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets)
    if scores.ndim == 1:
        scores, targets = scores[:, None], targets[:, None]
    if scores.shape != targets.shape:
        raise ValueError(f'scores {scores.shape} and targets {targets.shape} differ in shape')
    if not np.isin(targets, (0, 1)).all():
        raise ValueError('targets must be 0 or 1')
    names = list(classes) if classes is not None else [str(i) for i in range(scores.shape[1])]
    aucs = np.full(scores.shape[1], np.nan)
    undefined = []
    for c in range(scores.shape[1]):
        if targets[:, c].min() == targets[:, c].max():
            undefined.append(f'{names[c]} (all {int(targets[0, c]) if len(targets) else "-"})')
            continue
        aucs[c] = roc_auc_score(targets[:, c], scores[:, c])
    if undefined:
        warnings.warn(
            f'AUROC undefined for {len(undefined)} class(es) whose targets are all one value: '
            f'{", ".join(undefined)}; they are NaN and left out of the mean',
            SingleValuedClassWarning, stacklevel=2)
    return aucs


def mean_auroc(aucs: np.ndarray) -> float:
    """Unweighted mean over the classes whose AUC is defined (NaN if none is)."""
    aucs = np.asarray(aucs, dtype=np.float64)
    return float(np.nanmean(aucs)) if np.isfinite(aucs).any() else float('nan')


def threshold_scores(scores: np.ndarray, targets: np.ndarray,
                     thr: float) -> Dict[str, float]:
    """Macro F1 over the classes (scikit-learn; 0 for a class without positives or positive
    predictions) and the accuracy over every (image, class) decision ``score > thr``."""
    pred = (np.asarray(scores) > thr).astype(int)
    targets = np.asarray(targets).astype(int)
    f1 = f1_score(targets, pred, average='macro', zero_division=0)
    return dict(f1=float(f1), accuracy=float((pred == targets).mean()))


@METRICS.register_module()
class MultiLabelAUROC(BaseMetric):
    """Per-class and mean AUROC, with F1 and accuracy at a threshold.

    Reads ``pred_score`` (the head's sigmoid scores, ``(C, )``) and the target of every data
    sample: ``gt_score`` (multi-hot) when present, else ``gt_label`` (indices, one-hot
    encoded). A binary task (RSNA, COVID-19) is the one-class case; a two-class softmax
    head gives two identical AUCs. A class whose test targets are all one value gets NaN,
    is named in a warning and left out of the mean.

    The metrics (with the default prefix ``cls``): ``cls/auc`` (mean over the classes),
    ``cls/auc_<class>`` per class, ``cls/f1`` (macro) and ``cls/accuracy``. Use
    ``save_best='cls/auc'`` in the CheckpointHook to keep the best validation checkpoint.
    ``compute_metrics`` also logs a table of the per-class AUCs.

    Args:
        thr (float): A score above it is a positive prediction (F1 and accuracy).
            Defaults to 0.5.
        collect_device (str): Device to gather results across processes on.
        prefix (str, optional): Prefix of the metric names. Defaults to ``'cls'``.
    """

    default_prefix: Optional[str] = 'cls'

    def __init__(self,
                 thr: float = 0.5,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thr = thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = torch.as_tensor(sample['pred_score']).detach().float().cpu()
            if 'gt_score' in sample:
                target = torch.as_tensor(sample['gt_score']).detach().cpu()
            else:
                label = torch.as_tensor(sample['gt_label']).detach().cpu().long().flatten()
                target = torch.zeros(score.numel())
                target[label] = 1
            self.results.append(dict(pred_score=score.flatten(), gt_score=target.flatten()))

    def class_names(self, num_classes: int) -> List[str]:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None or len(classes) != num_classes:
            return [str(i) for i in range(num_classes)]
        return [str(c) for c in classes]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        scores = torch.stack([r['pred_score'] for r in results]).numpy()
        targets = torch.stack([r['gt_score'] for r in results]).numpy().round().astype(int)
        names = self.class_names(scores.shape[1])
        bad = ~np.isfinite(scores).all(axis=1)
        if bad.any():  # a diverged model: no AUC to report, and no silent one either
            raise ValueError(f'MultiLabelAUROC: {int(bad.sum())} of {len(scores)} samples have '
                             'non-finite scores (NaN/inf); the model diverged or its '
                             'checkpoint is broken')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', SingleValuedClassWarning)
            aucs = per_class_auroc(scores, targets, names)
        logger = MMLogger.get_current_instance()
        for w in caught:
            logger.warning(str(w.message))
            warnings.warn(w.message, SingleValuedClassWarning, stacklevel=2)
        metrics = dict(auc=mean_auroc(aucs))
        metrics.update({f'auc_{n}': float(a) for n, a in zip(names, aucs)})
        metrics.update(threshold_scores(scores, targets, self.thr))
        logger.info('\n' + self.format_table(names, aucs, targets, metrics))
        return metrics

    def format_table(self, names: Sequence[str], aucs: np.ndarray, targets: np.ndarray,
                     metrics: Dict[str, float]) -> str:
        """A readable table: class, positives/images, AUC; then the mean and F1/accuracy."""
        width = max([len(n) for n in names] + [len('mean AUC')]) + 2
        lines = [f'{"class":<{width}}{"positives":>12}{"AUC":>9}']
        for name, auc, column in zip(names, aucs, targets.T):
            value = 'nan' if np.isnan(auc) else f'{auc:.4f}'
            lines.append(f'{name:<{width}}{f"{int(column.sum())}/{len(column)}":>12}'
                         f'{value:>9}')
        defined = int(np.isfinite(aucs).sum())
        lines.append(f'{"mean AUC":<{width}}{f"({defined} cls)":>12}{metrics["auc"]:>9.4f}')
        lines.append(f'F1 (macro) {metrics["f1"]:.4f}, accuracy {metrics["accuracy"]:.4f} at '
                     f'threshold {self.thr}')
        return '\n'.join(lines)
