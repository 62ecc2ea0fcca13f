# Copyright (c) medvlp contributors. All rights reserved.
"""Downstream classification data: split-list datasets, official lists, label tables."""
from .official_splits import OFFICIAL_SPLIT_FILES, official_split_list
from .split_list import (CHEXPERT_COMPETITION_CLASSES, COVID_CLASSES, NIH_CLASSES,
                         RSNA_CLASSES, CheXpertDataset, COVIDCXRDataset, NIHChestXray14Dataset,
                         RSNAPneumoniaDataset, SplitListDataset, SplitListError,
                         parse_split_list)

__all__ = [
    'SplitListDataset', 'NIHChestXray14Dataset', 'CheXpertDataset', 'RSNAPneumoniaDataset',
    'COVIDCXRDataset', 'SplitListError', 'parse_split_list', 'official_split_list',
    'OFFICIAL_SPLIT_FILES', 'NIH_CLASSES', 'CHEXPERT_COMPETITION_CLASSES', 'RSNA_CLASSES',
    'COVID_CLASSES'
]
