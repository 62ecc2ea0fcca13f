# Copyright (c) medvlp contributors. All rights reserved.
"""Packing an image-report sample into ``inputs`` and an mmpretrain ``DataSample``."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.datasets.transforms.formatting import PackInputs, to_tensor
from mmpretrain.structures import DataSample

from medvlp.registry import TRANSFORMS
from .text import TEXT_BLOCKS_KEY

#: Fixed-length text arrays written by ``TokenizeReport`` (tokens first, then words).
DEFAULT_TEXT_KEYS = ('input_ids', 'attention_mask', 'word_ids', 'keyword_mask',
                     'sentence_ids', 'word_keyword', 'word_sentence_ids', 'word_negated',
                     'word_uncertain')

#: Meta information kept for logging and visualisation (not stacked, not on the device).
DEFAULT_META_KEYS = ('sample_idx', 'img_path', 'subject_id', 'study_id', 'dicom_id', 'split',
                     'view', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                     'flip_direction', 'report', 'sentences', 'sections')


def block_of_rows(arrays: Sequence[np.ndarray]) -> Optional[np.ndarray]:
    """The C-contiguous ``(len(arrays), ...)`` array whose rows, in order, are exactly
    ``arrays`` (a view of the memory they share), or None.

    True for the views ``[block[0], block[1], ...]`` of one block that owns (or is a
    contiguous view of) its whole memory; anything else (copies, a subset of the rows,
    another order, strided rows) gives None.
    """
    first = arrays[0]
    base = first.base
    if not isinstance(base, np.ndarray) or not base.flags.c_contiguous or \
            base.dtype != first.dtype or base.size != len(arrays) * first.size:
        return None
    start = base.__array_interface__['data'][0]
    for row, array in enumerate(arrays):
        if array.base is not base or array.shape != first.shape or \
                not array.flags.c_contiguous or \
                array.__array_interface__['data'][0] != start + row * first.nbytes:
            return None
    return base.reshape((len(arrays), ) + first.shape)


@TRANSFORMS.register_module()
class PackImageReportInputs(BaseTransform):
    """Pack an image and its tokenized report for a vision-language algorithm.

    Like mmpretrain's ``PackInputs``: the image becomes the ``inputs`` tensor (CHW) and
    everything else goes onto a :class:`mmpretrain.structures.DataSample`. The text
    arrays (``text_keys``) become tensors in the data sample's data fields; every
    sample has the same lengths (``TokenizeReport`` pads), so a batch can be stacked
    with :func:`stack_data_sample_fields` or ``torch.stack`` in the algorithm. Note that
    ``default_collate`` stacks ``inputs`` but, like ``pseudo_collate``, passes the data
    samples through as a list: that is mmengine's design for ``BaseDataElement``.

    **Required Keys:**

    - ``input_key`` (default ``img``)
    - ``*text_keys`` (those present are packed)

    **Added Keys:**

    - inputs (torch.Tensor): the image, ``(C, H, W)``
    - data_samples (DataSample): ``gt_label`` (if the record has one), the text
      tensors, ``*algorithm_keys`` and the ``*meta_keys`` as metainfo

    Args:
        input_key (str): The image key. Defaults to ``'img'``.
        text_keys (Sequence[str]): Keys of fixed-length text arrays to pack as tensors.
            Defaults to :data:`DEFAULT_TEXT_KEYS`.
        algorithm_keys (Sequence[str]): Further keys packed as data fields unchanged
            (for example ``'uncertain_label'``). Defaults to ().
        meta_keys (Sequence[str]): Keys packed as metainfo, such as the raw ``report``,
            ``sentences`` and ``sections`` for logging. Defaults to
            :data:`DEFAULT_META_KEYS`.
    """

    def __init__(self,
                 input_key: str = 'img',
                 text_keys: Sequence[str] = DEFAULT_TEXT_KEYS,
                 algorithm_keys: Sequence[str] = (),
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.input_key = input_key
        self.text_keys = tuple(text_keys)
        self.algorithm_keys = tuple(algorithm_keys)
        self.meta_keys = tuple(meta_keys)

    def _text_tensors(self, results: dict) -> Dict[str, torch.Tensor]:
        """The text arrays as tensors, those of one shape and dtype rows of one block.

        Every tensor holds its own field's values. The blocks ``TokenizeReport`` leaves
        in ``results['_text_blocks']`` become one tensor each when their rows are still
        the results' arrays (no transform in between replaced one). Other arrays that
        are the rows of one block, in order, share that block without a copy; other
        same-shape arrays are stacked into one. (When a dataloader worker hands the
        sample over, mmpretrain's ``DataSample`` pickling sends each field by value as a
        numpy array, block or not.)
        """
        tensors: Dict[str, torch.Tensor] = {}
        for keys, block, rows in results.get(TEXT_BLOCKS_KEY, ()):
            if all(results.get(key) is row for key, row in zip(keys, rows)):
                tensors.update(zip(keys, torch.from_numpy(block).unbind(0)))
        groups: Dict[tuple, list] = {}
        for key in self.text_keys:
            if key not in results or key in tensors:
                continue
            value = results[key]
            if isinstance(value, np.ndarray) and value.dtype != object:
                # rows of different blocks (token and word rows of equal length) stay apart
                group = (value.shape, value.dtype.str, id(value.base))
                groups.setdefault(group, []).append(key)
            else:
                tensors[key] = to_tensor(value)
        for keys in groups.values():
            if len(keys) == 1:
                tensors[keys[0]] = to_tensor(results[keys[0]])
                continue
            arrays = [results[key] for key in keys]
            block = block_of_rows(arrays)
            block = torch.from_numpy(np.stack(arrays) if block is None else block)
            tensors.update(zip(keys, block.unbind(0)))
        return {key: tensors[key] for key in self.text_keys if key in tensors}

    def transform(self, results: dict) -> dict:
        """Return ``dict(inputs=..., data_samples=DataSample(...))``."""
        packed = dict()
        if self.input_key in results:
            packed['inputs'] = PackInputs.format_input(results[self.input_key])

        data_sample = DataSample()
        if 'gt_label' in results:
            data_sample.set_gt_label(results['gt_label'])
        if 'gt_score' in results:
            data_sample.set_gt_score(results['gt_score'])
        for key, tensor in self._text_tensors(results).items():
            data_sample.set_field(tensor, key)
        for key in self.algorithm_keys:
            if key in results:
                data_sample.set_field(results[key], key)
        for key in self.meta_keys:
            if key in results:
                data_sample.set_field(results[key], key, field_type='metainfo')
        packed['data_samples'] = data_sample
        return packed

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(input_key='{self.input_key}', "
                f'text_keys={self.text_keys}, algorithm_keys={self.algorithm_keys}, '
                f'meta_keys={self.meta_keys})')


def stack_data_sample_fields(data_samples: Sequence[DataSample],
                             keys: Sequence[str] = DEFAULT_TEXT_KEYS,
                             device: Optional[torch.device] = None) -> Dict[str, torch.Tensor]:
    """Stack per-sample text tensors of a batch into ``(B, ...)`` tensors.

    Args:
        data_samples (Sequence[DataSample]): The batch's data samples, as the data
            preprocessor hands them to the algorithm.
        keys (Sequence[str]): Fields to stack; fields missing from the samples are
            left out of the result. Defaults to :data:`DEFAULT_TEXT_KEYS`.
        device (torch.device, optional): Move the stacked tensors there. Defaults to
            None (keep the samples' device).

    Returns:
        Dict[str, torch.Tensor]: One ``(B, L)`` tensor per key.

    Raises:
        ValueError: If samples disagree on a field's shape (different ``max_length``).
    """
    stacked = {}
    if not data_samples:
        return stacked
    for key in keys:
        if key not in data_samples[0]:
            continue
        values = [sample.get(key) for sample in data_samples]
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) > 1:
            raise ValueError(f'cannot stack "{key}": the samples have shapes {sorted(shapes)}; '
                             'use one TokenizeReport max_length for the whole dataset')
        tensor = torch.stack(values)
        stacked[key] = tensor.to(device) if device is not None else tensor
    return stacked
