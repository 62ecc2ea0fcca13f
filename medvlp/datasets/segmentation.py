# Copyright (c) medvlp contributors. All rights reserved.
"""Segmentation datasets for mmseg configs (``type='medvlp.SIIMPneumothoraxDataset'``).

Each is an mmseg :class:`~mmseg.datasets.BaseSegDataset` with two extra guarantees:

* pairs that cannot be used are skipped at load time, counted and named in the log: an
  image without a mask, a mask whose size differs from its image;
* every sample carries ``seg_threshold`` and ``seg_num_classes``, which
  :class:`LoadSegAnnotations` uses to binarise 0/255 masks or to reject a mask with values
  that are not class indices, naming the file, instead of a crash deep in the loss.
"""
import csv
import hashlib
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.logging import MMLogger
from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations

from medvlp.registry import DATASETS, TRANSFORMS

#: Palette shared by the binary datasets: background black, foreground white.
BINARY_PALETTE = [[0, 0, 0], [255, 255, 255]]


def unit_hash(text: str, seed: int, salt: str = '') -> float:
    """A number in [0, 1) fixed by ``(text, seed, salt)``, the same in every Python run."""
    digest = hashlib.sha1(f'{seed}:{salt}:{text}'.encode()).hexdigest()
    return int(digest[:15], 16) / 16**15


