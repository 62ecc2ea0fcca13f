# Copyright (c) medvlp contributors. All rights reserved.
"""image_report_collate and DataSampleBatch: the batch default_collate gives, with the
text fields handed over, pinned and moved as one block per field."""
import copy
import io
import pickle
import random
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data._utils.pin_memory import pin_memory

from medvlp.datasets import DataSampleBatch, image_report_collate
from medvlp.datasets.collate import common_tensor_fields
from medvlp.datasets.transforms import DEFAULT_TEXT_KEYS
from medvlp.models.utils import CXRDataPreprocessor
from medvlp.registry import DATASETS
from medvlp.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / 'configs/_base_/datasets/mimic_cxr_report.py'


def demo_dataset_cfg():
    cfg = Config.fromfile(str(CONFIG))
    return dict(type='ImageReportDataset', data_root=str(REPO_ROOT / 'demo' / 'cxr'),
                ann_file='annotations.jsonl', data_prefix=dict(img_path=''),
                pipeline=cfg.train_pipeline, indices=8)


@pytest.fixture(scope='module')
def packed():
    """Four real demo samples through the MIMIC training pipeline."""
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('medvlp'):
        dataset = DATASETS.build(demo_dataset_cfg())
        random.seed(0)
        np.random.seed(0)
        return [dataset[i] for i in range(4)]


def assert_same_samples(ours, reference):
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference):
        assert type(mine) is type(theirs)
        assert mine.metainfo == theirs.metainfo
        assert set(mine.keys()) == set(theirs.keys())
        for key in theirs.keys():
            a, b = mine.get(key), theirs.get(key)
            if isinstance(b, torch.Tensor):
                assert a.dtype == b.dtype and torch.equal(a, b), key
            else:
                assert a == b, key


def forking_roundtrip(obj):
    buffer = io.BytesIO()
    ForkingPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(obj)
    return pickle.loads(buffer.getvalue())


def count_arrays(obj) -> int:
    """How many numpy arrays the dataloader's pickler writes for ``obj``."""

    class Counter(ForkingPickler):
        arrays = 0

        def reducer_override(self, value):
            if isinstance(value, np.ndarray):
                type(self).arrays += 1
            return NotImplemented

    Counter(io.BytesIO(), pickle.HIGHEST_PROTOCOL).dump(obj)
    return Counter.arrays


def test_collate_is_default_collate_with_a_sample_batch(packed):
    ours = image_report_collate([dict(p) for p in packed])
    reference = default_collate([dict(p) for p in packed])
    assert torch.equal(ours['inputs'], reference['inputs'])
    assert ours['inputs'].shape == (4, 1, 224, 224)  # one grey channel travels
    assert isinstance(ours['data_samples'], DataSampleBatch)
    assert_same_samples(ours['data_samples'], reference['data_samples'])
    assert set(common_tensor_fields(ours['data_samples'])) == set(DEFAULT_TEXT_KEYS)


def test_pickling_sends_one_array_per_field_and_keeps_everything(packed):
    batch = image_report_collate([dict(p) for p in packed])['data_samples']
    rebuilt = forking_roundtrip(batch)
    assert isinstance(rebuilt, DataSampleBatch)
    assert_same_samples(rebuilt, batch)
    blocks = rebuilt.tensor_blocks()
    assert set(blocks) == set(DEFAULT_TEXT_KEYS)
    for key, block in blocks.items():
        assert block.shape[0] == 4
        for index, sample in enumerate(rebuilt):  # the samples hold the block's rows
            assert sample.get(key).data_ptr() == block[index].data_ptr()
    # one array per field and batch, where mmpretrain's pickling of each DataSample of a
    # plain list sends one per field and sample
    assert count_arrays(batch) == len(DEFAULT_TEXT_KEYS)
    # (a copy: mmpretrain's pickling turns the samples' tensors into arrays in place)
    assert count_arrays(copy.deepcopy(list(batch))) == 4 * len(DEFAULT_TEXT_KEYS)


