# Copyright (c) medvlp contributors. All rights reserved.
import pytest
import torch

from medvlp.models import ImageRegionNeck, SETRUpDecoder, TextWordNeck


def test_vit_tokens_and_cnn_feature_maps():
    neck = ImageRegionNeck(in_channels=8, out_channels=4)
    tokens = torch.randn(2, 1 + 9, 8)
    out = neck((tokens, ))
    assert out['regions'].shape == (2, 9, 4) and out['global_feat'].shape == (2, 4)
    regions, glob = neck.split(tokens)
    assert torch.equal(glob, tokens[:, 0]) and torch.equal(regions, tokens[:, 1:])
    cnn = ImageRegionNeck(in_channels=8, out_channels=4, global_pool='avg',
                          with_cls_token=False)
    fmap = torch.randn(2, 8, 3, 5)
    regions, glob = cnn.split(fmap)
    assert regions.shape == (2, 15, 8)
    torch.testing.assert_close(glob, fmap.mean((2, 3)))
    with pytest.raises(ValueError, match="no class token: use global_pool='avg'"):
        neck.split(fmap)
    with pytest.raises(ValueError, match="needs with_cls_token=True"):
        ImageRegionNeck(8, 4, global_pool='cls', with_cls_token=False)


def test_text_neck_projects_words_and_report():
    neck = TextWordNeck(in_channels=6, out_channels=3)
    out = neck(dict(word_feats=torch.randn(2, 5, 6), report_feat=torch.randn(2, 6),
                    word_mask=torch.ones(2, 5, dtype=torch.bool)))
    assert out['words'].shape == (2, 5, 3) and out['global_feat'].shape == (2, 3)


def test_setr_decoder_restores_full_resolution():
    decoder = SETRUpDecoder(in_channels=8, patch_size=16, channels=4)
    assert decoder(torch.randn(2, 6, 8), (2, 3)).shape == (2, 3, 32, 48)
    with pytest.raises(ValueError, match='power of two'):
        SETRUpDecoder(in_channels=8, patch_size=12)
    with pytest.raises(ValueError, match='do not fill a 2x2 grid'):
        decoder(torch.randn(1, 6, 8), (2, 2))
