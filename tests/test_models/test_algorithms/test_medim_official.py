# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM's `official` preset: zero-filled features, tanh + whole-image MSE, cos/0.1 mask
attention, punctuation-free SDM eligibility; each checked against a direct computation."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medvlp.datasets.transforms import TokenizeReport
from medvlp.models.heads import ImageReconstructionHead
from medvlp.models.mask_generators import ReportGuidedMaskGenerator
from algorithm_helpers import build_model, demo_config_and_batch

OFFICIAL = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo_official.py'


@pytest.fixture(scope='module')
def official(repo_root, tmp_path_factory):
    return demo_config_and_batch(repo_root / OFFICIAL, tmp_path_factory.mktemp('off'), 4)


def test_official_preset_trains_with_its_options(official):
    cfg, batch = official
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.mask_fill == 'zero' and model.mask_temperature == 0.1
    assert not hasattr(model, 'mask_token')
    assert isinstance(model.recon_head, ImageReconstructionHead)
    rule = model.mask_generators['kwm'].mask_rule
    assert (rule.rounding, rule.split, rule.num_masked(196)) == ('floor', 'threshold', 97)
    assert model.mask_generators['sdm'].min_sentence_words == 4
    # the pipeline dropped punctuation: no word of the batch is a punctuation token
    assert cfg.train_dataloader.dataset.pipeline[2]['drop_punctuation'] is True
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].min() >= -1 - 1e-6 and data['inputs'].max() <= 1 + 1e-6
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters())
    # KWM and SDM restore through their own output convolution (official)
    assert model.decoder.output.weight.grad.abs().sum() > 0
    assert model.decoder.extra_outputs[0].weight.grad.abs().sum() > 0


def test_zero_fill_and_whole_image_tanh_mse(official):
    cfg, _ = official
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    images = torch.rand(2, 3, 96, 96) * 2 - 1
    tokens = model.backbone(images)[-1]
    mask = torch.zeros(2, 36, dtype=torch.bool)
    mask[:, :10] = True
    with torch.no_grad():
        pred = model.reconstruct(images, tokens, mask)
        zeroed = tokens[:, 1:] * (~mask)[..., None]
        image = model.decoder(zeroed, (6, 6))
    torch.testing.assert_close(pred, model.recon_head.patchify(image))
    # MSE(tanh(decoder), image) over every pixel, whatever the mask
    loss = model.recon_head.loss(pred, images, mask.float())
    torch.testing.assert_close(loss, F.mse_loss(torch.tanh(image), images))
    torch.testing.assert_close(loss, model.recon_head.loss(pred, images, None))


def test_mask_attention_is_cosine_over_temperature(official):
    cfg, _ = official
    model = build_model(cfg)
    regions = torch.randn(2, 36, 64)
    words = torch.randn(2, 7, 64)
    word_mask = torch.ones(2, 7, dtype=torch.bool)
    word_mask[1, 5:] = False
    attention = model.mask_attention(dict(regions=regions), dict(words=words,
                                                                  word_mask=word_mask))
    cos = F.normalize(words, dim=-1) @ F.normalize(regions, dim=-1).transpose(1, 2)
    expected = torch.softmax(cos / 0.1, dim=-1) * word_mask[..., None]
    torch.testing.assert_close(attention, expected)
    # the default takes the head's softmax(gamma1 * cos), gamma1 = 4
    default = build_model(cfg, mask_temperature=None)
    torch.testing.assert_close(
        default.mask_attention(dict(regions=regions), dict(words=words, word_mask=word_mask)),
        torch.softmax(4 * cos, dim=-1) * word_mask[..., None])


def test_variable_count_rule_needs_feature_masking(official):
    cfg, _ = official
    with pytest.raises(ValueError, match="mask_on='inputs' cannot encode"):
        build_model(cfg, mask_on='inputs')
    with pytest.raises(ValueError, match='mask_fill must be one of'):
        build_model(cfg, mask_fill='noise')