def test_fields_outside_the_blocks_and_replaced_rows_are_kept():
    samples = [DataSample(input_ids=torch.arange(4) + i, scores=torch.rand(i + 1),
                          metainfo=dict(report=f'report {i}')) for i in range(3)]
    samples[1].set_field(torch.tensor(7), 'only_one')
    batch = DataSampleBatch(samples)
    assert common_tensor_fields(batch) == ['input_ids']  # scores: shapes differ
    rebuilt = forking_roundtrip(batch)
    assert_same_samples(rebuilt, samples)
    # a replaced field: its block is stacked again from the samples' values
    rebuilt[2].input_ids = torch.full((4, ), -1)
    block = rebuilt.tensor_blocks()['input_ids']
    assert block[2].tolist() == [-1] * 4 and block[0].tolist() == [0, 1, 2, 3]
    assert DataSampleBatch().tensor_blocks() == {}


def test_pin_memory_pins_each_block_once(packed, monkeypatch):
    pinned = []

    def fake_pin(tensor, *args, **kwargs):  # no GPU here: record, and copy as pinning does
        pinned.append(tuple(tensor.shape))
        return tensor.clone()

    monkeypatch.setattr(torch.Tensor, 'pin_memory', fake_pin)
    batch = forking_roundtrip(image_report_collate([dict(p) for p in packed]))
    out = pin_memory(batch)  # what the DataLoader's pin-memory thread calls
    assert isinstance(out['data_samples'], DataSampleBatch)
    assert pinned[0] == (4, 1, 224, 224)  # the images
    assert len(pinned) == 1 + len(DEFAULT_TEXT_KEYS)
    assert_same_samples(out['data_samples'], batch['data_samples'])
    block = out['data_samples'].tensor_blocks()['input_ids']
    assert out['data_samples'][3].input_ids.data_ptr() == block[3].data_ptr()


class CopyCounter(TorchDispatchMode):
    """Counts the tensor copies to another device."""

    def __init__(self):
        super().__init__()
        self.copies = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._to_copy.default and (kwargs or {}).get('device'):
            self.copies += 1  # not the dtype conversions
        return func(*args, **(kwargs or {}))


def test_preprocessor_copies_each_block_once(packed):
    preprocessor = CXRDataPreprocessor(mean=[127.5] * 3, std=[127.5] * 3)
    collated = forking_roundtrip(image_report_collate([dict(p) for p in packed]))
    # on the CPU: the samples' values are unchanged
    out = preprocessor(collated, True)
    assert out['inputs'].shape == (4, 3, 224, 224)
    assert_same_samples(out['data_samples'], collated['data_samples'])
    # to another device ('meta' stands in for the GPU): one copy per field, not per sample
    preprocessor.to('meta')
    counts = {}
    for name, samples in (('blocks', collated['data_samples']),
                          ('list', list(collated['data_samples']))):
        with CopyCounter() as counter:
            moved = preprocessor(dict(collated, data_samples=samples), True)
        counts[name] = counter.copies
        assert moved['inputs'].device.type == 'meta'
        assert all(s.input_ids.device.type == 'meta' for s in moved['data_samples'])
    fields = len(DEFAULT_TEXT_KEYS)
    assert counts == {'blocks': 1 + fields, 'list': 1 + 4 * fields}


def test_workers_deliver_the_default_collate_batches():
    register_all_modules(init_default_scope=False)
    batches = {}
    with DefaultScope.overwrite_default_scope('medvlp'):
        for collate in ('default_collate', 'medvlp.image_report_collate'):
            loader = Runner.build_dataloader(dict(
                batch_size=4, num_workers=2, dataset=demo_dataset_cfg(),
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type=collate)), seed=0)
            batches[collate] = list(loader)
    for ours, reference in zip(batches['medvlp.image_report_collate'],
                               batches['default_collate']):
        assert isinstance(ours['data_samples'], DataSampleBatch)
        assert torch.equal(ours['inputs'], reference['inputs'])
        assert_same_samples(ours['data_samples'], reference['data_samples'])
