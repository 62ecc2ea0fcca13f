# Copyright (c) medvlp contributors. All rights reserved.
"""Multi-label chest X-ray datasets read from MRM-style split lists.

A split list has one image per line, ``<relative image path> <y_1> ... <y_k>``, space
separated, with 0/1 labels in the order of the dataset's classes (trailing spaces occur, and
paths may contain folders). mmpretrain's ``CustomDataset`` must not be used for these lists:
it splits each line on its last space and would read ``a.png 0 1 0 0 1`` as the image
``a.png 0 1 0 0`` with the single label 1.
"""
from collections import Counter
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import exists, join_path
from mmengine.logging import print_log

from medvlp.registry import DATASETS
from medvlp.utils.cli import UserError
from ..annotation_io import read_text
from .official_splits import official_split_list

#: The 14 ChestX-ray14 findings in the column order of MRM's NIH lists.
NIH_CLASSES = ('Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule',
               'Pneumonia', 'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis',
               'Pleural_Thickening', 'Hernia')
#: The five CheXpert competition observations in the column order of MRM's CheXpert lists.
CHEXPERT_COMPETITION_CLASSES = ('Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema',
                                'Pleural Effusion')
RSNA_CLASSES = ('Pneumonia', )
COVID_CLASSES = ('COVID-19', )

MISSING_IMAGE_POLICIES = ('skip', 'error', 'unchecked')


class SplitListError(UserError, ValueError):
    """A split list that cannot be read (bad line, unknown class name, no images left)."""


