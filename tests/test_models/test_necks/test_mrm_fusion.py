# Copyright (c) medvlp contributors. All rights reserved.
"""MRM's image -> text fusion modules and the text encoder's ``extra_embeds`` input."""
import pytest
import torch

from medvlp.models import BertTextEncoder, MeanVisibleTokenFusion
from medvlp.registry import MODELS


def _tokens(batch=2, visible=5, channels=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1 + visible, channels, generator=gen)  # class token first


def test_mean_fusion_is_the_projected_mean_of_the_visible_patches():
    fusion = MODELS.build(dict(type='MeanVisibleTokenFusion', in_channels=8, out_channels=4))
    fusion.init_weights()
    tokens = _tokens()
    out = fusion(tokens)
    assert out.shape == (2, 1, 4)
    # the official order (project every token, then average the patches) gives the same
    official = fusion.proj(tokens)[:, 1:].mean(dim=1, keepdim=True)
    torch.testing.assert_close(out, official)
    # the class token is left out; without one every token counts
    changed = tokens.clone()
    changed[:, 0] += 10.
    torch.testing.assert_close(fusion(changed), out)
    no_cls = MeanVisibleTokenFusion(8, 4, with_cls_token=False)
    torch.testing.assert_close(no_cls(tokens), no_cls.proj(tokens.mean(1, keepdim=True)))


def test_attention_pool_fusion_shape_and_inputs():
    fusion = MODELS.build(dict(type='AttentionPoolFusion', in_channels=8, out_channels=4,
                               num_heads=2))
    fusion.init_weights()
    tokens = _tokens()
    out = fusion(tokens)
    assert out.shape == (2, 1, 4)
    changed = tokens.clone()
    changed[:, 0] += 10.  # the class token is not attended to
    torch.testing.assert_close(fusion(changed), out)
    changed[1, 3] = torch.randn(8)  # a visible patch of image 1 changes only its vector
    moved = fusion(changed)
    torch.testing.assert_close(moved[0], out[0])
    assert not torch.allclose(moved[1], out[1])
    out.sum().backward()
    assert fusion.query.grad is not None and fusion.query.grad.abs().sum() > 0


@pytest.fixture(scope='module')
def encoder():
    torch.manual_seed(0)
    model = BertTextEncoder(vocab_size=50, hidden_size=16, num_layers=1, num_heads=2,
                            max_position_embeddings=12).eval()
    ids = torch.randint(5, 50, (2, 7))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    return model, ids, mask


def test_extra_embeds_are_added_to_the_embedding_output(encoder):
    model, ids, mask = encoder
    extra = torch.randn(2, 16)
    seen = []
    hook = model.bert.encoder.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(args[0] if args else kwargs['hidden_states']),
        with_kwargs=True)
    try:
        with torch.no_grad():
            plain = model(ids, mask)['token_feats']
            fused = model(ids, mask, extra_embeds=extra)['token_feats']
            embeds = model.bert.embeddings(input_ids=ids)
    finally:
        hook.remove()
    # what the first transformer layer receives: the embeddings (after their LayerNorm)
    # plus the extra vector at every position
    torch.testing.assert_close(seen[0], embeds)
    torch.testing.assert_close(seen[1], embeds + extra[:, None])
    assert not torch.allclose(plain, fused)
    with torch.no_grad():
        # [B, D] is one vector per report, the same as [B, 1, D] or [B, T, D]
        torch.testing.assert_close(
            model(ids, mask, extra_embeds=extra[:, None].expand(-1, 7, -1))['token_feats'],
            fused)
        # zeros change nothing, and the hook is gone after the call
        torch.testing.assert_close(
            model(ids, mask, extra_embeds=torch.zeros(2, 16))['token_feats'], plain)
        torch.testing.assert_close(model(ids, mask)['token_feats'], plain)


def test_extra_embeds_of_the_wrong_width_are_refused(encoder):
    model, ids, mask = encoder
    with pytest.raises(ValueError, match='extra_embeds must have 16 channels'):
        model(ids, mask, extra_embeds=torch.zeros(2, 8))
