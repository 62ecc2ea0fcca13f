# Copyright (c) medvlp contributors. All rights reserved.
"""MRM's official label-fraction split lists, shipped gzipped in ``medvlp/datasets/splits``.

See ``medvlp/datasets/splits/README.md`` for their provenance and licence.
"""
import os.path as osp
from typing import Dict, Tuple

SPLITS_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'splits')

#: Dataset folder → the file of each (split, training-label percentage).
OFFICIAL_SPLIT_FILES: Dict[str, Dict[Tuple[str, int], str]] = {
    folder: {
        ('train', 1): 'train_1.txt.gz',
        ('train', 10): 'train_10.txt.gz',
        ('train', 100): 'train_list.txt.gz',
        ('val', 100): 'val_list.txt.gz',
        ('test', 100): 'test_list.txt.gz',
    }
    for folder in ('NIH_ChestX-ray', 'CheXpert', 'RSNA_Pneumonia')
}
SPLIT_ALIASES = {'validate': 'val', 'validation': 'val', 'valid': 'val'}


def official_split_list(dataset: str, split: str, fraction: int = 100) -> str:
    """Path of a shipped list, e.g. ``official_split_list('CheXpert', 'train', 10)``.

    ``fraction`` only applies to ``split='train'``; val and test lists are always whole.

    Raises:
        ValueError: For an unknown dataset, split or fraction (the message lists the
            valid ones).
    """
    if dataset not in OFFICIAL_SPLIT_FILES:
        raise ValueError(f'no official split lists for "{dataset}"; medvlp ships '
                         f'{sorted(OFFICIAL_SPLIT_FILES)}')
    split = SPLIT_ALIASES.get(split, split)
    key = (split, int(fraction) if split == 'train' else 100)
    files = OFFICIAL_SPLIT_FILES[dataset]
    if key not in files:
        valid = ', '.join(f'{s} {f}%' for s, f in files)
        raise ValueError(f'no official {dataset} list for split={split!r}, '
                         f'fraction={fraction!r}; there are: {valid}')
    return osp.join(SPLITS_DIR, dataset, files[key])
