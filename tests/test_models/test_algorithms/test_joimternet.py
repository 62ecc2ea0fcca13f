# Copyright (c) medvlp contributors. All rights reserved.
"""JoImTeRNet on real demo batches: losses, gradients, predictions, hand-off."""
import pytest
import torch

from algorithm_helpers import build_model, demo_config_and_batch

DEMO = 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py'


@pytest.fixture(scope='module')
def demo_batch(repo_root, tmp_path_factory):
    return demo_config_and_batch(repo_root / DEMO, tmp_path_factory.mktemp('joimternet'), 6)


def test_loss_and_gradients_reach_both_encoders(demo_batch):
    cfg, batch = demo_batch
    torch.manual_seed(0)
    model = build_model(cfg)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_global_ce', 'loss_local_ce', 'loss_global_triplet',
                           'loss_local_triplet', 'loss_mlm'}
    sum(losses.values()).backward()
    for name in ('backbone', 'text_encoder', 'img_neck', 'text_neck', 'mlm_head'):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name


def test_without_mlm_and_task_weights(demo_batch):
    cfg, batch = demo_batch
    model = build_model(cfg, mlm_head=None, task_weights=dict(matching=0.5))
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert 'loss_mlm' not in losses
    with pytest.raises(ValueError, match='unknown task_weights keys'):
        build_model(cfg, task_weights=dict(matchin=1.0))


def test_predict_attaches_embeddings_and_keys(demo_batch):
    cfg, batch = demo_batch
    model = build_model(cfg).eval()
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert out[0].img_feat.shape == out[0].txt_feat.shape == (64, )
    assert out[0].match_key == batch['data_samples'][0].study_id


def test_missing_text_fields_are_named(demo_batch):
    cfg, batch = demo_batch
    model = build_model(cfg)
    data = model.data_preprocessor(batch, True)
    for sample in data['data_samples']:
        del sample.word_ids
    with pytest.raises(KeyError, match=r"lack \['word_ids'\].*TokenizeReport"):
        model(**data, mode='loss')
