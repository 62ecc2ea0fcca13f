# Copyright (c) medvlp contributors. All rights reserved.
"""MIMIC-CXR-JPG with its free-text reports."""
from typing import Sequence, Union

from medvlp.registry import DATASETS
from .image_report import ImageReportDataset

#: The 14 CheXpert labeler observations, in ``mimic-cxr-2.0.0-chexpert.csv`` column order.
CHEXPERT_CLASSES = ('Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema',
                    'Enlarged Cardiomediastinum', 'Fracture', 'Lung Lesion', 'Lung Opacity',
                    'No Finding', 'Pleural Effusion', 'Pleural Other', 'Pneumonia',
                    'Pneumothorax', 'Support Devices')


@DATASETS.register_module()
class MIMICCXRDataset(ImageReportDataset):
    """MIMIC-CXR(-JPG) images with their reports and CheXpert labels.

    Reads the annotation file written by
    ``tools/dataset_converters/prepare_mimic_cxr.py``; point ``data_prefix`` at the
    folder its ``img_path`` values are relative to (the MIMIC-CXR-JPG root, or the
    ``--resized-root`` when the converter pre-resized the images).

    Example:
        >>> dataset = MIMICCXRDataset(
        ...     ann_file='data/mimic-cxr/annotations/mimic_cxr.json',
        ...     data_prefix=dict(img_path='data/mimic-cxr/resized-512'),
        ...     split='train')

    Args:
        ann_file (str): The converter's annotation file.
        split (str | Sequence[str], optional): The official split(s) to keep.
            Defaults to ``'train'``.
        views (str | Sequence[str], optional): Views to keep. Defaults to
            ``'frontal'`` (PA and AP), the usual pre-training choice.
        **kwargs: Other arguments of :class:`ImageReportDataset` (``data_prefix``,
            ``uncertain``, ``on_missing``, ``pipeline``...). ``classes`` defaults to
            the 14 CheXpert observations.
    """

    METAINFO = dict(dataset_name='MIMIC-CXR', classes=CHEXPERT_CLASSES)

    def __init__(self,
                 ann_file: str,
                 split: Union[str, Sequence[str], None] = 'train',
                 views: Union[str, Sequence[str], None] = 'frontal',
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, split=split, views=views, **kwargs)
