# Copyright (c) medvlp contributors. All rights reserved.
"""CXRDataPreprocessor: a one-channel batch gives the values of the same batch sent with
three channels; three-channel batches are mmpretrain's SelfSupDataPreprocessor's."""
import pytest
import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor
from mmpretrain.structures import DataSample

from medvlp.models.utils import CXRDataPreprocessor
from medvlp.registry import MODELS

STATS = dict(mean=[126.94, 126.94, 126.94], std=[62.45, 62.45, 62.45])


def grey_batch(batch_size=3, size=16):
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (batch_size, 1, size, size), dtype=torch.uint8,
                         generator=generator)


@pytest.mark.parametrize('to_rgb', [True, False])
def test_grey_batch_gives_the_values_of_three_channels(to_rgb):
    grey = grey_batch()
    samples = [DataSample(input_ids=torch.tensor([i])) for i in range(3)]
    ours = CXRDataPreprocessor(to_rgb=to_rgb, **STATS)
    reference = SelfSupDataPreprocessor(to_rgb=to_rgb, **STATS)
    out = ours(dict(inputs=grey, data_samples=samples), True)
    expected = reference(dict(inputs=grey.repeat(1, 3, 1, 1), data_samples=samples), True)
    assert out['inputs'].shape == (3, 3, 16, 16) and out['inputs'].dtype == torch.float32
    torch.testing.assert_close(out['inputs'], expected['inputs'], rtol=0, atol=0)
    assert [s.input_ids.item() for s in out['data_samples']] == [0, 1, 2]


def test_three_channel_batches_and_views_are_unchanged():
    colour = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    ours = CXRDataPreprocessor(to_rgb=True, **STATS)
    reference = SelfSupDataPreprocessor(to_rgb=True, **STATS)
    torch.testing.assert_close(ours(dict(inputs=colour, data_samples=None), False)['inputs'],
                               reference(dict(inputs=colour, data_samples=None), False)['inputs'],
                               rtol=0, atol=0)
    # multi-view: a list of batches, grey and three-channel mixed
    grey = grey_batch(2, 8)
    views = ours(dict(inputs=[grey, colour], data_samples=None), False)['inputs']
    expected = reference(dict(inputs=[grey.repeat(1, 3, 1, 1), colour], data_samples=None), False)['inputs']
    for view, ref in zip(views, expected):
        torch.testing.assert_close(view, ref, rtol=0, atol=0)


def test_other_channel_counts_are_refused():
    ours = CXRDataPreprocessor(**STATS)
    with pytest.raises(ValueError, match=r'1 or 3 channels, got \(2, 2, 8, 8\)'):
        ours(dict(inputs=torch.zeros(2, 2, 8, 8, dtype=torch.uint8), data_samples=None), False)
    with pytest.raises(ValueError, match='num_channels'):
        CXRDataPreprocessor(num_channels=0)


def test_one_channel_backbones_keep_one_channel():
    grey = grey_batch()
    out = CXRDataPreprocessor(num_channels=1, mean=[127.5], std=[127.5])(
        dict(inputs=grey, data_samples=None), False)['inputs']
    assert out.shape == grey.shape
    torch.testing.assert_close(out, (grey.float() - 127.5) / 127.5)


def test_registered():
    assert MODELS.get('CXRDataPreprocessor') is CXRDataPreprocessor
    assert isinstance(MODELS.build(dict(type='CXRDataPreprocessor', **STATS)),
                      SelfSupDataPreprocessor)
