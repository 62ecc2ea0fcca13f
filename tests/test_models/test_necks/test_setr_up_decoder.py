# Copyright (c) medvlp contributors. All rights reserved.
"""SETRUpDecoder: the default layout and MedIM's official one (per-stage widths, no input
projection, nearest upsampling, 3x3 output convolution)."""
import pytest
import torch
from torch import nn

from medvlp.models.necks import SETRUpDecoder

OFFICIAL = dict(channels=[512, 256, 128, 64], input_proj=False, upsample_mode='nearest',
                out_kernel_size=3, num_outputs=2)


def test_default_and_official_layouts():
    tokens = torch.randn(2, 36, 96)
    default = SETRUpDecoder(96, channels=32)
    assert default(tokens, (6, 6)).shape == (2, 3, 96, 96)
    assert isinstance(default.input_proj, nn.Linear)
    official = SETRUpDecoder(96, **OFFICIAL)
    assert official(tokens, (6, 6)).shape == (2, 3, 96, 96)
    assert isinstance(official.input_proj, nn.Identity)
    assert [stage[0].out_channels for stage in official.up_stages] == [512, 256, 128, 64]
    assert all(stage[3].mode == 'nearest' for stage in official.up_stages)
    # convs 96->512->256->128->64 (3x3, no bias), BN, and two 3x3 64->3 outputs with bias
    expected = (9 * (96 * 512 + 512 * 256 + 256 * 128 + 128 * 64) + 2 * (512 + 256 + 128 + 64)
                + 2 * (9 * 64 * 3 + 3))
    assert sum(p.numel() for p in official.parameters()) == expected == 1_996_038
    # one output per mask on shared stages; the default keeps its checkpoint keys
    official.eval()
    assert not torch.allclose(official(tokens, (6, 6), output=0),
                              official(tokens, (6, 6), output=1))
    assert 'extra_outputs.0.weight' in official.state_dict()
    assert 'output.weight' in default.state_dict() and not any(
        k.startswith('extra_outputs') for k in default.state_dict())
    with pytest.raises(ValueError, match='out of range'):
        default(tokens, (6, 6), output=1)


def test_nearest_upsampling_repeats_pixels():
    decoder = SETRUpDecoder(4, patch_size=2, channels=[4], input_proj=False,
                            upsample_mode='nearest').eval()
    x = decoder.up_stages[0][:3](torch.randn(1, 4, 3, 3))
    up = decoder.up_stages[0][3](x)
    assert torch.equal(up[..., ::2, ::2], x) and torch.equal(up[..., 1::2, 1::2], x)


def test_bad_layouts_are_named():
    with pytest.raises(ValueError, match='one width per stage'):
        SETRUpDecoder(96, channels=[64, 32])
    with pytest.raises(ValueError, match='upsample_mode'):
        SETRUpDecoder(96, upsample_mode='bicubic')
    with pytest.raises(ValueError, match='out_kernel_size'):
        SETRUpDecoder(96, out_kernel_size=5)
