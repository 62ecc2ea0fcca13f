# Copyright (c) medvlp contributors. All rights reserved.
"""No host-device synchronisation in a training step (forward + backward).

On a GPU each sync stalls the kernel queue; on the CPU they are free, so they creep in
unnoticed. :class:`medvlp.utils.host_sync.HostSyncCounter` counts them here, on CPU, on a
real demo batch, and the test names where each one comes from.
"""
import pytest
import torch
from algorithm_helpers import build_model, demo_config_and_batch
from mmengine.registry import DefaultScope

from medvlp.utils.host_sync import HostSyncCounter

MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'
# the MLM head picks its positions by boolean indexing on the CPU (free there) and with a
# fixed-size gather on accelerators; 'static' checks the accelerator path here
STATIC_MLM = {'mlm_head.select': 'static'}
CONFIGS = {
    'mrm': ('configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py', STATIC_MLM),
    'joimternet': ('configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py', STATIC_MLM),
    'medim-features': (MEDIM, {}),
    'medim-inputs': (MEDIM, {
        'mask_on': 'inputs',
        'decoder': dict(type='mmpretrain.MAEPretrainDecoder', num_patches=36, patch_size=16,
                        in_chans=3, embed_dim=96, decoder_embed_dim=64, decoder_depth=1,
                        decoder_num_heads=2)}),
}


def _step_syncs(model, batch):
    with DefaultScope.overwrite_default_scope('medvlp'):
        data = model.data_preprocessor(batch, True)
        with HostSyncCounter() as counter:
            losses = model(**data, mode='loss')
            sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    return counter


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_training_step_has_no_host_sync(name, repo_root, tmp_path):
    """After a first step (which runs the one-off consistency checks), none at all."""
    config, overrides = CONFIGS[name]
    cfg, batch = demo_config_and_batch(repo_root / config, tmp_path, batch_size=4)
    model = build_model(cfg, **overrides)
    model.train()
    _step_syncs(model, batch)
    counter = _step_syncs(model, batch)
    assert counter.count == 0, f'{name}: {counter.count} host syncs\n{counter.summary()}'


def test_mlm_head_fixed_size_gather_matches_boolean_selection():
    from medvlp.models.heads import MaskedLanguageModelingHead
    torch.manual_seed(0)
    feats, ids = torch.randn(3, 10, 8), torch.randint(0, 20, (3, 10))
    masked = torch.rand(3, 10) < 0.3
    masked[:, 0] = True
    head = MaskedLanguageModelingHead(8, 20, select='static')
    reference = torch.nn.functional.cross_entropy(head(feats[masked]), ids[masked])
    assert torch.allclose(head.loss(feats, ids, masked), reference, atol=1e-6)
    dynamic = MaskedLanguageModelingHead(8, 20)  # 'auto': boolean indexing on the CPU
    dynamic.load_state_dict(head.state_dict())
    assert torch.allclose(dynamic.loss(feats, ids, masked), reference, atol=1e-6)
    most = int(masked.sum(1).max())
    capped = MaskedLanguageModelingHead(8, 20, max_predictions=most, select='static')
    capped.load_state_dict(head.state_dict())
    assert torch.allclose(capped.loss(feats, ids, masked), reference, atol=1e-6)
    assert int(capped.unscored_count) == 0
    capped.max_predictions = 1  # keeps the first masked position of each sequence
    first = masked.float().argmax(1)
    rows = torch.arange(3)
    expected = torch.nn.functional.cross_entropy(head(feats[rows, first]), ids[rows, first])
    assert torch.allclose(capped.loss(feats, ids, masked), expected, atol=1e-6)
    assert int(capped.unscored_count) == int(masked.sum()) - 3
    nothing = torch.zeros_like(masked)
    assert head.loss(feats, ids, nothing) == 0


def test_bert_square_padding_mask_gives_the_same_features():
    from medvlp.models.text_encoders import BertTextEncoder
    torch.manual_seed(0)
    enc = BertTextEncoder(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                          max_position_embeddings=16, dropout=0.0).eval()
    ids = torch.randint(1, 50, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    ours = enc(ids, mask)['token_feats']
    hf = enc.bert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.allclose(ours[mask.bool()], hf[mask.bool()], atol=1e-5)
    assert enc.bert.config._attn_implementation == 'sdpa'