def parse_split_list(path: str,
                     num_labels: int,
                     backend_args: Optional[dict] = None) -> List[Tuple[str, np.ndarray]]:
    """Read a split list into ``[(relative path, uint8 labels of length num_labels)]``.

    Blank lines are ignored; whitespace around and between fields is free.

    Raises:
        FileNotFoundError: If the list does not exist.
        SplitListError: For a line whose number of labels is not ``num_labels`` or whose
            labels are not 0/1; the message names the file and the line number.
    """
    if not exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'split list "{path}" does not exist')
    entries = []
    for lineno, line in enumerate(read_text(path, backend_args).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        image, values = fields[0], fields[1:]
        if len(values) != num_labels:
            raise SplitListError(
                f'{path}, line {lineno}: expected an image path and {num_labels} labels, '
                f'found {len(values)} labels in {line.strip()!r} (paths may not contain '
                'spaces)')
        if any(v not in ('0', '1') for v in values):
            raise SplitListError(f'{path}, line {lineno}: labels must be 0 or 1, got '
                                 f'{" ".join(values)!r}')
        entries.append((image, np.array([v == '1' for v in values], dtype=np.uint8)))
    return entries


def select_classes(list_classes: Sequence[str],
                   classes: Optional[Sequence[str]]) -> List[int]:
    """Column indices of ``classes`` (default: all) among ``list_classes``.

    Raises:
        SplitListError: If a name is not one of ``list_classes``; the message lists them.
    """
    if classes is None:
        return list(range(len(list_classes)))
    if isinstance(classes, str):
        classes = [classes]
    unknown = [c for c in classes if c not in list_classes]
    if unknown:
        raise SplitListError(f'unknown class name(s) {unknown}; the valid classes are '
                             f'{list(list_classes)}')
    return [list(list_classes).index(c) for c in classes]


@DATASETS.register_module()
class SplitListDataset(BaseDataset):
    """Images with multi-hot labels from an MRM-style split list.

    Every sample gets ``img_path``, ``gt_label`` (the indices of its positive classes) and
    ``gt_score`` (the multi-hot float vector), which mmpretrain's ``PackInputs`` turns into
    the data sample that ``ImageClassifier`` with ``MultiLabelLinearClsHead`` trains on. A
    binary task (RSNA pneumonia, COVID-19) is the one-class case.

    Args:
        ann_file (str): The split list. Leave it empty to use a list shipped with medvlp:
            subclasses with an ``OFFICIAL_SPLITS`` name take ``split`` and ``fraction``.
        list_classes (Sequence[str], optional): The class of each label column, in file
            order. Defaults to ``METAINFO['classes']``.
        classes (str | Sequence[str], optional): The classes to keep, in the order the model
            predicts them. Defaults to all columns. A name that is not a column raises an
            error listing the valid ones.
        split (str): ``'train'``, ``'val'`` or ``'test'``, for the shipped lists.
        fraction (int): Percentage of the training labels, 1, 10 or 100, for the shipped
            training lists.
        on_missing (str): What to do with list lines whose image file does not exist:
            ``'skip'`` (default) drops them and logs how many, with the first few names;
            ``'error'`` raises; ``'unchecked'`` does not look (fast on remote storage).
        data_root (str): Root the list paths are relative to (with ``data_prefix``).
        data_prefix (str | dict): Folder of the images below ``data_root``, as a string or
            ``dict(img_path=...)``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO: dict = dict(classes=())
    #: Folder under medvlp/datasets/splits holding this dataset's official lists.
    OFFICIAL_SPLITS: Optional[str] = None

    def __init__(self,
                 ann_file: str = '',
                 list_classes: Optional[Sequence[str]] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 split: str = 'train',
                 fraction: int = 100,
                 on_missing: str = 'skip',
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if on_missing not in MISSING_IMAGE_POLICIES:
            raise ValueError(f'on_missing must be one of {MISSING_IMAGE_POLICIES}, got '
                             f'{on_missing!r}')
        self.list_classes = tuple(list_classes or self.METAINFO.get('classes', ()))
        if not self.list_classes:
            raise SplitListError(f'{type(self).__name__} needs list_classes: the class of '
                                 'each label column of the split list')
        self.class_columns = select_classes(self.list_classes, classes)
        self.on_missing = on_missing
        self.backend_args = backend_args
        self.missing_images: List[str] = []
        if not ann_file:
            if self.OFFICIAL_SPLITS is None:
                raise SplitListError(f'{type(self).__name__} ships no official split lists; '
                                     'give ann_file')
            ann_file = official_split_list(self.OFFICIAL_SPLITS, split, fraction)
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        metainfo['classes'] = tuple(self.list_classes[i] for i in self.class_columns)
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split list; drop (and count) lines whose image is missing."""
        entries = parse_split_list(self.ann_file, len(self.list_classes), self.backend_args)
        prefix = self.data_prefix.get('img_path', '')
        data_list, self.missing_images = [], []
        for image, labels in entries:
            img_path = join_path(prefix, image) if prefix else image
            if self.on_missing != 'unchecked' and not exists(
                    img_path, backend_args=self.backend_args):
                self.missing_images.append(image)
                continue
            labels = labels[self.class_columns]
            data_list.append(
                dict(
                    img_path=img_path,
                    gt_label=np.flatnonzero(labels).astype(np.int64),
                    gt_score=labels.astype(np.float32)))
        self._report_missing(len(entries))
        if not data_list:
            raise SplitListError(f'{self.ann_file}: no images left out of {len(entries)} '
                                 f'lines; are data_root "{self.data_root}" and data_prefix '
                                 f'"{prefix}" right?')
        return data_list

    def _report_missing(self, num_lines: int) -> None:
        if not self.missing_images:
            return
        shown = ', '.join(self.missing_images[:5])
        more = ' ...' if len(self.missing_images) > 5 else ''
        message = (f'{self.ann_file}: {len(self.missing_images)} of {num_lines} images '
                   f'not found under "{self.data_prefix.get("img_path", "")}" ({shown}{more})')
        if self.on_missing == 'error':
            raise SplitListError(message)
        print_log(f'{type(self).__name__} skipped {message}', logger='current',
                  level=30)

    def get_cat_ids(self, idx: int) -> List[int]:
        """The positive class indices of sample ``idx`` (used by class-aware samplers)."""
        return self.get_data_info(idx)['gt_label'].tolist()

    def class_counts(self) -> Counter:
        """How many samples are positive for each class (class name → count)."""
        names = self.metainfo['classes']
        counts = Counter({name: 0 for name in names})
        for i in range(len(self)):
            for c in self.get_cat_ids(i):
                counts[names[c]] += 1
        return counts


@DATASETS.register_module()
class NIHChestXray14Dataset(SplitListDataset):
    """NIH ChestX-ray14 (14 findings) from MRM's split lists; see :class:`SplitListDataset`.

    With no ``ann_file``, the list shipped with medvlp for ``split``/``fraction`` is used;
    the list paths are bare file names (``00000001_000.png``) below ``data_prefix``.
    """

    METAINFO = dict(dataset_name='NIH ChestX-ray14', classes=NIH_CLASSES)
    OFFICIAL_SPLITS = 'NIH_ChestX-ray'


@DATASETS.register_module()
class CheXpertDataset(SplitListDataset):
    """CheXpert's five competition observations from MRM's split lists.

    The list paths start with ``CheXpert-v1.0-small/``; ``data_root`` is the folder that
    holds it. The labels already follow the standard uncertainty policy (see
    ``tools/dataset_converters/prepare_chexpert.py``).
    """

    METAINFO = dict(dataset_name='CheXpert', classes=CHEXPERT_COMPETITION_CLASSES)
    OFFICIAL_SPLITS = 'CheXpert'


@DATASETS.register_module()
class RSNAPneumoniaDataset(SplitListDataset):
    """RSNA Pneumonia Detection (binary) from MRM's split lists.

    The list paths look like ``stage_2_train_images/<patientId>.dcm`` (DICOM; read with
    ``LoadCXRImage``).
    """

    METAINFO = dict(dataset_name='RSNA Pneumonia', classes=RSNA_CLASSES)
    OFFICIAL_SPLITS = 'RSNA_Pneumonia'


@DATASETS.register_module()
class COVIDCXRDataset(SplitListDataset):
    """COVID-19 vs other (binary) from the lists of
    ``tools/dataset_converters/prepare_covid.py`` (MRM's 5-fold lists, ``<file> <0|1>``)."""

    METAINFO = dict(dataset_name='COVID-19 CXR', classes=COVID_CLASSES)
