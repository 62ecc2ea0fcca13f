# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM on real demo batches: both mask placements, masks, losses and gradients."""
import pytest
import torch

from medvlp.models.utils import encode_visible_patches, mask_to_ids_restore
from algorithm_helpers import build_model, demo_config_and_batch

DEMO = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'
INPUTS_DECODER = dict(type='mmpretrain.MAEPretrainDecoder', num_patches=36, patch_size=16,
                      in_chans=3, embed_dim=96, decoder_embed_dim=64, decoder_depth=1,
                      decoder_num_heads=2, mlp_ratio=2.)


@pytest.fixture(scope='module')
def demo(repo_root, tmp_path_factory):
    return demo_config_and_batch(repo_root / DEMO, tmp_path_factory.mktemp('medim'), 6)


@pytest.mark.parametrize('mask_on', ['features', 'inputs'])
def test_losses_and_gradients(demo, mask_on):
    cfg, batch = demo
    torch.manual_seed(0)
    extra = dict(mask_on=mask_on)
    if mask_on == 'inputs':
        extra['decoder'] = INPUTS_DECODER
    model = build_model(cfg, **extra)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert {'loss_kwm', 'loss_sdm', 'loss_global_ce', 'loss_local_ce'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for name in ('backbone', 'text_encoder', 'decoder', 'img_neck', 'text_neck'):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    if mask_on == 'features':
        assert model.mask_token.grad.abs().sum() > 0


def test_masks_follow_the_report(demo):
    """KWM masks the patches the keywords attend to; both masks hide 50% of 36 patches."""
    cfg, batch = demo
    model = build_model(cfg)
    flags = model._text_inputs(batch['data_samples'], torch.device('cpu'),
                               ('word_keyword', 'word_sentence_ids'))
    b, w = flags['word_keyword'].shape
    attention = torch.full((b, w, 36), 1e-3)
    attention[:, :, :18] = 1.0   # every word attends to the first 18 patches
    masks = model.report_masks(attention / attention.sum(-1, keepdim=True), flags)
    for name, mask in masks.items():
        assert mask.shape == (b, 36) and (mask.sum(1) == 18).all(), name
        # 90% of the attended half (16 of 18) and 10% of the rest (2 of 18)
        keyword_rows = flags['word_keyword'].any(1) if name == 'kwm' else torch.ones(b).bool()
        assert (mask[keyword_rows, :18].sum(1) == 16).all(), name


def test_visible_encoding_matches_the_full_forward_without_mask(demo):
    cfg, _ = demo
    model = build_model(cfg).eval()
    images = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        full = model.backbone(images)[-1]
        none_masked, ids_restore = encode_visible_patches(
            model.backbone, images, torch.zeros(2, 36, dtype=torch.bool))
    torch.testing.assert_close(none_masked, full, rtol=1e-4, atol=1e-5)
    mask = torch.zeros(2, 36, dtype=torch.bool)
    mask[:, ::2] = True
    keep, restore = mask_to_ids_restore(mask)
    assert keep[0].tolist() == list(range(1, 36, 2))
    assert torch.equal(torch.argsort(restore, 1)[:, :18], keep)
    with pytest.raises(ValueError, match='same number of patches'):
        mask_to_ids_restore(torch.tensor([[True, False], [True, True]]))


def test_bad_options_are_named(demo):
    cfg, _ = demo
    with pytest.raises(ValueError, match="mask_on must be one of"):
        build_model(cfg, mask_on='pixels')
    with pytest.raises(ValueError, match='unknown loss_weights keys'):
        build_model(cfg, loss_weights=dict(kwm=5, alignment=1))
