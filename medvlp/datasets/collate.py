# Copyright (c) medvlp contributors. All rights reserved.
"""Collating image-report samples so that their text fields travel as one block per field.

mmengine's ``default_collate`` stacks ``inputs`` and passes the data samples through as a
list. Each sample then carries its own small tensors (nine text arrays for
``PackImageReportInputs``), and every step handles them one by one: a dataloader worker
pickles each, the pin-memory thread skips them (a ``DataSample`` has no ``pin_memory``),
and the data preprocessor copies each to the GPU on its own (nine copies per sample,
from pageable memory). :func:`image_report_collate` returns the same batch with the data
samples in a :class:`DataSampleBatch`, which does each of these once per field: a
``(B, ...)`` block whose rows are the samples' tensors.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import default_collate
from mmengine.structures import BaseDataElement

from medvlp.registry import FUNCTIONS

#: A block and the rows the samples hold (the identity of each row is checked).
Block = Tuple[torch.Tensor, Tuple[torch.Tensor, ...]]


def common_tensor_fields(samples: Sequence[BaseDataElement]) -> List[str]:
    """The data fields that every sample holds as a tensor of one shape, dtype and device,
    in the first sample's order."""
    states = [vars(sample) for sample in samples]  # the fields' values, by name
    keys = []
    for key in samples[0].keys():
        value = states[0][key]
        if not isinstance(value, torch.Tensor):
            continue
        spec = (value.shape, value.dtype, value.device)
        for state in states[1:]:
            other = state.get(key)
            if not isinstance(other, torch.Tensor) or \
                    (other.shape, other.dtype, other.device) != spec:
                break
        else:
            keys.append(key)
    return keys


def _with_state(cls: type, state: dict) -> BaseDataElement:
    """A data element of class ``cls`` whose attributes are ``state``.

    ``state`` is a (modified) copy of a data element's ``__dict__``, which holds its field
    names and values; this is how mmpretrain rebuilds a pickled ``DataSample`` too.
    """
    element = cls.__new__(cls)
    object.__setattr__(element, '__dict__', state)
    return element


