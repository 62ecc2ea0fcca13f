# Copyright (c) medvlp contributors. All rights reserved.
"""MRM on real demo batches: masking, losses, fusion, high-resolution target, hand-off."""
import pytest
import torch

from algorithm_helpers import build_model, demo_config_and_batch

DEMO = 'configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py'


@pytest.fixture(scope='module')
def demo_batch(repo_root, tmp_path_factory):
    return demo_config_and_batch(repo_root / DEMO, tmp_path_factory.mktemp('mrm'), 4)


@pytest.mark.parametrize('fusion', ['MeanVisibleTokenFusion', 'AttentionPoolFusion'])
def test_losses_and_gradients_reach_both_branches(demo_batch, fusion):
    cfg, batch = demo_batch
    torch.manual_seed(0)
    model = build_model(cfg, fusion=dict(type=fusion))
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].shape == (4, 3, 192, 192)  # the 192 px target of the demo
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_image', 'loss_text'}
    assert 0.5 < losses['loss_image'] < 2  # normalised pixels: about 1 at the start
    assert 9 < losses['loss_text'] < 11.5  # about ln(30001) = 10.3 at the start
    sum(losses.values()).backward()
    for name in ('backbone', 'neck', 'text_encoder', 'fusion', 'mlm_head'):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    # the report's loss alone reaches the image encoder through the fusion
    model.zero_grad()
    torch.manual_seed(0)
    model(**data, mode='loss')['loss_text'].backward()
    assert model.backbone.patch_embed.projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.neck.parameters())


def test_loss_weights_and_missing_report_fields(demo_batch):
    cfg, batch = demo_batch
    losses = {}
    for weight in (1.0, 0.5):
        torch.manual_seed(0)
        model = build_model(cfg, loss_weights=dict(image=weight))
        torch.manual_seed(1)
        losses[weight] = model(**model.data_preprocessor(batch, True), mode='loss')
    torch.testing.assert_close(losses[0.5]['loss_image'], 0.5 * losses[1.0]['loss_image'])
    torch.testing.assert_close(losses[0.5]['loss_text'], losses[1.0]['loss_text'])
    with pytest.raises(ValueError, match='unknown loss_weights keys'):
        build_model(cfg, init=False, loss_weights=dict(img=1.0))

    data = model.data_preprocessor(batch, True)
    for sample in data['data_samples']:
        del sample.word_ids
    with pytest.raises(KeyError, match=r"lack \['word_ids'\].*TokenizeReport"):
        model(**data, mode='loss')


def test_whole_word_masking_never_splits_a_word_and_matches_the_ratio(demo_batch):
    cfg, batch = demo_batch
    model = build_model(cfg, init=False)
    words = torch.stack([s.word_ids for s in batch['data_samples']])
    ids = torch.stack([s.input_ids for s in batch['data_samples']])
    pieces = torch.stack([(words == w).sum(1) for w in range(words.max() + 1)], 1)
    assert (pieces > 1).any()  # real reports have words of several word pieces
    torch.manual_seed(0)
    masked_words = real_words = 0
    for _ in range(200):
        masked, corrupted = model.mask_report(words, ids)
        assert not masked[words < 0].any()  # [CLS], [SEP] and padding are never masked
        for w in range(words.max() + 1):  # in every report, a word is masked whole or not
            masked_pieces = (masked & (words == w)).sum(1)
            assert ((masked_pieces == 0) | (masked_pieces == pieces[:, w])).all()
        # the official corruption: every masked token becomes [MASK], the rest stay
        assert (corrupted[masked] == model.mask_token_id).all()
        assert torch.equal(corrupted[~masked], ids[~masked])
        word_masked = torch.zeros_like(pieces, dtype=torch.bool)
        word_masked.scatter_(1, words.clamp(min=0), masked & (words >= 0))
        masked_words += word_masked.sum().item()
        real_words += (pieces > 0).sum().item()
    assert abs(masked_words / real_words - 0.5) < 0.02


def test_mlm_loss_ignores_unmasked_and_padding_positions(demo_batch):
    cfg, batch = demo_batch
    ids = torch.stack([s.input_ids for s in batch['data_samples']])
    padding = torch.stack([s.attention_mask for s in batch['data_samples']]) == 0
    assert padding.any()
    gen = torch.Generator().manual_seed(0)
    masked = (torch.rand(ids.shape, generator=gen) < 0.3) & ~padding
    feats = torch.randn(*ids.shape, 96, generator=gen)
    # new features (hence logits) and targets at every unmasked and padding position
    other_feats = torch.where(masked[..., None], feats, torch.randn(feats.shape, generator=gen))
    other_ids = torch.where(masked, ids, torch.randint(4, 30000, ids.shape, generator=gen))

    head = build_model(cfg).mlm_head
    assert head.loss_on == 'masked'
    loss = head.loss(feats, ids, masked)
    torch.testing.assert_close(head.loss(other_feats, other_ids, masked), loss)
    expected = torch.nn.functional.cross_entropy(head(feats)[masked], ids[masked])
    torch.testing.assert_close(loss, expected)

    official = build_model(cfg, official_mlm_loss=True).mlm_head
    assert official.loss_on == 'all'
    loss = official.loss(feats, ids, masked)
    # the official loss scores every position, padding included
    torch.testing.assert_close(
        loss, torch.nn.functional.cross_entropy(official(feats).flatten(0, 1), ids.flatten()))
    assert not torch.allclose(official.loss(other_feats, other_ids, masked), loss)
    with pytest.raises(ValueError, match='contradicts mlm_head'):
        build_model(cfg, init=False, official_mlm_loss=True,
               mlm_head=dict(type='MaskedLanguageModelingHead', loss_on='masked'))