def _eligible_sentences(tokenize, generator):
    record = dict(words=['Lungs', 'are', 'clear', '.', 'Heart', 'size', 'is', 'normal', '.'],
                  sentence_ids=[0, 0, 0, 0, 1, 1, 1, 1, 1], mesh=[])
    out = tokenize(record)
    sentence_ids = torch.from_numpy(out['word_sentence_ids'])[None]
    attention = torch.full((1, sentence_ids.size(1), 4), 0.25)
    return {int(generator.patch_map(attention, torch.zeros_like(sentence_ids), sentence_ids,
                                    generator=torch.Generator().manual_seed(s)).sentence)
            for s in range(16)}


def test_sdm_eligibility_counts_words_not_punctuation():
    """"Lungs are clear." has 3 words and 4 tokens: eligible for the default (>= 3 tokens,
    the period counted) but not for the official rule (> 3 words, punctuation dropped);
    "Heart size is normal." has 4 words and is eligible for both."""
    default = _eligible_sentences(TokenizeReport(max_length=32),
                                  ReportGuidedMaskGenerator(mode='sdm'))
    official = _eligible_sentences(TokenizeReport(max_length=32, drop_punctuation=True),
                                   ReportGuidedMaskGenerator(mode='sdm', min_sentence_words=4,
                                                             fallback='any_sentence'))
    assert default == {0, 1} and official == {1}


def test_drop_punctuation_moves_the_mesh_matches():
    record = dict(words=['No', 'effusion', ',', 'no', 'pleural', 'effusion', '.'],
                  sentence_ids=[0] * 7,
                  mesh=[dict(start_word=1, end_word=2, negated=True),
                        dict(start_word=4, end_word=6, negated=False)])
    out = TokenizeReport(max_length=16, max_words=8, drop_punctuation=True)(record)
    assert out['word_keyword'].tolist() == [0, 1, 0, 1, 1, 0, 0, 0]
    assert out['word_negated'].tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    assert out['word_sentence_ids'].tolist() == [0, 0, 0, 0, 0, -1, -1, -1]
    assert np.all(out['word_ids'][out['word_ids'] >= 0] < 5)


def test_medim_checkpoint_into_a_mismatching_vit_fails_clearly(official, tmp_path):
    """A MedIM checkpoint (96-d demo ViT under ``backbone.``) loads into the same ViT and is
    refused, naming the shape mismatch, by a ViT of another width."""
    from mmpretrain.models import VisionTransformer

    from medvlp.utils.pretrained import PretrainedMismatchError
    cfg, _ = official
    model = build_model(cfg)
    path = tmp_path / 'medim.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    same = VisionTransformer(arch=dict(embed_dims=96, num_layers=4, num_heads=3,
                                       feedforward_channels=192), img_size=96, patch_size=16,
                             init_cfg=init_cfg)
    same.init_weights()
    torch.testing.assert_close(same.state_dict()['patch_embed.projection.weight'],
                               model.backbone.state_dict()['patch_embed.projection.weight'])
    narrower = VisionTransformer(arch=dict(embed_dims=48, num_layers=4, num_heads=3,
                                        feedforward_channels=96), img_size=96, patch_size=16,
                              init_cfg=init_cfg)
    with pytest.raises(PretrainedMismatchError, match='shape'):
        narrower.init_weights()


def test_official_global_alignment_is_infonce_at_0_07(official):
    cfg, _ = official
    head = build_model(cfg).head
    torch.manual_seed(0)
    img, txt = torch.randn(4, 64), torch.randn(4, 64)
    regions, words = torch.randn(4, 36, 64), torch.randn(4, 5, 64)
    losses = head.loss(img, regions, txt, words, torch.ones(4, 5, dtype=torch.bool))
    assert set(losses) == {'loss_global_ce', 'loss_local_ce'}   # no triplet terms
    logits = F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).t() / 0.07
    target = torch.arange(4)
    torch.testing.assert_close(losses['loss_global_ce'], F.cross_entropy(logits, target)
                               + F.cross_entropy(logits.t(), target))