class DataSampleBatch(list):
    """The data samples of a batch, whose common tensor fields can be one block each.

    A list of data elements (usually mmpretrain ``DataSample``), used wherever mmengine
    passes ``data_samples``. It adds what a training step needs to handle the samples'
    tensors per field instead of per sample:

    * pickling (a dataloader worker handing the batch to the main process) sends one
      array per common tensor field (:func:`common_tensor_fields`) and, per sample, the
      rest; the rebuilt samples hold rows of those arrays;
    * :meth:`pin_memory` (called by the DataLoader's pin-memory thread) pins each block;
    * :meth:`to` (called by :class:`~medvlp.models.utils.CXRDataPreprocessor`) copies
      each block to the device once.

    The samples' values, metainfo and field names are exactly those of the samples it
    was made of. A block is used only while every sample still holds its row (a sample
    whose field was replaced makes that field stacked afresh).

    Args:
        samples (Sequence[BaseDataElement]): The data samples.
        blocks (dict, optional): ``{field: (block, rows)}``, where ``rows[i]`` is
            ``samples[i]``'s value of the field. Defaults to None (no blocks yet).
    """

    def __init__(self, samples: Sequence[BaseDataElement] = (),
                 blocks: Dict[str, Block] = None) -> None:
        super().__init__(samples)
        self._blocks = dict(blocks or {})

    def tensor_blocks(self) -> Dict[str, torch.Tensor]:
        """``{field: (B, ...) tensor}`` for the common tensor fields, row ``i`` the value
        of sample ``i``: the kept block while every sample holds its row, else stacked."""
        if not self:
            return {}
        blocks = {}
        for key in common_tensor_fields(self):
            kept = self._blocks.get(key)
            if kept is not None and len(kept[1]) == len(self) and all(
                    vars(sample).get(key) is row for sample, row in zip(self, kept[1])):
                blocks[key] = kept[0]
            else:
                blocks[key] = torch.stack([vars(sample)[key] for sample in self])
        return blocks

    @classmethod
    def from_states(cls, states: Sequence[Tuple[type, dict]],
                    blocks: Dict[str, torch.Tensor]) -> 'DataSampleBatch':
        """The batch of data elements ``(class, state)`` whose ``blocks`` fields are the
        blocks' rows (written into the states)."""
        rows = {key: block.unbind(0) for key, block in blocks.items()}
        elements = []
        for index, (element_cls, state) in enumerate(states):
            for key, key_rows in rows.items():
                state[key] = key_rows[index]
            elements.append(_with_state(element_cls, state))
        return cls(elements, {key: (blocks[key], rows[key]) for key in blocks})

    @classmethod
    def from_blocks(cls, samples: Sequence[BaseDataElement],
                    blocks: Dict[str, torch.Tensor]) -> 'DataSampleBatch':
        """Shallow copies of ``samples`` whose ``blocks`` fields are the blocks' rows."""
        states = []
        for sample in samples:
            state = dict(sample.__dict__)
            for key, value in state.items():
                if isinstance(value, set):  # the field-name sets: the copy's own
                    state[key] = set(value)
            states.append((type(sample), state))
        return cls.from_states(states, blocks)

    def pin_memory(self) -> 'DataSampleBatch':
        """The batch with each block in pinned (page-locked) memory, for asynchronous
        copies to the GPU; other tensors are left as they are, as for a plain list."""
        blocks = {key: block.pin_memory() for key, block in self.tensor_blocks().items()}
        return self.from_blocks(self, blocks)

    def to(self, *args, **kwargs) -> 'DataSampleBatch':
        """``[sample.to(*args, **kwargs) for sample in self]``, one copy per block.

        Fields outside the blocks are moved per sample, as ``BaseDataElement.to`` does.
        """
        blocks = {key: block.to(*args, **kwargs)
                  for key, block in self.tensor_blocks().items()}
        moved = self.from_blocks(self, blocks)
        for sample in moved:
            for key, value in sample.items():
                if key not in blocks and hasattr(value, 'to'):
                    sample.set_field(value.to(*args, **kwargs), key)
        return moved

    def __reduce__(self):
        blocks = {key: block for key, block in self.tensor_blocks().items()
                  if block.device.type == 'cpu' and not block.requires_grad}
        samples = []
        for sample in self:
            state = {key: value for key, value in sample.__dict__.items()
                     if key not in blocks}
            # other tensors by value too, as mmpretrain's DataSample pickling does (a
            # tensor pickled as a tensor would cost a file descriptor)
            converted = [key for key, value in state.items()
                         if isinstance(value, torch.Tensor) and value.device.type == 'cpu'
                         and not value.requires_grad]
            for key in converted:
                state[key] = state[key].numpy()
            samples.append((type(sample), state, converted))
        arrays = {key: block.contiguous().numpy() for key, block in blocks.items()}
        return _rebuild_batch, (samples, arrays)


def _rebuild_batch(samples: List[tuple], arrays: Dict[str, np.ndarray]) -> DataSampleBatch:
    """Unpickle a :class:`DataSampleBatch` (see its ``__reduce__``)."""
    states = []
    for cls, state, converted in samples:
        for key in converted:
            state[key] = torch.from_numpy(state[key])
        states.append((cls, state))
    return DataSampleBatch.from_states(
        states, {key: torch.from_numpy(array) for key, array in arrays.items()})


@FUNCTIONS.register_module()
def image_report_collate(data_batch: Sequence[dict]) -> dict:
    """mmengine's ``default_collate``, with the data samples in a
    :class:`DataSampleBatch`.

    ``inputs`` are stacked as by ``default_collate`` (into shared memory in a dataloader
    worker); the samples' values are unchanged.

    Args:
        data_batch (Sequence[dict]): Packed samples (``inputs`` and ``data_samples``).

    Returns:
        dict: The collated batch.
    """
    batch = default_collate(data_batch)
    samples = batch.get('data_samples') if isinstance(batch, dict) else None
    if isinstance(samples, list) and samples and all(
            isinstance(sample, BaseDataElement) for sample in samples):
        batch['data_samples'] = DataSampleBatch(samples)
    return batch