def test_fusion_makes_text_predictions_depend_on_the_image(demo_batch):
    cfg, batch = demo_batch
    text = batch['data_samples'][0]
    ids, mask = text.input_ids[None], text.attention_mask[None]
    for fusion in (dict(type='MeanVisibleTokenFusion'), None):
        torch.manual_seed(0)
        model = build_model(cfg, fusion=fusion).eval()
        model_inputs = model.data_preprocessor(batch, False)['inputs']
        images = model.encoder_input(model_inputs[:2])
        logits = []
        for image in images:  # same report, two different X-rays, same visible patches
            torch.manual_seed(1)
            with torch.no_grad():
                latent = model.backbone(image[None])[0]
                logits.append(model.mlm_head(model.encode_report(latent, ids, mask)))
        assert logits[0].shape == (1, ids.size(1), model.vocab_size)
        if fusion is None:
            torch.testing.assert_close(logits[0], logits[1])
        else:
            assert (logits[0] - logits[1]).abs().amax() > 1e-3


def test_high_resolution_target_shapes(demo_batch):
    """Official geometry: 14x14 tokens of a 224 px input restore 32 px patches of 448 px."""
    cfg, batch = demo_batch
    torch.manual_seed(0)
    model = build_model(cfg, **{'backbone.img_size': 224, 'neck.num_patches': 196},
                   target_resolution=448)
    assert model.head.patch_size == 32
    images = torch.randn(2, 3, 448, 448)
    assert model.encoder_input(images).shape == (2, 3, 224, 224)
    assert model.head.construct_target(images).shape == (2, 196, 32 * 32 * 3)
    latent, mask, ids_restore = model.backbone(model.encoder_input(images))
    assert latent.shape == (2, 1 + 49, 96) and mask.shape == (2, 196)
    assert model.neck(latent, ids_restore).shape == (2, 196, 32 * 32 * 3)
    losses = model.loss(images, batch['data_samples'][:2])
    assert torch.isfinite(losses['loss_image'])
    assert model.extract_feat(images)[0].shape == (2, 1 + 196, 96)
    with pytest.raises(ValueError, match=r'expects 448x448 images \(target_resolution\)'):
        model.loss(torch.randn(2, 3, 224, 224), batch['data_samples'][:2])

    plain = build_model(cfg, init=False, **{'backbone.img_size': 224, 'neck.num_patches': 196},
                   target_resolution=None)
    assert plain.head.patch_size == 16
    assert plain.head.construct_target(torch.randn(2, 3, 224, 224)).shape == (2, 196, 768)
    assert plain.neck.decoder_pred.out_features == 768


@pytest.mark.parametrize('overrides, message', [
    ({'head.patch_size': 16}, 'the head restores 16 px patches'),
    ({'neck.predict_feature_dim': 768}, 'the decoder predicts 768 values'),
    ({'target_resolution': 200}, 'not a multiple of the 6x6 token grid'),
])
def test_inconsistent_target_geometry_is_refused(demo_batch, overrides, message):
    cfg, _ = demo_batch
    with pytest.raises(ValueError, match=message):
        build_model(cfg, init=False, **overrides)


def test_backbone_weights_load_into_a_vision_transformer(demo_batch, tmp_path):
    """The hand-off downstream configs rely on: prefix ``backbone.`` -> VisionTransformer."""
    from mmpretrain.models import VisionTransformer
    cfg, batch = demo_batch
    torch.manual_seed(0)
    model = build_model(cfg)
    ckpt = tmp_path / 'mrm.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), ckpt)

    backbone = cfg.model.backbone
    vit = VisionTransformer(
        arch=dict(backbone.arch), img_size=backbone.img_size, patch_size=16, out_type='raw',
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    vit.init_weights()
    state = model.state_dict()
    loaded = vit.state_dict()
    assert set(loaded) == {k[len('backbone.'):] for k in state if k.startswith('backbone.')}
    for key, value in loaded.items():
        assert torch.equal(value, state['backbone.' + key]), key
    model.eval()
    vit.eval()
    images = model.data_preprocessor(batch, False)['inputs']
    with torch.no_grad():
        torch.testing.assert_close(vit(model.encoder_input(images))[0],
                                   model.extract_feat(images)[0])


def test_default_data_preprocessor_uses_the_official_statistics(demo_batch):
    cfg, _ = demo_batch
    model = build_model(cfg, init=False, data_preprocessor=None)
    assert type(model.data_preprocessor).__name__ == 'SelfSupDataPreprocessor'
    torch.testing.assert_close(model.data_preprocessor.mean.flatten(),
                               torch.full((3, ), 0.4978 * 255))
    torch.testing.assert_close(model.data_preprocessor.std.flatten(),
                               torch.full((3, ), 0.2449 * 255))
