# Copyright (c) medvlp contributors. All rights reserved.
from .classification import *  # noqa: F401,F403
from .annotation_io import dump_annotation_file, read_annotation_file
from .collate import DataSampleBatch, image_report_collate
from .image_report import ImageReportDataset
from .mimic_cxr import CHEXPERT_CLASSES, MIMICCXRDataset
from .openi import OPENI_CLASSES, OpenIDataset
from .segmentation import (ImageMaskFolderDataset, LoadSegAnnotations, LungMaskDataset,
                           SIIMPneumothoraxDataset)
from .transforms import *  # noqa: F401,F403

__all__ = [
    'ImageReportDataset', 'DataSampleBatch', 'image_report_collate', 'MIMICCXRDataset', 'OpenIDataset', 'read_annotation_file',
    'dump_annotation_file', 'CHEXPERT_CLASSES', 'OPENI_CLASSES',
    'SIIMPneumothoraxDataset', 'LungMaskDataset', 'ImageMaskFolderDataset', 'LoadSegAnnotations'
]
