# Copyright (c) medvlp contributors. All rights reserved.
from .auroc import MultiLabelAUROC, mean_auroc, per_class_auroc
from .dice import PerImageDiceMetric, per_image_dice_iou
from .retrieval import ImageReportRetrievalMetric, recall_at_k, retrieval_ranks

__all__ = [
    'MultiLabelAUROC', 'per_class_auroc', 'mean_auroc', 'ImageReportRetrievalMetric',
    'recall_at_k', 'retrieval_ranks', 'PerImageDiceMetric', 'per_image_dice_iou'
]