@TRANSFORMS.register_module()
class LoadSegAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that checks the mask against its image.

    After loading ``gt_seg_map`` it

    * raises if the mask's size differs from the loaded image's (``ori_shape``);
    * with a threshold (``threshold`` here, or ``seg_threshold`` set by the dataset, which
      wins) binarises the mask: ``mask > threshold`` becomes 1, the rest 0;
    * otherwise raises if the mask holds values other than ``0 .. num_classes - 1`` and
      ``ignore_index`` (``num_classes`` here or ``seg_num_classes`` from the dataset), or
      only background and ``ignore_index``, the sign of a 0/255 mask read as indices.

    Put it right after ``LoadImageFromFile``. Errors name the image and the mask file.

    Args:
        threshold (int, optional): Binarisation threshold. Defaults to None.
        num_classes (int, optional): Number of classes for the value check.
            Defaults to None (the dataset's).
        ignore_index (int): Label value that is not a class. Defaults to 255.
        **kwargs: Arguments of mmseg's ``LoadAnnotations``.
    """

    def __init__(self,
                 threshold: Optional[int] = None,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        super()._load_seg_map(results)
        seg = results['gt_seg_map']
        where = f'mask {results.get("seg_map_path")} of image {results.get("img_path")}'
        image_hw = results.get('ori_shape') or (results['img'].shape[:2]
                                                 if 'img' in results else None)
        if image_hw is not None and tuple(seg.shape[:2]) != tuple(image_hw[:2]):
            raise ValueError(f'{where}: the mask is {seg.shape[1]}x{seg.shape[0]} (WxH) but '
                             f'the image is {image_hw[1]}x{image_hw[0]}')
        threshold = results.get('seg_threshold', self.threshold)
        if threshold is not None:
            results['gt_seg_map'] = (seg > threshold).astype(np.uint8)
            return
        num_classes = results.get('seg_num_classes', self.num_classes)
        if num_classes is None:
            return
        values = np.unique(seg).tolist()
        bad = [v for v in values if v >= num_classes and v != self.ignore_index]
        if bad:
            raise ValueError(
                f'{where}: values {bad[:5]} are not class indices 0..{num_classes - 1} '
                f'(or {self.ignore_index} for "ignore"); a 0/255 mask needs '
                'LoadSegAnnotations(threshold=127)')
        if self.ignore_index in values and not any(0 < v < num_classes for v in values):
            # Only background and "ignore": almost surely a 0/255 mask read as indices,
            # which would silently drop every foreground pixel from the loss.
            raise ValueError(
                f'{where}: holds only 0 and {self.ignore_index} ("ignore"), no class '
                f'1..{num_classes - 1}; a 0/255 mask needs LoadSegAnnotations(threshold=127) '
                'or the dataset\'s seg_threshold=127')

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, threshold={self.threshold}, '
                f'num_classes={self.num_classes})')


class _CheckedSegDataset(BaseSegDataset):
    """Base of medvlp's segmentation datasets: pair checks and the mask-value contract.

    Args:
        seg_threshold (int, optional): Masks are binarised with ``> seg_threshold`` by
            :class:`LoadSegAnnotations`. Defaults to None (masks hold class indices).
        check_sizes (bool): Skip (and log) pairs whose mask size differs from the image's,
            reading only the PNG headers. Defaults to True.
        **kwargs: Arguments of :class:`~mmseg.datasets.BaseSegDataset`.
    """

    def __init__(self, seg_threshold: Optional[int] = None, check_sizes: bool = True,
                 **kwargs) -> None:
        self.seg_threshold = seg_threshold
        self.check_sizes = check_sizes
        self.skipped: Dict[str, List[str]] = {}
        super().__init__(**kwargs)
        self._check_pipeline()

    def _check_pipeline(self) -> None:
        if self.seg_threshold is None:
            return
        for transform in self.pipeline.transforms:
            if isinstance(transform, LoadAnnotations) and \
                    not isinstance(transform, LoadSegAnnotations):
                raise ValueError(
                    f'{type(self).__name__} masks are 0/255 and must be binarised: load them '
                    "with dict(type='medvlp.LoadSegAnnotations') instead of mmseg's "
                    'LoadAnnotations, which would read 255 as "ignore"')

    def candidate_list(self) -> List[dict]:
        """The pairs before the checks; BaseSegDataset's listing by default."""
        return super().load_data_list()

    def load_data_list(self) -> List[dict]:
        self.skipped = {}
        kept = []
        for info in self.candidate_list():
            reason = self.reject_reason(info)
            if reason:
                self.skipped.setdefault(reason, []).append(osp.basename(info['img_path']))
                continue
            info['seg_threshold'] = self.seg_threshold
            info['seg_num_classes'] = len(self._metainfo.get('classes', ())) or None
            kept.append(info)
        self._log_skipped(len(kept))
        if not kept:
            raise ValueError(
                f'{type(self).__name__}: no usable image/mask pairs in '
                f'{self.data_prefix.get("img_path")} (ann_file "{self.ann_file}")' +
                (f'; skipped: {self._skip_text()}' if self.skipped else ''))
        return kept

    def reject_reason(self, info: dict) -> Optional[str]:
        """Why a pair cannot be used, or None."""
        from PIL import Image
        if not osp.isfile(info['img_path']):
            return 'image file missing'
        mask = info.get('seg_map_path')
        if mask is None or not osp.isfile(mask):
            return 'no mask file'
        if self.check_sizes:
            with Image.open(info['img_path']) as img, Image.open(mask) as seg:
                if img.size != seg.size:
                    return 'mask size differs from the image'
        return None

    def _log_skipped(self, kept: int) -> None:
        if self.skipped:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: kept {kept} pairs, skipped {self._skip_text()}')

    def _skip_text(self) -> str:
        parts = []
        for reason, names in self.skipped.items():
            shown = ', '.join(names[:3]) + (', ...' if len(names) > 3 else '')
            parts.append(f'{len(names)} {reason} ({shown})')
        return '; '.join(parts)


@DATASETS.register_module()
class SIIMPneumothoraxDataset(_CheckedSegDataset):
    """SIIM-ACR Pneumothorax as written by ``tools/dataset_converters/prepare_siim.py``.

    ``images/<ImageId>.png``, ``masks/<ImageId>.png`` (0 background, 1 pneumothorax) and
    ``ann_file`` one of its ``splits/*.txt`` lists.
    """
    METAINFO = dict(classes=('background', 'pneumothorax'), palette=BINARY_PALETTE)

    def __init__(self,
                 data_prefix: dict = dict(img_path='images', seg_map_path='masks'),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            data_prefix=data_prefix, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
            **kwargs)


@DATASETS.register_module()
class ImageMaskFolderDataset(_CheckedSegDataset):
    """Your own data: ``<img_path>/<name><img_suffix>`` with ``<seg_map_path>/<name>.png``.

    Give the class names in ``metainfo=dict(classes=(...))`` (binary by default); masks hold
    class indices, or set ``seg_threshold`` for 0/255 masks. ``ann_file`` (one name per
    line, without suffix) selects a split; without it every image of the folder is used.
    Images without a mask are skipped and counted.
    """
    METAINFO = dict(classes=('background', 'foreground'), palette=BINARY_PALETTE)

    def __init__(self,
                 data_prefix: dict = dict(img_path='images', seg_map_path='masks'),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            data_prefix=data_prefix, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
            **kwargs)


@DATASETS.register_module()
class LungMaskDataset(_CheckedSegDataset):
    """Lung masks in the covid-cxr layout: ``images/``, ``masks/`` (0/255), ``metadata.csv``.

    Only images with a mask are used. Masks are binarised with ``> 127`` (the V7 masks have
    127-valued edge pixels); all-zero masks (V7 left lateral views unannotated) are skipped
    by default, counted in the log. Without ``ann_file`` the images are split by patient:
    ``patientid`` from ``metadata.csv`` goes to val when a seeded hash of it falls below
    ``val_ratio``, so no patient is in both splits.

    Args:
        split (str): 'train', 'val' or 'all'. Ignored with ``ann_file``. Defaults to 'train'.
        val_ratio (float): Share of patients in val. Defaults to 0.2.
        seed (int): Split seed. Defaults to 0.
        metadata_file (str): csv with ``filename`` and ``patientid`` columns, relative to
            ``data_root``. Defaults to 'metadata.csv'.
        skip_empty_masks (bool): Skip all-zero masks. Defaults to True.
        **kwargs: Arguments of :class:`~mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(classes=('background', 'lung'), palette=BINARY_PALETTE)
    SPLITS = ('train', 'val', 'all')

    def __init__(self,
                 split: str = 'train',
                 val_ratio: float = 0.2,
                 seed: int = 0,
                 metadata_file: str = 'metadata.csv',
                 skip_empty_masks: bool = True,
                 data_prefix: dict = dict(img_path='images', seg_map_path='masks'),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 seg_threshold: int = 127,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got "{split}"')
        self.split, self.val_ratio, self.seed = split, val_ratio, seed
        self.metadata_file = metadata_file
        self.skip_empty_masks = skip_empty_masks
        super().__init__(
            data_prefix=data_prefix, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
            seg_threshold=seg_threshold, **kwargs)

    def patient_ids(self) -> Dict[str, str]:
        """``{image file name: patient id}`` from the metadata csv."""
        path = osp.join(self.data_root or '', self.metadata_file)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{type(self).__name__}: {path} not found; it gives the '
                                    'patient of each image for the patient-disjoint split')
        with open(path, encoding='utf-8', newline='') as f:
            return {row['filename']: row['patientid'] for row in csv.DictReader(f)}

    def split_of_patient(self, patient: str) -> str:
        return 'val' if unit_hash(patient, self.seed, 'lung-split') < self.val_ratio \
            else 'train'

    def candidate_list(self) -> List[dict]:
        # List the masks (every image has a mask file only where V7 annotated it).
        if self.ann_file:
            return super().candidate_list()
        mask_dir = self.data_prefix['seg_map_path']
        img_dir = self.data_prefix['img_path']
        names = sorted(n[:-len(self.seg_map_suffix)] for n in os.listdir(mask_dir)
                       if n.endswith(self.seg_map_suffix))
        if self.split != 'all':
            patients = self.patient_ids()
            missing = [n for n in names if n + self.img_suffix not in patients]
            if missing:
                raise ValueError(f'{type(self).__name__}: no patientid in '
                                 f'{self.metadata_file} for {len(missing)} images, e.g. '
                                 f'{missing[:3]}')
            names = [n for n in names
                     if self.split_of_patient(patients[n + self.img_suffix]) == self.split]
        return [
            dict(img_path=osp.join(img_dir, n + self.img_suffix),
                 seg_map_path=osp.join(mask_dir, n + self.seg_map_suffix),
                 label_map=self.label_map, reduce_zero_label=self.reduce_zero_label,
                 seg_fields=[]) for n in names
        ]

    def reject_reason(self, info: dict) -> Optional[str]:
        reason = super().reject_reason(info)
        if reason is None and self.skip_empty_masks:
            from PIL import Image
            with Image.open(info['seg_map_path']) as seg:
                if np.asarray(seg).max() <= self.seg_threshold:
                    return 'empty mask'
        return reason

